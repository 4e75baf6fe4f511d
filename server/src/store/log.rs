//! Reading the mutation log (every processed mutation, as received) for the
//! audit trail, freshness and the refused edits: the synced change log, not
//! a second copy.

use doorstep_core::api::ErrorCode;
use doorstep_core::{
    hlc::Hlc,
    ids::CompoundId,
    mutation::{Mutation, Refusal},
};
use serde_json::Value;

use super::{Store, StoreError};

/// One processed mutation as the server received it.
#[derive(Clone, Debug, PartialEq)]
pub struct Logged {
    pub client_id: String,
    /// The name the device signed in with.
    pub device_label: Option<String>,
    pub mid: u64,
    pub mutation: Mutation,
    pub hlc: Hlc,
    pub received_at_ms: u64,
    /// Set when the mutation was refused for good.
    pub rejection: Option<Refusal>,
}

/// The most refused edits [`Store::refused_log`] returns.
pub const REFUSED_LIMIT: usize = 500;

/// The most refused edits [`Store::refused_log`] returns of one device (its
/// newest): a device pushing junk cannot push the others' out of the list.
/// Its older ones stay in the log, for the audit trail and history.
pub const REFUSED_PER_DEVICE: usize = 100;

// client_id, label, mid, kind, args, hlc, received_at_ms, rejection code and message
type LogRow = (
    String,
    Option<String>,
    i64,
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
);

/// The log of a compound (`$1`: its JSON fragment, `$2`: its id), to which
/// callers add their own conditions and order. Only devices of this
/// compound: another compound's device naming it in a (refused) mutation
/// leaves no trace here.
const LOG_OF_COMPOUND: &str = "SELECT m.client_id, d.label, m.mid, m.kind, m.args, m.hlc, \
     m.received_at_ms, m.rejection_code, m.rejection_message \
     FROM mutation m JOIN client c ON c.client_id = m.client_id \
     LEFT JOIN device d ON d.id = c.device \
     WHERE m.args LIKE $1 ESCAPE '\\' AND (d.compound IS NULL OR d.compound = $2)";

impl Store {
    /// The compound's logged mutations whose arguments contain `needle`
    /// (a JSON fragment such as `"id":"h1"`, matched literally: LIKE's
    /// wildcards in it are escaped), oldest first. Arguments are
    /// stored as compact JSON with sorted keys, so fragments match exactly;
    /// callers still check the decoded mutation.
    pub async fn mutation_log(
        &self,
        compound: &CompoundId,
        needle: &str,
    ) -> Result<Vec<Logged>, StoreError> {
        let sql = format!(
            "{LOG_OF_COMPOUND} AND m.args LIKE $3 ESCAPE '\\' ORDER BY m.received_at_ms, m.client_id, m.mid"
        );
        let rows: Vec<LogRow> = sqlx::query_as(&sql)
            .bind(compound_fragment(compound))
            .bind(compound.as_str())
            .bind(format!("%{}%", like_literal(needle)))
            .fetch_all(&self.reader)
            .await?;
        rows.into_iter().map(logged_of).collect()
    }

    /// The compound's refused mutations, newest first, at most
    /// [`REFUSED_LIMIT`] and at most [`REFUSED_PER_DEVICE`] of each device.
    pub async fn refused_log(&self, compound: &CompoundId) -> Result<Vec<Logged>, StoreError> {
        let refused = LOG_OF_COMPOUND.replacen(
            "SELECT ",
            "SELECT ROW_NUMBER() OVER (PARTITION BY COALESCE(c.device, m.client_id) \
             ORDER BY m.received_at_ms DESC, m.mid DESC) AS nth, ",
            1,
        );
        let sql = format!(
            "SELECT client_id, label, mid, kind, args, hlc, received_at_ms, rejection_code, \
             rejection_message FROM ({refused} AND m.rejection_code IS NOT NULL) refused \
             WHERE nth <= {REFUSED_PER_DEVICE} \
             ORDER BY received_at_ms DESC, client_id, mid DESC LIMIT {REFUSED_LIMIT}"
        );
        let rows: Vec<LogRow> = sqlx::query_as(&sql)
            .bind(compound_fragment(compound))
            .bind(compound.as_str())
            .fetch_all(&self.reader)
            .await?;
        rows.into_iter().map(logged_of).collect()
    }
}

fn compound_fragment(compound: &CompoundId) -> String {
    let fragment = format!("\"compound\":{}", Value::from(compound.as_str()));
    format!("%{}%", like_literal(&fragment))
}

/// `text` as a LIKE pattern that matches only itself: `%`, `_` and the
/// escape character `\` (all of which a request's id may carry) escaped.
fn like_literal(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern
}

fn logged_of(
    (client_id, device_label, mid, kind, args, hlc, received_at_ms, code, message): LogRow,
) -> Result<Logged, StoreError> {
    let corrupt =
        |e: String| StoreError::Corrupt(format!("logged mutation {client_id}/{mid}: {e}"));
    let args: Value = serde_json::from_str(&args).map_err(|e| corrupt(e.to_string()))?;
    let mutation = serde_json::from_value(serde_json::json!({"kind": kind, "args": args}))
        .map_err(|e| corrupt(e.to_string()))?;
    Ok(Logged {
        mid: mid as u64,
        mutation,
        hlc: hlc.parse().map_err(corrupt)?,
        received_at_ms: received_at_ms as u64,
        rejection: code.map(|code| Refusal {
            code: ErrorCode::parse(&code),
            message: message.unwrap_or_default(),
        }),
        device_label,
        client_id,
    })
}
