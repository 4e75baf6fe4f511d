//! District totals (issue 16, item 3), through the real router on this
//! run's backend: an official redeems its invite, sees every compound of its
//! district counted as the coordinator's dashboard counts it (one
//! definition: core's `dashboard::totals`), kept current by every push
//! (edits that move records between households, deletes, refusals,
//! several writers at once, and the backfill of a database whose figures
//! were never kept all give what counting every record gives), as JSON and
//! as a workbook, and never a name, door or phone; it pulls nothing.

use std::io::Cursor;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use calamine::Reader;
use doorstep_core::sync::SCHEMA_VERSION;
use doorstep_core::{
    api::Redeemed,
    dashboard::totals,
    district::{DistrictSummary, DistrictTotals, Figures},
    hlc::Hlc,
    ids::{ClientId, CompoundId, DistrictId},
    schema::Collection,
};
use doorstep_server::{
    AppState, now_ms,
    store::{Compound, Placement, Store},
};
use serde_json::{Value, json};
use tempfile::TempDir;

mod support;

/// What no official's answer may carry: the seed's names, phones and doors.
const PERSONAL: [&str; 6] = [
    "王芳",
    "李建国",
    "13800138000",
    "13912345678",
    "3-1-302室",
    "5-2-101室",
];

fn d1() -> DistrictId {
    "d1".parse().unwrap()
}

fn mutation(compound: &str, kind: &str, collection: &str, id: &str, fields: Value) -> Value {
    let mut args = json!({"collection": collection, "id": id, "compound": compound});
    if kind != "delete" {
        args["fields"] = fields;
    }
    json!({"kind": kind, "args": args})
}

/// A push of `mutations` by a fresh client `client`, stamped `at_ms`.
fn push(client: u128, at_ms: u64, mutations: &[Value]) -> Value {
    let node = ClientId::from_u128(client);
    let stamped: Vec<Value> = mutations
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut m = m.clone();
            m["mid"] = json!(i + 1);
            m["hlc"] = json!(
                Hlc {
                    wall_ms: at_ms,
                    counter: i as u32,
                    node
                }
                .to_string()
            );
            m
        })
        .collect();
    json!({"client_id": node, "schema_version": SCHEMA_VERSION, "mutations": stamped})
}

/// A compound's work: two teams, two households (names, phones, doors),
/// visits with a swab, a need resolved and one open, a purchase.
fn seed(c: &str) -> Vec<Value> {
    let m = |kind, collection, id: &str, fields| {
        mutation(c, kind, collection, &format!("{c}-{id}"), fields)
    };
    let h1 = format!("{c}-h1");
    let h2 = format!("{c}-h2");
    let n1 = format!("{c}-n1");
    let t1 = format!("{c}-t1");
    vec![
        m("set", "team", "t1", json!({"name": "一队"})),
        m("set", "team", "t2", json!({"name": "二队"})),
        m(
            "set",
            "household",
            "h1",
            json!({"building": "3", "unit": "1", "door": "3-1-302室", "head": "王芳", "phone": "13800138000"}),
        ),
        m(
            "set",
            "household",
            "h2",
            json!({"building": "5", "unit": "2", "door": "5-2-101室", "head": "李建国", "phone": "13912345678"}),
        ),
        m(
            "set",
            "person",
            "p1",
            json!({"household": h1, "name": "王芳", "care": "elderly_alone"}),
        ),
        m(
            "set",
            "visit",
            "v1",
            json!({"household": h1, "outcome": "visited", "swab": true, "tube_no": "A1", "temperature_c": 36.5}),
        ),
        m(
            "set",
            "visit",
            "v2",
            json!({"household": h2, "outcome": "no_answer"}),
        ),
        m(
            "set",
            "need",
            "n1",
            json!({"household": h1, "category": "food"}),
        ),
        m(
            "set",
            "need",
            "n2",
            json!({"household": h2, "category": "medicine"}),
        ),
        m(
            "append",
            "need_event",
            "e1",
            json!({"need": n1, "step": "collected", "at_ms": 1}),
        ),
        m(
            "append",
            "need_event",
            "e2",
            json!({"need": n1, "step": "assigned", "team": t1, "due_ms": 5, "at_ms": 2}),
        ),
        m(
            "append",
            "need_event",
            "e3",
            json!({"need": n1, "step": "resolved", "note": "送菜", "at_ms": 3}),
        ),
        m(
            "append",
            "need_event",
            "e4",
            json!({"need": format!("{c}-n2"), "step": "collected", "at_ms": 4}),
        ),
        m(
            "append",
            "purchase",
            "pu1",
            json!({"household": h1, "items": "米", "amount_cents": 500}),
        ),
    ]
}

struct Fixture {
    _dir: TempDir,
    _db: support::TestDatabase,
    state: AppState,
    /// `Authorization` of an official of d1.
    official: String,
    /// `Authorization` of c1's coordinator.
    coordinator: String,
}

async fn fixture() -> Fixture {
    let dir = TempDir::new().unwrap();
    let (db, state) = support::state_with(dir.path(), &[]).await;
    let store = &state.store;
    for (id, name) in [("d1", "洪山区"), ("d2", "武昌区")] {
        store
            .create_district(
                &DistrictSummary {
                    id: id.parse().unwrap(),
                    name: name.into(),
                },
                now_ms(),
            )
            .await
            .unwrap();
    }
    for (id, name, district, street) in [
        ("c1", "永安社区", Some("d1"), Some("珞南街道")),
        ("c2", "幸福小区", Some("d1"), Some("珞南街道")),
        ("c3", "新建小区", Some("d1"), None),
        ("c4", "别区小区", Some("d2"), None),
        ("c5", "无区小区", None, None),
    ] {
        let placement = Placement {
            district: district.map(|d| d.parse().unwrap()),
            street: street.map(str::to_owned),
        };
        let compound = Compound {
            id: id.parse().unwrap(),
            name: name.into(),
        };
        store
            .create_compound_in(&compound, &placement, now_ms())
            .await
            .unwrap();
    }
    let coordinator = support::coordinator(&state, "c1").await;
    for (i, c) in ["c1", "c2", "c4", "c5"].into_iter().enumerate() {
        let auth = if c == "c1" {
            coordinator.clone()
        } else {
            support::coordinator(&state, c).await
        };
        let (status, _, body) = support::send(
            &state,
            sync(&auth, &push(i as u128 + 1, now_ms() - 60_000, &seed(c))),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["rejected"], json!([]), "{c}'s seed applies");
    }
    let (_, token) = store.enroll_official(&d1()).await.unwrap();
    Fixture {
        _dir: dir,
        _db: db,
        state,
        official: format!("Bearer {token}"),
        coordinator,
    }
}

fn sync(auth: &str, body: &Value) -> Request<Body> {
    Request::post("/api/sync")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, auth)
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn get(path: &str, auth: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(auth) = auth {
        request = request.header(header::AUTHORIZATION, auth);
    }
    request.body(Body::empty()).unwrap()
}

async fn district_totals(f: &Fixture) -> (DistrictTotals, String) {
    let (status, _, body) =
        support::send(&f.state, get("/api/districts/d1/totals", Some(&f.official))).await;
    let text = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    (serde_json::from_str(&text).unwrap(), text)
}

/// Every record a compound holds.
async fn records(store: &Store, compound: &str) -> Vec<doorstep_core::record::Record> {
    let compound: CompoundId = compound.parse().unwrap();
    let mut records = Vec::new();
    for collection in Collection::ALL {
        records.extend(store.records_of(&compound, collection).await.unwrap());
    }
    records
}

/// The coordinator dashboard's figures for a compound, from every record
/// it holds.
async fn dashboard_of(state: &AppState, compound: &str) -> doorstep_core::dashboard::Totals {
    totals(&records(&state.store, compound).await)
}

/// The district's totals as `store` keeps them are those of counting every
/// record of every compound again: each row, the sum and the days.
async fn assert_kept_as_counted(store: &Store) {
    let page = store
        .district_totals(&d1(), now_ms())
        .await
        .unwrap()
        .unwrap();
    let mut sum = Figures::default();
    for row in &page.compounds {
        let counted = Figures::of(&records(store, row.compound.id.as_str()).await);
        assert_eq!(row.totals, counted.totals, "{}", row.compound.id);
        sum.add(&counted);
    }
    assert_eq!(page.sum, sum.totals);
    assert_eq!(page.days, sum.days);
}

/// Sends a push of c1's coordinator, by client `client`.
async fn push_c1(f: &Fixture, client: u128, mutations: &[Value]) -> Value {
    let (status, _, body) = support::send(
        &f.state,
        sync(&f.coordinator, &push(client, now_ms() - 1000, mutations)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn kept_figures_follow_edits_across_households_needs_and_deletes() {
    let f = fixture().await;
    assert_kept_as_counted(&f.state.store).await;
    let m = |kind, collection, id: &str, fields| mutation("c1", kind, collection, id, fields);
    let day = now_ms() - 3 * 86_400_000;
    // v1 moves to h2: h1's care person is no longer in a visited household.
    let pushed = push_c1(
        &f,
        100,
        &[
            m("set", "visit", "c1-v1", json!({"household": "c1-h2"})),
            m("delete", "visit", "c1-v2", json!(null)),
            m(
                "set",
                "visit",
                "c1-v4",
                json!({"household": "c1-h1", "outcome": "visited", "swab": true, "tube_no": "A4", "visited_at_ms": day}),
            ),
            m(
                "append",
                "need_event",
                "c1-e5",
                json!({"need": "c1-n2", "step": "assigned", "team": "c1-t1", "due_ms": 9, "at_ms": 5}),
            ),
            m(
                "append",
                "need_event",
                "c1-e6",
                json!({"need": "c1-n2", "step": "resolved", "note": "送药", "at_ms": 6}),
            ),
            m(
                "set",
                "home_visit",
                "c1-hv1",
                json!({"household": "c1-h2", "result": "tested", "tube_no": "B1", "at_ms": day}),
            ),
            m("delete", "team", "c1-t2", json!(null)),
            m("set", "person", "c1-p1", json!({"household": "c1-h2"})),
            // Another compound's record: refused, counts nowhere.
            mutation(
                "c2",
                "set",
                "visit",
                "c2-v9",
                json!({"household": "c2-h1", "outcome": "visited", "swab": true, "tube_no": "Z"}),
            ),
        ],
    )
    .await;
    assert_eq!(pushed["rejected"].as_array().unwrap().len(), 1, "{pushed}");
    assert_kept_as_counted(&f.state.store).await;
    let (page, _) = district_totals(&f).await;
    let c1 = &page.compounds[2].totals;
    assert_eq!(
        (
            c1.teams,
            c1.households_visited,
            c1.needs_resolved,
            c1.home_tests,
            c1.special_populations
        ),
        (1, 2, 2, 3, 1)
    );
    assert_eq!(
        page.days.len(),
        2,
        "today and three days ago: {:?}",
        page.days
    );
}

#[tokio::test]
async fn several_writers_at_once_keep_one_compounds_figures() {
    let f = fixture().await;
    let writers: Vec<_> = (0..6u128)
        .map(|w| {
            let state = f.state.clone();
            let auth = f.coordinator.clone();
            tokio::spawn(async move {
                for round in 0..4u128 {
                    let household = format!("c1-h{}", (w + round) % 2 + 1);
                    let visit = mutation(
                        "c1",
                        "set",
                        "visit",
                        &format!("c1-w{}", round % 2),
                        json!({"household": household, "outcome": "visited", "swab": w % 2 == 0, "tube_no": "W"}),
                    );
                    let body = push(200 + w * 10 + round, now_ms() - 1000, &[visit]);
                    let (status, _, body) = support::send(&state, sync(&auth, &body)).await;
                    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    assert_kept_as_counted(&f.state.store).await;
}

#[tokio::test]
async fn a_database_whose_figures_were_never_kept_is_counted_when_it_opens() {
    let f = fixture().await;
    let (before, _) = district_totals(&f).await;
    // As after the migration that began keeping figures: none kept yet.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&f._db.url).await.unwrap();
    for table in ["compound_figures", "record_share"] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    let reopened = Store::open(&f._db.url).await.unwrap();
    let after = reopened
        .district_totals(&d1(), now_ms())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (&after.compounds, &after.sum, &after.days),
        (&before.compounds, &before.sum, &before.days)
    );
    assert_kept_as_counted(&reopened).await;
    // And writes keep them from there.
    let state = AppState::new(reopened.clone(), f._dir.path().to_path_buf());
    let visit = mutation("c1", "set", "visit", "c1-v1", json!({"household": "c1-h2"}));
    let (status, _, _) = support::send(
        &state,
        sync(&f.coordinator, &push(300, now_ms() - 1000, &[visit])),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_kept_as_counted(&reopened).await;
    reopened.close().await;
}

#[tokio::test]
async fn every_compound_counts_as_on_its_dashboard_and_the_sum_adds_them() {
    let f = fixture().await;
    let (page, text) = district_totals(&f).await;
    assert_eq!(page.district.name, "洪山区");
    let ids: Vec<&str> = page
        .compounds
        .iter()
        .map(|r| r.compound.id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["c3", "c2", "c1"],
        "no street first, then by street and name; only d1's"
    );
    for row in &page.compounds {
        assert_eq!(
            row.totals,
            dashboard_of(&f.state, row.compound.id.as_str()).await,
            "{} counts as its dashboard does",
            row.compound.id
        );
    }
    let c1 = &page.compounds[2].totals;
    assert_eq!(
        (
            c1.teams,
            c1.households_visited,
            c1.needs_collected,
            c1.needs_resolved,
            c1.home_tests,
            c1.purchases
        ),
        (2, 1, 2, 1, 1, 1)
    );
    assert_eq!(page.sum.home_tests, 2);
    assert_eq!(page.sum.teams, 4);
    assert_eq!(
        page.compounds[0].totals,
        Default::default(),
        "c3 has no work"
    );
    assert_eq!(page.compounds[0].last_change_ms, None, "c3 never synced");
    assert!(
        page.compounds[2]
            .last_change_ms
            .is_some_and(|t| t <= now_ms())
    );
    assert_eq!(page.days.iter().map(|d| d.home_tests).sum::<usize>(), 2);
    assert_eq!(page.compounds[1].street.as_deref(), Some("珞南街道"));
    for personal in PERSONAL {
        assert!(!text.contains(personal), "{personal} in {text}");
    }

    // A push to c1 is counted at the next look; c2 is read as kept.
    let more = [mutation(
        "c1",
        "set",
        "visit",
        "c1-v3",
        json!({"household": "c1-h2", "outcome": "visited", "swab": true, "tube_no": "A9"}),
    )];
    let (status, _, _) = support::send(
        &f.state,
        sync(&f.coordinator, &push(99, now_ms() - 1000, &more)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (again, _) = district_totals(&f).await;
    let c1 = &again.compounds[2].totals;
    assert_eq!((c1.households_visited, c1.home_tests), (2, 2));
    assert_eq!(c1, &dashboard_of(&f.state, "c1").await);
    assert_eq!(again.compounds[1].totals, page.compounds[1].totals);
    assert_eq!(again.sum.home_tests, 3);
    assert!(again.compounds[2].last_change_ms >= page.compounds[2].last_change_ms);
}

#[tokio::test]
async fn an_official_pulls_nothing_and_reaches_only_its_district() {
    let f = fixture().await;
    let pull = json!({"client_id": ClientId::from_u128(77), "schema_version": SCHEMA_VERSION, "pull": {"compound": "c1", "cursor": 0}});
    let (status, _, body) = support::send(&f.state, sync(&f.official, &pull)).await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(
        !text.contains("household") && !text.contains("王芳"),
        "{text}"
    );
    let push_one = push(
        78,
        now_ms() - 1000,
        &[mutation(
            "c1",
            "set",
            "household",
            "x",
            json!({"door": "1"}),
        )],
    );
    let (status, _, _) = support::send(&f.state, sync(&f.official, &push_one)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an official writes nothing either"
    );
    for path in [
        "/api/session",
        "/api/compounds/c1/ledgers.xlsx",
        "/api/compounds/c1/freshness",
        "/api/compounds/c1/devices",
        "/api/districts/d2/totals",
        "/api/districts/nowhere/totals",
    ] {
        let (status, _, _) = support::send(&f.state, get(path, Some(&f.official))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let (status, _, _) = support::send(
        &f.state,
        get("/api/districts/d1/totals", Some(&f.coordinator)),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a coordinator sees its compound, not the district"
    );
    let (status, _, _) = support::send(&f.state, get("/api/districts/d1/totals", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    assert_eq!(
        f.state
            .store
            .revoke_officials(&d1(), "official", now_ms())
            .await
            .unwrap(),
        1
    );
    let (status, _, body) =
        support::send(&f.state, get("/api/districts/d1/totals", Some(&f.official))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(String::from_utf8_lossy(&body).contains("device_revoked"));
}

#[tokio::test]
async fn an_official_signs_in_by_invite_and_coordinators_cannot_make_one() {
    let f = fixture().await;
    let (_, code) = f
        .state
        .store
        .create_official_invite(&d1(), 1, 24, now_ms())
        .await
        .unwrap();
    let redeem = || {
        Request::post("/api/redeem")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"code": code, "label": "区办手机"}).to_string(),
            ))
            .unwrap()
    };
    let (status, _, body) = support::send(&f.state, redeem()).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let redeemed: Redeemed = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        redeemed.session, None,
        "an official has no compound session"
    );
    assert_eq!(
        redeemed.district.as_ref().map(|d| d.name.as_str()),
        Some("洪山区")
    );
    let auth = format!("Bearer {}", redeemed.token);
    let (status, _, _) =
        support::send(&f.state, get("/api/districts/d1/totals", Some(&auth))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = support::send(&f.state, redeem()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the code is used up");

    let invite = Request::post("/api/compounds/c1/invites")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, &f.coordinator)
        .body(Body::from(
            json!({"role": "official", "uses": 1, "hours": 1}).to_string(),
        ))
        .unwrap();
    let (status, _, body) = support::send(&f.state, invite).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        String::from_utf8_lossy(&body)
    );
}

#[tokio::test]
async fn the_workbook_has_a_row_per_compound_a_sum_and_the_days() {
    let f = fixture().await;
    let (status, headers, bytes) = support::send(
        &f.state,
        get("/api/districts/d1/totals.xlsx", Some(&f.official)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let disposition = headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        disposition.contains("filename*=UTF-8''d1-"),
        "{disposition}"
    );
    let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).unwrap();
    assert_eq!(workbook.sheet_names(), ["各小区", "按日"]);
    let rows: Vec<Vec<String>> = workbook
        .worksheet_range("各小区")
        .unwrap()
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(
        rows[0][..8],
        [
            "街道",
            "小区",
            "工作队",
            "走访户数",
            "收集困难问题",
            "已解决",
            "上门核酸",
            "代购"
        ]
    );
    assert_eq!(rows.len(), 5, "header, three compounds, the sum: {rows:?}");
    assert_eq!(
        rows[3][..8],
        ["珞南街道", "永安社区", "2", "1", "2", "1", "1", "1"]
    );
    assert_eq!(rows[4][..2], ["合计", "3 个小区"]);
    assert_eq!(rows[4][6], "2");
    let days = workbook.worksheet_range("按日").unwrap();
    assert!(days.rows().count() >= 2);
    let all: String = rows.concat().concat();
    for personal in PERSONAL {
        assert!(!all.contains(personal), "{personal}");
    }

    // The app's download form posts the token; a wrong one gets a page.
    let form = |token: &str| {
        Request::post("/api/districts/d1/totals.xlsx")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={token}")))
            .unwrap()
    };
    let token = f.official.trim_start_matches("Bearer ");
    let (status, _, _) = support::send(&f.state, form(token)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, _) = support::send(&f.state, form("wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[test]
fn the_cli_creates_districts_compounds_in_them_and_official_invites() {
    let dir = TempDir::new().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cli.sqlite").display());
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_doorstep-server"))
            .arg("--database-url")
            .arg(&db)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    assert!(run(&["district", "create", "--id", "hongshan", "--name", "洪山区"]).0);
    let (ok, out) = run(&[
        "compound",
        "create",
        "--id",
        "c1",
        "--name",
        "永安社区",
        "--district",
        "nowhere",
    ]);
    assert!(!ok && out.contains("no district nowhere"), "{out}");
    assert!(
        run(&[
            "compound",
            "create",
            "--id",
            "c1",
            "--name",
            "永安社区",
            "--district",
            "hongshan",
            "--street",
            "珞南街道"
        ])
        .0
    );
    let (ok, out) = run(&["district", "list"]);
    assert!(ok && out.contains("hongshan\t洪山区"), "{out}");
    let (ok, out) = run(&[
        "district",
        "invite",
        "--district",
        "hongshan",
        "--public-url",
        "https://d.example",
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("join: https://d.example/join#code="), "{out}");
}
