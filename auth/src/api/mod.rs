//! The `/auth/v1` routes, as GoTrue's router (`internal/api/api.go`) lays them out, one module
//! per endpoint group. Browser navigations (`GET /verify`, `/authorize`, `/callback`, the JWKS,
//! `/health`) are open; everything else sits behind the gateway's API-key check. Every route
//! answers errors in the envelope `X-Supabase-Api-Version` selects.

pub(crate) mod admin;
pub(crate) mod email;
pub(crate) mod generate_link;
pub(crate) mod meta;
pub(crate) mod signup;
pub(crate) mod token;
pub(crate) mod user;
pub(crate) mod verify;

use axum::routing::{get, post};
use axum::Router;

use crate::State;

/// The `/auth/v1` router.
pub(crate) fn router(state: State) -> Router {
    let keyed = Router::new()
        .route("/signup", post(signup::signup))
        .route("/token", post(token::token))
        .route("/otp", post(email::otp))
        .route("/magiclink", post(email::magic_link))
        .route("/recover", post(email::recover))
        .route("/resend", post(email::resend))
        .route("/verify", post(verify::verify_post))
        .route("/user", get(user::get_user).put(user::update_user))
        .route("/logout", post(user::logout))
        .route(
            "/reauthenticate",
            get(user::reauthenticate).post(user::reauthenticate),
        )
        .route("/settings", get(meta::settings))
        .route("/invite", post(admin::invite))
        .route(
            "/admin/users",
            get(admin::list_users).post(admin::create_user),
        )
        .route(
            "/admin/users/{user_id}",
            get(admin::get_user)
                .put(admin::update_user)
                .delete(admin::delete_user),
        )
        .route("/admin/users/{user_id}/factors", get(admin::list_factors))
        .route("/admin/generate_link", post(generate_link::generate_link))
        .route("/factors", post(meta::enroll_disabled))
        .route("/factors/{*rest}", axum::routing::any(meta::mfa_disabled))
        .route("/user/identities/authorize", get(meta::linking_disabled))
        .route(
            "/user/identities/{identity_id}",
            axum::routing::delete(meta::linking_disabled),
        )
        .route("/sso", post(meta::sso_disabled))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::request::require_api_key,
        ));
    Router::new()
        .route("/verify", get(verify::verify_get))
        .route("/health", get(meta::health))
        .route("/.well-known/jwks.json", get(meta::jwks))
        .route("/authorize", get(meta::authorize))
        .route("/callback", get(meta::callback).post(meta::callback))
        .merge(keyed)
        .layer(axum::middleware::from_fn(crate::error::api_version_layer))
        .with_state(state)
}
