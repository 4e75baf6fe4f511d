//! The peer benchmark's workload as Doorstep records: `shared/peer/gen.js`
//! (a compound of 5,000 households and their 5,000 round-1 visits, and one
//! volunteer's 60 edits) read from its JSON lines and mapped field by field
//! onto Doorstep's schema, so both systems store the same data.
//!
//! Mapping: a household keeps its address, head, phone, members and notes
//! (an empty note is left out, as the app leaves it); each care flag
//! becomes a person on the care ledger (`children` is the `child` group);
//! a visit keeps its household, round, team, outcome, temperature, health
//! (a symptom list is `symptoms` with the list in `symptoms`), medical
//! need, the three looks and its time (a revisit, which Doorstep asks a
//! time for, comes back the next day at the same hour). The round and the teams the visits
//! refer to are records too, as a coordinator would have made them.

use std::collections::{BTreeMap, BTreeSet};

use doorstep_core::{
    ids::{CompoundId, RecordId},
    mutation::Mutation,
    schema::{Collection, Field, Vocabulary, household, person, round, team, visit},
    visit::{CareGroup, Health, Outcome, visit_id},
};
use serde::Deserialize;
use serde_json::{Value, json};

const DAY_MS: u64 = 86_400_000;

/// One line of `node gen.js`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Doc {
    Household(GenHousehold),
    Visit(GenVisit),
}

#[derive(Debug, Deserialize)]
struct GenHousehold {
    #[serde(rename = "_id")]
    id: String,
    building: u32,
    unit: u32,
    door: u32,
    head: String,
    phone: String,
    members: i64,
    notes: String,
    flags: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct GenVisit {
    household: String,
    round: String,
    team: String,
    test: GenTest,
    /// `"normal"`, or the list of symptoms.
    health: Value,
    medical_need: String,
    looks: GenLooks,
    outcome: String,
    /// ISO 8601, UTC, e.g. `2022-01-05T00:04:30.123Z`.
    at: String,
}

#[derive(Debug, Deserialize)]
struct GenTest {
    temp_c: f64,
}

#[derive(Debug, Deserialize)]
struct GenLooks {
    clothes: bool,
    bedding: bool,
    food: bool,
}

/// One line of `node gen.js --edits`.
#[derive(Debug, Deserialize)]
struct GenEdit {
    #[serde(rename = "_id")]
    id: String,
    outcome: String,
    temp_c: f64,
}

/// A volunteer's edit of one visit: a new outcome and temperature.
#[derive(Clone, Debug, PartialEq)]
pub struct Edit {
    pub household: RecordId,
    /// The household's head, as the door page's title shows it.
    pub head: String,
    /// The team the visit is for: the volunteer's.
    pub team: RecordId,
    pub outcome: Outcome,
    pub temperature_c: f64,
}

/// The workload in Doorstep's terms.
#[derive(Debug)]
pub struct Workload {
    /// How many documents gen.js made (the unit of the docs/s figures).
    pub docs: usize,
    pub compound: CompoundId,
    pub round: RecordId,
    /// Every record to store, households first, in gen.js's order.
    pub mutations: Vec<Mutation>,
    pub edits: Vec<Edit>,
}

/// gen.js's `hh:B-U-D` as a record id (`:` is not allowed in one).
fn household_id(gen_id: &str) -> Result<RecordId, String> {
    gen_id
        .replace(':', "-")
        .parse()
        .map_err(|e| format!("household id {gen_id:?}: {e}"))
}

fn id(text: &str) -> Result<RecordId, String> {
    text.parse().map_err(|e| format!("id {text:?}: {e}"))
}

fn word<V: Vocabulary>(field: Field, text: &str) -> Result<V, String> {
    V::from_word(text).ok_or_else(|| format!("{field}: {text:?} is not one of {:?}", V::WORDS))
}

/// The care-ledger group of one of gen.js's household flags.
fn care_group(flag: &str) -> Result<CareGroup, String> {
    match flag {
        "children" => Ok(CareGroup::Child),
        other => word(person::CARE, other),
    }
}

/// Milliseconds since the epoch of an ISO 8601 UTC time as JavaScript's
/// `toISOString` writes it (`YYYY-MM-DDTHH:MM:SS.mmmZ`).
pub fn iso_ms(text: &str) -> Result<u64, String> {
    let bad = || format!("not an ISO time: {text:?}");
    let (date, time) = text.split_once('T').ok_or_else(bad)?;
    let time = time.strip_suffix('Z').ok_or_else(bad)?;
    let num = |s: &str| s.parse::<i64>().map_err(|_| bad());
    let d: Vec<&str> = date.split('-').collect();
    let (hms, millis) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<&str> = hms.split(':').collect();
    let ([y, m, day], [hh, mm, ss]) = (d.as_slice(), t.as_slice()) else {
        return Err(bad());
    };
    let (y, m, day) = (num(y)?, num(m)?, num(day)?);
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + num(hh)? * 3_600 + num(mm)? * 60 + num(ss)?;
    u64::try_from(secs * 1_000 + num(millis)?).map_err(|_| bad())
}

fn set(
    collection: Collection,
    id: RecordId,
    compound: &CompoundId,
    fields: Vec<(String, Value)>,
) -> Mutation {
    Mutation::Set {
        collection,
        id,
        compound: compound.clone(),
        fields: fields.into_iter().collect(),
    }
}

/// Maps gen.js's documents and edits (JSON lines) onto records of `compound`.
pub fn workload(
    compound: &CompoundId,
    docs_jsonl: &str,
    edits_jsonl: &str,
) -> Result<Workload, String> {
    let mut mutations = Vec::new();
    let mut heads = BTreeMap::new();
    let mut visit_teams = BTreeMap::new();
    let (mut rounds, mut teams) = (BTreeSet::new(), BTreeSet::new());
    let mut docs = 0;
    for (n, line) in docs_jsonl.lines().enumerate() {
        let doc: Doc =
            serde_json::from_str(line).map_err(|e| format!("gen.js line {}: {e}", n + 1))?;
        docs += 1;
        match doc {
            Doc::Household(h) => {
                let hid = household_id(&h.id)?;
                let mut fields = vec![
                    household::BUILDING.set(h.building.to_string()),
                    household::UNIT.set(h.unit.to_string()),
                    household::DOOR.set(h.door.to_string()),
                    household::HEAD.set(h.head.clone()),
                    household::PHONE.set(h.phone),
                    household::MEMBERS.set(h.members),
                ];
                if !h.notes.is_empty() {
                    fields.push(household::NOTES.set(h.notes));
                }
                let care: Vec<CareGroup> = h
                    .flags
                    .iter()
                    .map(|f| care_group(f))
                    .collect::<Result<_, _>>()?;
                mutations.push(set(Collection::Household, hid.clone(), compound, fields));
                for group in care {
                    let pid = id(&format!("p-{}-{hid}", group.word()))?;
                    mutations.push(set(
                        Collection::Person,
                        pid,
                        compound,
                        vec![
                            person::HOUSEHOLD.set(json!(hid)),
                            person::CARE.set(group.word()),
                        ],
                    ));
                }
                heads.insert(hid, h.head);
            }
            Doc::Visit(v) => {
                let hid = household_id(&v.household)?;
                let (rid, tid) = (id(&v.round)?, id(&v.team)?);
                let outcome: Outcome = word(visit::OUTCOME, &v.outcome)?;
                let (health, symptoms) = match &v.health {
                    Value::String(s) => (word::<Health>(visit::HEALTH, s)?, None),
                    Value::Array(list) => {
                        let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
                        (Health::Symptoms, Some(names.join("、")))
                    }
                    other => {
                        return Err(format!("visit health {other}: neither a word nor a list"));
                    }
                };
                let mut fields = vec![
                    visit::HOUSEHOLD.set(json!(hid)),
                    visit::ROUND.set(json!(rid)),
                    visit::TEAM.set(json!(tid)),
                    visit::OUTCOME.set(outcome.word()),
                    visit::TEMPERATURE_C.set(v.test.temp_c),
                    visit::HEALTH.set(health.word()),
                    visit::CLOTHES_OK.set(v.looks.clothes),
                    visit::BEDDING_OK.set(v.looks.bedding),
                    visit::FOOD_OK.set(v.looks.food),
                    visit::VISITED_AT_MS.set(iso_ms(&v.at)?),
                ];
                // Doorstep asks when to come back; gen.js gives no time, so
                // the next day at the same hour.
                if outcome == Outcome::Revisit {
                    fields.push(visit::REVISIT_AT_MS.set(iso_ms(&v.at)? + DAY_MS));
                }
                if let Some(symptoms) = symptoms {
                    fields.push(visit::SYMPTOMS.set(symptoms));
                }
                if !v.medical_need.is_empty() {
                    fields.push(visit::MEDICAL_NEEDS.set(v.medical_need));
                }
                mutations.push(set(
                    Collection::Visit,
                    visit_id(&rid, &hid),
                    compound,
                    fields,
                ));
                visit_teams.insert(hid, tid.clone());
                rounds.insert(rid);
                teams.insert(tid);
            }
        }
    }
    // What the visits refer to, first, as a coordinator sets a round up.
    let mut setup: Vec<Mutation> = rounds
        .iter()
        .map(|r| {
            set(
                Collection::Round,
                r.clone(),
                compound,
                vec![round::NAME.set(r.to_string())],
            )
        })
        .chain(teams.iter().map(|t| {
            set(
                Collection::Team,
                t.clone(),
                compound,
                vec![team::NAME.set(t.to_string())],
            )
        }))
        .collect();
    let round = match rounds.iter().collect::<Vec<_>>()[..] {
        [round] => round.clone(),
        _ => return Err("gen.js made visits of other than one round".into()),
    };
    setup.append(&mut mutations);
    let edits = edits_jsonl
        .lines()
        .map(|line| {
            let e: GenEdit =
                serde_json::from_str(line).map_err(|e| format!("gen.js --edits: {e}"))?;
            // `visit:r1:B-U-D` is the visit of `hh:B-U-D`.
            let key = e.id.rsplit(':').next().unwrap_or_default();
            let household = household_id(&format!("hh:{key}"))?;
            let head = heads
                .get(&household)
                .ok_or_else(|| format!("edit of {}: no such household", e.id))?
                .clone();
            let team = visit_teams
                .get(&household)
                .ok_or_else(|| format!("edit of {}: no such visit", e.id))?
                .clone();
            Ok(Edit {
                household,
                head,
                team,
                outcome: word(visit::OUTCOME, &e.outcome)?,
                temperature_c: e.temp_c,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Workload {
        docs,
        compound: compound.clone(),
        round,
        mutations: setup,
        edits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUSEHOLD: &str = r#"{"_id":"hh:1-2-3","type":"household","building":1,"unit":2,"door":3,"head":"王芳","phone":"13800000000","members":3,"notes":"","flags":["chronic","children"]}"#;
    const VISIT: &str = r#"{"_id":"visit:r1:1-2-3","type":"visit","household":"hh:1-2-3","round":"r1","team":"t02","test":{"kind":"temp","temp_c":37.5},"health":["发热","咳嗽"],"medical_need":"降压药","looks":{"clothes":true,"bedding":true,"food":false},"outcome":"revisit","at":"2022-01-05T00:04:30.123Z"}"#;
    const EDIT: &str = r#"{"_id":"visit:r1:1-2-3","outcome":"visited","temp_c":36.6}"#;

    fn fields(m: &Mutation) -> (&RecordId, &BTreeMap<String, Value>) {
        match m {
            Mutation::Set { id, fields, .. } => (id, fields),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_field_of_gen_js_lands_in_a_record() {
        let c: CompoundId = "peer".parse().unwrap();
        let w = workload(&c, &format!("{HOUSEHOLD}\n{VISIT}\n"), EDIT).unwrap();
        assert_eq!(w.docs, 2);
        assert_eq!(w.round.as_str(), "r1");
        // Round, team, household, two care entries, visit.
        let collections: Vec<Collection> = w.mutations.iter().map(|m| m.collection()).collect();
        assert_eq!(
            collections,
            [
                Collection::Round,
                Collection::Team,
                Collection::Household,
                Collection::Person,
                Collection::Person,
                Collection::Visit
            ]
        );
        let (hid, h) = fields(&w.mutations[2]);
        assert_eq!(hid.as_str(), "hh-1-2-3");
        assert_eq!(household::HEAD.of(h), Some(&json!("王芳")));
        assert_eq!(household::MEMBERS.of(h), Some(&json!(3)));
        assert_eq!(household::NOTES.of(h), None, "an empty note is left out");
        let (_, p) = fields(&w.mutations[4]);
        assert_eq!(person::CARE.of(p), Some(&json!("child")));
        let (vid, v) = fields(&w.mutations[5]);
        assert_eq!(vid.as_str(), "v-r1-hh-1-2-3");
        assert_eq!(visit::TEAM.of(v), Some(&json!("t02")));
        assert_eq!(visit::HEALTH.of(v), Some(&json!("symptoms")));
        assert_eq!(visit::SYMPTOMS.of(v), Some(&json!("发热、咳嗽")));
        assert_eq!(visit::FOOD_OK.of(v), Some(&json!(false)));
        assert_eq!(
            visit::VISITED_AT_MS.of(v),
            Some(&json!(1_641_341_070_123u64))
        );
        assert_eq!(
            visit::REVISIT_AT_MS.of(v),
            Some(&json!(1_641_341_070_123u64 + DAY_MS)),
            "a revisit needs a time"
        );
        for m in &w.mutations {
            m.validate().unwrap_or_else(|e| panic!("{m:?}: {e:?}"));
        }
        assert_eq!(
            w.edits,
            [Edit {
                household: hid.clone(),
                head: "王芳".into(),
                team: "t02".parse().unwrap(),
                outcome: Outcome::Visited,
                temperature_c: 36.6
            }]
        );
    }

    #[test]
    fn bad_lines_are_named() {
        let c: CompoundId = "peer".parse().unwrap();
        let err = workload(&c, &HOUSEHOLD.replace("chronic", "tall"), "").unwrap_err();
        assert!(err.contains("tall"), "{err}");
        let err = workload(&c, &VISIT.replace("revisit", "maybe"), "").unwrap_err();
        assert!(err.contains("maybe"), "{err}");
        assert!(workload(&c, "{", "").unwrap_err().contains("line 1"));
        assert!(iso_ms("2022-01-05 00:00").is_err());
        assert_eq!(iso_ms("1970-01-01T00:00:00.000Z"), Ok(0));
        assert_eq!(iso_ms("2000-03-01T00:00:00.000Z"), Ok(951_868_800_000));
    }
}
