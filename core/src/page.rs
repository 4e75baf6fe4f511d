//! The compact form of a pull page on the wire (schema version 3).
//!
//! In memory a [`PullPage`] holds whole [`Record`]s; on the wire each page
//! carries its tables once, and each change is an array that refers to them
//! by index:
//!
//! ```json
//! {"compound": "c1", "cursor": 9, "more": false, "remaining": 0, "scope": "…",
//!  "clients": ["3f0c5a2e-…"], "collections": ["household"],
//!  "fields": ["building", "door", "head"], "wall": 1764000000000,
//!  "changes": [[9, 0, "h1", [0], [[0, "3"], [1, "101"], [2, null, 500, 3]]]]}
//! ```
//!
//! - `clients`: the writers of the page's stamps, each 36-character id once;
//!   `collections`, `fields`: names, each once;
//! - `wall`: the earliest wall time among the page's stamps;
//! - a stamp: `[wall_ms − wall, counter, client]`, trailing zeros left out
//!   (`[0]`: at `wall`, counter 0, by the first client);
//! - a change: `[seq, collection, id, stamp, fields, delete]`: `seq` as the
//!   step from the previous change's (the first's from 0); `stamp` the one
//!   most of the record's fields carry; each field `[field, value]` when it
//!   carries that stamp, else `[field, value, …its own stamp]`; `delete`
//!   only when deleted: `[]` for the record's stamp, else its own stamp.
//!
//! Every record of a page belongs to the page's compound. A page whose
//! indices point nowhere, or whose numbers overflow, does not decode.

use std::{collections::HashMap, fmt};

use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{Error as _, SeqAccess, Visitor},
    ser::SerializeSeq,
};
use serde_json::Value;

use crate::{
    hlc::Hlc,
    ids::{ClientId, CompoundId, RecordId},
    record::{Record, Stamped},
    schema::Collection,
    sync::{Change, PullPage},
};

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
    wall: u64,
    changes: Vec<ChangeOut<'a>>,
}

/// A stamp as the page writes it: offset from the page's `wall`, counter,
/// index into `clients`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct WireStamp {
    offset: u64,
    counter: u32,
    client: usize,
}

impl WireStamp {
    /// How many of its numbers are written: trailing zeros are left out.
    fn len(&self) -> usize {
        if self.client != 0 {
            3
        } else if self.counter != 0 {
            2
        } else {
            1
        }
    }

    fn write<S: SerializeSeq>(&self, seq: &mut S) -> Result<(), S::Error> {
        seq.serialize_element(&self.offset)?;
        if self.len() > 1 {
            seq.serialize_element(&self.counter)?;
        }
        if self.len() > 2 {
            seq.serialize_element(&self.client)?;
        }
        Ok(())
    }
}

impl Serialize for WireStamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        self.write(&mut seq)?;
        seq.end()
    }
}

struct FieldOut<'a> {
    field: usize,
    value: &'a Value,
    /// `None` when the field carries its record's stamp.
    stamp: Option<WireStamp>,
}

impl Serialize for FieldOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = 2 + self.stamp.map_or(0, |s| s.len());
        let mut seq = serializer.serialize_seq(Some(len))?;
        seq.serialize_element(&self.field)?;
        seq.serialize_element(self.value)?;
        if let Some(stamp) = &self.stamp {
            stamp.write(&mut seq)?;
        }
        seq.end()
    }
}

struct ChangeOut<'a> {
    /// The step from the previous change's sequence number (wrapping, so
    /// any order round-trips; in commit order it is small and positive).
    step: i64,
    collection: usize,
    id: &'a RecordId,
    stamp: WireStamp,
    fields: Vec<FieldOut<'a>>,
    /// `Some(None)`: deleted at the record's stamp.
    deleted: Option<Option<WireStamp>>,
}

impl Serialize for ChangeOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = 5 + usize::from(self.deleted.is_some());
        let mut seq = serializer.serialize_seq(Some(len))?;
        seq.serialize_element(&self.step)?;
        seq.serialize_element(&self.collection)?;
        seq.serialize_element(self.id)?;
        seq.serialize_element(&self.stamp)?;
        seq.serialize_element(&self.fields)?;
        match &self.deleted {
            Some(Some(stamp)) => seq.serialize_element(stamp)?,
            Some(None) => seq.serialize_element::<[u8; 0]>(&[])?,
            None => {}
        }
        seq.end()
    }
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

/// The stamp most of a record's fields (and its delete) carry; the first
/// such in field order on a tie.
fn record_stamp(record: &Record) -> Option<&Hlc> {
    let mut counts: Vec<(&Hlc, usize)> = Vec::new();
    for hlc in record
        .fields
        .values()
        .map(|s| &s.hlc)
        .chain(record.deleted.as_ref())
    {
        match counts.iter_mut().find(|(seen, _)| *seen == hlc) {
            Some((_, n)) => *n += 1,
            None => counts.push((hlc, 1)),
        }
    }
    let most = counts.iter().map(|(_, n)| *n).max()?;
    counts.into_iter().find(|(_, n)| *n == most).map(|(h, _)| h)
}

/// `hlc` unless it is the record's own stamp.
fn own<'a>(hlc: &'a Hlc, common: Option<&Hlc>) -> Option<&'a Hlc> {
    (Some(hlc) != common).then_some(hlc)
}

impl Serialize for PullPage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let wall = self
            .changes
            .iter()
            .flat_map(|c| {
                c.record
                    .fields
                    .values()
                    .map(|s| s.hlc.wall_ms)
                    .chain(c.record.deleted.as_ref().map(|d| d.wall_ms))
            })
            .min()
            .unwrap_or(0);
        let mut clients = Table::new();
        let mut collections = Table::new();
        let mut fields = Table::new();
        let mut stamp = |hlc: &Hlc| WireStamp {
            offset: hlc.wall_ms - wall,
            counter: hlc.counter,
            client: clients.of(hlc.node),
        };
        let mut previous = 0u64;
        let changes = self
            .changes
            .iter()
            .map(|change| {
                let record = &change.record;
                let common = record_stamp(record);
                let step = change.seq.wrapping_sub(previous) as i64;
                previous = change.seq;
                ChangeOut {
                    step,
                    collection: collections.of(record.collection),
                    id: &record.id,
                    stamp: common.map_or(
                        WireStamp {
                            offset: 0,
                            counter: 0,
                            client: 0,
                        },
                        &mut stamp,
                    ),
                    fields: record
                        .fields
                        .iter()
                        .map(|(name, stamped)| FieldOut {
                            field: fields.of(name.as_str()),
                            value: &stamped.value,
                            stamp: own(&stamped.hlc, common).map(&mut stamp),
                        })
                        .collect(),
                    deleted: record
                        .deleted
                        .as_ref()
                        .map(|d| own(d, common).map(&mut stamp)),
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
            wall,
            changes,
        }
        .serialize(serializer)
    }
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
    #[serde(default)]
    wall: u64,
    changes: Vec<ChangeIn>,
}

/// Reads a stamp's numbers (after its first) from `seq`, as far as they go.
fn rest_of_stamp<'de, A: SeqAccess<'de>>(offset: u64, seq: &mut A) -> Result<WireStamp, A::Error> {
    let Some(counter) = seq.next_element()? else {
        return Ok(WireStamp {
            offset,
            counter: 0,
            client: 0,
        });
    };
    Ok(WireStamp {
        offset,
        counter,
        client: seq.next_element()?.unwrap_or(0),
    })
}

/// A stamp array; `None` for `[]` (a delete at the record's stamp).
struct StampIn(Option<WireStamp>);

impl<'de> Deserialize<'de> for StampIn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Numbers;
        impl<'de> Visitor<'de> for Numbers {
            type Value = StampIn;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a stamp: [wall offset, counter, client]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StampIn, A::Error> {
                Ok(StampIn(match seq.next_element()? {
                    Some(offset) => Some(rest_of_stamp(offset, &mut seq)?),
                    None => None,
                }))
            }
        }
        deserializer.deserialize_seq(Numbers)
    }
}

struct FieldIn {
    field: usize,
    value: Value,
    stamp: Option<WireStamp>,
}

impl<'de> Deserialize<'de> for FieldIn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> Visitor<'de> for Entry {
            type Value = FieldIn;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field: [field, value, …stamp]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FieldIn, A::Error> {
                let field = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(0, &self))?;
                let value = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(1, &self))?;
                let stamp = match seq.next_element()? {
                    Some(offset) => Some(rest_of_stamp(offset, &mut seq)?),
                    None => None,
                };
                Ok(FieldIn {
                    field,
                    value,
                    stamp,
                })
            }
        }
        deserializer.deserialize_seq(Entry)
    }
}

struct ChangeIn {
    step: i64,
    collection: usize,
    id: RecordId,
    stamp: WireStamp,
    fields: Vec<FieldIn>,
    deleted: Option<StampIn>,
}

impl<'de> Deserialize<'de> for ChangeIn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> Visitor<'de> for Entry {
            type Value = ChangeIn;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a change: [seq, collection, id, stamp, fields, delete]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ChangeIn, A::Error> {
                let missing = |at: usize| A::Error::invalid_length(at, &Entry);
                let step = seq.next_element()?.ok_or_else(|| missing(0))?;
                let collection = seq.next_element()?.ok_or_else(|| missing(1))?;
                let id = seq.next_element()?.ok_or_else(|| missing(2))?;
                let StampIn(stamp) = seq.next_element()?.ok_or_else(|| missing(3))?;
                let stamp = stamp.ok_or_else(|| A::Error::custom("a record's stamp is empty"))?;
                let fields = seq.next_element()?.ok_or_else(|| missing(4))?;
                let deleted = seq.next_element()?;
                Ok(ChangeIn {
                    step,
                    collection,
                    id,
                    stamp,
                    fields,
                    deleted,
                })
            }
        }
        deserializer.deserialize_seq(Entry)
    }
}

impl<'de> Deserialize<'de> for PullPage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let page = PageIn::deserialize(deserializer)?;
        let past = |table: &str, i: usize, len: usize| {
            D::Error::custom(format!(
                "{table} index {i} is past the table's {len} entries"
            ))
        };
        let hlc = |stamp: WireStamp| -> Result<Hlc, D::Error> {
            let node = *page
                .clients
                .get(stamp.client)
                .ok_or_else(|| past("clients", stamp.client, page.clients.len()))?;
            let wall_ms = page
                .wall
                .checked_add(stamp.offset)
                .ok_or_else(|| D::Error::custom("a stamp's wall time overflows"))?;
            Ok(Hlc {
                wall_ms,
                counter: stamp.counter,
                node,
            })
        };
        let mut previous = 0u64;
        let mut changes = Vec::with_capacity(page.changes.len());
        for change in page.changes {
            let collection = *page
                .collections
                .get(change.collection)
                .ok_or_else(|| past("collections", change.collection, page.collections.len()))?;
            // Resolved only when used: a record with no field and no
            // delete has a stamp that names no client.
            let common = || hlc(change.stamp);
            let mut record = Record::new(collection, change.id, page.compound.clone());
            for FieldIn {
                field,
                value,
                stamp,
            } in change.fields
            {
                let name = page
                    .fields
                    .get(field)
                    .ok_or_else(|| past("fields", field, page.fields.len()))?;
                let hlc = stamp.map_or_else(common, hlc)?;
                record.fields.insert(name.clone(), Stamped { value, hlc });
            }
            record.deleted = match change.deleted {
                Some(StampIn(Some(stamp))) => Some(hlc(stamp)?),
                Some(StampIn(None)) => Some(common()?),
                None => None,
            };
            previous = previous.wrapping_add(change.step as u64);
            changes.push(Change {
                seq: previous,
                record,
            });
        }
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
        let mut gone = record(
            Collection::Visit,
            "v2",
            &[("outcome", json!("x"), b.clone())],
        );
        gone.deleted = Some(b.clone());
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
            // Out of commit order still round-trips.
            Change {
                seq: 8,
                record: gone,
            },
        ]);
        let text = serde_json::to_string(&original).unwrap();
        assert_eq!(text.matches(&a.node.to_string()).count(), 1, "{text}");
        assert_eq!(text.matches("\"household\"").count(), 2, "{text}");
        let wire: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            wire["fields"],
            json!(["building", "door", "head", "household", "outcome"])
        );
        assert_eq!(wire["wall"], json!(a.wall_ms));
        assert!(wire.get("reset").is_none(), "absent when false");
        assert_eq!(
            wire["changes"],
            json!([
                // Two of three fields carry `a`: the record's stamp.
                [
                    7,
                    0,
                    "h1",
                    [0],
                    [[0, "3"], [1, "101"], [2, null, 500, 3, 1]]
                ],
                // A tie goes to the first field's stamp; the delete has its own.
                [2, 1, "v1", [0], [[3, "h1"]], [500, 3, 1]],
                // Deleted at the record's stamp: `[]`.
                [-1, 1, "v2", [500, 3, 1], [[4, "x"]], []],
            ])
        );
        let back: PullPage = serde_json::from_str(&text).unwrap();
        assert_eq!(back, original);
        let back: PullPage = serde_json::from_value(wire).unwrap();
        assert_eq!(back, original);
    }

    #[test]
    fn indices_that_point_nowhere_do_not_decode() {
        let good = json!({"compound": "c1", "cursor": 1, "more": false, "remaining": 0,
            "scope": "s", "clients": [ClientId::from_u128(1)], "collections": ["household"],
            "fields": ["door"], "wall": 5, "changes": [[1, 0, "h1", [1, 0, 0], [[0, "101"]]]]});
        assert!(serde_json::from_value::<PullPage>(good.clone()).is_ok());
        for (path, bad, says) in [
            ("/changes/0/1", json!(1), "index 1 is past"),
            ("/changes/0/3/2", json!(1), "index 1 is past"),
            ("/changes/0/4/0/0", json!(1), "index 1 is past"),
            (
                "/changes/0/4/0",
                json!([0, "101", 0, 0, 1]),
                "index 1 is past",
            ),
            ("/changes/0/3", json!([]), "stamp is empty"),
            ("/changes/0/3", json!([0, 0, 0, 0]), "trailing"),
            ("/wall", json!(u64::MAX), "overflows"),
        ] {
            let mut page = good.clone();
            *page.pointer_mut(path).unwrap() = bad;
            let err = serde_json::from_str::<PullPage>(&page.to_string()).unwrap_err();
            assert!(err.to_string().contains(says), "{path}: {err}");
        }
        let mut deleted = good;
        deleted["changes"][0]
            .as_array_mut()
            .unwrap()
            .push(json!([0, 0, 3]));
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
        assert!(compact * 5 < whole, "{compact} bytes against {whole}");
    }
}
