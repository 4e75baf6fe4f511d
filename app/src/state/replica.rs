//! The records and open conflicts this phone holds, in memory for the screens.

use std::collections::BTreeMap;

use doorstep_core::{conflict::Conflict, ids::RecordId, record::Record, schema::Collection};

use super::household::{Household, sort_key};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Replica {
    records: BTreeMap<(Collection, RecordId), Record>,
    conflicts: BTreeMap<String, Conflict>,
}

impl Replica {
    pub fn new(records: Vec<Record>, conflicts: Vec<Conflict>) -> Self {
        let mut replica = Self::default();
        for record in records {
            replica.upsert(record);
        }
        replica.add_conflicts(conflicts);
        replica
    }

    pub fn upsert(&mut self, record: Record) {
        self.records
            .insert((record.collection, record.id.clone()), record);
    }

    pub fn add_conflicts(&mut self, conflicts: impl IntoIterator<Item = Conflict>) {
        for conflict in conflicts {
            self.conflicts.insert(conflict.key(), conflict);
        }
    }

    pub fn remove_conflict(&mut self, key: &str) {
        self.conflicts.remove(key);
    }

    pub fn record(&self, collection: Collection, id: &RecordId) -> Option<&Record> {
        self.records.get(&(collection, id.clone()))
    }

    /// Every record of one collection (tombstones included).
    pub fn all(&self, collection: Collection) -> Vec<Record> {
        self.records
            .values()
            .filter(|r| r.collection == collection)
            .cloned()
            .collect()
    }

    /// Live records of a collection as (id, name), oldest first: rounds and
    /// teams as pickers list them.
    pub fn named(&self, collection: Collection) -> Vec<(RecordId, String)> {
        let mut list: Vec<_> = self
            .all(collection)
            .into_iter()
            .filter(|record| !record.is_deleted())
            .map(|record| {
                let name = record
                    .value("name")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned();
                (record.latest_hlc().cloned(), record.id, name)
            })
            .collect();
        list.sort();
        list.into_iter().map(|(_, id, name)| (id, name)).collect()
    }

    /// Live households in building, unit, door order.
    pub fn households(&self) -> Vec<Household> {
        let mut households: Vec<Household> = self
            .records
            .values()
            .filter(|r| r.collection == Collection::Household && !r.is_deleted())
            .map(Household::from_record)
            .collect();
        households.sort_by_key(sort_key);
        households
    }

    pub fn conflicts_for(&self, collection: Collection, id: &RecordId) -> Vec<Conflict> {
        self.conflicts
            .values()
            .filter(|c| c.collection == collection && &c.id == id)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::fixtures::household;

    #[test]
    fn households_sort_like_people_count() {
        let replica = Replica::new(
            vec![
                household("a", "10", "101"),
                household("b", "9", "201"),
                household("c", "9", "101"),
                household("d", "2", "1101"),
            ],
            vec![],
        );
        let order: Vec<String> = replica
            .households()
            .into_iter()
            .map(|h| h.id.to_string())
            .collect();
        assert_eq!(order, ["d", "c", "b", "a"]);
    }
}
