//! Each compound's district figures (core's [`Figures`]), kept current in
//! the transaction that writes its records, so a district's totals only
//! read and add up kept rows (`districts.rs`).
//!
//! Every figure is a sum over core's [`Share`]s (a household's visits and
//! people, a need and its steps, a record that counts alone).
//! `record_share` says which share each counted record is in;
//! `compound_figures` holds the compound's figures. A write counts the
//! shares it touches (those of its records before and after) from their
//! records as they stood and as they will stand, and moves the compound's
//! figures by the difference ([`Figures::change`]): its cost follows the
//! households it touched, never the compound's size.
//!
//! Callers hold the compound's counter row locked (a push does, see
//! `sync.rs`; [`backfill`] takes it), so two writers never move one
//! compound's figures from the same starting point.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use doorstep_core::{
    district::{COUNTED, Figures, Share},
    record::Record,
    schema::Collection,
};
use sqlx::{Any, AnyPool, Transaction};

use super::{
    StoreError,
    batch::{ROWS_PER_STATEMENT, bind_ready, row_placeholders},
    sync::decode,
};

type Tx = Transaction<'static, Any>;

/// A changed record that counts, with its share's key.
struct Counted<'r> {
    record: &'r Record,
    share: String,
}

/// Moves the figures of the compounds of `changed` (new states of records,
/// about to be written, with the old ones still stored) by what the change
/// makes. Records of collections not counted change nothing.
pub(super) async fn keep<'r>(
    tx: &mut Tx,
    changed: impl IntoIterator<Item = &'r Record>,
) -> Result<(), StoreError> {
    let mut by_compound: BTreeMap<&str, Vec<Counted<'r>>> = BTreeMap::new();
    for record in changed {
        if let Some(share) = Share::of(record) {
            by_compound
                .entry(record.compound.as_str())
                .or_default()
                .push(Counted {
                    record,
                    share: share.key(),
                });
        }
    }
    for (compound, changed) in by_compound {
        keep_compound(tx, compound, &changed).await?;
    }
    Ok(())
}

/// [`keep`] for one compound. A compound never counted (none of its
/// records written since the figures were first kept) is counted whole.
async fn keep_compound(
    tx: &mut Tx,
    compound: &str,
    changed: &[Counted<'_>],
) -> Result<(), StoreError> {
    let kept: Option<(String,)> =
        sqlx::query_as("SELECT figures FROM compound_figures WHERE compound = $1")
            .bind(compound)
            .fetch_optional(&mut **tx)
            .await?;
    let key = |r: &Record| (r.collection, r.id.to_string());
    let (mut figures, stored, before_shares) = match kept {
        Some((json,)) => {
            let figures: Figures = serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("kept figures do not decode: {e}")))?;
            let before_shares = shares_of(tx, compound, changed).await?;
            let touched: BTreeSet<&str> = before_shares
                .values()
                .map(String::as_str)
                .chain(changed.iter().map(|c| c.share.as_str()))
                .collect();
            let stored = records_of_shares(tx, compound, &touched).await?;
            (figures, stored, Some(before_shares))
        }
        None => (
            Figures::default(),
            counted_records(tx, compound).await?,
            None,
        ),
    };
    let changed_keys: BTreeSet<(Collection, String)> =
        changed.iter().map(|c| key(c.record)).collect();
    let after: Vec<Record> = stored
        .iter()
        .filter(|r| !changed_keys.contains(&key(r)))
        .chain(changed.iter().map(|c| c.record))
        .cloned()
        .collect();
    // Which records' shares to write: those that moved, or every one when
    // the compound is counted for the first time.
    let moved: Vec<(Collection, String, String)> = match &before_shares {
        Some(before) => {
            figures.change(&stored, &after);
            changed
                .iter()
                .filter(|c| before.get(&key(c.record)) != Some(&c.share))
                .map(|c| {
                    (
                        c.record.collection,
                        c.record.id.to_string(),
                        c.share.clone(),
                    )
                })
                .collect()
        }
        None => {
            figures.change(&[], &after);
            after
                .iter()
                .filter_map(|r| Share::of(r).map(|s| (r.collection, r.id.to_string(), s.key())))
                .collect()
        }
    };
    write_shares(tx, compound, &moved).await?;
    let json = serde_json::to_string(&figures).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO compound_figures (compound, figures) VALUES ($1, $2) \
         ON CONFLICT (compound) DO UPDATE SET figures = excluded.figures",
    )
    .bind(compound)
    .bind(json)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The shares `changed` records were in as stored (new ones have none).
/// Read by primary key, collection by collection: a filter on the compound
/// would let SQLite walk the compound's every share instead (it keeps no
/// statistics), a cost that grew with the compound. A share row of
/// another compound is not this one's (core never moves a record between
/// compounds).
async fn shares_of(
    tx: &mut Tx,
    compound: &str,
    changed: &[Counted<'_>],
) -> Result<HashMap<(Collection, String), String>, StoreError> {
    let mut ids: BTreeMap<Collection, Vec<String>> = BTreeMap::new();
    for counted in changed {
        ids.entry(counted.record.collection)
            .or_default()
            .push(counted.record.id.to_string());
    }
    let mut shares = HashMap::new();
    for (collection, ids) in ids {
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let params: Vec<String> = (2..chunk.len() + 2).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT id, compound, share FROM record_share WHERE collection = $1 AND id IN ({})",
                params.join(", ")
            );
            let sql = bind_ready(tx, sql);
            let mut query =
                sqlx::query_as::<_, (String, String, String)>(&sql).bind(collection.name());
            for id in chunk {
                query = query.bind(id.clone());
            }
            for (id, of, share) in query.fetch_all(&mut **tx).await? {
                if of == compound {
                    shares.insert((collection, id), share);
                }
            }
        }
    }
    Ok(shares)
}

/// Every stored record of the compound's `shares`.
async fn records_of_shares(
    tx: &mut Tx,
    compound: &str,
    shares: &BTreeSet<&str>,
) -> Result<Vec<Record>, StoreError> {
    let shares: Vec<&str> = shares.iter().copied().collect();
    let mut records = Vec::new();
    for chunk in shares.chunks(ROWS_PER_STATEMENT) {
        let params: Vec<String> = (2..chunk.len() + 2).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT r.state FROM record_share s \
             JOIN record r ON r.collection = s.collection AND r.id = s.id \
             WHERE s.compound = $1 AND s.share IN ({})",
            params.join(", ")
        );
        let sql = bind_ready(tx, sql);
        let mut query = sqlx::query_as::<_, (String,)>(&sql).bind(compound);
        for share in chunk {
            query = query.bind(*share);
        }
        for (state,) in query.fetch_all(&mut **tx).await? {
            records.push(decode(&state)?);
        }
    }
    Ok(records)
}

/// Every stored record of the compound that counts.
async fn counted_records(tx: &mut Tx, compound: &str) -> Result<Vec<Record>, StoreError> {
    let params: Vec<String> = (2..COUNTED.len() + 2).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT state FROM record WHERE compound = $1 AND collection IN ({})",
        params.join(", ")
    );
    let mut query = sqlx::query_as::<_, (String,)>(&sql).bind(compound);
    for collection in COUNTED {
        query = query.bind(collection.name());
    }
    query
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|(state,)| decode(state))
        .collect()
}

/// Records which share each of `rows` (collection, id, share) is in.
async fn write_shares(
    tx: &mut Tx,
    compound: &str,
    rows: &[(Collection, String, String)],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO record_share (collection, id, compound, share) VALUES {} \
             ON CONFLICT (collection, id) DO UPDATE SET share = excluded.share",
            row_placeholders(chunk.len(), 4)
        );
        let sql = bind_ready(tx, sql);
        let mut query = sqlx::query(&sql);
        for (collection, id, share) in chunk {
            query = query
                .bind(collection.name())
                .bind(id.clone())
                .bind(compound.to_owned())
                .bind(share.clone());
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Counts every compound whose figures were never kept (all of them, the
/// first time a database opens with kept figures), one transaction each,
/// under the compound's counter lock as a push takes it: an instance
/// pushing meanwhile waits, and one backfilling too finds it counted.
pub(super) async fn backfill(writer: &AnyPool) -> Result<(), StoreError> {
    let missing: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM compound WHERE NOT EXISTS \
         (SELECT 1 FROM compound_figures f WHERE f.compound = compound.id)",
    )
    .fetch_all(writer)
    .await?;
    for (compound,) in missing {
        let mut tx = writer.begin().await?;
        sqlx::query("UPDATE compound SET last_seq = last_seq WHERE id = $1")
            .bind(&compound)
            .execute(&mut *tx)
            .await?;
        let counted: Option<(i64,)> =
            sqlx::query_as("SELECT 1 FROM compound_figures WHERE compound = $1")
                .bind(&compound)
                .fetch_optional(&mut *tx)
                .await?;
        if counted.is_none() {
            keep_compound(&mut tx, &compound, &[]).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}
