//! Districts (区/街道) and their totals. A compound may belong to a
//! district and a street within it; the district's officials see each
//! compound's [`Figures`], counted by core from the compound's records and
//! kept current by every write (`figures.rs`), so a district's totals are
//! one query over kept rows however many compounds changed.
//!
//! Officials' invites and devices are here too: they belong to a district,
//! never to a compound, and have no scope in any compound.

use base64::Engine;
use doorstep_core::{
    api::CompoundSummary,
    district::{CompoundRow, DistrictSummary, DistrictTotals, Figures},
    ids::DistrictId,
    invite,
};
use rand::Rng;

use super::{RedeemError, Store, StoreError, compounds::Compound};

/// A district official's device, as its requests present it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Official {
    pub id: String,
    pub district: DistrictId,
    pub revoked: bool,
}

/// Where a compound sits: its district and the street within it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    pub district: Option<DistrictId>,
    pub street: Option<String>,
}

/// A compound of the district as read: id, name, street, changed_at_ms,
/// and its kept figures (JSON), if any.
type CompoundFiguresRow = (String, String, Option<String>, Option<i64>, Option<String>);

impl Store {
    pub async fn create_district(
        &self,
        district: &DistrictSummary,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO district (id, name, created_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(district.id.as_str())
        .bind(&district.name)
        .bind(now_ms as i64)
        .execute(&self.writer)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Exists(format!(
                "district {} already exists",
                district.id
            )));
        }
        Ok(())
    }

    pub async fn districts(&self) -> Result<Vec<DistrictSummary>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT id, name FROM district ORDER BY name, id")
                .fetch_all(&self.reader)
                .await?;
        rows.into_iter()
            .map(|(id, name)| {
                Ok(DistrictSummary {
                    id: id.parse().map_err(StoreError::Corrupt)?,
                    name,
                })
            })
            .collect()
    }

    pub async fn district(&self, id: &DistrictId) -> Result<Option<DistrictSummary>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT name FROM district WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map(|(name,)| DistrictSummary {
            id: id.clone(),
            name,
        }))
    }

    /// Creates a compound in a district (and street), all or nothing; an
    /// unknown district is refused.
    pub async fn create_compound_in(
        &self,
        compound: &Compound,
        placement: &Placement,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        if let Some(district) = &placement.district {
            let known: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM district WHERE id = $1")
                .bind(district.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if known.is_none() {
                return Err(StoreError::Forbidden(format!(
                    "no district {district}: create it first"
                )));
            }
        }
        let inserted = sqlx::query(
            "INSERT INTO compound (id, name, created_at_ms, district, street) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
        )
        .bind(compound.id.as_str())
        .bind(&compound.name)
        .bind(now_ms as i64)
        .bind(placement.district.as_ref().map(|d| d.as_str().to_owned()))
        .bind(placement.street.clone())
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Exists(format!(
                "compound {} already exists",
                compound.id
            )));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every compound of the district with its figures, as kept by the
    /// writes (`figures.rs`): one read, nothing counted. `None`: no such
    /// district.
    pub async fn district_totals(
        &self,
        district: &DistrictId,
        now_ms: u64,
    ) -> Result<Option<DistrictTotals>, StoreError> {
        let Some(summary) = self.district(district).await? else {
            return Ok(None);
        };
        let rows: Vec<CompoundFiguresRow> = sqlx::query_as(
            "SELECT c.id, c.name, c.street, c.changed_at_ms, f.figures \
             FROM compound c LEFT JOIN compound_figures f ON f.compound = c.id \
             WHERE c.district = $1",
        )
        .bind(district.as_str())
        .fetch_all(&self.reader)
        .await?;
        let mut compounds = Vec::with_capacity(rows.len());
        for (id, name, street, changed, figures) in rows {
            // No row: nothing counted written since the compound was made.
            let figures: Figures = match figures {
                Some(json) => serde_json::from_str(&json).map_err(|e| {
                    StoreError::Corrupt(format!("kept figures of {id} do not decode: {e}"))
                })?,
                None => Figures::default(),
            };
            let row = CompoundRow {
                compound: CompoundSummary {
                    id: id.parse().map_err(StoreError::Corrupt)?,
                    name,
                },
                street,
                totals: figures.totals,
                last_change_ms: changed.map(|t| t as u64),
            };
            compounds.push((row, figures.days));
        }
        Ok(Some(DistrictTotals::new(summary, compounds, now_ms)))
    }

    /// Makes an invite for an official of `district`; returns its id and
    /// code (never stored as text).
    pub async fn create_official_invite(
        &self,
        district: &DistrictId,
        uses: u32,
        hours: u32,
        now_ms: u64,
    ) -> Result<(String, String), StoreError> {
        let code = invite::from_values(rand::rng().random::<[u8; invite::LEN]>());
        let normalized = invite::normalize(&code).expect("generated codes are valid");
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO official_invite (id, district, code_hash, uses_left, expires_at_ms, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(district.as_str())
        .bind(self.secret.hash(&normalized))
        .bind(i64::from(uses))
        .bind((now_ms + u64::from(hours) * 3_600_000) as i64)
        .bind(now_ms as i64)
        .execute(&self.writer)
        .await?;
        Ok((id, code))
    }

    /// Trades an official's (normalized) code for a device and its bearer
    /// token, in one transaction, like [`Store::redeem`].
    pub async fn redeem_official(
        &self,
        normalized_code: &str,
        label: &str,
        now_ms: u64,
    ) -> Result<(Official, DistrictSummary, String), RedeemError> {
        let mut tx = self.writer.begin().await?;
        let row: Option<(String,)> = sqlx::query_as(
            "UPDATE official_invite SET uses_left = uses_left - 1 \
             WHERE code_hash = $1 AND uses_left > 0 AND expires_at_ms > $2 \
             AND revoked_at_ms IS NULL RETURNING district",
        )
        .bind(self.secret.hash(normalized_code))
        .bind(now_ms as i64)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((district,)) = row else {
            return Err(RedeemError::NoSuchCode);
        };
        let (name,): (String,) = sqlx::query_as("SELECT name FROM district WHERE id = $1")
            .bind(&district)
            .fetch_one(&mut *tx)
            .await?;
        let corrupt = |e: String| RedeemError::Store(StoreError::Corrupt(e));
        let summary = DistrictSummary {
            id: district.parse().map_err(corrupt)?,
            name,
        };
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(rand::rng().random::<[u8; 32]>());
        let official = Official {
            id: uuid::Uuid::new_v4().to_string(),
            district: summary.id.clone(),
            revoked: false,
        };
        let label: String = label.trim().chars().take(64).collect();
        sqlx::query(
            "INSERT INTO official (id, district, token_hash, label, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&official.id)
        .bind(&district)
        .bind(self.secret.hash(&token))
        .bind(label)
        .bind(now_ms as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((official, summary, token))
    }

    /// The official a bearer token belongs to (revoked ones included).
    pub async fn official_by_token(&self, token: &str) -> Result<Option<Official>, StoreError> {
        let row: Option<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT id, district, revoked_at_ms FROM official WHERE token_hash = $1",
        )
        .bind(self.secret.hash(token))
        .fetch_optional(&self.reader)
        .await?;
        row.map(|(id, district, revoked)| {
            Ok(Official {
                id,
                district: district.parse().map_err(StoreError::Corrupt)?,
                revoked: revoked.is_some(),
            })
        })
        .transpose()
    }

    /// Revokes every device of an official of `district` whose label is
    /// `label` (the operator's way to take a lost phone's access away);
    /// returns how many.
    pub async fn revoke_officials(
        &self,
        district: &DistrictId,
        label: &str,
        now_ms: u64,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE official SET revoked_at_ms = $1 \
             WHERE district = $2 AND label = $3 AND revoked_at_ms IS NULL",
        )
        .bind(now_ms as i64)
        .bind(district.as_str())
        .bind(label)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    /// Test hook, not API: a new official of `district` and its bearer
    /// token, as if the operator invited it and it redeemed the code.
    #[doc(hidden)]
    pub async fn enroll_official(
        &self,
        district: &DistrictId,
    ) -> Result<(Official, String), StoreError> {
        let now = crate::now_ms();
        let (_, code) = self.create_official_invite(district, 1, 1, now).await?;
        let normalized = invite::normalize(&code).expect("generated codes are valid");
        match self.redeem_official(&normalized, "official", now).await {
            Ok((official, _, token)) => Ok((official, token)),
            Err(RedeemError::Store(err)) => Err(err),
            Err(RedeemError::NoSuchCode) => {
                Err(StoreError::Corrupt("fresh invite vanished".into()))
            }
        }
    }
}
