//! The platform's media in storage (sql/platform/V0007__storage_buckets.sql), proven through
//! /storage/v1 and /rest/v1 with real JWTs: only an artist uploads into their own folder of
//! the private `content` bucket; a file is readable exactly when a content item the caller may
//! see names it and is unlocked (public items by anyone, subscriber items by fans at or above
//! the tier), the artist reads their own; a content item cannot name another artist's file;
//! users write only their own folder of the public `avatars` bucket.

use bucketbase_tests::{Reply, TestApp};
use reqwest::Method;
use serde_json::json;

const ARTIST1: &str = "00000000-0000-0000-0000-0000000000a1";
const ARTIST2: &str = "00000000-0000-0000-0000-0000000000a2";
const FAN_VIP: &str = "00000000-0000-0000-0000-0000000000f1";
const FAN_LOW: &str = "00000000-0000-0000-0000-0000000000f2";
const FAN_NONE: &str = "00000000-0000-0000-0000-0000000000f3";
/// The artists' profile ids (the folder names in `content`).
const A1: &str = "10000000-0000-0000-0000-0000000000a1";
const A2: &str = "10000000-0000-0000-0000-0000000000a2";

const FIXTURE: &str = "
insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
select '00000000-0000-0000-0000-000000000000', u::uuid, 'authenticated', 'authenticated', u || '@example.com', '{}', '{}', now(), now()
from unnest(array['00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a2',
                  '00000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-0000000000f2',
                  '00000000-0000-0000-0000-0000000000f3']) as u;
insert into public.artists (id, user_id, name) values
  ('10000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a1', 'One'),
  ('10000000-0000-0000-0000-0000000000a2', '00000000-0000-0000-0000-0000000000a2', 'Two');
insert into public.fans (id, user_id) values
  ('20000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-0000000000f1'),
  ('20000000-0000-0000-0000-0000000000f2', '00000000-0000-0000-0000-0000000000f2'),
  ('20000000-0000-0000-0000-0000000000f3', '00000000-0000-0000-0000-0000000000f3');
insert into public.subscriptions (fan_id, artist_id, tier, price_cents, status) values
  ('20000000-0000-0000-0000-0000000000f1', '10000000-0000-0000-0000-0000000000a1', 2, 900, 'active'),
  ('20000000-0000-0000-0000-0000000000f2', '10000000-0000-0000-0000-0000000000a1', 1, 300, 'active');
";

async fn upload(app: &TestApp, path: &str, token: &str, mime: &str) -> Reply {
    Reply::read(
        app.request(Method::POST, &format!("/storage/v1/object/{path}"), token)
            .header("content-type", mime)
            .body(format!("bytes of {path}"))
            .send()
            .await
            .expect("upload"),
    )
    .await
}

/// The body of `path` for `token`, or the error code.
async fn download(app: &TestApp, path: &str, token: &str) -> Result<String, String> {
    let r = Reply::read(
        app.request(Method::GET, &format!("/storage/v1/object/{path}"), token)
            .send()
            .await
            .expect("download"),
    )
    .await;
    if r.status == 200 {
        Ok(r.text)
    } else {
        Err(r.json()["code"].as_str().unwrap_or("?").to_string())
    }
}

async fn content_item(app: &TestApp, token: &str, item: serde_json::Value) -> (u16, String) {
    let r = Reply::read(
        app.request(Method::POST, "/rest/v1/content_items", token)
            .json(&item)
            .send()
            .await
            .expect("insert"),
    )
    .await;
    (r.status.as_u16(), r.text)
}

#[tokio::test]
async fn content_files_follow_the_content_rules() {
    let app = TestApp::builder().sql(FIXTURE).spawn().await.expect("app");
    let token = |sub: &str| app.user_token(sub, json!({}));
    let (artist1, artist2) = (token(ARTIST1), token(ARTIST2));
    let (vip, low, none) = (token(FAN_VIP), token(FAN_LOW), token(FAN_NONE));
    let anon = app.anon_key.clone();

    // Only the artist uploads, and only into their own folder.
    for file in ["public.mp3", "vip.mp3", "later.mp3", "draft.mp3"] {
        let r = upload(
            &app,
            &format!("content/{A1}/{file}"),
            &artist1,
            "audio/mpeg",
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    for t in [&artist2, &vip, &anon] {
        let r = upload(&app, &format!("content/{A1}/intruder.mp3"), t, "audio/mpeg").await;
        assert_eq!(r.json()["code"], "AccessDenied", "{}", r.text);
    }
    let r = upload(
        &app,
        &format!("content/{A1}/notes.txt"),
        &artist1,
        "text/plain",
    )
    .await;
    assert_eq!(r.json()["code"], "InvalidMimeType", "{}", r.text);

    // The items that publish them.
    for item in [
        json!({"artist_id": A1, "media_type": "audio", "title": "free", "audience": "public", "storage_path": format!("{A1}/public.mp3")}),
        json!({"artist_id": A1, "media_type": "audio", "title": "vip", "audience": "subscribers", "min_tier": 2, "storage_path": format!("{A1}/vip.mp3")}),
        json!({"artist_id": A1, "media_type": "audio", "title": "soon", "audience": "subscribers", "unlock_at": "2999-01-01T00:00:00Z", "storage_path": format!("{A1}/later.mp3")}),
    ] {
        let (status, body) = content_item(&app, &artist1, item).await;
        assert_eq!(status, 201, "{body}");
    }
    // Another artist cannot publish artist 1's paid file as their own public item.
    let (status, body) = content_item(
        &app,
        &artist2,
        json!({"artist_id": A2, "media_type": "audio", "title": "stolen", "audience": "public", "storage_path": format!("{A1}/vip.mp3")}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("23514"), "{body}");

    let path = |f: &str| format!("content/{A1}/{f}");
    let ok = |f: &str| Ok::<String, String>(format!("bytes of content/{A1}/{f}"));
    let denied = Err::<String, String>("NoSuchKey".into());
    // (reader, public, vip tier 2, locked until 2999, never published)
    let cases = [
        ("anon", &anon, [true, false, false, false]),
        (
            "fan without subscription",
            &none,
            [true, false, false, false],
        ),
        ("tier-1 fan", &low, [true, false, false, false]),
        ("tier-2 fan", &vip, [true, true, false, false]),
        ("other artist", &artist2, [true, false, false, false]),
        ("the artist", &artist1, [true, true, true, true]),
    ];
    for (who, t, expect) in cases {
        for (file, allowed) in ["public.mp3", "vip.mp3", "later.mp3", "draft.mp3"]
            .iter()
            .zip(expect)
        {
            let want = if allowed { ok(file) } else { denied.clone() };
            assert_eq!(
                download(&app, &path(file), t).await,
                want,
                "{who} reading {file}"
            );
        }
    }

    // The artist lists their folder; a fan lists only what they may read.
    let list = |t: String| {
        let app = &app;
        async move {
            let r = Reply::read(
                app.request(Method::POST, "/storage/v1/object/list/content", &t)
                    .json(&json!({"prefix": format!("{A1}/")}))
                    .send()
                    .await
                    .expect("list"),
            )
            .await;
            let mut names: Vec<String> = r
                .json()
                .as_array()
                .expect("array")
                .iter()
                .filter_map(|e| e["name"].as_str().map(str::to_string))
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(
        list(artist1.clone()).await,
        ["draft.mp3", "later.mp3", "public.mp3", "vip.mp3"]
    );
    assert_eq!(list(vip.clone()).await, ["public.mp3", "vip.mp3"]);

    // A subscription that lapses closes the file at once.
    app.db
        .execute("update public.subscriptions set status = 'canceled' where fan_id = '20000000-0000-0000-0000-0000000000f1'", &[])
        .await
        .expect("cancel");
    assert_eq!(download(&app, &path("vip.mp3"), &vip).await, denied);
}

#[tokio::test]
async fn users_write_only_their_own_avatar_folder() {
    let app = TestApp::builder().sql(FIXTURE).spawn().await.expect("app");
    let fan = app.user_token(FAN_NONE, json!({}));
    let r = upload(
        &app,
        &format!("avatars/{FAN_NONE}/me.png"),
        &fan,
        "image/png",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = upload(
        &app,
        &format!("avatars/{FAN_VIP}/me.png"),
        &fan,
        "image/png",
    )
    .await;
    assert_eq!(r.json()["code"], "AccessDenied", "{}", r.text);
    let r = upload(
        &app,
        &format!("avatars/{FAN_NONE}/me.txt"),
        &fan,
        "text/plain",
    )
    .await;
    assert_eq!(r.json()["code"], "InvalidMimeType", "{}", r.text);
    // Public: no token needed to read.
    let res = reqwest::get(format!(
        "{}/storage/v1/object/public/avatars/{FAN_NONE}/me.png",
        app.url
    ))
    .await
    .expect("public");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.text().await.expect("body"),
        format!("bytes of avatars/{FAN_NONE}/me.png")
    );
    // Replacing one's own avatar works (upsert needs the update policy).
    let r = Reply::read(
        app.request(
            Method::POST,
            &format!("/storage/v1/object/avatars/{FAN_NONE}/me.png"),
            &fan,
        )
        .header("x-upsert", "true")
        .header("content-type", "image/png")
        .body("new face")
        .send()
        .await
        .expect("upsert"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
}
