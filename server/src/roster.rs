//! Household roster import (户籍名册): `.xlsx`, `.xls` and `.csv` files as
//! community offices keep them, read with calamine (Excel) or csv. A dry run
//! lists the rows that would be created and every bad row with its reason;
//! the real import is one database transaction, all rows or none.

use std::{collections::BTreeMap, io::Cursor};

use calamine::{Data, Reader};
pub use doorstep_core::api::{RosterReport, RosterRow, RosterRowError};
use doorstep_core::{
    hlc::Hlc,
    ids::{ClientId, RecordId},
    mutation::Mutation,
    schema::Collection,
    sync::{PushedMutation, SCHEMA_VERSION, SyncRequest},
};
use serde_json::{Value, json};

use crate::store::{Device, Store, StoreError};

/// Headers community offices use, and the household field each fills.
const KNOWN_HEADERS: &[(&str, &str)] = &[
    ("楼栋", "building"),
    ("楼号", "building"),
    ("单元", "unit"),
    ("门牌号", "door"),
    ("房号", "door"),
    ("户主", "head"),
    ("姓名", "head"),
    ("电话", "phone"),
    ("联系电话", "phone"),
    ("人数", "members"),
    ("常住人口", "members"),
    ("备注", "notes"),
];

#[derive(Debug)]
pub enum RosterError {
    /// The file itself could not be read (not a spreadsheet, no header row...).
    Unreadable(String),
    Store(StoreError),
}

impl std::fmt::Display for RosterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RosterError::Unreadable(reason) => write!(f, "cannot read the roster: {reason}"),
            RosterError::Store(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for RosterError {}

impl From<StoreError> for RosterError {
    fn from(err: StoreError) -> Self {
        RosterError::Store(err)
    }
}

/// Reads a file's cells as text rows; the format comes from its name.
pub fn read_table(file_name: &str, bytes: &[u8]) -> Result<Vec<Vec<String>>, RosterError> {
    let unreadable = |e: &dyn std::fmt::Display| RosterError::Unreadable(e.to_string());
    if file_name.to_lowercase().ends_with(".csv") {
        let text = String::from_utf8(
            bytes
                .strip_prefix(b"\xEF\xBB\xBF")
                .unwrap_or(bytes)
                .to_vec(),
        )
        .map_err(|_| {
            RosterError::Unreadable("the CSV file is not UTF-8 (save it as “CSV UTF-8”)".into())
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        return reader
            .records()
            .map(|record| {
                record
                    .map(|r| r.iter().map(|c| c.trim().to_owned()).collect())
                    .map_err(|e| unreadable(&e))
            })
            .collect();
    }
    let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes.to_vec()))
        .map_err(|e| unreadable(&e))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| RosterError::Unreadable("the workbook has no sheet".into()))?
        .map_err(|e| unreadable(&e))?;
    Ok(range
        .rows()
        .map(|row| row.iter().map(cell_text).collect())
        .collect())
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        // Door numbers and counts often arrive as numbers: 301.0 means "301".
        Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        other => other.to_string().trim().to_owned(),
    }
}

/// Checks every row of a table whose first non-empty row is the header.
/// `mapping` adds header → field pairs for columns with other names.
pub fn plan(
    table: &[Vec<String>],
    mapping: &BTreeMap<String, String>,
    existing_doors: &[String],
) -> Result<RosterReport, RosterError> {
    let Some(header_at) = table
        .iter()
        .position(|row| row.iter().any(|c| !c.is_empty()))
    else {
        return Err(RosterError::Unreadable("the file is empty".into()));
    };
    let mut report = RosterReport::default();
    let columns: Vec<Option<&str>> = table[header_at]
        .iter()
        .map(|header| {
            let header = header.trim();
            let field = mapping
                .get(header)
                .map(String::as_str)
                .or_else(|| {
                    KNOWN_HEADERS
                        .iter()
                        .find(|(h, _)| *h == header)
                        .map(|(_, f)| *f)
                })
                .filter(|f| Collection::Household.field(f).is_some());
            if field.is_none() && !header.is_empty() {
                report.ignored_columns.push(header.to_owned());
            }
            field
        })
        .collect();
    if !columns.contains(&Some("door")) {
        return Err(RosterError::Unreadable(
            "no door-number column (门牌号 or 房号)".into(),
        ));
    }
    let mut seen: Vec<String> = existing_doors.to_vec();
    for (index, cells) in table.iter().enumerate().skip(header_at + 1) {
        let row = index + 1;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut fields = BTreeMap::new();
        let mut reason = None;
        for (column, text) in columns.iter().zip(cells) {
            let (Some(field), text) = (column, text.trim()) else {
                continue;
            };
            if text.is_empty() {
                continue;
            }
            let value = if *field == "members" {
                match text.parse::<i64>() {
                    Ok(n) => json!(n),
                    Err(_) => {
                        reason.get_or_insert(format!("人数 “{text}” is not a whole number"));
                        continue;
                    }
                }
            } else {
                json!(text)
            };
            if let Err(problem) = Collection::Household
                .field(field)
                .expect("mapped to a household field")
                .check(&value)
            {
                reason.get_or_insert(format!("{field} {problem}"));
            }
            fields.insert((*field).to_owned(), value);
        }
        let door_key = door_key(&fields);
        if reason.is_none() {
            if !fields.contains_key("door") {
                reason = Some("门牌号 (door number) is missing".into());
            } else if seen.contains(&door_key) {
                reason = Some(format!("door {door_key} appears twice"));
            }
        }
        match reason {
            Some(reason) => report.errors.push(RosterRowError { row, reason }),
            None => {
                seen.push(door_key);
                report.rows.push(RosterRow { row, fields });
            }
        }
    }
    Ok(report)
}

/// Building, unit and door together identify a door in a compound.
pub fn door_key(fields: &BTreeMap<String, Value>) -> String {
    ["building", "unit", "door"]
        .iter()
        .map(|f| fields.get(*f).and_then(Value::as_str).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("/")
}

/// Plans the import and, unless `dry_run` or any row is bad, stores every
/// household in one transaction.
pub async fn import(
    store: &Store,
    device: &Device,
    file_name: &str,
    bytes: &[u8],
    mapping: &BTreeMap<String, String>,
    dry_run: bool,
    now_ms: u64,
) -> Result<RosterReport, RosterError> {
    let compound = &device.compound;
    if !store.compound_exists(compound).await? {
        return Err(RosterError::Unreadable(format!("no compound {compound}")));
    }
    let existing: Vec<String> = store
        .records_of(compound, Collection::Household)
        .await?
        .iter()
        .filter(|h| !h.is_deleted())
        .map(|h| {
            door_key(
                &h.fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.value.clone()))
                    .collect(),
            )
        })
        .collect();
    let mut report = plan(&read_table(file_name, bytes)?, mapping, &existing)?;
    if dry_run || !report.errors.is_empty() || report.rows.is_empty() {
        return Ok(report);
    }
    // The import is a client of its own: a fresh id, mids from 1.
    let client = ClientId::from_uuid(uuid::Uuid::new_v4());
    let mutations = report
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let id: RecordId = uuid::Uuid::new_v4()
                .to_string()
                .parse()
                .expect("a UUID is a valid id");
            let mutation = Mutation::Set {
                collection: Collection::Household,
                id,
                compound: compound.clone(),
                fields: row.fields.clone(),
            };
            PushedMutation {
                mid: i as u64 + 1,
                hlc: Hlc {
                    wall_ms: now_ms,
                    counter: i as u32,
                    node: client,
                },
                mutation,
            }
        })
        .collect();
    let request = SyncRequest {
        client_id: client,
        schema_version: SCHEMA_VERSION,
        mutations,
        pull: None,
    };
    let scope = store.scope_of(device).await?;
    store.push(device, &scope, &request, now_ms).await?;
    report.imported = report.rows.len();
    Ok(report)
}

/// Parses `--map` / `map=` entries of the form `列名=field`.
pub fn parse_mapping<'a>(
    entries: impl IntoIterator<Item = &'a str>,
) -> Result<BTreeMap<String, String>, String> {
    entries
        .into_iter()
        .filter(|e| !e.trim().is_empty())
        .map(|entry| {
            let (header, field) = entry
                .split_once('=')
                .ok_or_else(|| format!("mapping {entry:?} is not 列名=field"))?;
            if Collection::Household.field(field.trim()).is_none() {
                return Err(format!("{:?} is not a household field", field.trim()));
            }
            Ok((header.trim().to_owned(), field.trim().to_owned()))
        })
        .collect()
}

/// `POST /api/compounds/{compound}/roster?file=名册.xlsx&dry_run=true&map=房间=door,…`
/// with the file as the body. Bad rows refuse the real import (422).
pub mod http {
    use axum::{
        Json,
        body::Bytes,
        extract::{Path, Query, State},
        http::StatusCode,
    };
    use doorstep_core::access::Role;
    use serde::Deserialize;

    use super::{RosterError, RosterReport, import, parse_mapping};
    use crate::{AppState, auth::Caller, error::AppError, now_ms};

    /// Rosters of a few thousand households are well under this.
    pub const MAX_ROSTER_BYTES: usize = 8 * 1024 * 1024;

    #[derive(Deserialize)]
    pub struct RosterQuery {
        file: String,
        #[serde(default)]
        dry_run: bool,
        #[serde(default)]
        map: String,
    }

    pub async fn upload(
        State(state): State<AppState>,
        caller: Caller,
        Path(compound): Path<String>,
        Query(query): Query<RosterQuery>,
        body: Bytes,
    ) -> Result<Json<RosterReport>, AppError> {
        caller.in_compound(&compound, &[Role::Coordinator])?;
        let mapping = parse_mapping(query.map.split(',')).map_err(|message| {
            AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
        })?;
        let report = import(
            &state.store,
            &caller.0,
            &query.file,
            &body,
            &mapping,
            query.dry_run,
            now_ms(),
        )
        .await
        .map_err(|err| match err {
            RosterError::Store(err) => AppError::from(err),
            RosterError::Unreadable(message) => {
                AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "unreadable", message)
            }
        })?;
        if !query.dry_run && !report.errors.is_empty() {
            return Err(AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_rows",
                format!(
                    "{} bad rows (first: row {}): nothing imported; run a dry run to see them all",
                    report.errors.len(),
                    report.errors[0].row
                ),
            ));
        }
        Ok(Json(report))
    }
}
