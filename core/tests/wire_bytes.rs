//! What sync weighs on the wire. A 5,000-household compound's first pull:
//! its pages as sent (`page.rs`) against the same changes as whole records
//! (how schema 1 sent them), decoded and brotli-compressed at the server's
//! quality. And one volunteer's 60 door edits pushed in one request: each
//! checklist's fields as the app sent them before it sent only what
//! changed, and after, as JSON and gzipped as the browser gzips. The
//! records follow the peer benchmark's workload (`../shared/peer/gen.js`:
//! 25 buildings × 4 units × 50 doors, a head with a Chinese name, an
//! 11-digit phone, short notes on some, care flags as people, one
//! round-1 visit per household by one of 50 teams' phones), with ids as
//! the app makes them (a roster import's UUIDs, `v-{round}-{household}`).
//! `cargo test -p doorstep-core --test wire_bytes -- --nocapture` prints
//! the figures BENCH.md quotes.

use std::io::Write;

use doorstep_core::{
    hlc::{Clock, Hlc},
    ids::{ClientId, CompoundId, RecordId},
    mutation::Mutation,
    record::Record,
    schema::{Collection, Field, Vocabulary, household, person, visit},
    sync::{Change, PULL_PAGE_SIZE, PullPage, PushedMutation, SCHEMA_VERSION, SyncRequest},
    visit::{CareGroup, Checklist, Health, Outcome},
};
use serde_json::{Value, json};

/// The server's response quality (`RESPONSE_QUALITY` in server/src/lib.rs).
const BROTLI_QUALITY: u32 = 5;

/// splitmix64: a fixed seed gives the same compound every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn uuid(&mut self) -> String {
        let n = (u128::from(self.next()) << 64) | u128::from(self.next());
        ClientId::from_u128(n).to_string()
    }
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "建", "国", "红", "玉", "兰", "凤",
];
const NOTES: &[&str] = &[
    "独居老人，每日电话联系",
    "行动不便，需上门服务",
    "高血压，需长期服药",
    "租户，已登记房东电话",
    "无人应答时请打电话",
    "需代购生活物资",
    "听力不好，请大声敲门",
    "透析病人，每周三次",
];

const T0: u64 = 1_641_340_800_000; // 2022-01-05 08:00 in Zhengzhou

fn set(collection: Collection, id: &str, fields: Vec<(Field, Value)>) -> Mutation {
    Mutation::Set {
        collection,
        id: id.parse().unwrap(),
        compound: "yongan".parse().unwrap(),
        fields: fields.into_iter().map(|(f, v)| f.set(v)).collect(),
    }
}

/// The compound's records in the order the server's sequence numbers give.
fn compound() -> Vec<Record> {
    let mut rng = Rng(20220105);
    let mut office = Clock::new(rng.uuid().parse().unwrap());
    let mut teams: Vec<(RecordId, Clock)> = (0..50)
        .map(|_| {
            let id = format!("t{}", &rng.uuid().replace('-', "")[..12]);
            (id.parse().unwrap(), Clock::new(rng.uuid().parse().unwrap()))
        })
        .collect();
    let round = format!("r{}", &rng.uuid().replace('-', "")[..12]);
    let mut edits: Vec<(Mutation, Hlc)> = Vec::new();
    let mut households = Vec::new();
    for b in 1..=25 {
        for u in 1..=4 {
            for d in 1..=50 {
                let id = rng.uuid();
                let members = 1 + rng.below(6);
                let head = format!(
                    "{}{}{}",
                    rng.pick(SURNAMES),
                    rng.pick(GIVEN),
                    if rng.chance(70) { rng.pick(GIVEN) } else { "" }
                );
                let phone = format!(
                    "1{}{:09}",
                    rng.pick(&[3, 5, 7, 8, 9]),
                    rng.below(1e9 as u64)
                );
                let mut fields = vec![
                    (household::BUILDING, json!(b.to_string())),
                    (household::UNIT, json!(u.to_string())),
                    (household::DOOR, json!(format!("{}{d:02}", 1 + (d - 1) / 4))),
                    (household::HEAD, json!(head)),
                    (household::PHONE, json!(phone)),
                    (household::MEMBERS, json!(members)),
                ];
                if rng.chance(30) {
                    fields.push((household::NOTES, json!(rng.pick(NOTES))));
                }
                let hlc = office.tick(T0 - 86_400_000 + edits.len() as u64 / 10);
                edits.push((set(Collection::Household, &id, fields), hlc));
                for (care, percent) in [
                    (CareGroup::ElderlyAlone, if members == 1 { 30 } else { 0 }),
                    (CareGroup::Disabled, 3),
                    (CareGroup::Chronic, 12),
                    (CareGroup::Pregnant, if members >= 2 { 2 } else { 0 }),
                    (CareGroup::Child, if members >= 3 { 35 } else { 0 }),
                ] {
                    if rng.chance(percent) {
                        let person = format!("p{}", &rng.uuid().replace('-', "")[..12]);
                        let fields = vec![
                            (person::HOUSEHOLD, json!(id)),
                            (person::CARE, json!(care.word())),
                        ];
                        let hlc = office.tick(T0 - 86_400_000);
                        edits.push((set(Collection::Person, &person, fields), hlc));
                    }
                }
                households.push((id, (b - 1) * 4 + (u - 1)));
            }
        }
    }
    for (i, (household, stair)) in households.iter().enumerate() {
        let (team, phone) = &mut teams[*stair / 2];
        let fever = rng.chance(5);
        let temperature = if fever {
            37.3 + rng.below(12) as f64 / 10.0
        } else {
            36.2 + rng.below(10) as f64 / 10.0
        };
        let outcome = *rng.pick(&[
            Outcome::Visited,
            Outcome::Visited,
            Outcome::Visited,
            Outcome::Visited,
            Outcome::Visited,
            Outcome::NoAnswer,
            Outcome::Revisit,
        ]);
        let at = T0 + (i as u64 % 100) * 270_000 + rng.below(60_000);
        let mut fields = vec![
            (visit::HOUSEHOLD, json!(household)),
            (visit::ROUND, json!(round)),
            (visit::TEAM, json!(team)),
            (visit::OUTCOME, json!(outcome.word())),
            (
                visit::TEMPERATURE_C,
                json!((temperature * 10.0).round() / 10.0),
            ),
            (visit::CLOTHES_OK, json!(true)),
            (visit::BEDDING_OK, json!(true)),
            (visit::FOOD_OK, json!(rng.chance(88))),
            (visit::VISITED_AT_MS, json!(at)),
        ];
        if fever {
            fields.push((visit::HEALTH, json!(Health::Symptoms.word())));
            fields.push((visit::SYMPTOMS, json!("发热，咳嗽")));
        } else {
            fields.push((visit::HEALTH, json!(Health::Normal.word())));
        }
        let id = format!("v-{round}-{household}");
        edits.push((set(Collection::Visit, &id, fields), phone.tick(at)));
    }
    edits
        .into_iter()
        .map(|(mutation, hlc)| {
            mutation.validate().unwrap();
            mutation.apply(None, &hlc).unwrap().0
        })
        .collect()
}

fn pages(records: &[Record]) -> Vec<PullPage> {
    let compound: CompoundId = "yongan".parse().unwrap();
    let chunks: Vec<&[Record]> = records.chunks(PULL_PAGE_SIZE).collect();
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let first = (i * PULL_PAGE_SIZE) as u64 + 1;
            PullPage {
                compound: compound.clone(),
                changes: chunk
                    .iter()
                    .enumerate()
                    .map(|(j, record)| Change {
                        seq: first + j as u64,
                        record: record.clone(),
                    })
                    .collect(),
                cursor: first + chunk.len() as u64 - 1,
                more: i + 1 < chunks.len(),
                remaining: records.len().saturating_sub((i + 1) * PULL_PAGE_SIZE) as u64,
                scope: "all".into(),
                reset: i == 0,
            }
        })
        .collect()
}

fn brotli(bytes: &[u8]) -> usize {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, BROTLI_QUALITY, 22);
        writer.write_all(bytes).unwrap();
    }
    out.len()
}

#[test]
fn a_big_compounds_pull_is_compact_on_the_wire() {
    let records = compound();
    assert!(records.len() > 10_000, "{}", records.len());
    let (mut compact, mut whole) = ((0, 0), (0, 0));
    for page in pages(&records) {
        let sent = serde_json::to_vec(&page).unwrap();
        // The records as a schema-1 page carried them, each whole.
        let records = serde_json::to_vec(&page.changes).unwrap();
        compact = (compact.0 + sent.len(), compact.1 + brotli(&sent));
        whole = (whole.0 + records.len(), whole.1 + brotli(&records));
        assert_eq!(serde_json::from_slice::<PullPage>(&sent).unwrap(), page);
    }
    let n = records.len();
    println!(
        "{n} records: compact pages {} bytes decoded ({} a record), {} brotli-{BROTLI_QUALITY} \
         ({:.1} a record); whole records {} decoded ({} a record), {} brotli ({:.1} a record)",
        compact.0,
        compact.0 / n,
        compact.1,
        compact.1 as f64 / n as f64,
        whole.0,
        whole.0 / n,
        whole.1,
        whole.1 as f64 / n as f64,
    );
    assert!(compact.0 * 4 < whole.0, "{compact:?} against {whole:?}");
    assert!(compact.1 * 4 < whole.1 * 3, "{compact:?} against {whole:?}");
}

fn gzip(bytes: &[u8]) -> usize {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap().len()
}

#[test]
fn sixty_door_edits_push_only_what_changed() {
    let records = compound();
    let team = |r: &Record| r.reference(visit::TEAM);
    let first = records
        .iter()
        .find(|r| r.collection == Collection::Visit)
        .unwrap();
    let mine: Vec<&Record> = records
        .iter()
        .filter(|r| r.collection == Collection::Visit && team(r) == team(first))
        .take(60)
        .collect();
    assert_eq!(mine.len(), 60);
    let mut phone = Clock::new(ClientId::from_u128(0x7e07));
    let push = |only_changed: bool, phone: &mut Clock| {
        let mutations = mine
            .iter()
            .enumerate()
            .map(|(i, stored)| {
                // A second look: another outcome and temperature.
                let mut checklist = Checklist::of(stored);
                checklist.outcome = Some(Outcome::Revisit.word().into());
                checklist.revisit_at_ms = Some(T0 + 86_400_000);
                checklist.temperature_c = checklist.temperature_c.map(|t| t + 0.1);
                let now = T0 + 3_600_000 + i as u64 * 60_000;
                let mut fields = checklist.fields(now);
                for link in [visit::HOUSEHOLD, visit::ROUND, visit::TEAM] {
                    fields.insert(link.name.into(), stored.value(link).unwrap().clone());
                }
                if only_changed {
                    fields = stored.differing(fields);
                }
                let mutation = Mutation::Set {
                    collection: Collection::Visit,
                    id: stored.id.clone(),
                    compound: stored.compound.clone(),
                    fields,
                };
                mutation.validate().unwrap();
                PushedMutation {
                    mid: i as u64 + 1,
                    hlc: phone.tick(now),
                    mutation,
                }
            })
            .collect();
        let request = SyncRequest {
            client_id: phone.last().node,
            schema_version: SCHEMA_VERSION,
            mutations,
            pull: None,
        };
        serde_json::to_vec(&request).unwrap()
    };
    let before = push(false, &mut phone);
    let after = push(true, &mut phone);
    println!(
        "60 door edits in one push: every checklist field {} bytes ({} gzipped); \
         only what changed {} bytes ({} gzipped)",
        before.len(),
        gzip(&before),
        after.len(),
        gzip(&after),
    );
    assert!(
        after.len() < before.len(),
        "{} against {}",
        after.len(),
        before.len()
    );
    assert!(gzip(&after) * 3 < after.len());
}
