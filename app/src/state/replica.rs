//! The records and open conflicts this phone holds, in memory for the screens.

use std::collections::BTreeMap;

use doorstep_core::{
    access::parent,
    conflict::Conflict,
    ids::RecordId,
    record::Record,
    schema::{Collection, Field, household},
};

use super::household::{Household, sort_key};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Replica {
    /// By collection, so that listing one (rounds, on every change, on every
    /// page) does not walk the tens of thousands of others.
    records: BTreeMap<Collection, BTreeMap<RecordId, Record>>,
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

    /// Stores `record`; an empty one (see [`Record::without_edit`]) leaves.
    pub fn upsert(&mut self, record: Record) {
        let of_collection = self.records.entry(record.collection).or_default();
        if record.is_empty() {
            of_collection.remove(&record.id);
        } else {
            of_collection.insert(record.id.clone(), record);
        }
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
        self.records.get(&collection)?.get(id)
    }

    /// The household a record belongs to, following core's parent chain
    /// (a visit's household, a need event's need and its household) from
    /// `fields` (an edit that names its parent) or the record held here.
    pub fn household_of(
        &self,
        collection: Collection,
        id: &RecordId,
        fields: Option<&BTreeMap<String, serde_json::Value>>,
    ) -> Option<RecordId> {
        let (mut collection, mut id, mut fields) = (collection, id.clone(), fields);
        while collection != Collection::Household {
            let (field, up) = parent(collection)?;
            let named = fields.and_then(|f| field.of(f));
            let stored = || self.record(collection, &id)?.value(field);
            id = named.or_else(stored)?.as_str()?.parse().ok()?;
            (collection, fields) = (up, None);
        }
        Some(id)
    }

    /// Every record of one collection (tombstones included).
    pub fn all(&self, collection: Collection) -> Vec<Record> {
        self.of(collection).cloned().collect()
    }

    fn of(&self, collection: Collection) -> impl Iterator<Item = &Record> {
        self.records
            .get(&collection)
            .into_iter()
            .flat_map(BTreeMap::values)
    }

    /// Live records of the collection of a `name` field as (id, name),
    /// oldest first (by the first stamp a record carries, so editing a
    /// team's members does not move it in a picker): rounds and teams as
    /// pickers list them.
    pub fn named(&self, name: Field) -> Vec<(RecordId, String)> {
        let mut list: Vec<_> = self
            .all(name.collection)
            .into_iter()
            .filter(|record| !record.is_deleted())
            .map(|record| {
                let name = record.text(name).unwrap_or_default().to_owned();
                let first = record.fields.values().map(|s| &s.hlc).min().cloned();
                (first, record.id, name)
            })
            .collect();
        list.sort();
        list.into_iter().map(|(_, id, name)| (id, name)).collect()
    }

    /// Live households in building, unit, door order.
    pub fn households(&self) -> Vec<Household> {
        self.households_where(|_| true)
    }

    /// Live households of one building, in unit and door order: a door's
    /// page needs its building's, not the compound's thousands.
    pub fn households_in(&self, building: &str) -> Vec<Household> {
        self.households_where(|record| {
            Household::shown(record.value(household::BUILDING)).as_deref() == Some(building)
        })
    }

    fn households_where(&self, wanted: impl Fn(&Record) -> bool) -> Vec<Household> {
        let mut households: Vec<Household> = self
            .of(Collection::Household)
            .filter(|r| !r.is_deleted() && wanted(r))
            .map(Household::from_record)
            .collect();
        // The key allocates: made once per household, not per comparison.
        households.sort_by_cached_key(sort_key);
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
    use doorstep_core::mutation::Mutation;

    use super::*;
    use crate::state::fixtures::{household, record, stamp};

    /// A volunteer without the key-persons grant sets 居家隔离; the server
    /// refuses it: the phone stops showing it, and keeps the rest.
    #[test]
    fn a_refused_edit_no_longer_shows_as_the_value() {
        let person = record(
            "person",
            "p1",
            serde_json::json!({"household": "h1", "name": "王芳"}),
        );
        let edit: doorstep_core::mutation::Mutation = serde_json::from_value(serde_json::json!({
            "kind": "set",
            "args": {"collection": "person", "id": "p1", "compound": "c1",
                     "fields": {"key_status": "home_isolation"}}
        }))
        .unwrap();
        let (edited, _) = edit.apply(Some(&person), &stamp(7)).unwrap();
        let mut replica = Replica::new(vec![edited.clone()], vec![]);
        let undone = edited.without_edit(&stamp(7));
        assert_eq!(undone.named("key_status"), None);
        assert_eq!(undone.named("name").and_then(|v| v.as_str()), Some("王芳"));
        replica.upsert(undone);
        let p1 = "p1".parse().unwrap();
        assert_eq!(
            replica
                .record(Collection::Person, &p1)
                .unwrap()
                .named("key_status"),
            None
        );

        // A record only the refused edit made leaves the phone.
        let only = person.without_edit(&stamp(1));
        assert!(only.is_empty());
        replica.upsert(only);
        assert!(replica.record(Collection::Person, &p1).is_none());
    }

    /// A team whose members are edited later keeps its place in pickers.
    #[test]
    fn teams_are_listed_in_the_order_they_were_made() {
        let t1 = record("team", "t1", serde_json::json!({"name": "一队"}));
        let t2 = Mutation::Set {
            collection: Collection::Team,
            id: "t2".parse().unwrap(),
            compound: "c1".parse().unwrap(),
            fields: [("name".to_owned(), serde_json::json!("二队"))].into(),
        }
        .apply(None, &stamp(2))
        .unwrap()
        .0;
        let edit = Mutation::Set {
            collection: Collection::Team,
            id: t1.id.clone(),
            compound: "c1".parse().unwrap(),
            fields: [("member1_name".to_owned(), serde_json::json!("张三"))].into(),
        };
        let t1 = edit.apply(Some(&t1), &stamp(3)).unwrap().0;
        let replica = Replica::new(vec![t2, t1], vec![]);
        let names: Vec<String> = replica
            .named(doorstep_core::schema::team::NAME)
            .into_iter()
            .map(|(_, name)| name)
            .collect();
        assert_eq!(names, ["一队", "二队"]);
    }

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

    /// (collection, id, fields of an edit), the household it belongs to
    #[test]
    fn records_lead_to_their_household() {
        let replica = Replica::new(
            vec![
                household("h1", "3", "101"),
                record("need", "n1", serde_json::json!({"household": "h1"})),
            ],
            vec![],
        );
        let fields = |v: serde_json::Value| serde_json::from_value(v).unwrap();
        let named: BTreeMap<String, serde_json::Value> =
            fields(serde_json::json!({"household": "h2"}));
        let of_need: BTreeMap<String, serde_json::Value> =
            fields(serde_json::json!({"need": "n1"}));
        let cases: [(Collection, &str, Option<&BTreeMap<_, _>>, Option<&str>); 6] = [
            (Collection::Household, "h9", None, Some("h9")),
            (Collection::Visit, "v1", Some(&named), Some("h2")),
            (Collection::Need, "n1", None, Some("h1")),
            (Collection::NeedEvent, "e1", Some(&of_need), Some("h1")),
            (Collection::NeedEvent, "e2", None, None),
            (Collection::Truck, "t1", None, None),
        ];
        for (collection, id, fields, expected) in cases {
            let found = replica.household_of(collection, &id.parse().unwrap(), fields);
            assert_eq!(
                found.as_ref().map(|h| h.as_str()),
                expected,
                "{collection:?} {id}"
            );
        }
    }
}
