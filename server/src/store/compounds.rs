//! Compounds (小区): the tenants. Every record belongs to exactly one.

use doorstep_core::ids::CompoundId;

use super::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compound {
    pub id: CompoundId,
    pub name: String,
}

impl Store {
    pub async fn create_compound(
        &self,
        compound: &Compound,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO compound (id, name, created_at_ms) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(compound.id.as_str())
        .bind(&compound.name)
        .bind(now_ms as i64)
        .execute(&self.writer)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Exists(format!(
                "compound {} already exists",
                compound.id
            )));
        }
        Ok(())
    }

    pub async fn compounds(&self) -> Result<Vec<Compound>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT id, name FROM compound ORDER BY name, id")
                .fetch_all(&self.reader)
                .await?;
        rows.into_iter()
            .map(|(id, name)| {
                Ok(Compound {
                    id: id.parse().map_err(StoreError::Corrupt)?,
                    name,
                })
            })
            .collect()
    }
}
