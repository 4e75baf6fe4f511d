//! Reading current record state outside sync: the public truck view, the
//! printable posters and the refused edits.

use doorstep_core::{ids::CompoundId, record::Record, schema::Collection};

use super::{Store, StoreError, sync::decode};

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

    /// One record of a compound as stored now (a tombstone included).
    pub async fn record(
        &self,
        compound: &CompoundId,
        collection: Collection,
        id: &str,
    ) -> Result<Option<Record>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT state FROM record WHERE compound = $1 AND collection = $2 AND id = $3",
        )
        .bind(compound.as_str())
        .bind(collection.name())
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|(state,)| decode(&state)).transpose()
    }

    /// The building of the household that a record belongs to, if any.
    pub async fn building_of(
        &self,
        collection: Collection,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        super::scope::building_of(&self.reader, collection, id).await
    }

    pub async fn compound_exists(&self, compound: &CompoundId) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM compound WHERE id = $1")
            .bind(compound.as_str())
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.is_some())
    }
}
