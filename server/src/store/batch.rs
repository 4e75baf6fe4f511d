//! The records one push touches: read in one statement per collection under
//! the push's locks, merged in memory mutation by mutation, and written once
//! each, in one multi-row upsert, before the push commits. A push therefore
//! costs a few round trips to the database whatever its size. The refused
//! edits list reads the records it names the same way.
//!
//! Writing also keeps the compound's district figures current, in the same
//! transaction (`figures.rs`).
//!
//! The scope checks that place a record (its household, that household's
//! building and unit) ask the batch first, since it holds what the database will hold
//! after the commit, and the database only for records the push leaves alone.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use doorstep_core::{
    access::{Place, parent},
    mutation::Mutation,
    record::Record,
    schema::{Collection, Field, household, need_event},
};
use serde_json::Value;
use sqlx::{Any, Transaction};

use super::{StoreError, figures, sync::decode};

type Tx = Transaction<'static, Any>;
type Key = (Collection, String);

/// Rows a multi-row statement writes at most: a push's worth, well inside
/// both databases' limits on parameters.
pub(super) const ROWS_PER_STATEMENT: usize = 100;

/// `($1, $2), ($3, $4)…`: the placeholders of `rows` rows of `columns`.
pub(super) fn row_placeholders(rows: usize, columns: usize) -> String {
    let row = |r: usize| {
        let params: Vec<String> = (1..=columns)
            .map(|c| format!("${}", r * columns + c))
            .collect();
        format!("({})", params.join(", "))
    };
    (0..rows).map(row).collect::<Vec<_>>().join(", ")
}

/// `sql` (written with `$1`, `$2`… as both databases take it) as `tx`'s
/// database binds it fastest. sqlx binds SQLite's parameters by name, and
/// SQLite finds a `$N`'s name by walking the ones before it: quadratic in
/// a push's 900-parameter insert, the largest share of its time. SQLite
/// gets anonymous `?`s instead, which bind in order, so the `$N`s must
/// appear as 1, 2, 3…, each once (checked: otherwise `sql` runs as given).
pub(super) fn bind_ready(tx: &Tx, sql: String) -> String {
    if tx.backend_name() != <sqlx::Sqlite as sqlx::Database>::NAME {
        return sql;
    }
    anonymous_parameters(&sql).unwrap_or(sql)
}

/// `sql` with its `$1`, `$2`… as `?`, if they appear in that order.
fn anonymous_parameters(sql: &str) -> Option<String> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    let mut next = 1;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let digits = rest[at + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len() - at - 1);
        if rest[at + 1..at + 1 + digits].parse::<usize>().ok()? != next {
            return None;
        }
        out.push('?');
        next += 1;
        rest = &rest[at + 1 + digits..];
    }
    out.push_str(rest);
    Some(out)
}

/// A record as stored, with the household it hangs from and, for a
/// household, its building and unit (as [`Place`] holds it).
#[derive(Clone, Debug)]
pub(super) struct Row {
    pub record: Record,
    pub household: Option<String>,
    pub building: Option<String>,
    pub unit: Option<String>,
}

impl Row {
    /// Where a household row lives.
    fn place(&self) -> Option<Place> {
        Some(Place {
            building: self.building.clone()?,
            unit: self.unit.clone(),
        })
    }
}

pub(super) struct Batch {
    /// Every record the push's mutations name: `None` if it does not exist.
    rows: HashMap<Key, Option<Row>>,
    /// The records this push changed, with the sequence number of the last
    /// change (earlier ones in the same push leave harmless gaps).
    changed: BTreeMap<Key, i64>,
}

impl Batch {
    pub async fn read(
        tx: &mut Tx,
        mutations: impl Iterator<Item = &Mutation>,
    ) -> Result<Self, StoreError> {
        let mut ids: BTreeMap<Collection, BTreeSet<String>> = BTreeMap::new();
        for mutation in mutations {
            ids.entry(mutation.collection())
                .or_default()
                .insert(mutation.id().to_string());
        }
        let mut rows = HashMap::new();
        for (collection, ids) in ids {
            let params: Vec<String> = (2..ids.len() + 2).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT id, state, household, building, unit FROM record \
                 WHERE collection = $1 AND id IN ({})",
                params.join(", ")
            );
            type Stored = (
                String,
                String,
                Option<String>,
                Option<String>,
                Option<String>,
            );
            let sql = bind_ready(tx, sql);
            let mut query = sqlx::query_as::<_, Stored>(&sql).bind(collection.name());
            for id in &ids {
                query = query.bind(id.clone());
            }
            for (id, state, household, building, unit) in query.fetch_all(&mut **tx).await? {
                let row = Row {
                    record: decode(&state)?,
                    household,
                    building,
                    unit,
                };
                rows.insert((collection, id), Some(row));
            }
            for id in ids {
                rows.entry((collection, id)).or_insert(None);
            }
        }
        Ok(Self {
            rows,
            changed: BTreeMap::new(),
        })
    }

    /// A record the push names, as it stands now in the push.
    pub fn row(&self, collection: Collection, id: &str) -> Option<Row> {
        self.rows
            .get(&(collection, id.to_owned()))
            .cloned()
            .flatten()
    }

    /// Keeps a merged record, to be written by [`Batch::write`].
    pub fn change(&mut self, row: Row, seq: i64) {
        let key = (row.record.collection, row.record.id.to_string());
        self.changed.insert(key.clone(), seq);
        self.rows.insert(key, Some(row));
    }

    /// Writes every changed record. A record another compound created
    /// meanwhile (possible only with several PostgreSQL writers: ids are
    /// global) is not overwritten, and fails the whole push; its retry reads
    /// that record, and core refuses the move between compounds.
    pub async fn write(self, tx: &mut Tx) -> Result<(), StoreError> {
        const COLUMNS: usize = 8;
        let changed: Vec<(&Key, &i64)> = self.changed.iter().collect();
        // While the old states are still stored: the district figures
        // move by what this write changes.
        figures::keep(
            tx,
            changed
                .iter()
                .filter_map(|(key, _)| self.rows[*key].as_ref().map(|row| &row.record)),
        )
        .await?;
        let mut written = 0;
        for chunk in changed.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO record (collection, id, compound, seq, state, household, building, unit) \
                 VALUES {} \
                 ON CONFLICT (collection, id) DO UPDATE SET seq = excluded.seq, \
                 state = excluded.state, household = excluded.household, \
                 building = excluded.building, unit = excluded.unit \
                 WHERE record.compound = excluded.compound",
                row_placeholders(chunk.len(), COLUMNS)
            );
            let sql = bind_ready(tx, sql);
            let mut query = sqlx::query(&sql);
            for (key, seq) in chunk {
                let row = self.rows[*key].as_ref().expect("a changed record is kept");
                let state = serde_json::to_string(&row.record)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                query = query
                    .bind(key.0.name())
                    .bind(key.1.clone())
                    .bind(row.record.compound.to_string())
                    .bind(**seq)
                    .bind(state)
                    .bind(row.household.clone())
                    .bind(row.building.clone())
                    .bind(row.unit.clone());
            }
            written += query.execute(&mut **tx).await?.rows_affected();
        }
        if written != changed.len() as u64 {
            return Err(StoreError::Busy(
                "a record of this push was created elsewhere at the same time; send it again"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The household `collection`/`id` hangs from (a household's own id).
    async fn household_id(
        &self,
        tx: &mut Tx,
        collection: Collection,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        if let Some(row) = self.rows.get(&(collection, id.to_owned())) {
            return Ok(row.as_ref().and_then(|r| r.household.clone()));
        }
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT household FROM record WHERE collection = $1 AND id = $2")
                .bind(collection.name())
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?;
        Ok(row.and_then(|(h,)| h))
    }

    /// Where the household `collection`/`id` belongs to lives.
    async fn place_of(
        &self,
        tx: &mut Tx,
        collection: Collection,
        id: &str,
    ) -> Result<Option<Place>, StoreError> {
        let Some(household) = self.household_id(tx, collection, id).await? else {
            return Ok(None);
        };
        if let Some(row) = self.rows.get(&(Collection::Household, household.clone())) {
            return Ok(row.as_ref().and_then(Row::place));
        }
        let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT building, unit FROM record WHERE collection = 'household' AND id = $1",
        )
        .bind(household)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(row.and_then(|(building, unit)| {
            Some(Place {
                building: building?,
                unit,
            })
        }))
    }

    /// The household a record hangs from, following its parent reference.
    pub async fn household_of(
        &self,
        tx: &mut Tx,
        record: &Record,
    ) -> Result<Option<String>, StoreError> {
        if record.collection == Collection::Household {
            return Ok(Some(record.id.to_string()));
        }
        self.household_above(tx, record.collection, |field| record.value(field))
            .await
    }

    /// The household a record of a collection below households will be
    /// under after `mutation` to `existing`, before the edit is merged.
    pub async fn household_after(
        &self,
        tx: &mut Tx,
        mutation: &Mutation,
        existing: Option<&Record>,
    ) -> Result<Option<String>, StoreError> {
        let fields = mutation.fields();
        self.household_above(tx, mutation.collection(), |field| {
            fields
                .and_then(|f| field.of(f))
                .or_else(|| existing.and_then(|r| r.value(field)))
        })
        .await
    }

    /// The household above a record of `collection` whose fields `value`
    /// reads: its parent, or its parent's household.
    async fn household_above<'v>(
        &self,
        tx: &mut Tx,
        collection: Collection,
        value: impl FnOnce(Field) -> Option<&'v Value>,
    ) -> Result<Option<String>, StoreError> {
        let Some((field, up)) = parent(collection) else {
            return Ok(None);
        };
        let Some(parent_id) = value(field).and_then(Value::as_str) else {
            return Ok(None);
        };
        if up == Collection::Household {
            return Ok(Some(parent_id.to_owned()));
        }
        self.household_id(tx, up, parent_id).await
    }

    /// The need events of the need `event` steps (not `event` itself), as
    /// the push holds them: stored ones, and those earlier in the push.
    pub async fn need_events(
        &self,
        tx: &mut Tx,
        event: &Record,
    ) -> Result<Vec<Record>, StoreError> {
        let need = event.text(need_event::NEED);
        let of_need = |r: &Record| r.id != event.id && r.text(need_event::NEED) == need;
        let mut events: BTreeMap<String, Record> = BTreeMap::new();
        if let Some(household) = self.household_of(tx, event).await? {
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT id, state FROM record WHERE compound = $1 \
                 AND collection = 'need_event' AND household = $2",
            )
            .bind(event.compound.as_str())
            .bind(household)
            .fetch_all(&mut **tx)
            .await?;
            for (id, state) in rows {
                events.insert(id, decode(&state)?);
            }
        }
        for ((collection, id), row) in &self.rows {
            if let (Collection::NeedEvent, Some(row)) = (collection, row) {
                events.insert(id.clone(), row.record.clone());
            }
        }
        Ok(events.into_values().filter(of_need).collect())
    }

    /// Where the record a mutation touches is placed, before and after it:
    /// the places that must all be in a volunteer's scope.
    pub async fn placements(
        &self,
        tx: &mut Tx,
        mutation: &Mutation,
        existing: Option<&Record>,
    ) -> Result<Vec<Option<Place>>, StoreError> {
        let collection = mutation.collection();
        let mut places = Vec::new();
        let before = match existing {
            Some(_) => Some(
                self.place_of(tx, collection, mutation.id().as_str())
                    .await?,
            ),
            None => None,
        };
        let new_place = match (collection, parent(collection), mutation.fields()) {
            // A household moves when its building or its unit changes.
            (Collection::Household, _, Some(fields))
                if household::BUILDING.of(fields).is_some()
                    || household::UNIT.of(fields).is_some() =>
            {
                let was = before.clone().flatten();
                let building = match household::BUILDING.of(fields) {
                    Some(value) => value.as_str().map(str::to_owned),
                    None => was.as_ref().map(|p| p.building.clone()),
                };
                Some(building.map(|building| match household::UNIT.of(fields) {
                    Some(unit) => Place::new(&building, unit.as_str()),
                    None => Place {
                        building,
                        unit: was.and_then(|p| p.unit),
                    },
                }))
            }
            (_, Some((field, up)), Some(fields)) => match field.of(fields) {
                Some(Value::String(parent_id)) => Some(self.place_of(tx, up, parent_id).await?),
                Some(_) => Some(None),
                None => None,
            },
            _ => None,
        };
        places.extend(before);
        match new_place {
            Some(place) => places.push(place),
            None if existing.is_none() => places.push(None),
            None => {}
        }
        Ok(places)
    }
}

#[cfg(test)]
mod tests {
    use super::{anonymous_parameters, row_placeholders};

    #[test]
    fn placeholders_number_rows_then_columns() {
        assert_eq!(row_placeholders(1, 2), "($1, $2)");
        assert_eq!(row_placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }

    #[test]
    fn numbered_parameters_in_order_become_anonymous() {
        assert_eq!(
            anonymous_parameters("SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)").as_deref(),
            Some("SELECT a FROM t WHERE b = ? AND c IN (?, ?)")
        );
        assert_eq!(
            anonymous_parameters(&format!("VALUES {}", row_placeholders(4, 3))).as_deref(),
            Some("VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?), (?, ?, ?)")
        );
        assert_eq!(
            anonymous_parameters("SELECT 1").as_deref(),
            Some("SELECT 1")
        );
        // Out of order, repeated, skipped or unnumbered: kept as written.
        for kept in [
            "b = $2 AND c = $1",
            "b = $1 AND c = $1",
            "b = $1 AND c = $3",
            "b = $ AND c = $1",
            "$1$",
        ] {
            assert_eq!(anonymous_parameters(kept), None, "{kept}");
        }
    }
}
