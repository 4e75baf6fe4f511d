//! A phone's live stream (`/api/events`): opened with a signed, expiring
//! ticket that only a signed-in device gets; a push pokes the streams of the
//! pushed compound's phones at once, and no other compound's.

mod support;

use std::time::Duration;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use doorstep_core::sync::SCHEMA_VERSION;
use doorstep_core::{access::Role, api::DeviceUpdate, api::EventTicket, hlc::Hlc, ids::ClientId};
use doorstep_server::{AppState, now_ms};
use serde_json::{Value, json};
use tempfile::TempDir;

async fn ticket(state: &AppState, auth: &str) -> (StatusCode, Option<EventTicket>) {
    let (status, _, body) = support::send(
        state,
        Request::post("/api/events/ticket")
            .header(header::AUTHORIZATION, auth)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    (status, serde_json::from_slice(&body).ok())
}

async fn open_with(state: &AppState, ticket: &str) -> (StatusCode, Value) {
    let (status, _, body) = support::send(
        state,
        Request::get(format!("/api/events?ticket={ticket}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn household_push(compound: &str, id: &str) -> String {
    let hlc = Hlc {
        wall_ms: now_ms() - 1000,
        counter: 0,
        node: ClientId::from_u128(7),
    };
    json!({"client_id": ClientId::from_u128(7), "schema_version": SCHEMA_VERSION, "mutations": [
        {"mid": 1, "hlc": hlc.to_string(), "kind": "set",
         "args": {"collection": "household", "id": id, "compound": compound,
                  "fields": {"building": "3", "door": "101"}}}]})
    .to_string()
}

#[tokio::test]
async fn only_a_signed_in_device_gets_a_ticket_and_only_a_true_ticket_opens_a_stream() {
    let dir = TempDir::new().unwrap();
    let (_db, state) = support::state_with(dir.path(), &[("c1", "永安社区")]).await;
    assert_eq!(
        ticket(&state, "Bearer nonsense").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (device, token) = state
        .store
        .enroll(&"c1".parse().unwrap(), Role::Volunteer, None, false)
        .await
        .unwrap();
    let (status, given) = ticket(&state, &format!("Bearer {token}")).await;
    assert_eq!(status, StatusCode::OK);
    let given = given.unwrap();
    assert!(given.expires_ms > now_ms());
    assert!(given.ticket.starts_with(&device.id));

    // Forged, tampered, expired or missing: refused alike.
    let (id, rest) = given.ticket.split_once('.').unwrap();
    let (expires, mac) = rest.split_once('.').unwrap();
    let other_device = given.ticket.replacen(id, "someone-else", 1);
    let longer = format!("{id}.{}.{mac}", expires.parse::<u64>().unwrap() + 1);
    let stale = format!("{id}.{}.{mac}", 1_000);
    let tampered = format!("{id}.{expires}.{}", "0".repeat(mac.len()));
    for bad in [
        other_device.as_str(),
        &longer,
        &stale,
        &tampered,
        "",
        "a.b.c",
    ] {
        let (status, body) = open_with(&state, bad).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(body["code"], "invalid_ticket", "{bad}");
    }

    // A device revoked after getting its ticket cannot open the stream.
    state
        .store
        .update_device(
            &"c1".parse().unwrap(),
            &device.id,
            &DeviceUpdate {
                revoke: true,
                key_persons: None,
            },
            now_ms(),
        )
        .await
        .unwrap();
    let (status, body) = open_with(&state, &given.ticket).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "device_revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_pokes_the_phones_of_its_compound_but_its_own_and_no_others() {
    let dir = TempDir::new().unwrap();
    let (_db, state) =
        support::state_with(dir.path(), &[("c1", "永安社区"), ("c2", "幸福小区")]).await;
    let writer = support::coordinator(&state, "c1").await;
    let reader = support::bearer(&state, "c1", Role::Coordinator, None, false).await;
    let elsewhere = support::bearer(&state, "c2", Role::Coordinator, None, false).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(doorstep_server::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));

    let mut streams = Vec::new();
    for auth in [&reader, &elsewhere, &writer] {
        let given = ticket(&state, auth).await.1.unwrap();
        let (mut stream, mut buffer) =
            support::sse_open(addr, &format!("/api/events?ticket={}", given.ticket)).await;
        assert_eq!(support::next_event(&mut stream, &mut buffer).await, "ready");
        streams.push((stream, buffer));
    }

    let (status, answer) = support::post_sync(addr, &writer, &household_push("c1", "h1"))
        .await
        .unwrap();
    assert_eq!(status, 200, "{answer}");
    let (stream, buffer) = &mut streams[0];
    let poke = tokio::time::timeout(Duration::from_secs(2), support::next_event(stream, buffer))
        .await
        .expect("c1's phone is poked within 2 s");
    assert_eq!(poke, "poke");
    for (i, who) in [
        (1, "c2's phone hears nothing of c1"),
        (
            2,
            "the pusher hears nothing of its own push (its answer had the pull)",
        ),
    ] {
        let (stream, buffer) = &mut streams[i];
        assert!(
            tokio::time::timeout(
                Duration::from_millis(500),
                support::next_event(stream, buffer)
            )
            .await
            .is_err(),
            "{who}"
        );
    }
    server.abort();
}
