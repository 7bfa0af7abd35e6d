//! The Bucket & MediaID platform rules (sql/platform), proven through /rest/v1 with real JWTs:
//! each actor sees and may change exactly what the rules say, and forbidden attempts fail with
//! the PostgREST error a client would get. Analytics never return a group under the k-anonymity
//! threshold or a fan who opted out.

use bucketbase_tests::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

struct Actors {
    admin: String,
    artist1: String,
    artist2: String,
    fan_sub: String,
    fan_low: String,
    fan_none: String,
    brand_owner: String,
    brand_member: String,
    stranger: String,
}

const IDS: [(&str, &str); 9] = [
    ("admin", "00000000-0000-0000-0000-0000000000ad"),
    ("artist1", "00000000-0000-0000-0000-0000000000a1"),
    ("artist2", "00000000-0000-0000-0000-0000000000a2"),
    ("fan_sub", "00000000-0000-0000-0000-0000000000f1"),
    ("fan_low", "00000000-0000-0000-0000-0000000000f2"),
    ("fan_none", "00000000-0000-0000-0000-0000000000f3"),
    ("brand_owner", "00000000-0000-0000-0000-0000000000b1"),
    ("brand_member", "00000000-0000-0000-0000-0000000000b2"),
    ("stranger", "00000000-0000-0000-0000-0000000000c1"),
];

fn id(name: &str) -> &'static str {
    IDS.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, i)| *i)
        .unwrap_or_default()
}

async fn setup() -> (TestApp, Actors) {
    let app = TestApp::builder().spawn().await.expect("app");
    for (name, uid) in IDS {
        app.db
            .execute(
                "insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
                 values ('00000000-0000-0000-0000-000000000000', $1::text::uuid, 'authenticated', 'authenticated', $2, $3::text::jsonb, '{}', now(), now())",
                &[&uid, &format!("{name}@example.com"), &if name == "admin" { r#"{"role":"admin"}"# } else { "{}" }],
            )
            .await
            .expect("user");
    }
    let token = |name: &str| {
        let extra = if name == "admin" {
            json!({"app_metadata": {"role": "admin"}})
        } else {
            json!({"app_metadata": {}})
        };
        app.user_token(id(name), extra)
    };
    let actors = Actors {
        admin: token("admin"),
        artist1: token("artist1"),
        artist2: token("artist2"),
        fan_sub: token("fan_sub"),
        fan_low: token("fan_low"),
        fan_none: token("fan_none"),
        brand_owner: token("brand_owner"),
        brand_member: token("brand_member"),
        stranger: token("stranger"),
    };
    (app, actors)
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app
        .request(method, &format!("/rest/v1{path}"), token)
        .header("prefer", "return=representation");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn len(v: &Value) -> usize {
    v.as_array().map(Vec::len).unwrap_or(usize::MAX)
}

#[tokio::test]
async fn every_actor_sees_and_changes_exactly_what_the_rules_allow() {
    let (app, a) = setup().await;
    let anon = app.anon_key.clone();

    // Artists: a user creates only their own artist profile.
    let (s, body) = call(
        &app,
        Method::POST,
        "/artists",
        &a.artist1,
        Some(json!({"user_id": id("artist1"), "name": "One"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let artist1_id = body[0]["id"].as_str().expect("id").to_string();
    let (s, body) = call(
        &app,
        Method::POST,
        "/artists",
        &a.artist2,
        Some(json!({"user_id": id("artist2"), "name": "Two"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let artist2_id = body[0]["id"].as_str().expect("id").to_string();
    let (s, body) = call(
        &app,
        Method::POST,
        "/artists",
        &a.stranger,
        Some(json!({"user_id": id("fan_sub"), "name": "Impostor"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "42501");
    // Nobody sets the Stripe account of an artist through the API.
    let (s, body) = call(
        &app,
        Method::PATCH,
        &format!("/artists?id=eq.{artist1_id}"),
        &a.artist1,
        Some(json!({"stripe_account_id": "acct_x"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");

    // Content: only the artist writes their own.
    let future = "2999-01-01T00:00:00Z";
    let items = [
        json!({"artist_id": artist1_id, "media_type": "audio", "title": "public", "audience": "public"}),
        json!({"artist_id": artist1_id, "media_type": "video", "title": "teaser", "audience": "public", "unlock_at": future}),
        json!({"artist_id": artist1_id, "media_type": "image", "title": "subs", "audience": "subscribers"}),
        json!({"artist_id": artist1_id, "media_type": "audio", "title": "vip", "audience": "subscribers", "min_tier": 2}),
    ];
    let mut content_ids = Vec::new();
    for item in items {
        let (s, body) = call(&app, Method::POST, "/content_items", &a.artist1, Some(item)).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        content_ids.push(body[0]["id"].as_str().expect("id").to_string());
    }
    let (s, _) = call(
        &app,
        Method::POST,
        "/content_items",
        &a.artist2,
        Some(json!({"artist_id": artist1_id, "media_type": "audio", "title": "hijack"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call(
        &app,
        Method::POST,
        "/content_items",
        &anon,
        Some(json!({"artist_id": artist1_id, "media_type": "audio", "title": "anon"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, body) = call(
        &app,
        Method::PATCH,
        &format!("/content_items?id=eq.{}", content_ids[0]),
        &a.artist2,
        Some(json!({"title": "defaced"})),
    )
    .await;
    assert_eq!(
        (s, len(&body)),
        (StatusCode::OK, 0),
        "another artist's edit touches nothing"
    );

    // Fans and subscriptions: fans create their own fan account; only the service role subscribes.
    let mut fan_ids = std::collections::HashMap::new();
    for (name, token) in [
        ("fan_sub", &a.fan_sub),
        ("fan_low", &a.fan_low),
        ("fan_none", &a.fan_none),
    ] {
        let (s, body) = call(
            &app,
            Method::POST,
            "/fans",
            token,
            Some(json!({"user_id": id(name)})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        fan_ids.insert(name, body[0]["id"].as_str().expect("id").to_string());
    }
    let (s, body) = call(&app, Method::POST, "/subscriptions", &a.fan_none, Some(json!({"fan_id": fan_ids["fan_none"], "artist_id": artist1_id, "price_cents": 0, "status": "active"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "42501");
    for (fan, tier) in [("fan_sub", 2), ("fan_low", 1)] {
        let (s, body) = call(&app, Method::POST, "/subscriptions", &app.service_role_key, Some(json!({"fan_id": fan_ids[fan], "artist_id": artist1_id, "tier": tier, "price_cents": 500 * tier, "status": "active"}))).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    let (s, body) = call(
        &app,
        Method::GET,
        "/subscriptions?select=tier",
        &a.fan_sub,
        None,
    )
    .await;
    assert_eq!(
        (s, len(&body)),
        (StatusCode::OK, 1),
        "a fan sees only their own subscription"
    );
    let (_, body) = call(&app, Method::GET, "/subscriptions", &a.artist1, None).await;
    assert_eq!(
        len(&body),
        0,
        "artists see subscriptions only as aggregates"
    );
    let (s, body) = call(
        &app,
        Method::PATCH,
        &format!("/subscriptions?fan_id=eq.{}", fan_ids["fan_low"]),
        &a.fan_low,
        Some(json!({"tier": 9})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");

    // Who sees which content.
    let visible = |token: String| {
        let app = &app;
        async move {
            let (s, body) = call(
                app,
                Method::GET,
                "/content_items?select=title&order=title",
                &token,
                None,
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{body}");
            body.as_array()
                .expect("array")
                .iter()
                .map(|r| r["title"].as_str().unwrap_or_default().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(visible(anon.clone()).await, vec!["public"]);
    assert_eq!(visible(a.fan_none.clone()).await, vec!["public"]);
    assert_eq!(visible(a.artist2.clone()).await, vec!["public"]);
    assert_eq!(
        visible(a.fan_low.clone()).await,
        vec!["public", "subs", "teaser"]
    );
    assert_eq!(
        visible(a.fan_sub.clone()).await,
        vec!["public", "subs", "teaser", "vip"]
    );
    assert_eq!(
        visible(a.artist1.clone()).await,
        vec!["public", "subs", "teaser", "vip"]
    );
    assert_eq!(
        visible(a.admin.clone()).await,
        vec!["public", "subs", "teaser", "vip"]
    );

    // Engagement only on content one can see.
    let (s, body) = call(
        &app,
        Method::POST,
        "/media_engagement_log",
        &a.fan_none,
        Some(json!({"content_id": content_ids[3], "event_type": "play"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, body) = call(
        &app,
        Method::POST,
        "/media_engagement_log",
        &a.fan_none,
        Some(json!({"content_id": content_ids[0], "event_type": "play"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, _) = call(
        &app,
        Method::POST,
        "/media_engagement_log",
        &a.fan_none,
        Some(json!({"content_id": content_ids[0], "event_type": "play", "user_id": id("fan_sub")})),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "events are recorded only for oneself"
    );
    let (s, body) = call(
        &app,
        Method::POST,
        "/media_engagement_log",
        &a.fan_sub,
        Some(json!({"content_id": content_ids[3], "event_type": "play"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (_, body) = call(&app, Method::GET, "/media_engagement_log", &a.fan_sub, None).await;
    assert_eq!(len(&body), 1, "fans see only their own events");
    let (_, body) = call(&app, Method::GET, "/media_engagement_log", &a.artist1, None).await;
    assert_eq!(len(&body), 0, "artists never read raw events");

    // MediaID preferences: one's own only.
    let (_, body) = call(&app, Method::GET, "/preferences", &a.fan_sub, None).await;
    assert_eq!(len(&body), 1);
    assert_eq!(
        body[0]["privacy_settings"]["share_with_brands"], false,
        "private by default"
    );
    let (s, body) = call(
        &app,
        Method::PATCH,
        &format!("/preferences?user_id=eq.{}", id("fan_low")),
        &a.fan_sub,
        Some(json!({"interests": ["spam"]})),
    )
    .await;
    assert_eq!((s, len(&body)), (StatusCode::OK, 0));
    let (s, body) = call(
        &app,
        Method::PATCH,
        &format!("/preferences?user_id=eq.{}", id("fan_sub")),
        &a.fan_sub,
        Some(json!({"interests": ["jazz"]})),
    )
    .await;
    assert_eq!((s, len(&body)), (StatusCode::OK, 1));
    let (_, body) = call(&app, Method::GET, "/preferences", &a.admin, None).await;
    assert_eq!(len(&body), IDS.len(), "admins read everything");
    let (_, body) = call(&app, Method::GET, "/profiles", &a.brand_owner, None).await;
    assert_eq!(len(&body), 1, "profiles are private");

    // Brands: found one, own it; nobody joins a brand by themselves.
    let (s, body) = call(
        &app,
        Method::POST,
        "/brands",
        &a.brand_owner,
        Some(json!({"name": "Acme"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let brand_id = body[0]["id"].as_str().expect("id").to_string();
    let (s, _) = call(
        &app,
        Method::POST,
        "/brand_members",
        &a.stranger,
        Some(json!({"brand_id": brand_id, "user_id": id("stranger")})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = call(
        &app,
        Method::POST,
        "/brand_members",
        &a.brand_owner,
        Some(json!({"brand_id": brand_id, "user_id": id("brand_member")})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = call(&app, Method::POST, "/campaigns", &a.brand_member, Some(json!({"brand_id": brand_id, "artist_id": artist1_id, "name": "Launch", "targeting_criteria": {"interests": ["jazz"]}, "budget_cents": 100000, "status": "active"}))).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let campaign_id = body[0]["id"].as_str().expect("id").to_string();
    let (_, body) = call(&app, Method::GET, "/campaigns", &a.stranger, None).await;
    assert_eq!(len(&body), 0);
    let (_, body) = call(&app, Method::GET, "/campaigns", &a.artist1, None).await;
    assert_eq!(len(&body), 1, "the targeted artist sees the campaign");
    let (s, _) = call(
        &app,
        Method::POST,
        "/campaigns",
        &a.stranger,
        Some(json!({"brand_id": brand_id, "name": "Hijack"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, body) = call(&app, Method::GET, "/brands", &a.stranger, None).await;
    assert_eq!(len(&body), 0);

    // Analytics: own figures only.
    let (s, body) = call(
        &app,
        Method::POST,
        "/rpc/artist_analytics",
        &a.artist1,
        Some(json!({"artist_id": artist1_id})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["active_subscribers"], 2);
    assert_eq!(body["engagement"]["play"], 2);
    let (s, body) = call(
        &app,
        Method::POST,
        "/rpc/artist_analytics",
        &a.artist2,
        Some(json!({"artist_id": artist1_id})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "42501");
    let (s, _) = call(
        &app,
        Method::POST,
        "/rpc/artist_analytics",
        &a.artist2,
        Some(json!({"artist_id": artist2_id})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        &app,
        Method::POST,
        "/rpc/campaign_analytics",
        &a.stranger,
        Some(json!({"campaign_id": campaign_id})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = call(
        &app,
        Method::POST,
        "/rpc/campaign_analytics",
        &a.brand_member,
        Some(json!({"campaign_id": campaign_id})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        body["suppressed"], true,
        "no consenting audience yet: {body}"
    );
}

#[tokio::test]
async fn campaign_analytics_respect_privacy_and_k_anonymity() {
    let (app, a) = setup().await;
    // Generated audience: 30 fans; 24 share with brands, 6 opted out. Interests: 20 like jazz,
    // 8 like rock, 3 like polka (under the threshold of 5).
    app.db
        .batch_execute(&format!(
            "insert into public.artists (id, user_id, name) values ('10000000-0000-0000-0000-000000000001', '{artist}', 'One');
             insert into public.content_items (id, artist_id, media_type, title) values ('20000000-0000-0000-0000-000000000001', '10000000-0000-0000-0000-000000000001', 'audio', 'song');
             insert into public.brands (id, name, created_by) values ('30000000-0000-0000-0000-000000000001', 'Acme', '{owner}');
             insert into public.campaigns (id, brand_id, artist_id, name, status) values ('40000000-0000-0000-0000-000000000001', '30000000-0000-0000-0000-000000000001', '10000000-0000-0000-0000-000000000001', 'Launch', 'active');
             insert into auth.users (instance_id, id, aud, role, email)
               select '00000000-0000-0000-0000-000000000000', ('50000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid, 'authenticated', 'authenticated', 'gen' || i || '@example.com'
               from generate_series(1, 30) i;
             update public.preferences p set
               privacy_settings = jsonb_build_object('share_with_brands', g.i <= 24),
               interests = case when g.i <= 20 then '[\"jazz\"]'::jsonb else '[]'::jsonb end
                         || case when g.i between 17 and 24 then '[\"rock\"]'::jsonb else '[]'::jsonb end
                         || case when g.i in (1, 2, 3) then '[\"polka\"]'::jsonb else '[]'::jsonb end
               from (select i, ('50000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid as id from generate_series(1, 30) i) g
               where p.user_id = g.id;
             insert into public.media_engagement_log (user_id, content_id, campaign_id, event_type)
               select ('50000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid, '20000000-0000-0000-0000-000000000001', '40000000-0000-0000-0000-000000000001', e::engagement_event
               from generate_series(1, 30) i, unnest(array['impression', 'play', 'conversion']) e
               where e <> 'conversion' or i % 3 = 0;",
            artist = id("artist1"),
            owner = id("brand_owner"),
        ))
        .await
        .expect("generated audience");
    let analytics = || async {
        let (s, body) = call(
            &app,
            Method::POST,
            "/rpc/campaign_analytics",
            &a.brand_owner,
            Some(json!({"campaign_id": "40000000-0000-0000-0000-000000000001"})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body
    };
    let body = analytics().await;
    assert_eq!(body["suppressed"], false);
    assert_eq!(body["audience_size"], 24, "opted-out fans are not counted");
    assert_eq!(body["impressions"], 24);
    assert_eq!(body["engagements"], 24);
    assert_eq!(body["conversions"], 8, "i % 3 = 0 for i <= 24");
    let segments = body["segments"].as_array().expect("segments");
    assert_eq!(
        segments
            .iter()
            .map(|s| (
                s["interest"].as_str().unwrap_or_default(),
                s["fans"].as_i64().unwrap_or(-1)
            ))
            .collect::<Vec<_>>(),
        vec![("jazz", 20), ("rock", 8)],
        "polka (3 fans) is under the threshold and never shown"
    );
    for s in segments {
        assert!(s["fans"].as_i64().unwrap_or(0) >= 5);
        assert!(s.get("user_id").is_none() && s.get("email").is_none());
    }
    let text = body.to_string();
    assert!(
        !text.contains("@example.com") && !text.contains("50000000-"),
        "no identities: {text}"
    );

    // Changing a privacy setting takes effect in the aggregates from then on.
    app.db
        .batch_execute(
            "update public.preferences set privacy_settings = '{\"share_with_brands\": false}'
             where user_id in (select ('50000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid from generate_series(17, 24) i)",
        )
        .await
        .expect("opt out");
    let body = analytics().await;
    assert_eq!(body["audience_size"], 16);
    assert_eq!(
        body["segments"],
        json!([{"interest": "jazz", "fans": 16, "events": 37}]),
        "rock fell under the threshold"
    );

    // Below the threshold everything is suppressed.
    app.db
        .batch_execute("update public.preferences set privacy_settings = '{\"share_with_brands\": false}' where user_id not in (select ('50000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid from generate_series(1, 4) i)")
        .await
        .expect("opt out");
    let body = analytics().await;
    assert_eq!(body["suppressed"], true);
    assert_eq!(body["audience_size"], Value::Null);
    assert_eq!(body["impressions"], Value::Null);
    assert_eq!(body["segments"], json!([]));
}
