//! Devices, invites and the redemption throttle. Secrets (bearer tokens,
//! invite codes) are stored only as HMAC-SHA-256 hashes keyed with the
//! server's secret (`secret.rs`), which the database does not hold: a copy
//! of the database lets nobody sign in, nor test guesses offline. Rows
//! hashed the old way (plain SHA-256) are still found and are rewritten
//! with the keyed hash when used.

use base64::Engine;
use doorstep_core::{
    access::Role,
    api::{DeviceInfo, DeviceUpdate, Invite, InviteRequest, StorageBackend},
    ids::{CompoundId, RecordId},
    invite,
};
use rand::Rng;

use super::{Store, StoreError, secret::legacy_hash};

/// A redeemed device, as requests present it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub compound: CompoundId,
    pub role: Role,
    pub team: Option<RecordId>,
    pub key_persons: bool,
    pub revoked: bool,
}

impl Device {
    /// The server's operator at the command line (e.g. a roster import): a
    /// coordinator of `compound` that has no token.
    pub fn operator(compound: CompoundId) -> Self {
        Self {
            id: "operator".into(),
            compound,
            role: Role::Coordinator,
            team: None,
            key_persons: true,
            revoked: false,
        }
    }
}

/// Why a code could not be redeemed. One answer for all of them, so a
/// guesser learns nothing about which codes exist.
#[derive(Debug)]
pub enum RedeemError {
    NoSuchCode,
    Store(StoreError),
}

impl From<sqlx::Error> for RedeemError {
    fn from(err: sqlx::Error) -> Self {
        RedeemError::Store(err.into())
    }
}

type InviteRow = (String, String, Option<String>, i64, i64, i64, i64);

fn invite_of(row: InviteRow) -> Result<Invite, StoreError> {
    let (id, role, team, key_persons, uses_left, expires_at_ms, created_at_ms) = row;
    Ok(Invite {
        id,
        role: role_of(&role)?,
        team: team_of(team)?,
        key_persons: key_persons != 0,
        uses_left: uses_left as u32,
        expires_at_ms: expires_at_ms as u64,
        created_at_ms: created_at_ms as u64,
    })
}

fn role_of(name: &str) -> Result<Role, StoreError> {
    Role::from_name(name).ok_or_else(|| StoreError::Corrupt(format!("unknown role {name:?}")))
}

fn team_of(team: Option<String>) -> Result<Option<RecordId>, StoreError> {
    team.map(|t| t.parse().map_err(StoreError::Corrupt))
        .transpose()
}

type DeviceRow = (
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
);
const DEVICE_COLUMNS: &str =
    "id, label, role, team, key_persons, created_at_ms, last_seen_ms, revoked_at_ms";

fn device_info_of(row: DeviceRow) -> Result<DeviceInfo, StoreError> {
    let (id, label, role, team, key_persons, created_at_ms, last_seen_ms, revoked_at_ms) = row;
    Ok(DeviceInfo {
        id,
        label,
        role: role_of(&role)?,
        team: team_of(team)?,
        key_persons: key_persons != 0,
        created_at_ms: created_at_ms as u64,
        last_seen_ms: last_seen_ms.map(|t| t as u64),
        revoked_at_ms: revoked_at_ms.map(|t| t as u64),
        this_device: false,
    })
}

/// How often a device's "last seen" is written: at most once a minute.
const LAST_SEEN_RESOLUTION_MS: i64 = 60_000;

impl Store {
    /// Makes an invite and returns it with its code (never stored as text).
    /// The request must have passed [`check_invite`](crate::accounts).
    pub async fn create_invite(
        &self,
        compound: &CompoundId,
        request: &InviteRequest,
        now_ms: u64,
    ) -> Result<(Invite, String), StoreError> {
        let values: [u8; invite::LEN] = rand::rng().random::<[u8; invite::LEN]>();
        let code = invite::from_values(values);
        let normalized = invite::normalize(&code).expect("generated codes are valid");
        let invite = Invite {
            id: uuid::Uuid::new_v4().to_string(),
            role: request.role,
            team: request.team.clone(),
            key_persons: request.key_persons,
            uses_left: request.uses,
            expires_at_ms: now_ms + u64::from(request.hours) * 3_600_000,
            created_at_ms: now_ms,
        };
        sqlx::query(
            "INSERT INTO invite (id, compound, code_hash, role, team, key_persons, uses_left, expires_at_ms, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&invite.id)
        .bind(compound.as_str())
        .bind(self.secret.hash(&normalized))
        .bind(invite.role.name())
        .bind(invite.team.as_ref().map(|t| t.as_str().to_owned()))
        .bind(i64::from(invite.key_persons))
        .bind(i64::from(invite.uses_left))
        .bind(invite.expires_at_ms as i64)
        .bind(now_ms as i64)
        .execute(&self.writer)
        .await?;
        Ok((invite, code))
    }

    /// Invites that can still be redeemed, newest first.
    pub async fn invites(
        &self,
        compound: &CompoundId,
        now_ms: u64,
    ) -> Result<Vec<Invite>, StoreError> {
        let rows: Vec<InviteRow> = sqlx::query_as(
            "SELECT id, role, team, key_persons, uses_left, expires_at_ms, created_at_ms FROM invite \
             WHERE compound = $1 AND uses_left > 0 AND expires_at_ms > $2 AND revoked_at_ms IS NULL \
             ORDER BY created_at_ms DESC, id",
        )
        .bind(compound.as_str())
        .bind(now_ms as i64)
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter().map(invite_of).collect()
    }

    /// Trades a (normalized) code for a new device and its bearer token, in
    /// one transaction: the use is consumed exactly when the device exists.
    pub async fn redeem(
        &self,
        normalized_code: &str,
        label: &str,
        now_ms: u64,
    ) -> Result<(Device, String), RedeemError> {
        let mut tx = self.writer.begin().await?;
        // The invite's compound, then the columns of an `InviteRow`.
        type UsedInvite = (String, String, String, Option<String>, i64, i64, i64, i64);
        // A revoked code is refused like an unknown one. A row hashed the
        // old way is found by its legacy hash and rewritten keyed.
        let row: Option<UsedInvite> =
            sqlx::query_as(
                "UPDATE invite SET uses_left = uses_left - 1, code_hash = $1 \
                 WHERE code_hash IN ($1, $2) AND uses_left > 0 AND expires_at_ms > $3 \
                 AND revoked_at_ms IS NULL \
                 RETURNING compound, id, role, team, key_persons, uses_left, expires_at_ms, created_at_ms",
            )
            .bind(self.secret.hash(normalized_code))
            .bind(legacy_hash(normalized_code))
            .bind(now_ms as i64)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((compound, id, role, team, key, uses, expires, created)) = row else {
            return Err(RedeemError::NoSuchCode);
        };
        let row = (id, role, team, key, uses, expires, created);
        let invite = invite_of(row).map_err(RedeemError::Store)?;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(rand::rng().random::<[u8; 32]>());
        let device = Device {
            id: uuid::Uuid::new_v4().to_string(),
            compound: compound
                .parse()
                .map_err(|e| RedeemError::Store(StoreError::Corrupt(e)))?,
            role: invite.role,
            team: invite.team,
            key_persons: invite.key_persons,
            revoked: false,
        };
        let label: String = label.trim().chars().take(64).collect();
        sqlx::query(
            "INSERT INTO device (id, compound, token_hash, label, role, team, key_persons, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&device.id)
        .bind(device.compound.as_str())
        .bind(self.secret.hash(&token))
        .bind(label)
        .bind(device.role.name())
        .bind(device.team.as_ref().map(|t| t.as_str().to_owned()))
        .bind(i64::from(device.key_persons))
        .bind(now_ms as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((device, token))
    }

    /// Test hook, not API: a new device of `role` in `compound` and its
    /// bearer token, as if a coordinator invited it and it redeemed the code.
    #[doc(hidden)]
    pub async fn enroll(
        &self,
        compound: &CompoundId,
        role: Role,
        team: Option<RecordId>,
        key_persons: bool,
    ) -> Result<(Device, String), StoreError> {
        let request = InviteRequest {
            role,
            team,
            uses: 1,
            hours: 1,
            key_persons,
        };
        let now = crate::now_ms();
        let (_, code) = self.create_invite(compound, &request, now).await?;
        let normalized = invite::normalize(&code).expect("generated codes are valid");
        match self.redeem(&normalized, role.name(), now).await {
            Ok(enrolled) => Ok(enrolled),
            Err(RedeemError::Store(err)) => Err(err),
            Err(RedeemError::NoSuchCode) => {
                Err(StoreError::Corrupt("fresh invite vanished".into()))
            }
        }
    }

    /// The device a bearer token belongs to (revoked ones included). A
    /// token stored under the legacy hash is rewritten keyed on first use.
    pub async fn device_by_token(&self, token: &str) -> Result<Option<Device>, StoreError> {
        let keyed = self.secret.hash(token);
        type WithHash = (
            String,
            String,
            String,
            Option<String>,
            i64,
            Option<i64>,
            String,
        );
        let row: Option<(CallerRow, String)> = sqlx::query_as::<_, WithHash>(
            "SELECT id, compound, role, team, key_persons, revoked_at_ms, token_hash FROM device \
             WHERE token_hash IN ($1, $2)",
        )
        .bind(&keyed)
        .bind(legacy_hash(token))
        .fetch_optional(&self.reader)
        .await?
        .map(|(id, compound, role, team, key_persons, revoked, stored)| {
            ((id, compound, role, team, key_persons, revoked), stored)
        });
        let Some((row, stored)) = row else {
            return Ok(None);
        };
        if stored != keyed {
            sqlx::query("UPDATE device SET token_hash = $1 WHERE id = $2 AND token_hash = $3")
                .bind(&keyed)
                .bind(&row.0)
                .bind(&stored)
                .execute(&self.writer)
                .await?;
        }
        device_of(row).map(Some)
    }

    /// A device by its id (revoked ones included), e.g. the holder of an
    /// event-stream ticket.
    pub async fn device_by_id(&self, id: &str) -> Result<Option<Device>, StoreError> {
        let row: Option<CallerRow> = sqlx::query_as(
            "SELECT id, compound, role, team, key_persons, revoked_at_ms FROM device WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.map(device_of).transpose()
    }

    /// Test hook, not API: stores a device's token hash, e.g. as an older
    /// server wrote it (plain SHA-256), to prove such rows keep working.
    #[doc(hidden)]
    pub async fn set_token_hash(&self, device: &str, hash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE device SET token_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(device)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The keyed hash of `text` (e.g. an invite code in a throttle key): what
    /// the database may hold in its place.
    pub fn secret_hash(&self, text: &str) -> String {
        self.secret.hash(text)
    }

    /// Notes that a device synced (written at most once a minute).
    pub async fn touch_device(&self, id: &str, now_ms: u64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE device SET last_seen_ms = $1 WHERE id = $2 \
             AND (last_seen_ms IS NULL OR last_seen_ms < $3)",
        )
        .bind(now_ms as i64)
        .bind(id)
        .bind(now_ms as i64 - LAST_SEEN_RESOLUTION_MS)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn devices(&self, compound: &CompoundId) -> Result<Vec<DeviceInfo>, StoreError> {
        let rows: Vec<DeviceRow> = sqlx::query_as(&format!(
            "SELECT {DEVICE_COLUMNS} FROM device WHERE compound = $1 ORDER BY created_at_ms, id"
        ))
        .bind(compound.as_str())
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter().map(device_info_of).collect()
    }

    /// Revokes a device or changes its grant; `None` if the compound has no
    /// such device. Revoking is final: a revoked device stays revoked.
    pub async fn update_device(
        &self,
        compound: &CompoundId,
        id: &str,
        update: &DeviceUpdate,
        now_ms: u64,
    ) -> Result<Option<DeviceInfo>, StoreError> {
        let mut tx = self.writer.begin().await?;
        if update.revoke {
            sqlx::query(
                "UPDATE device SET revoked_at_ms = $1 WHERE compound = $2 AND id = $3 AND revoked_at_ms IS NULL",
            )
            .bind(now_ms as i64)
            .bind(compound.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(key_persons) = update.key_persons {
            sqlx::query("UPDATE device SET key_persons = $1 WHERE compound = $2 AND id = $3")
                .bind(i64::from(key_persons))
                .bind(compound.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let row: Option<DeviceRow> = sqlx::query_as(&format!(
            "SELECT {DEVICE_COLUMNS} FROM device WHERE compound = $1 AND id = $2"
        ))
        .bind(compound.as_str())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row.map(device_info_of).transpose()
    }

    /// Cancels an invite: it is no longer listed, and redeeming its code is
    /// refused like an unknown code. `false` if the compound has no such
    /// invite; revoking twice keeps the first time.
    pub async fn revoke_invite(
        &self,
        compound: &CompoundId,
        id: &str,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE invite SET revoked_at_ms = COALESCE(revoked_at_ms, $1) WHERE compound = $2 AND id = $3",
        )
        .bind(now_ms as i64)
        .bind(compound.as_str())
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Counts one attempt against each `(key, limit)` in the current fixed
    /// window (of `window_ms`), if every key is still under its limit, and
    /// says whether it did. Checking and counting are one transaction (each
    /// count's row stays locked until it commits), so attempts made at the
    /// same moment cannot all see room for one more. Rows of earlier windows
    /// are deleted on the way.
    pub async fn throttle_take(
        &self,
        keys: &[(&str, u64)],
        window_ms: u64,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let window_start = window_start(window_ms, now_ms);
        // One lock order for every transaction: no deadlocks on PostgreSQL.
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        let mut tx = self.writer.begin().await?;
        for (key, limit) in keys {
            let (count,): (i64,) = sqlx::query_as(
                "INSERT INTO throttle (key, window_start_ms, count) VALUES ($1, $2, 1) \
                 ON CONFLICT (key) DO UPDATE SET \
                 count = CASE WHEN throttle.window_start_ms = excluded.window_start_ms THEN throttle.count + 1 ELSE 1 END, \
                 window_start_ms = excluded.window_start_ms \
                 RETURNING count",
            )
            .bind(key)
            .bind(window_start)
            .fetch_one(&mut *tx)
            .await?;
            if count as u64 > limit {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        // Old windows' rows only take space. On PostgreSQL, rows another
        // attempt holds are left for the next purge rather than waited for.
        let purge = match self.backend {
            StorageBackend::Sqlite => "DELETE FROM throttle WHERE window_start_ms < $1",
            StorageBackend::Postgres => {
                "DELETE FROM throttle WHERE key IN \
                 (SELECT key FROM throttle WHERE window_start_ms < $1 FOR UPDATE SKIP LOCKED)"
            }
        };
        sqlx::query(purge)
            .bind(window_start)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Takes back one attempt of each key in the current window, e.g. a
    /// right code, which should not count as a wrong one.
    pub async fn throttle_refund(
        &self,
        keys: &[&str],
        window_ms: u64,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        for key in keys {
            sqlx::query(
                "UPDATE throttle SET count = count - 1 \
                 WHERE key = $1 AND window_start_ms = $2 AND count > 0",
            )
            .bind(*key)
            .bind(window_start(window_ms, now_ms))
            .execute(&self.writer)
            .await?;
        }
        Ok(())
    }

    /// How many throttle rows there are, of any window (for tests of the
    /// purge).
    #[doc(hidden)]
    pub async fn throttle_rows(&self) -> Result<u64, StoreError> {
        let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM throttle")
            .fetch_one(&self.writer)
            .await?;
        Ok(rows as u64)
    }
}

/// The start of the fixed window `now_ms` falls in.
fn window_start(window_ms: u64, now_ms: u64) -> i64 {
    (now_ms - now_ms % window_ms.max(1)) as i64
}

/// A device as a caller: id, compound, role, team, key_persons, revoked_at_ms.
type CallerRow = (String, String, String, Option<String>, i64, Option<i64>);

fn device_of(
    (id, compound, role, team, key_persons, revoked): CallerRow,
) -> Result<Device, StoreError> {
    Ok(Device {
        id,
        compound: compound.parse().map_err(StoreError::Corrupt)?,
        role: role_of(&role)?,
        team: team_of(team)?,
        key_persons: key_persons != 0,
        revoked: revoked.is_some(),
    })
}
