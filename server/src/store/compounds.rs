//! Compounds (小区): the tenants. Every record belongs to exactly one.

use doorstep_core::ids::CompoundId;

use super::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compound {
    pub id: CompoundId,
    pub name: String,
}

impl Store {
    /// Creates a compound in no district.
    pub async fn create_compound(
        &self,
        compound: &Compound,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        self.create_compound_in(compound, &super::Placement::default(), now_ms)
            .await
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
