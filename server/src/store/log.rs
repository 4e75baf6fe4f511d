//! Reading the mutation log (every processed mutation, as received) for the
//! audit trail and for freshness: the synced change log, not a second copy.

use doorstep_core::{hlc::Hlc, ids::CompoundId, mutation::Mutation};
use serde_json::Value;

use super::{Store, StoreError};

/// One processed mutation as the server received it.
#[derive(Clone, Debug, PartialEq)]
pub struct Logged {
    pub client_id: String,
    pub mid: u64,
    pub mutation: Mutation,
    pub hlc: Hlc,
    pub received_at_ms: u64,
    /// Set when the mutation was refused for good.
    pub rejection: Option<String>,
}

impl Store {
    /// The compound's logged mutations whose arguments contain `needle`
    /// (a JSON fragment such as `"id":"h1"`), oldest first. Arguments are
    /// stored as compact JSON with sorted keys, so fragments match exactly;
    /// callers still check the decoded mutation.
    pub async fn mutation_log(
        &self,
        compound: &CompoundId,
        needle: &str,
    ) -> Result<Vec<Logged>, StoreError> {
        let compound_fragment = format!("%\"compound\":{}%", Value::from(compound.as_str()));
        // client_id, mid, kind, args, hlc, received_at_ms, rejection_code
        type LogRow = (String, i64, String, String, String, i64, Option<String>);
        let rows: Vec<LogRow> = sqlx::query_as(
            "SELECT m.client_id, m.mid, m.kind, m.args, m.hlc, m.received_at_ms, m.rejection_code \
             FROM mutation m JOIN client c ON c.client_id = m.client_id \
             LEFT JOIN device d ON d.id = c.device \
             WHERE m.args LIKE $1 AND m.args LIKE $2 AND (d.compound IS NULL OR d.compound = $3) \
             ORDER BY m.received_at_ms, m.client_id, m.mid",
        )
        .bind(compound_fragment)
        .bind(format!("%{needle}%"))
        // Only devices of this compound: another compound's device naming it
        // in a (refused) mutation leaves no trace in this compound's history.
        .bind(compound.as_str())
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter()
            .map(
                |(client_id, mid, kind, args, hlc, received_at_ms, rejection)| {
                    let corrupt = |e: String| {
                        StoreError::Corrupt(format!("logged mutation {client_id}/{mid}: {e}"))
                    };
                    let args: Value =
                        serde_json::from_str(&args).map_err(|e| corrupt(e.to_string()))?;
                    let mutation =
                        serde_json::from_value(serde_json::json!({"kind": kind, "args": args}))
                            .map_err(|e| corrupt(e.to_string()))?;
                    Ok(Logged {
                        mid: mid as u64,
                        mutation,
                        hlc: hlc.parse().map_err(corrupt)?,
                        received_at_ms: received_at_ms as u64,
                        rejection,
                        client_id,
                    })
                },
            )
            .collect()
    }
}
