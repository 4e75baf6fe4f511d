//! The compact form of a pull page on the wire (schema version 2).
//!
//! In memory a [`PullPage`] holds whole [`Record`]s; on the wire each page
//! carries its tables once and each change refers to them by index:
//!
//! ```json
//! {"compound": "c1", "cursor": 9, "more": false, "remaining": 0, "scope": "…",
//!  "clients": ["3f0c5a2e-…"], "collections": ["household"], "fields": ["building", "door"],
//!  "changes": [{"s": 9, "c": 0, "i": "h1", "t": [[1764000000000, 0, 0]],
//!               "f": [[0, "3", 0], [1, "101", 0]]}]}
//! ```
//!
//! - `clients`: the writers of the page's stamps, each 36-character id once;
//! - `collections`, `fields`: names, each once;
//! - a change: `s` its sequence number, `c` its collection, `i` the record
//!   id, `t` the record's distinct stamps as `[wall_ms, counter, client]`,
//!   `f` its fields as `[field, value, stamp]` (indices into `fields` and
//!   `t`), and `d` the stamp of its delete, if any.
//!
//! Every record of a page belongs to the page's compound. A page whose
//! indices point nowhere does not decode.

use std::collections::HashMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
use serde_json::Value;

use crate::{
    hlc::Hlc,
    ids::{ClientId, CompoundId, RecordId},
    record::{Record, Stamped},
    schema::Collection,
    sync::{Change, PullPage},
};

/// A stamp on the wire: wall time, counter, index into `clients`.
type WireStamp = (u64, u32, usize);

#[derive(Serialize)]
struct PageOut<'a> {
    compound: &'a CompoundId,
    cursor: u64,
    more: bool,
    remaining: u64,
    scope: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    reset: bool,
    clients: Vec<ClientId>,
    collections: Vec<Collection>,
    fields: Vec<&'a str>,
    changes: Vec<ChangeOut<'a>>,
}

#[derive(Serialize)]
struct ChangeOut<'a> {
    s: u64,
    c: usize,
    i: &'a RecordId,
    t: Vec<WireStamp>,
    f: Vec<(usize, &'a Value, usize)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    d: Option<usize>,
}

#[derive(Deserialize)]
struct PageIn {
    compound: CompoundId,
    cursor: u64,
    more: bool,
    remaining: u64,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    reset: bool,
    #[serde(default)]
    clients: Vec<ClientId>,
    #[serde(default)]
    collections: Vec<Collection>,
    #[serde(default)]
    fields: Vec<String>,
    changes: Vec<ChangeIn>,
}

#[derive(Deserialize)]
struct ChangeIn {
    s: u64,
    c: usize,
    i: RecordId,
    t: Vec<WireStamp>,
    f: Vec<(usize, Value, usize)>,
    #[serde(default)]
    d: Option<usize>,
}

/// Hands out each distinct item's index in the order first seen.
struct Table<K> {
    index: HashMap<K, usize>,
    items: Vec<K>,
}

impl<K: std::hash::Hash + Eq + Copy> Table<K> {
    fn new() -> Self {
        Self {
            index: HashMap::new(),
            items: Vec::new(),
        }
    }

    fn of(&mut self, key: K) -> usize {
        *self.index.entry(key).or_insert_with(|| {
            self.items.push(key);
            self.items.len() - 1
        })
    }
}

impl Serialize for PullPage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut clients = Table::new();
        let mut collections = Table::new();
        let mut fields = Table::new();
        let changes = self
            .changes
            .iter()
            .map(|change| {
                let record = &change.record;
                // A record's stamps are few (one per edit that still shows).
                let mut stamps: Vec<&Hlc> = Vec::new();
                let mut stamp = |hlc| position(&mut stamps, hlc);
                let f = record
                    .fields
                    .iter()
                    .map(|(name, stamped)| {
                        (
                            fields.of(name.as_str()),
                            &stamped.value,
                            stamp(&stamped.hlc),
                        )
                    })
                    .collect();
                let d = record.deleted.as_ref().map(&mut stamp);
                ChangeOut {
                    s: change.seq,
                    c: collections.of(record.collection),
                    i: &record.id,
                    t: stamps
                        .iter()
                        .map(|h| (h.wall_ms, h.counter, clients.of(h.node)))
                        .collect(),
                    f,
                    d,
                }
            })
            .collect();
        PageOut {
            compound: &self.compound,
            cursor: self.cursor,
            more: self.more,
            remaining: self.remaining,
            scope: &self.scope,
            reset: self.reset,
            clients: clients.items,
            collections: collections.items,
            fields: fields.items,
            changes,
        }
        .serialize(serializer)
    }
}

/// The index of `hlc` among `stamps`, added if new.
fn position<'a>(stamps: &mut Vec<&'a Hlc>, hlc: &'a Hlc) -> usize {
    match stamps.iter().position(|s| *s == hlc) {
        Some(i) => i,
        None => {
            stamps.push(hlc);
            stamps.len() - 1
        }
    }
}

impl<'de> Deserialize<'de> for PullPage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let page = PageIn::deserialize(deserializer)?;
        let at = |table: &str, i: usize, len: usize| {
            D::Error::custom(format!(
                "{table} index {i} is past the table's {len} entries"
            ))
        };
        let changes = page
            .changes
            .into_iter()
            .map(|change| {
                let stamps = change
                    .t
                    .iter()
                    .map(|&(wall_ms, counter, client)| {
                        let node = *page
                            .clients
                            .get(client)
                            .ok_or_else(|| at("clients", client, page.clients.len()))?;
                        Ok(Hlc {
                            wall_ms,
                            counter,
                            node,
                        })
                    })
                    .collect::<Result<Vec<Hlc>, D::Error>>()?;
                let stamp = |i: usize| {
                    stamps
                        .get(i)
                        .cloned()
                        .ok_or_else(|| at("stamps", i, stamps.len()))
                };
                let collection = *page
                    .collections
                    .get(change.c)
                    .ok_or_else(|| at("collections", change.c, page.collections.len()))?;
                let mut record = Record::new(collection, change.i, page.compound.clone());
                for (field, value, hlc) in change.f {
                    let name = page
                        .fields
                        .get(field)
                        .ok_or_else(|| at("fields", field, page.fields.len()))?;
                    let hlc = stamp(hlc)?;
                    record.fields.insert(name.clone(), Stamped { value, hlc });
                }
                record.deleted = change.d.map(stamp).transpose()?;
                Ok(Change {
                    seq: change.s,
                    record,
                })
            })
            .collect::<Result<Vec<_>, D::Error>>()?;
        Ok(PullPage {
            compound: page.compound,
            changes,
            cursor: page.cursor,
            more: page.more,
            remaining: page.remaining,
            scope: page.scope,
            reset: page.reset,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn hlc(wall_ms: u64, counter: u32, node: u128) -> Hlc {
        Hlc {
            wall_ms,
            counter,
            node: ClientId::from_u128(node),
        }
    }

    fn record(collection: Collection, id: &str, fields: &[(&str, Value, Hlc)]) -> Record {
        let mut record = Record::new(collection, id.parse().unwrap(), "c1".parse().unwrap());
        for (name, value, hlc) in fields {
            record.fields.insert(
                (*name).to_owned(),
                Stamped {
                    value: value.clone(),
                    hlc: hlc.clone(),
                },
            );
        }
        record
    }

    fn page(changes: Vec<Change>) -> PullPage {
        PullPage {
            compound: "c1".parse().unwrap(),
            changes,
            cursor: 9,
            more: true,
            remaining: 4,
            scope: "s1".into(),
            reset: false,
        }
    }

    #[test]
    fn a_page_round_trips_with_each_id_and_name_once() {
        let a = hlc(1_764_000_000_000, 0, 0xa);
        let b = hlc(1_764_000_000_500, 3, 0xb);
        let mut deleted = record(
            Collection::Visit,
            "v1",
            &[("household", json!("h1"), a.clone())],
        );
        deleted.deleted = Some(b.clone());
        let original = page(vec![
            Change {
                seq: 7,
                record: record(
                    Collection::Household,
                    "h1",
                    &[
                        ("building", json!("3"), a.clone()),
                        ("door", json!("101"), a.clone()),
                        ("head", json!(null), b.clone()),
                    ],
                ),
            },
            Change {
                seq: 9,
                record: deleted,
            },
        ]);
        let text = serde_json::to_string(&original).unwrap();
        assert_eq!(text.matches(&a.node.to_string()).count(), 1, "{text}");
        assert_eq!(text.matches("\"household\"").count(), 2, "{text}");
        let wire: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            wire["fields"],
            json!(["building", "door", "head", "household"])
        );
        assert_eq!(wire["changes"][0]["t"].as_array().unwrap().len(), 2);
        assert_eq!(wire["changes"][1]["d"], json!(1));
        assert!(wire.get("reset").is_none(), "absent when false");
        let back: PullPage = serde_json::from_str(&text).unwrap();
        assert_eq!(back, original);
    }

    #[test]
    fn indices_that_point_nowhere_do_not_decode() {
        let good = json!({"compound": "c1", "cursor": 1, "more": false, "remaining": 0,
            "scope": "s", "clients": [ClientId::from_u128(1)], "collections": ["household"],
            "fields": ["door"], "changes": [{"s": 1, "c": 0, "i": "h1",
            "t": [[5, 0, 0]], "f": [[0, "101", 0]]}]});
        assert!(serde_json::from_value::<PullPage>(good.clone()).is_ok());
        for (path, bad) in [
            ("/changes/0/c", json!(1)),
            ("/changes/0/t/0/2", json!(1)),
            ("/changes/0/f/0/0", json!(1)),
            ("/changes/0/f/0/2", json!(1)),
        ] {
            let mut page = good.clone();
            *page.pointer_mut(path).unwrap() = bad;
            let err = serde_json::from_value::<PullPage>(page).unwrap_err();
            assert!(err.to_string().contains("index 1 is past"), "{path}: {err}");
        }
        let mut deleted = good;
        deleted["changes"][0]["d"] = json!(3);
        assert!(serde_json::from_value::<PullPage>(deleted).is_err());
    }

    #[test]
    fn the_compact_page_is_far_smaller_than_whole_records() {
        let writer = |n: u64| hlc(1_764_000_000_000 + n, 0, 0x5eed);
        let changes: Vec<Change> = (0..100u64)
            .map(|n| Change {
                seq: n + 1,
                record: record(
                    Collection::Household,
                    &format!("h{n}"),
                    &[
                        ("building", json!("3"), writer(n)),
                        ("door", json!(format!("{}", 101 + n)), writer(n)),
                        ("head", json!("王芳"), writer(n)),
                    ],
                ),
            })
            .collect();
        let compact = serde_json::to_string(&page(changes.clone())).unwrap().len();
        let whole = serde_json::to_string(&changes).unwrap().len();
        assert!(compact * 3 < whole, "{compact} bytes against {whole}");
    }
}
