//! Issue #8: generated malformed and edge-case bodies for `POST /api/sync`,
//! through the real router on a real database (a SQLite file, or PostgreSQL
//! with `DOORSTEP_TEST_BACKEND=postgres`).
//!
//! Every body must get a 2xx or a clear 4xx (`{code, message}` with a
//! message), never a 5xx or a panic, and a 4xx must leave the store exactly
//! as it was. A 2xx may change the store; the comparison then starts again
//! from what it left.
//!
//! The cases mix random bytes, valid requests cut short or garbled, valid
//! requests with one to three parts replaced (wrong types, huge and negative
//! numbers, mid gaps and overflows, unknown kinds, collections and fields,
//! overlong text, bad and future HLCs, deep nesting, duplicate keys, Unicode
//! edge cases, empty and overfull arrays, other compounds and other devices'
//! clients), and fully valid requests from three devices (coordinator,
//! volunteer, stall) that build up real state as they go.
//!
//! 10,000 cases on SQLite. On PostgreSQL 1,000: each comparison there reads
//! every row of every table over a new connection, and the PostgreSQL pass
//! of the suite should stay quick. `PROPTEST_CASES` overrides both, and
//! `PROPTEST_RNG_SEED` replays a run. Every 500 cases start on a fresh
//! database, so that comparing stays cheap.
//!
//! The last two tests pin down the bugs these cases found.

use std::{
    cell::{Cell, RefCell},
    collections::{BTreeMap, HashMap},
    rc::Rc,
    sync::{LazyLock, Mutex},
    time::Instant,
};

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use doorstep_core::sync::SCHEMA_VERSION;
use doorstep_core::{
    access::Role,
    hlc::MAX_DRIFT_MS,
    ids::ClientId,
    schema::{Collection, FieldSpec, FieldType, Lifecycle},
    sync::SyncResponse,
};
use doorstep_server::{AppState, now_ms};
use proptest::{
    prelude::*,
    sample::{Index, select},
    strategy::SBoxedStrategy,
    string::string_regex,
    test_runner::{Config, TestCaseError, TestError, TestRunner},
};
use serde_json::{Map, Value, json};
use support::TestDatabase;
use tower::ServiceExt;

mod support;

// ---------------------------------------------------------------------------
// What a case is.

#[derive(Clone, Debug)]
enum Case {
    /// Bytes that are (almost surely) not JSON at all.
    Bytes(Vec<u8>),
    /// A well-formed request from one of the devices, then edited.
    Request {
        device: usize,
        request: Req,
        edits: Vec<Edit>,
    },
}

#[derive(Clone, Debug)]
struct Req {
    client: ClientPick,
    mids: MidStart,
    step: MidStep,
    /// Each mutation's `{kind, args}` and how far back its HLC is stamped.
    mutations: Vec<(Value, u64, u32)>,
    pull: Option<(&'static str, u64, Option<String>)>,
}

#[derive(Clone, Debug)]
enum ClientPick {
    /// One of this device's own client ids.
    Own(Index),
    /// A client id of another device (or one a device of compound c2 has
    /// pushed as).
    Taken(Index),
    /// A client id nobody has used.
    Fresh(u128),
}

#[derive(Clone, Debug)]
enum MidStart {
    /// The mid the server expects next.
    Next,
    /// A retry that starts this many mids back.
    Retry(u64),
    /// Skips this many mids.
    Gap(u64),
    /// This mid, whatever the server has.
    At(u64),
}

#[derive(Clone, Debug)]
enum MidStep {
    Consecutive,
    Same,
    Down,
    SkipOne,
}

/// Where in the request an edit applies.
#[derive(Clone, Debug)]
enum Target {
    /// Any node of the request.
    Any(Index),
    /// Any object of the request.
    Object(Index),
    /// A path; `Nth` picks an array element.
    Path(Vec<Seg>),
}

#[derive(Clone, Debug)]
enum Seg {
    Key(&'static str),
    Nth(Index),
}

#[derive(Clone, Debug)]
enum Edit {
    /// The value at the target becomes this text (maybe not JSON at all).
    Replace(Target, Vec<u8>),
    Remove(Target),
    /// An extra member, first in the object: unknown, or a duplicate key.
    AddMember(Target, String, Vec<u8>),
    /// A member repeated with another value.
    Duplicate(Index, Vec<u8>),
    /// One mutation's HLC.
    Hlc(Index, BadHlc),
    /// One mutation's field set to this text.
    Field(Index, String, Vec<u8>),
    /// The body cut at this point.
    Truncate(Index),
    /// Bytes flipped, replaced, inserted or deleted.
    Garble(Vec<(Index, Garble)>),
    Wrap(Vec<u8>, Vec<u8>),
}

#[derive(Clone, Debug)]
enum Garble {
    Flip(u8),
    Set(u8),
    Insert(u8),
    Delete,
}

#[derive(Clone, Debug)]
enum BadHlc {
    /// Stamped this far ahead of the server's clock.
    Ahead(u64),
    Wall(String),
    Counter(String),
    /// Stamped by another client.
    OtherNode,
    /// The right node written another way UUIDs may be written.
    NodeUpper,
    NodeSimple,
    NodeBraced,
    NodeUrn,
    Text(String),
    /// Not a string.
    Raw(Vec<u8>),
}

// ---------------------------------------------------------------------------
// Strategies.

const COMPOUND: &str = "c1";
/// Cases (replays while shrinking included) on one database.
const FRESH_EVERY: u32 = 500;
const DEVICES: usize = 3;
const OWN_CLIENTS: u128 = 3;
/// A volunteer's team and the buildings households sit in: shared pools,
/// so assignments, households and scope checks meet each other.
const TEAM: &str = "team1";
const BUILDINGS: &[&str] = &["1", "2", "3", "十二"];

/// Text that is valid yet awkward: combining marks, bidi overrides, zero
/// widths, a NUL, the last code point, emoji sequences, surrounding spaces.
const AWKWARD: &[&str] = &[
    "王芳",
    "e\u{301}",
    "\u{202e}evil",
    "\u{200b}",
    "\u{feff}x",
    "a\u{0}b",
    "\u{7f}",
    "\u{10ffff}",
    "\u{fffd}",
    "👨\u{200d}👩\u{200d}👧\u{200d}👦",
    "🇨🇳",
    "  padded  ",
    "tab\tnew\nline\r",
    "\"quoted\" \\ back",
    "</script><script>alert(1)</script>",
    "'; DROP TABLE record; --",
    "%s%n",
    "null",
];

/// A string strategy for `pattern`, compiled once: proptest would parse a
/// `&str` pattern again for every value, which dominates a debug build.
fn regex(pattern: &'static str) -> SBoxedStrategy<String> {
    static COMPILED: LazyLock<Mutex<HashMap<&'static str, SBoxedStrategy<String>>>> =
        LazyLock::new(Default::default);
    COMPILED
        .lock()
        .unwrap()
        .entry(pattern)
        .or_insert_with(|| string_regex(pattern).unwrap().sboxed())
        .clone()
}

fn client_id(n: u128) -> ClientId {
    ClientId::from_u128(n)
}

/// Device `d`'s own client ids are 0x1000 * (d + 1) + k.
fn own_client(device: usize, k: u128) -> ClientId {
    client_id(0x1000 * (device as u128 + 1) + k)
}

/// The client id a device of compound c2 pushed as during setup.
fn foreign_client() -> ClientId {
    client_id(0xF0F0)
}

fn text(max_chars: usize, required: bool) -> BoxedStrategy<String> {
    let clip = move |s: String| -> String {
        let mut s: String = s.chars().take(max_chars).collect();
        if required && s.trim().is_empty() {
            s = "x".into();
        }
        s
    };
    prop_oneof![
        4 => regex("[a-zA-Z0-9 ]{1,12}"),
        2 => select(AWKWARD).prop_map(str::to_owned),
        1 => regex("\\PC{1,20}"),
        1 => Just("很".repeat(max_chars)),
        1 => Just(String::new()),
    ]
    .prop_map(clip)
    .boxed()
}

fn record_id(collection: Collection) -> BoxedStrategy<String> {
    let name = collection.name();
    prop_oneof![
        12 => (0..5u8).prop_map(move |n| format!("{name}{n}")),
        1 => Just("z".repeat(64)),
        1 => regex("[A-Za-z0-9_-]{1,64}"),
    ]
    .boxed()
}

fn any_u64() -> BoxedStrategy<u64> {
    prop_oneof![
        3 => select(vec![0, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX - 1, u64::MAX]),
        3 => Just(now_ms()),
        2 => any::<u64>(),
    ]
    .boxed()
}

fn stops() -> BoxedStrategy<Value> {
    prop::collection::vec((any_u64(), prop_oneof![Just(0u32), Just(240), 0..=240u32]), 0..5)
        .prop_map(|stops| {
            Value::Array(
                stops
                    .into_iter()
                    .enumerate()
                    .map(|(i, (planned_ms, dwell_min))| {
                        json!({"building": format!("{}", i + 1), "planned_ms": planned_ms, "dwell_min": dwell_min})
                    })
                    .collect(),
            )
        })
        .boxed()
}

/// A value the schema accepts for `spec`.
fn valid_value(spec: &'static FieldSpec) -> BoxedStrategy<Value> {
    let value = match spec.ty {
        FieldType::Text { .. } if spec.name == "building" => {
            select(BUILDINGS).prop_map(Value::from).boxed()
        }
        FieldType::Text { max_chars } => text(max_chars, spec.required)
            .prop_map(Value::String)
            .boxed(),
        FieldType::Int { min, max } => prop_oneof![Just(min), Just(max), min..=max]
            .prop_map(Value::from)
            .boxed(),
        FieldType::Ref(Collection::Team) => {
            prop_oneof![Just(TEAM.to_owned()), record_id(Collection::Team)]
                .prop_map(Value::String)
                .boxed()
        }
        FieldType::Ref(target) => record_id(target).prop_map(Value::String).boxed(),
        FieldType::Choice(words) => select(words).prop_map(Value::from).boxed(),
        FieldType::Stops => stops(),
        FieldType::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        FieldType::Decimal { min, max } => prop_oneof![Just(min), Just(max), min..=max]
            .prop_map(Value::from)
            .boxed(),
    };
    if spec.required {
        value
    } else {
        // Clearing a field is allowed where it is not required.
        prop_oneof![9 => value, 1 => Just(Value::Null)].boxed()
    }
}

fn fields_of(specs: Vec<&'static FieldSpec>) -> BoxedStrategy<Map<String, Value>> {
    specs
        .into_iter()
        .map(|spec| valid_value(spec).prop_map(move |v| (spec.name.to_owned(), v)))
        .collect::<Vec<_>>()
        .prop_map(|fields| fields.into_iter().collect())
        .boxed()
}

/// A mutation's `{kind, args}` that `Mutation::validate` accepts.
fn valid_mutation() -> BoxedStrategy<Value> {
    (
        select(Collection::ALL.to_vec()),
        prop_oneof![16 => Just(COMPOUND), 1 => Just("c2"), 1 => Just("nowhere")],
    )
        .prop_flat_map(|(collection, compound)| {
            let specs: Vec<&'static FieldSpec> = collection.fields().iter().collect();
            let args = move |id: String, fields: Option<Map<String, Value>>| {
                let mut args = json!({"collection": collection, "id": id, "compound": compound});
                if let Some(fields) = fields {
                    args["fields"] = Value::Object(fields);
                }
                args
            };
            match collection.lifecycle() {
                Lifecycle::Mutable => {
                    let n = specs.len();
                    prop_oneof![
                        5 => (record_id(collection), prop::sample::subsequence(specs, 1..=n.min(4))
                            .prop_flat_map(fields_of))
                            .prop_map(move |(id, fields)| json!({"kind": "set", "args": args(id, Some(fields))})),
                        1 => record_id(collection)
                            .prop_map(move |id| json!({"kind": "delete", "args": args(id, None)})),
                    ]
                    .boxed()
                }
                Lifecycle::AppendOnly => {
                    let (required, optional): (Vec<_>, Vec<_>) =
                        specs.into_iter().partition(|s| s.required);
                    let n = optional.len();
                    (record_id(collection), prop::sample::subsequence(optional, 0..=n))
                        .prop_flat_map(move |(id, extra)| {
                            let mut all = required.clone();
                            all.extend(extra);
                            (Just(id), fields_of(all))
                        })
                        .prop_map(move |(id, fields)| {
                            json!({"kind": "append", "args": args(id, Some(fields))})
                        })
                        .boxed()
                }
            }
        })
        .boxed()
}

fn request() -> impl Strategy<Value = Req> {
    let client = prop_oneof![
        16 => any::<Index>().prop_map(ClientPick::Own),
        1 => any::<Index>().prop_map(ClientPick::Taken),
        2 => any::<u128>().prop_map(ClientPick::Fresh),
    ];
    let mids = prop_oneof![
        12 => Just(MidStart::Next),
        3 => (1..4u64).prop_map(MidStart::Retry),
        1 => (1..6u64).prop_map(MidStart::Gap),
        1 => any_u64().prop_map(MidStart::At),
    ];
    let step = prop_oneof![
        20 => Just(MidStep::Consecutive),
        1 => Just(MidStep::Same),
        1 => Just(MidStep::Down),
        1 => Just(MidStep::SkipOne),
    ];
    let mutation = (
        valid_mutation(),
        prop_oneof![Just(0u64), 0..3_600_000u64],
        prop_oneof![Just(0u32), Just(u32::MAX), any::<u32>()],
    );
    let mutations = prop_oneof![
        30 => Just(Vec::new()),
        120 => prop::collection::vec(mutation.clone(), 1..=4),
        // Around the limit of 100 a push. Rare, since a valid one is a
        // hundred writes; but at weight 3 the 1,000 PostgreSQL cases now and
        // then had no 101 small enough to reach the count check.
        12 => prop::collection::vec(mutation, 100..=101),
    ];
    let pull = prop::option::weighted(
        0.4,
        (
            prop_oneof![8 => Just(COMPOUND), 1 => Just("c2")],
            prop_oneof![Just(0u64), 0..50u64, any_u64()],
            prop::option::of(prop_oneof![regex("[0-9a-f]{16}"), regex("\\PC{0,20}")]),
        ),
    );
    (client, mids, step, mutations, pull).prop_map(|(client, mids, step, mutations, pull)| Req {
        client,
        mids,
        step,
        mutations,
        pull,
    })
}

/// JSON text (or not quite) for a replaced value.
fn raw_value() -> BoxedStrategy<Vec<u8>> {
    const FIXED: &[&str] = &[
        "null",
        "true",
        "false",
        "0",
        "-0",
        "1",
        "-1",
        "0.5",
        "1.0",
        "1e2",
        "-1e2",
        "1e400",
        "-1e400",
        "1.7976931348623157e308",
        "5e-324",
        "4294967295",
        "4294967296",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "123456789012345678901234567890",
        "01",
        "+1",
        ".5",
        "NaN",
        "Infinity",
        "-Infinity",
        "\"\"",
        "\" \"",
        "\"0\"",
        "\"1\"",
        "\"-1\"",
        "\"null\"",
        "\"\\u0000\"",
        "\"\\ud800\"",
        "\"\\udc00\\ud800\"",
        "\"\\ud83d\\ude00\"",
        "\"\\x41\"",
        "\"\\u12\"",
        "\"tab\there\"",
        "\"unterminated",
        "[]",
        "{}",
        "[null]",
        "[[]]",
        "{\"\":null}",
        "{\"a\":1,\"a\":2}",
        "[1,]",
        "{\"a\":1,}",
        "'single'",
        "undefined",
        "",
        " ",
        "\u{feff}1",
        "\"set\"",
        "\"append\"",
        "\"delete\"",
        "\"household\"",
        "\"c1\"",
        "\"c2\"",
        "\"00000000-0000-0000-0000-000000000000\"",
    ];
    prop_oneof![
        6 => select(FIXED).prop_map(|s| s.as_bytes().to_vec()),
        2 => any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        1 => any::<u64>().prop_map(|n| n.to_string().into_bytes()),
        1 => any::<f64>().prop_map(|f| json!(f).to_string().into_bytes()),
        2 => regex("\\PC{0,30}").prop_map(|s| Value::String(s).to_string().into_bytes()),
        1 => select(AWKWARD).prop_map(|s| Value::String(s.into()).to_string().into_bytes()),
        // Overlong text, in characters and in bytes.
        1 => (select(vec![17usize, 33, 65, 201, 501, 1001, 2001, 10_000, 300_000]), select(vec!["a", "很", "👨‍👩‍👧"]))
            .prop_map(|(n, c)| Value::String(c.repeat(n)).to_string().into_bytes()),
        // Deep nesting, around serde_json's limit of 128.
        1 => (select(vec![16usize, 100, 126, 127, 128, 129, 1000, 20_000]), any::<bool>())
            .prop_map(|(depth, objects)| {
                let (open, close) = if objects { ("{\"a\":", "}") } else { ("[", "]") };
                format!("{}1{}", open.repeat(depth), close.repeat(depth)).into_bytes()
            }),
        1 => prop::collection::vec(any::<u8>(), 0..12),
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
    ]
    .boxed()
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        regex("\\PC{0,10}").prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(regex("[a-z_]{0,8}"), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn bad_hlc() -> BoxedStrategy<BadHlc> {
    prop_oneof![
        3 => prop_oneof![
            Just(MAX_DRIFT_MS - 1000),
            Just(MAX_DRIFT_MS + 1000),
            Just(10 * 60_000),
            Just(365 * 24 * 3_600_000),
            Just(100 * 365 * 24 * 3_600_000),
            any::<u64>(),
        ].prop_map(BadHlc::Ahead),
        2 => select(vec!["0", "-1", "", "18446744073709551615", "18446744073709551616", "1e3", " 1", "+1", "x"])
            .prop_map(|s| BadHlc::Wall(s.into())),
        1 => select(vec!["4294967295", "4294967296", "-1", "", "0x1"])
            .prop_map(|s| BadHlc::Counter(s.into())),
        1 => Just(BadHlc::OtherNode),
        1 => Just(BadHlc::NodeUpper),
        1 => Just(BadHlc::NodeSimple),
        1 => Just(BadHlc::NodeBraced),
        1 => Just(BadHlc::NodeUrn),
        2 => prop_oneof![
            select(vec!["", ".", "..", "1.0", "1.0.", "1.0.x", "...", "1.2.3.4"]).prop_map(str::to_owned),
            regex("\\PC{0,40}"),
            regex("[0-9]{1,22}\\.[0-9]{1,12}\\.[0-9a-f-]{0,40}"),
        ].prop_map(BadHlc::Text),
        1 => raw_value().prop_map(BadHlc::Raw),
    ]
    .boxed()
}

fn target() -> BoxedStrategy<Target> {
    let named = prop_oneof![
        select(vec!["client_id", "schema_version", "mutations", "pull"])
            .prop_map(|k| vec![Seg::Key(k)]),
        select(vec!["compound", "cursor", "scope"])
            .prop_map(|k| vec![Seg::Key("pull"), Seg::Key(k)]),
        (any::<Index>(), select(vec!["mid", "hlc", "kind", "args"])).prop_map(|(i, k)| vec![
            Seg::Key("mutations"),
            Seg::Nth(i),
            Seg::Key(k)
        ]),
        (
            any::<Index>(),
            select(vec!["collection", "id", "compound", "fields"])
        )
            .prop_map(|(i, k)| vec![
                Seg::Key("mutations"),
                Seg::Nth(i),
                Seg::Key("args"),
                Seg::Key(k)
            ]),
        any::<Index>().prop_map(|i| vec![Seg::Key("mutations"), Seg::Nth(i)]),
    ];
    prop_oneof![
        3 => named.prop_map(Target::Path),
        3 => any::<Index>().prop_map(Target::Any),
        1 => any::<Index>().prop_map(Target::Object),
    ]
    .boxed()
}

fn edit() -> BoxedStrategy<Edit> {
    let field_name = prop_oneof![
        4 => select(
            Collection::ALL
                .iter()
                .flat_map(|c| c.fields().iter().map(|f| f.name))
                .collect::<Vec<_>>()
        ).prop_map(str::to_owned),
        1 => select(vec!["colour", "", "__proto__", "Members", "members ", "id", "kind"]).prop_map(str::to_owned),
        1 => regex("\\PC{0,12}"),
    ];
    let member_key = prop_oneof![
        select(vec![
            "x",
            "",
            "client_id",
            "mid",
            "hlc",
            "kind",
            "args",
            "fields",
            "schema_version",
            "mutations",
            "pull",
            "compound",
            "cursor",
            "collection",
            "id"
        ])
        .prop_map(str::to_owned),
        regex("\\PC{0,12}"),
    ];
    let garble = prop_oneof![
        (0..8u8).prop_map(Garble::Flip),
        any::<u8>().prop_map(Garble::Set),
        select(b"{}[]\",:\\0 \x00\xff".to_vec()).prop_map(Garble::Insert),
        Just(Garble::Delete),
    ];
    let junk = prop_oneof![
        Just(Vec::new()),
        select(vec![
            "\u{feff}",
            " \n\t",
            "x",
            "{}",
            "[]",
            "null",
            "\0",
            "{\"client_id\":1}"
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 1..8),
    ];
    prop_oneof![
        6 => (target(), raw_value()).prop_map(|(t, raw)| Edit::Replace(t, raw)),
        2 => target().prop_map(Edit::Remove),
        2 => (any::<Index>(), member_key, raw_value())
            .prop_map(|(i, key, raw)| Edit::AddMember(Target::Object(i), key, raw)),
        2 => (any::<Index>(), raw_value()).prop_map(|(i, raw)| Edit::Duplicate(i, raw)),
        4 => (any::<Index>(), bad_hlc()).prop_map(|(i, h)| Edit::Hlc(i, h)),
        5 => (any::<Index>(), field_name, raw_value()).prop_map(|(i, name, raw)| Edit::Field(i, name, raw)),
        3 => any::<Index>().prop_map(Edit::Truncate),
        3 => prop::collection::vec((any::<Index>(), garble), 1..4).prop_map(Edit::Garble),
        1 => (junk.clone(), junk).prop_map(|(a, b)| Edit::Wrap(a, b)),
    ]
    .boxed()
}

fn case() -> impl Strategy<Value = Case> {
    const TOKENS: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"",
        "null",
        "1",
        "-1",
        "\"client_id\"",
        "\"mutations\"",
        "\"mid\"",
        "\"hlc\"",
        "\"kind\"",
        "\"args\"",
        "\"set\"",
        "\"fields\"",
        " ",
        "\\",
    ];
    let device = 0..DEVICES;
    prop_oneof![
        // Random bytes, and JSON-ish token soup.
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Case::Bytes),
        1 => prop::collection::vec(select(TOKENS), 0..40).prop_map(|t| Case::Bytes(t.concat().into_bytes())),
        // Fully valid requests.
        5 => (device.clone(), request()).prop_map(|(device, request)| Case::Request { device, request, edits: vec![] }),
        // One edit, or a few at once.
        9 => (device.clone(), request(), edit()).prop_map(|(device, request, e)| Case::Request { device, request, edits: vec![e] }),
        2 => (device, request(), prop::collection::vec(edit(), 2..=3))
            .prop_map(|(device, request, edits)| Case::Request { device, request, edits }),
    ]
}

// ---------------------------------------------------------------------------
// Rendering a case to bytes.

#[derive(Clone, Debug, PartialEq)]
enum Key {
    Name(String),
    At(usize),
}

enum RawEdit {
    Replace(Vec<Key>, Vec<u8>),
    Remove(Vec<Key>),
    Add(Vec<Key>, String, Vec<u8>),
}

fn hlc_text(wall: u64, counter: u32, node: ClientId) -> String {
    format!("{wall}.{counter}.{node}")
}

/// The request as a JSON value, with mids resolved against the client's
/// `last_mid` as the server has it.
fn base_value(req: &Req, client: ClientId, last_mid: u64, now: u64) -> Value {
    let first = match req.mids {
        MidStart::Next => last_mid.saturating_add(1),
        MidStart::Retry(back) => (last_mid + 1).saturating_sub(back).max(1),
        MidStart::Gap(skip) => last_mid + 1 + skip,
        MidStart::At(mid) => mid,
    };
    let mutations: Vec<Value> = req
        .mutations
        .iter()
        .enumerate()
        .map(|(i, (body, back_ms, counter))| {
            let i = i as u64;
            let mid = match req.step {
                MidStep::Consecutive => first.wrapping_add(i),
                MidStep::Same => first,
                MidStep::Down => first.wrapping_sub(i),
                MidStep::SkipOne => first.wrapping_add(i + u64::from(i > 0)),
            };
            let mut m = body.clone();
            m["mid"] = mid.into();
            m["hlc"] = hlc_text(now.saturating_sub(*back_ms), *counter, client).into();
            m
        })
        .collect();
    let mut value =
        json!({"client_id": client, "schema_version": SCHEMA_VERSION, "mutations": mutations});
    if let Some((compound, cursor, scope)) = &req.pull {
        value["pull"] = json!({"compound": compound, "cursor": cursor});
        if let Some(scope) = scope {
            value["pull"]["scope"] = scope.clone().into();
        }
    }
    value
}

/// Every path in `value`, and whether it leads to an object.
fn paths(value: &Value, at: &mut Vec<Key>, out: &mut Vec<(Vec<Key>, bool)>) {
    out.push((at.clone(), value.is_object()));
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                at.push(Key::Name(k.clone()));
                paths(v, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(Key::At(i));
                paths(v, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn resolve(target: &Target, value: &Value) -> Option<Vec<Key>> {
    let mut all = Vec::new();
    paths(value, &mut Vec::new(), &mut all);
    match target {
        Target::Any(i) => Some(all[i.index(all.len())].0.clone()),
        Target::Object(i) => {
            let objects: Vec<_> = all.into_iter().filter(|(_, o)| *o).collect();
            Some(objects[i.index(objects.len())].0.clone())
        }
        Target::Path(segs) => {
            let mut node = value;
            let mut path = Vec::new();
            for seg in segs {
                match seg {
                    Seg::Key(k) => {
                        path.push(Key::Name((*k).to_owned()));
                        node = node.get(*k).unwrap_or(&Value::Null);
                    }
                    Seg::Nth(i) => {
                        let items = node.as_array().filter(|a| !a.is_empty())?;
                        let n = i.index(items.len());
                        path.push(Key::At(n));
                        node = &items[n];
                    }
                }
            }
            Some(path)
        }
    }
}

fn mutation_mut(value: &mut Value, i: Index) -> Option<(usize, &mut Value)> {
    let items = value.get_mut("mutations")?.as_array_mut()?;
    if items.is_empty() {
        return None;
    }
    let n = i.index(items.len());
    Some((n, &mut items[n]))
}

fn write(value: &Value, at: &mut Vec<Key>, edits: &[RawEdit], out: &mut Vec<u8>) {
    for edit in edits {
        if let RawEdit::Replace(path, raw) = edit
            && path == at
        {
            out.extend_from_slice(raw);
            return;
        }
    }
    let removed = |at: &Vec<Key>| {
        edits
            .iter()
            .any(|e| matches!(e, RawEdit::Remove(p) if p == at))
    };
    match value {
        Value::Object(map) => {
            out.push(b'{');
            let mut first = true;
            for edit in edits {
                if let RawEdit::Add(path, key, raw) = edit
                    && path == at
                {
                    if !std::mem::take(&mut first) {
                        out.push(b',');
                    }
                    out.extend(Value::String(key.clone()).to_string().into_bytes());
                    out.push(b':');
                    out.extend_from_slice(raw);
                }
            }
            for (k, v) in map {
                at.push(Key::Name(k.clone()));
                if !removed(at) {
                    if !std::mem::take(&mut first) {
                        out.push(b',');
                    }
                    out.extend(Value::String(k.clone()).to_string().into_bytes());
                    out.push(b':');
                    write(v, at, edits, out);
                }
                at.pop();
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            let mut first = true;
            for (i, v) in items.iter().enumerate() {
                at.push(Key::At(i));
                if !removed(at) {
                    if !std::mem::take(&mut first) {
                        out.push(b',');
                    }
                    write(v, at, edits, out);
                }
                at.pop();
            }
            out.push(b']');
        }
        other => out.extend(other.to_string().into_bytes()),
    }
}

fn render(case: &Case, client: ClientId, last_mid: u64, now: u64) -> Vec<u8> {
    let (request, edits) = match case {
        Case::Bytes(bytes) => return bytes.clone(),
        Case::Request { request, edits, .. } => (request, edits),
    };
    let mut value = base_value(request, client, last_mid, now);
    let mut raw = Vec::new();
    let mut text_edits = Vec::new();
    for edit in edits {
        match edit {
            Edit::Replace(target, bytes) => {
                if let Some(path) = resolve(target, &value) {
                    raw.push(RawEdit::Replace(path, bytes.clone()));
                }
            }
            Edit::Remove(target) => {
                if let Some(path) = resolve(target, &value) {
                    raw.push(RawEdit::Remove(path));
                }
            }
            Edit::AddMember(target, key, bytes) => {
                if let Some(path) = resolve(target, &value) {
                    raw.push(RawEdit::Add(path, key.clone(), bytes.clone()));
                }
            }
            Edit::Duplicate(i, bytes) => {
                // A member that exists, written a second time before it.
                let mut all = Vec::new();
                paths(&value, &mut Vec::new(), &mut all);
                let members: Vec<Vec<Key>> = all
                    .into_iter()
                    .map(|(p, _)| p)
                    .filter(|p| matches!(p.last(), Some(Key::Name(_))))
                    .collect();
                if !members.is_empty() {
                    let mut path = members[i.index(members.len())].clone();
                    let Some(Key::Name(key)) = path.pop() else {
                        unreachable!()
                    };
                    raw.push(RawEdit::Add(path, key, bytes.clone()));
                }
            }
            Edit::Hlc(i, bad) => {
                if let Some((n, mutation)) = mutation_mut(&mut value, *i) {
                    let other = client_id(0xDEAD);
                    let node = client.to_string();
                    let hlc = match bad {
                        BadHlc::Ahead(ms) => hlc_text(now.saturating_add(*ms), 0, client),
                        BadHlc::Wall(w) => format!("{w}.0.{client}"),
                        BadHlc::Counter(c) => format!("{now}.{c}.{client}"),
                        BadHlc::OtherNode => hlc_text(now, 0, other),
                        BadHlc::NodeUpper => format!("{now}.0.{}", node.to_uppercase()),
                        BadHlc::NodeSimple => format!("{now}.0.{}", node.replace('-', "")),
                        BadHlc::NodeBraced => format!("{now}.0.{{{node}}}"),
                        BadHlc::NodeUrn => format!("{now}.0.urn:uuid:{node}"),
                        BadHlc::Text(t) => t.clone(),
                        BadHlc::Raw(bytes) => {
                            let path = vec![
                                Key::Name("mutations".into()),
                                Key::At(n),
                                Key::Name("hlc".into()),
                            ];
                            raw.push(RawEdit::Replace(path, bytes.clone()));
                            continue;
                        }
                    };
                    mutation["hlc"] = hlc.into();
                }
            }
            Edit::Field(i, name, bytes) => {
                if let Some((n, mutation)) = mutation_mut(&mut value, *i) {
                    if !mutation["args"].is_object() {
                        mutation["args"] = json!({});
                    }
                    let fields = &mut mutation["args"]["fields"];
                    if !fields.is_object() {
                        *fields = json!({});
                    }
                    fields[name.as_str()] = Value::Null;
                    let path = vec![
                        Key::Name("mutations".into()),
                        Key::At(n),
                        Key::Name("args".into()),
                        Key::Name("fields".into()),
                        Key::Name(name.clone()),
                    ];
                    raw.push(RawEdit::Replace(path, bytes.clone()));
                }
            }
            Edit::Truncate(_) | Edit::Garble(_) | Edit::Wrap(..) => text_edits.push(edit),
        }
    }
    let mut body = Vec::new();
    write(&value, &mut Vec::new(), &raw, &mut body);
    for edit in text_edits {
        match edit {
            Edit::Truncate(at) => body.truncate(at.index(body.len().max(1))),
            Edit::Garble(changes) => {
                for (at, change) in changes {
                    let len = body.len();
                    match change {
                        Garble::Insert(b) => body.insert(at.index(len + 1), *b),
                        _ if len == 0 => {}
                        Garble::Flip(bit) => body[at.index(len)] ^= 1 << bit,
                        Garble::Set(b) => body[at.index(len)] = *b,
                        Garble::Delete => {
                            body.remove(at.index(len));
                        }
                    }
                }
            }
            Edit::Wrap(prefix, suffix) => {
                body.splice(0..0, prefix.iter().copied());
                body.extend_from_slice(suffix);
            }
            _ => unreachable!(),
        }
    }
    body
}

// ---------------------------------------------------------------------------
// Running the cases.

struct Fixture {
    _dir: tempfile::TempDir,
    db: TestDatabase,
    state: AppState,
    /// The whole router, built once: building it takes milliseconds in a
    /// debug build, more than most cases.
    app: axum::Router,
    /// Each device's `Authorization` header: coordinator, volunteer, stall.
    auth: Vec<String>,
    /// Everything stored as of the last 2xx.
    snapshot: RefCell<Vec<Vec<u8>>>,
    /// Each client's last mid as the 2xx answers said (asking the store
    /// each time would cost more than many cases).
    last_mids: RefCell<HashMap<ClientId, u64>>,
}

/// How many cases ended in each status and code.
type Outcomes = RefCell<BTreeMap<(u16, String), u32>>;

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::TempDir::new().unwrap();
        let (db, state) =
            support::state_with(dir.path(), &[(COMPOUND, "永安社区"), ("c2", "幸福里")]).await;
        let auth = vec![
            support::coordinator(&state, COMPOUND).await,
            support::bearer(&state, COMPOUND, Role::Volunteer, Some(TEAM), false).await,
            support::bearer(&state, COMPOUND, Role::Stall, None, false).await,
        ];
        let fixture = Self {
            _dir: dir,
            db,
            auth,
            snapshot: RefCell::new(Vec::new()),
            last_mids: RefCell::new(HashMap::from([(foreign_client(), 1)])),
            app: doorstep_server::app(state.clone()),
            state,
        };
        // A device of compound c2 takes a client id, so others may try it.
        let other = support::coordinator(&fixture.state, "c2").await;
        let client = foreign_client();
        let body = json!({
            "client_id": client, "schema_version": SCHEMA_VERSION,
            "mutations": [{"mid": 1, "hlc": hlc_text(now_ms(), 0, client), "kind": "set",
                "args": {"collection": "household", "id": "elsewhere", "compound": "c2", "fields": {"door": "1"}}}]
        });
        let (status, response, _) = fixture.post(&other, body.to_string().into_bytes()).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&response)
        );
        *fixture.snapshot.borrow_mut() = fixture.db.contents().await;
        fixture
    }

    async fn post(&self, auth: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>, Option<String>) {
        let request = Request::post("/api/sync")
            .header("content-type", "application/json")
            .header("authorization", auth)
            .body(Body::from(body))
            .unwrap();
        // Its own task, so that a panic in the server is caught and reported
        // with the body that caused it.
        let app = self.app.clone();
        let sent = tokio::spawn(async move {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX).await;
            (status, body.unwrap().to_vec())
        });
        match sent.await {
            Ok((status, body)) => (status, body, None),
            Err(err) => {
                let panic = err.into_panic();
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "(not a string)".into());
                (StatusCode::INTERNAL_SERVER_ERROR, Vec::new(), Some(message))
            }
        }
    }

    async fn check(&self, case: &Case, outcomes: &Outcomes) -> Result<(), TestCaseError> {
        let (device, client) = match case {
            Case::Bytes(_) => (0, own_client(0, 0)),
            Case::Request {
                device, request, ..
            } => {
                let client = match &request.client {
                    ClientPick::Own(i) => {
                        own_client(*device, i.index(OWN_CLIENTS as usize) as u128)
                    }
                    ClientPick::Taken(i) => {
                        let others: Vec<ClientId> = (0..DEVICES)
                            .filter(|d| d != device)
                            .map(|d| own_client(d, 0))
                            .chain([foreign_client()])
                            .collect();
                        others[i.index(others.len())]
                    }
                    ClientPick::Fresh(n) => client_id(*n),
                };
                (*device, client)
            }
        };
        let last_mid = self.last_mids.borrow().get(&client).copied().unwrap_or(0);
        let body = render(case, client, last_mid, now_ms());
        let (status, response, panic) = self.post(&self.auth[device], body.clone()).await;
        let shown = || {
            let text = String::from_utf8_lossy(&body);
            let cut: String = text.chars().take(3000).collect();
            format!(
                "body ({} bytes): {cut}\nresponse: {status} {}",
                body.len(),
                String::from_utf8_lossy(&response)
            )
        };
        if let Some(panic) = panic {
            return Err(TestCaseError::fail(format!(
                "the server panicked: {panic}\n{}",
                shown()
            )));
        }
        let json: Value = serde_json::from_slice(&response).unwrap_or(Value::Null);
        let code = json["code"].as_str().unwrap_or_default().to_owned();
        *outcomes
            .borrow_mut()
            .entry((status.as_u16(), code.clone()))
            .or_default() += 1;
        if status.is_success() {
            let sync = match serde_json::from_value::<SyncResponse>(json) {
                Ok(sync) => sync,
                Err(err) => {
                    return Err(TestCaseError::fail(format!(
                        "a 2xx that is not a sync response ({err})\n{}",
                        shown()
                    )));
                }
            };
            // The body's client id, which an edit may have changed.
            if let Some(client) = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|b| b["client_id"].as_str()?.parse::<ClientId>().ok())
            {
                self.last_mids.borrow_mut().insert(client, sync.last_mid);
            }
            *self.snapshot.borrow_mut() = self.db.contents().await;
            return Ok(());
        }
        if !status.is_client_error() {
            return Err(TestCaseError::fail(format!(
                "neither 2xx nor 4xx\n{}",
                shown()
            )));
        }
        let message = json["message"].as_str().unwrap_or_default();
        if code.is_empty() || message.trim().is_empty() {
            return Err(TestCaseError::fail(format!(
                "a 4xx without a code and a message\n{}",
                shown()
            )));
        }
        let contents = self.db.contents().await;
        if contents != *self.snapshot.borrow() {
            // From here on, compare with what it left: so shrinking finds
            // a case that changes the store itself.
            *self.snapshot.borrow_mut() = contents;
            return Err(TestCaseError::fail(format!(
                "a 4xx changed the store\n{}",
                shown()
            )));
        }
        Ok(())
    }
}

#[test]
fn generated_sync_bodies_get_a_clear_answer_and_a_4xx_stores_nothing() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fixture = RefCell::new(Rc::new(runtime.block_on(Fixture::new())));
    let postgres = fixture.borrow().db.is_postgres();
    let cases = match std::env::var("PROPTEST_CASES") {
        Ok(n) => n.parse().expect("PROPTEST_CASES is a number"),
        // Fewer on PostgreSQL, where each comparison reads every row over a
        // new connection: the suite's PostgreSQL pass should stay quick.
        Err(_) if postgres => 1_000,
        Err(_) => 10_000,
    };
    let mut runner = TestRunner::new(Config {
        cases,
        // A failure prints its (shrunk) body; nothing is written to the tree.
        failure_persistence: None,
        max_shrink_time: 60_000,
        ..Config::default()
    });
    let outcomes = Outcomes::default();
    let run = Cell::new(0u32);
    let started = Instant::now();
    let result = runner.run(&case(), |case| {
        runtime.block_on(async {
            // A fresh database now and then keeps each comparison cheap
            // (SQLite's write-ahead log alone grows to megabytes).
            run.set(run.get() + 1);
            if run.get().is_multiple_of(FRESH_EVERY) {
                *fixture.borrow_mut() = Rc::new(Fixture::new().await);
            }
            let current = Rc::clone(&fixture.borrow());
            current.check(&case, &outcomes).await
        })
    });
    let elapsed = started.elapsed();
    let outcomes = outcomes.into_inner();
    eprintln!(
        "{cases} cases on {} in {:.1} s; outcomes (status, code: count):",
        if postgres { "PostgreSQL" } else { "SQLite" },
        elapsed.as_secs_f64()
    );
    for ((status, code), n) in outcomes.iter() {
        eprintln!("  {status} {code}: {n}");
    }
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, case)) => panic!("{reason}\nminimal case: {case:?}"),
        Err(TestError::Abort(reason)) => panic!("aborted: {reason}"),
    }
    // The mix must reach every kind of answer, or the generator has drifted.
    if cases >= 1_000 {
        for (status, code) in [
            (200, ""),
            (400, "malformed"),
            (409, "mid_gap"),
            (413, "too_many_mutations"),
            (422, "invalid"),
            (422, "clock_ahead"),
            (403, "forbidden"),
        ] {
            assert!(
                outcomes.contains_key(&(status, code.to_owned())),
                "no case ended in {status} {code}"
            );
        }
    }
}

/// Found by the cases above: mids counted past `u64::MAX` overflowed in
/// `SyncRequest::check` (a panic in a debug build).
#[tokio::test]
async fn a_batch_counting_past_the_largest_mid_is_refused() {
    let fixture = Fixture::new().await;
    let client = own_client(0, 0);
    let mutation = |mid: u64| {
        json!({"mid": mid, "hlc": hlc_text(now_ms(), 0, client), "kind": "set",
               "args": {"collection": "household", "id": "h1", "compound": COMPOUND, "fields": {"door": "1"}}})
    };
    let body = json!({"client_id": client, "schema_version": SCHEMA_VERSION,
                      "mutations": [mutation(u64::MAX), mutation(0)]});
    let (status, response, panic) = fixture
        .post(&fixture.auth[0], body.to_string().into_bytes())
        .await;
    assert_eq!(panic, None);
    let error: Value = serde_json::from_slice(&response).unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["field"], "mutations[1].mid");
    assert_eq!(fixture.db.contents().await, *fixture.snapshot.borrow());
}

/// Found by the cases above: a valid push with a pull of another compound
/// was stored, then answered 403 as if nothing had been.
#[tokio::test]
async fn a_refused_pull_refuses_the_push_with_it() {
    let fixture = Fixture::new().await;
    let client = own_client(0, 0);
    let body = json!({"client_id": client, "schema_version": SCHEMA_VERSION,
        "mutations": [{"mid": 1, "hlc": hlc_text(now_ms(), 0, client), "kind": "set",
            "args": {"collection": "household", "id": "h1", "compound": COMPOUND, "fields": {"door": "1"}}}],
        "pull": {"compound": "c2", "cursor": 0}});
    let (status, response, _) = fixture
        .post(&fixture.auth[0], body.to_string().into_bytes())
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "{}",
        String::from_utf8_lossy(&response)
    );
    assert_eq!(fixture.db.contents().await, *fixture.snapshot.borrow());
    assert_eq!(fixture.state.store.last_mid(&client).await.unwrap(), 0);
}
