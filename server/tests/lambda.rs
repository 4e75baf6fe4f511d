//! The Lambda handler (`--features lambda`): an API Gateway HTTP API event
//! (payload format 2.0) for `POST /api/sync`, as a phone's request arrives,
//! goes through the same adapter `lambda_http::run` uses, into the real
//! router on a fresh PostgreSQL database; the response comes back in API
//! Gateway's shape. Run with `cargo test -p doorstep-server --features lambda`.

#![cfg(feature = "lambda")]

mod support;

use std::io::Read;

use base64::Engine;
use doorstep_core::sync::{SCHEMA_VERSION, SyncResponse};
use doorstep_server::{lambda, store::Store};
use lambda_http::{
    Adapter, Context, LambdaEvent, Service, request::LambdaRequest, tower::ServiceExt,
};
use serde_json::Value;
use support::TestDb;

const EVENT: &str = include_str!("fixtures/apigw-v2-post-sync.json");

#[tokio::test]
async fn an_api_gateway_sync_event_is_answered() {
    let db = TestDb::create().await;
    let store = Store::open(&db.url).await.unwrap();
    let auth = support::compound_with_coordinator(&store, "yongan", "永安社区").await;
    store.close().await;
    // The phone's request carries its device's token.
    let mut sync_event: Value = serde_json::from_str(EVENT).unwrap();
    sync_event["headers"]["authorization"] = auth.into();
    // The recorded body, in this build's schema.
    let mut body: Value = serde_json::from_str(sync_event["body"].as_str().unwrap()).unwrap();
    body["schema_version"] = SCHEMA_VERSION.into();
    sync_event["body"] = body.to_string().into();
    let dist = tempfile::TempDir::new().unwrap();
    let state = lambda::state(&db.url, dist.path().to_path_buf())
        .await
        .unwrap();

    let payload: LambdaRequest = serde_json::from_value(sync_event).unwrap();
    let event = LambdaEvent::new(payload, Context::default());
    let mut handler = Adapter::from(lambda::router(state.clone()));
    let response = handler.ready().await.unwrap().call(event).await.unwrap();
    let response = serde_json::to_value(&response).unwrap();

    assert_eq!(response["statusCode"], 200, "{response}");
    let headers = &response["headers"];
    assert_eq!(headers["content-type"], "application/json", "{response}");
    // The phone accepts brotli, so the body is compressed, and API Gateway
    // carries it as base64.
    assert_eq!(headers["content-encoding"], "br", "{response}");
    assert_eq!(response["isBase64Encoded"], true, "{response}");
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(response["body"].as_str().unwrap())
        .unwrap();
    let mut body = Vec::new();
    brotli::Decompressor::new(&compressed[..], 4096)
        .read_to_end(&mut body)
        .unwrap();
    let sync: SyncResponse = serde_json::from_slice(&body).unwrap();
    assert_eq!(sync.last_mid, 1);
    assert!(sync.rejected.is_empty());
    let pulled = sync.pull.unwrap();
    assert_eq!(pulled.changes.len(), 1);
    assert_eq!(pulled.changes[0].record.id.as_str(), "h-101");
    let door: &Value = pulled.changes[0].record.named("door").unwrap();
    assert_eq!(door, "101");

    // A resident page's event stream is refused at once, so the page polls.
    let mut stream_event: Value = serde_json::from_str(EVENT).unwrap();
    stream_event["rawPath"] = "/api/public/runs/yongan/stream".into();
    stream_event["requestContext"]["http"]["method"] = "GET".into();
    stream_event["requestContext"]["http"]["path"] = "/api/public/runs/yongan/stream".into();
    stream_event["body"] = Value::Null;
    let payload: LambdaRequest = serde_json::from_value(stream_event).unwrap();
    let response = handler
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(payload, Context::default()))
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(&response).unwrap()["statusCode"], 204);
    // It is stored: a retry of the same event is idempotent.
    let store = Store::open(&db.url).await.unwrap();
    assert_eq!(
        store
            .last_mid(&"3f0c5a2e-8b1d-4c7a-9e2f-5d6b7a8c9d01".parse().unwrap())
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn the_lambda_handler_refuses_sqlite() {
    let dist = tempfile::TempDir::new().unwrap();
    let refused = lambda::state("sqlite://data/doorstep.sqlite", dist.path().to_path_buf()).await;
    let err = refused.err().unwrap();
    assert!(err.to_string().contains("PostgreSQL"), "{err}");
}

/// Every caller reaches a function from AWS's own addresses: the throttle
/// counts the address API Gateway saw (`requestContext.http.sourceIp`), so
/// one guesser is held up and another caller is not (issue 15, item 11).
#[tokio::test]
async fn the_throttle_counts_api_gateways_source_ip() {
    let db = TestDb::create().await;
    let store = Store::open(&db.url).await.unwrap();
    support::add_compound(&store, "yongan", "永安社区").await;
    store.close().await;
    let dist = tempfile::TempDir::new().unwrap();
    let mut state = lambda::state(&db.url, dist.path().to_path_buf())
        .await
        .unwrap();
    state.throttle = doorstep_server::accounts::Throttle {
        window_ms: 1 << 50,
        per_ip: 1,
        per_code: 100,
        everyone: 100,
    };
    let mut handler = Adapter::from(lambda::router(state));
    let mut redeem = async |source_ip: &str, code: &str| {
        let mut event: Value = serde_json::from_str(EVENT).unwrap();
        event["rawPath"] = "/api/redeem".into();
        event["requestContext"]["http"]["path"] = "/api/redeem".into();
        event["requestContext"]["http"]["sourceIp"] = source_ip.into();
        event["headers"]
            .as_object_mut()
            .unwrap()
            .remove("content-length");
        event["body"] = serde_json::json!({"code": code, "label": "x"})
            .to_string()
            .into();
        let payload: LambdaRequest = serde_json::from_value(event).unwrap();
        let response = handler
            .ready()
            .await
            .unwrap()
            .call(LambdaEvent::new(payload, Context::default()))
            .await
            .unwrap();
        serde_json::to_value(&response).unwrap()["statusCode"].clone()
    };
    assert_eq!(redeem("198.51.100.7", "AAAAA-AAAAA").await, 401);
    assert_eq!(redeem("198.51.100.7", "AAAAA-AAAAB").await, 429);
    assert_eq!(
        redeem("198.51.100.8", "AAAAA-AAAAC").await,
        401,
        "another caller behind the same gateway"
    );
}
