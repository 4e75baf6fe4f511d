//! The backup file of unsent edits: what "export unsent edits" saves and
//! what restoring reads back. It is a safety copy for the day the browser
//! clears the phone's storage before the edits reached the server.
//!
//! A restored edit is recorded again as a new edit of this device (its own
//! client id, mid and HLC stamp: the server only accepts stamps of the
//! client that pushes them). So that a restore never undoes what happened
//! since, an entry is restored only where this phone does not already hold
//! its effect or something newer: a field already stamped at or after the
//! entry's stamp (the server had the edit, or someone changed the field
//! later) is left alone, and a ledger entry that exists is not added again.

use doorstep_core::{
    ids::CompoundId,
    mutation::Mutation,
    sync::{OutboxEntry, PushedMutation},
};
use serde::{Deserialize, Serialize};

use super::replica::Replica;

/// The `format` every backup file names, so any other JSON is refused.
pub const FORMAT: &str = "doorstep-backup";
/// This build writes version 1 and reads versions up to it.
pub const VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backup {
    pub format: String,
    pub version: u32,
    /// The compound the phone was signed in to.
    pub compound: CompoundId,
    pub exported_at_ms: u64,
    /// The outbox, oldest first, exactly as it was stored.
    pub entries: Vec<OutboxEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackupError {
    /// Not JSON, or not a Doorstep backup, or damaged.
    NotABackup,
    /// Written by a newer version of the app.
    TooNew(u32),
}

/// What restoring a backup will record, and what it leaves out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// To record again, in the backup's order.
    pub mutations: Vec<Mutation>,
    /// Entries this phone already holds, or holds something newer for.
    pub already: usize,
    /// Entries of another compound than the one this phone works in.
    pub other_compound: usize,
}

impl Backup {
    pub fn new(compound: CompoundId, exported_at_ms: u64, entries: Vec<OutboxEntry>) -> Self {
        Self {
            format: FORMAT.to_owned(),
            version: VERSION,
            compound,
            exported_at_ms,
            entries,
        }
    }

    /// Indented JSON: a person may open the file to see what it holds.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a backup serializes")
    }

    pub fn parse(text: &str) -> Result<Self, BackupError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|_| BackupError::NotABackup)?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(BackupError::NotABackup);
        }
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(version) if version > u64::from(VERSION) => {
                return Err(BackupError::TooNew(version as u32));
            }
            Some(_) => {}
            None => return Err(BackupError::NotABackup),
        }
        serde_json::from_value(value).map_err(|_| BackupError::NotABackup)
    }

    /// `doorstep-backup-yongan-20240501-1030.json`; `stamp` is the local time.
    pub fn file_name(&self, stamp: &str) -> String {
        format!("{FORMAT}-{}-{stamp}.json", self.compound)
    }

    /// What to record again on a phone working in `compound` that holds
    /// `replica`.
    pub fn plan(&self, compound: &CompoundId, replica: &Replica) -> Plan {
        let mut plan = Plan::default();
        for entry in &self.entries {
            let PushedMutation { mutation, hlc, .. } = &entry.pushed;
            if mutation.compound() != compound {
                plan.other_compound += 1;
                continue;
            }
            let held = replica.record(mutation.collection(), mutation.id());
            let still_needed = match (mutation, held) {
                (_, None) => Some(mutation.clone()),
                // Ledger entries are written once: one that exists is there.
                (Mutation::Append { .. }, Some(_)) => None,
                (Mutation::Delete { .. }, Some(record)) => record
                    .deleted
                    .as_ref()
                    .is_none_or(|deleted| deleted < hlc)
                    .then(|| mutation.clone()),
                (
                    Mutation::Set {
                        collection,
                        id,
                        compound,
                        fields,
                    },
                    Some(record),
                ) => {
                    let fields: std::collections::BTreeMap<_, _> = fields
                        .iter()
                        .filter(|(name, _)| {
                            record
                                .fields
                                .get(name.as_str())
                                .is_none_or(|held| &held.hlc < hlc)
                        })
                        .map(|(name, value)| (name.clone(), value.clone()))
                        .collect();
                    (!fields.is_empty()).then(|| Mutation::Set {
                        collection: *collection,
                        id: id.clone(),
                        compound: compound.clone(),
                        fields,
                    })
                }
            };
            match still_needed {
                Some(mutation) => plan.mutations.push(mutation),
                None => plan.already += 1,
            }
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use doorstep_core::{hlc::Hlc, ids::ClientId, record::Record, sync::SCHEMA_VERSION};
    use serde_json::{Value, json};

    use super::*;

    const OLD: u128 = 0xA;
    const OTHER: u128 = 0xB;

    fn hlc(wall_ms: u64, node: u128) -> Hlc {
        Hlc {
            wall_ms,
            counter: 0,
            node: ClientId::from_u128(node),
        }
    }

    fn mutation(kind: &str, collection: &str, id: &str, compound: &str, fields: Value) -> Mutation {
        let mut args = json!({"collection": collection, "id": id, "compound": compound});
        if kind != "delete" {
            args["fields"] = fields;
        }
        serde_json::from_value(json!({"kind": kind, "args": args})).unwrap()
    }

    fn set(id: &str, fields: Value) -> Mutation {
        mutation("set", "household", id, "yongan", fields)
    }

    fn entry(mid: u64, wall_ms: u64, mutation: Mutation) -> OutboxEntry {
        OutboxEntry {
            client_id: ClientId::from_u128(OLD),
            schema_version: SCHEMA_VERSION,
            pushed: PushedMutation {
                mid,
                hlc: hlc(wall_ms, OLD),
                mutation,
            },
        }
    }

    /// A record as this phone holds it after `mutation` stamped `wall_ms` by `node`.
    fn held(mutation: &Mutation, wall_ms: u64, node: u128) -> Record {
        mutation.apply(None, &hlc(wall_ms, node)).unwrap().0
    }

    fn yongan() -> CompoundId {
        "yongan".parse().unwrap()
    }

    #[test]
    fn the_file_round_trips_and_reads_like_the_outbox() {
        let backup = Backup::new(
            yongan(),
            1_700_000_000_000,
            vec![entry(7, 100, set("h1", json!({"head": "王芳"})))],
        );
        let text = backup.to_json();
        assert_eq!(Backup::parse(&text), Ok(backup.clone()));
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["format"], "doorstep-backup");
        assert_eq!(value["version"], 1);
        assert_eq!(value["compound"], "yongan");
        assert_eq!(value["exported_at_ms"], 1_700_000_000_000u64);
        // Each entry is the outbox entry as stored and pushed.
        assert_eq!(value["entries"][0]["mid"], 7);
        assert_eq!(value["entries"][0]["kind"], "set");
        assert_eq!(value["entries"][0]["args"]["fields"]["head"], "王芳");
        assert_eq!(
            backup.file_name("20240501-1030"),
            "doorstep-backup-yongan-20240501-1030.json"
        );
    }

    #[test]
    fn other_files_are_refused() {
        assert_eq!(Backup::parse("not json"), Err(BackupError::NotABackup));
        assert_eq!(Backup::parse("{}"), Err(BackupError::NotABackup));
        assert_eq!(
            Backup::parse(r#"{"format": "something-else", "version": 1}"#),
            Err(BackupError::NotABackup)
        );
        assert_eq!(
            Backup::parse(r#"{"format": "doorstep-backup", "version": 1, "entries": 3}"#),
            Err(BackupError::NotABackup)
        );
        assert_eq!(
            Backup::parse(r#"{"format": "doorstep-backup", "version": 2}"#),
            Err(BackupError::TooNew(2))
        );
    }

    fn rice_purchase() -> Mutation {
        mutation(
            "append",
            "purchase",
            "p1",
            "yongan",
            json!({"household": "h1", "items": "米", "amount_cents": 100}),
        )
    }

    #[test]
    fn a_phone_that_holds_nothing_restores_everything_of_its_compound() {
        let purchase = rice_purchase();
        let elsewhere = mutation("set", "household", "x1", "dongfang", json!({"door": "1"}));
        let backup = Backup::new(
            yongan(),
            0,
            vec![
                entry(1, 100, set("h1", json!({"head": "王芳"}))),
                entry(2, 101, purchase.clone()),
                entry(3, 102, elsewhere),
                entry(4, 103, set("h1", json!({"head": "王芳芳"}))),
            ],
        );
        let plan = backup.plan(&yongan(), &Replica::default());
        assert_eq!(
            plan.mutations,
            [
                set("h1", json!({"head": "王芳"})),
                purchase,
                set("h1", json!({"head": "王芳芳"}))
            ]
        );
        assert_eq!((plan.already, plan.other_compound), (0, 1));
    }

    #[test]
    fn what_the_phone_already_holds_or_holds_newer_is_left_alone() {
        // After eviction the pull brought h1 back: the server never saw the
        // head edit (its head is older), someone changed the phone number
        // later, and the notes edit reached the server before the eviction
        // (the field carries that edit's own stamp).
        let mut h1 = held(&set("h1", json!({"head": "张伟"})), 50, OTHER);
        h1.merge(&held(
            &set("h1", json!({"phone": "13900000000"})),
            200,
            OTHER,
        ));
        h1.merge(&held(&set("h1", json!({"notes": "独居"})), 200, OLD));
        let purchase = rice_purchase();
        let delete_h2 = mutation("delete", "household", "h2", "yongan", json!(null));
        let mut h2 = held(&set("h2", json!({"door": "2"})), 10, OTHER);
        h2.merge(&held(&delete_h2, 300, OTHER));
        let replica = Replica::new(vec![h1, held(&purchase, 90, OLD), h2], vec![]);
        let backup = Backup::new(
            yongan(),
            0,
            vec![
                entry(
                    1,
                    100,
                    set("h1", json!({"head": "王芳", "phone": "13800000001"})),
                ),
                entry(2, 101, purchase),
                entry(3, 102, delete_h2),
                entry(4, 200, set("h1", json!({"notes": "独居"}))),
            ],
        );
        let plan = backup.plan(&yongan(), &replica);
        assert_eq!(plan.mutations, [set("h1", json!({"head": "王芳"}))]);
        assert_eq!((plan.already, plan.other_compound), (3, 0));
    }

    #[test]
    fn restoring_the_same_file_twice_adds_nothing_the_second_time() {
        let backup = Backup::new(
            yongan(),
            0,
            vec![entry(1, 100, set("h1", json!({"head": "王芳"})))],
        );
        let mut replica = Replica::default();
        let first = backup.plan(&yongan(), &replica);
        assert_eq!(first.mutations.len(), 1);
        // Restored: recorded again on this device with a later stamp.
        replica.upsert(held(&first.mutations[0], 5_000, 0xC));
        let second = backup.plan(&yongan(), &replica);
        assert_eq!((second.mutations.len(), second.already), (0, 1));
    }
}
