//! Reading current record state outside sync: the public truck view, the
//! printable posters and the refused edits.

use doorstep_core::{
    access::Place, ids::CompoundId, mutation::Mutation, record::Record, schema::Collection,
};

use super::{Store, StoreError, batch::Batch, sync::decode};

impl Store {
    /// Every record of one collection in a compound (tombstones included).
    pub async fn records_of(
        &self,
        compound: &CompoundId,
        collection: Collection,
    ) -> Result<Vec<Record>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT state FROM record WHERE compound = $1 AND collection = $2")
                .bind(compound.as_str())
                .bind(collection.name())
                .fetch_all(&self.reader)
                .await?;
        rows.iter().map(|(state,)| decode(state)).collect()
    }

    /// The records `mutations` name as stored now in `compound` (a
    /// tombstone included; `None` where there is none), in their order: read
    /// together, one statement per collection, as a push reads them.
    pub async fn records_named(
        &self,
        compound: &CompoundId,
        mutations: &[&Mutation],
    ) -> Result<Vec<Option<Record>>, StoreError> {
        let mut tx = self.reader.begin().await?;
        let batch = Batch::read(&mut tx, mutations.iter().copied()).await?;
        tx.commit().await?;
        Ok(mutations
            .iter()
            .map(|m| {
                let row = batch.row(m.collection(), m.id().as_str())?;
                (&row.record.compound == compound).then_some(row.record)
            })
            .collect())
    }

    /// Where the household that a record belongs to lives, if anywhere.
    pub async fn place_of(
        &self,
        collection: Collection,
        id: &str,
    ) -> Result<Option<Place>, StoreError> {
        super::scope::place_of(&self.reader, collection, id).await
    }

    pub async fn compound_exists(&self, compound: &CompoundId) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM compound WHERE id = $1")
            .bind(compound.as_str())
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.is_some())
    }
}
