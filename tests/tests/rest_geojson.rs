//! `Accept: application/geo+json` (supabase-js `.geojson()`), as PostgREST's builtin GeoJSON
//! handler (`asGeoJsonF` in `Query/SqlFragment.hs`, cases of `test/spec/Feature/Query/PostGISSpec.hs`):
//! the rows as a `FeatureCollection` built by PostGIS' `ST_AsGeoJSON(record)`, on reads, RPC and
//! write representations; a relation without a geometry column answers PostGIS' 400 `22023`.

use bucketbase_tests::{Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

const FIXTURE: &str = r#"
create extension if not exists postgis;
create table public.shops (id int primary key, address text, shop_geom geometry(point, 4326));
insert into public.shops values
  (1, '1369 Cambridge St', 'SRID=4326;POINT(-71.10044 42.373695)'),
  (2, '757 Massachusetts Ave', 'SRID=4326;POINT(-71.10543 42.366432)'),
  (3, '605 W Kendall St', 'SRID=4326;POINT(-71.081924 42.36437)');
create table public.plain (id int primary key, name text);
insert into public.plain values (1, 'a');
create function public.get_shop(id int) returns setof public.shops language sql stable as
  $$ select * from public.shops where shops.id = get_shop.id $$;
create function public.shop_count() returns bigint language sql stable as
  $$ select count(*) from public.shops $$;
grant all on all tables in schema public to anon, authenticated, service_role;
grant execute on all functions in schema public to anon, authenticated, service_role;
"#;

const GEOJSON: &str = "application/geo+json";

async fn app() -> TestApp {
    TestApp::builder().sql(FIXTURE).spawn().await.expect("app")
}

async fn geo(
    app: &TestApp,
    method: Method,
    path: &str,
    prefer: &[&str],
    body: Option<&str>,
) -> Reply {
    let mut req = app
        .request(method, &format!("/rest/v1{path}"), &app.service_role_key)
        .header("accept", GEOJSON);
    for p in prefer {
        req = req.header("prefer", *p);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    Reply::read(req.send().await.expect("request")).await
}

fn feature(id: i64, address: &str, x: f64, y: f64) -> serde_json::Value {
    json!({
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [x, y]},
        "properties": {"id": id, "address": address}
    })
}

#[tokio::test]
async fn a_relation_with_a_geometry_column_is_a_feature_collection() {
    let app = app().await;
    let r = geo(&app, Method::GET, "/shops?order=id", &[], None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.header("content-type"),
        Some("application/geo+json; charset=utf-8")
    );
    assert_eq!(
        r.json(),
        json!({
            "type": "FeatureCollection",
            "features": [
                feature(1, "1369 Cambridge St", -71.10044, 42.373695),
                feature(2, "757 Massachusetts Ave", -71.10543, 42.366432),
                feature(3, "605 W Kendall St", -71.081924, 42.36437),
            ]
        })
    );

    // `select` picks the properties; the geometry column must be among them.
    let r = geo(
        &app,
        Method::GET,
        "/shops?select=id,shop_geom&id=eq.1",
        &[],
        None,
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"type": "FeatureCollection", "features": [{
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-71.10044, 42.373695]},
            "properties": {"id": 1}
        }]})
    );

    // No rows: an empty feature list.
    let r = geo(&app, Method::GET, "/shops?id=gt.3", &[], None).await;
    assert_eq!(
        r.json(),
        json!({"type": "FeatureCollection", "features": []})
    );
}

#[tokio::test]
async fn a_relation_without_a_geometry_column_is_postgis_22023() {
    let app = app().await;
    let r = geo(&app, Method::GET, "/plain", &[], None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"code": "22023", "details": null, "hint": null, "message": "geometry column is missing"})
    );
}

#[tokio::test]
async fn rpc_and_write_representations_are_feature_collections() {
    let app = app().await;
    let r = geo(&app, Method::GET, "/rpc/get_shop?id=1", &[], None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.header("content-type"),
        Some("application/geo+json; charset=utf-8")
    );
    assert_eq!(
        r.json(),
        json!({"type": "FeatureCollection", "features": [feature(1, "1369 Cambridge St", -71.10044, 42.373695)]})
    );

    let r = geo(
        &app,
        Method::POST,
        "/shops",
        &["return=representation"],
        Some(r#"{"id": 4, "address": "1354 Massachusetts Ave", "shop_geom": "SRID=4326;POINT(-71.11834 42.373238)"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.header("content-type"),
        Some("application/geo+json; charset=utf-8")
    );
    assert_eq!(
        r.json(),
        json!({"type": "FeatureCollection", "features": [feature(4, "1354 Massachusetts Ave", -71.11834, 42.373238)]})
    );

    let r = geo(
        &app,
        Method::PATCH,
        "/shops?id=eq.3",
        &["return=representation"],
        Some(r#"{"address": "1354 Massachusetts Avenue"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"type": "FeatureCollection", "features": [feature(3, "1354 Massachusetts Avenue", -71.081924, 42.36437)]})
    );
}

#[tokio::test]
async fn a_scalar_result_and_unknown_types_are_not_acceptable() {
    let app = app().await;
    let r = geo(&app, Method::GET, "/rpc/shop_count", &[], None).await;
    assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE, "{}", r.text);
    assert_eq!(r.json()["code"], "PGRST107");
    assert_eq!(
        r.json()["message"],
        "None of these media types are available: application/geo+json"
    );
    let r = Reply::read(
        app.request(Method::GET, "/rest/v1/shops", &app.service_role_key)
            .header("accept", "application/x-shapefile")
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(
        r.json(),
        json!({"code": "PGRST107", "details": null, "hint": null, "message": "None of these media types are available: application/x-shapefile"})
    );
}
