//! Household roster import (住户台账): `.xlsx`, `.xls` (calamine) and `.csv`
//! in UTF-8 or GB18030/GBK (encoding_rs), every sheet, read into
//! `doorstep_core::roster::Sheet`s; core's `plan` finds headers, values and
//! bad rows. The dry run reports it; the real import is one database
//! transaction, all rows or none, with the care proposals when accepted.

use std::{collections::BTreeMap, io::Cursor};

use calamine::{Data, Reader};
pub use doorstep_core::roster::{RosterFileProblem, RosterProblem, RosterReport, door_key};
use doorstep_core::{
    ids::{ClientId, RecordId},
    mutation::Mutation,
    roster::{Sheet, plan},
    schema::{Collection, person},
    sync::{PushedMutation, SCHEMA_VERSION, SyncRequest},
};
use serde_json::json;

use crate::store::{Device, Store, StoreError};

#[derive(Debug)]
pub enum RosterError {
    /// The file itself cannot be read as a roster.
    File(RosterFileProblem),
    /// The operator named a compound that does not exist.
    NoCompound(String),
    Store(StoreError),
}

impl std::fmt::Display for RosterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RosterError::File(problem) => f.write_str(&problem.message()),
            RosterError::NoCompound(id) => write!(f, "没有小区 {id} / no compound {id}"),
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

impl From<RosterFileProblem> for RosterError {
    fn from(problem: RosterFileProblem) -> Self {
        RosterError::File(problem)
    }
}

/// A file's sheets as text, and a CSV's encoding; the format comes from the
/// name (an Excel file with another name is still tried).
pub fn read_sheets(
    file_name: &str,
    bytes: &[u8],
) -> Result<(Vec<Sheet>, Option<String>), RosterFileProblem> {
    let lower = file_name.to_lowercase();
    let stem = file_name
        .rsplit_once('.')
        .map_or(file_name, |(stem, _)| stem)
        .to_owned();
    if lower.ends_with(".et") || lower.ends_with(".ett") {
        return Err(RosterFileProblem::WpsEt);
    }
    if lower.ends_with(".csv") || lower.ends_with(".txt") {
        let (text, encoding) = decode_text(bytes);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let rows = reader
            .records()
            .map(|record| {
                record
                    .map(|r| r.iter().map(str::to_owned).collect())
                    .map_err(|e| RosterFileProblem::Unreadable {
                        detail: e.to_string(),
                    })
            })
            .collect::<Result<_, _>>()?;
        return Ok((vec![Sheet { name: stem, rows }], Some(encoding.into())));
    }
    let unreadable = |e: &dyn std::fmt::Display| RosterFileProblem::Unreadable {
        detail: e.to_string(),
    };
    let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes.to_vec()))
        .map_err(|e| unreadable(&e))?;
    let names = workbook.sheet_names();
    let mut sheets = Vec::with_capacity(names.len());
    for name in names {
        let range = workbook
            .worksheet_range(&name)
            .map_err(|e| unreadable(&e))?;
        // A range starts at its first used cell: pad it back to A1 so row
        // numbers are the ones the office sees.
        let (top, left) = range.start().unwrap_or((0, 0));
        let mut rows: Vec<Vec<String>> = vec![Vec::new(); top as usize];
        rows.extend(range.rows().map(|row| {
            std::iter::repeat_n(String::new(), left as usize)
                .chain(row.iter().map(cell_text))
                .collect()
        }));
        sheets.push(Sheet { name, rows });
    }
    Ok((sheets, None))
}

/// A CSV's text: UTF-8 (BOM or not), UTF-16 with a BOM, or else GB18030
/// (the superset of GBK that Excel on Chinese Windows writes).
fn decode_text(bytes: &[u8]) -> (String, &'static str) {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(&bytes[bom..]);
        return (text.into_owned(), encoding.name());
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), "UTF-8"),
        Err(_) => {
            let (text, _, _) = encoding_rs::GB18030.decode(bytes);
            (text.into_owned(), "GB18030")
        }
    }
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        // Door numbers and counts often arrive as numbers: 301.0 means "301".
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string(),
    }
}

/// What to do with a roster once it is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Import {
    /// Only report; store nothing.
    pub dry_run: bool,
    /// Also record the care proposals on the care ledger (关爱服务台账).
    pub accept_care: bool,
}

/// Plans the import and, unless a dry run or any row is bad, stores every
/// household (and, when accepted, every care proposal) in one transaction.
pub async fn import(
    store: &Store,
    device: &Device,
    file_name: &str,
    bytes: &[u8],
    mapping: &BTreeMap<String, String>,
    how: Import,
    now_ms: u64,
) -> Result<RosterReport, RosterError> {
    let compound = &device.compound;
    if !store.compound_exists(compound).await? {
        return Err(RosterError::NoCompound(compound.to_string()));
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
    let (sheets, encoding) = read_sheets(file_name, bytes)?;
    let mut report = plan(&sheets, mapping, &existing)?;
    report.encoding = encoding;
    if how.dry_run || !report.errors.is_empty() || report.rows.is_empty() {
        return Ok(report);
    }
    let new_id = || -> RecordId {
        uuid::Uuid::new_v4()
            .to_string()
            .parse()
            .expect("a UUID is a valid id")
    };
    let mut edits: Vec<Mutation> = Vec::new();
    let mut household_of: BTreeMap<String, RecordId> = BTreeMap::new();
    for row in &report.rows {
        let id = new_id();
        household_of.insert(door_key(&row.fields), id.clone());
        edits.push(Mutation::Set {
            collection: Collection::Household,
            id,
            compound: compound.clone(),
            fields: row.fields.clone(),
        });
    }
    let care: Vec<&doorstep_core::roster::CareProposal> = if how.accept_care {
        report.care.iter().collect()
    } else {
        Vec::new()
    };
    for proposal in &care {
        let mut fields = BTreeMap::from([
            person::HOUSEHOLD.set(household_of[&proposal.door].as_str()),
            person::CARE.set(proposal.care.as_str()),
            person::CARE_PLAN.set(proposal.source.as_str()),
        ]);
        if let Some(head) = &proposal.head {
            fields.insert(person::NAME.into(), json!(head));
        }
        edits.push(Mutation::Set {
            collection: Collection::Person,
            id: new_id(),
            compound: compound.clone(),
            fields,
        });
    }
    // The import is a client of its own: a fresh id, mids from 1.
    let client = ClientId::from_uuid(uuid::Uuid::new_v4());
    let request = SyncRequest {
        client_id: client,
        schema_version: SCHEMA_VERSION,
        mutations: PushedMutation::numbered(client, 1, now_ms, edits),
        pull: None,
    };
    let scope = store.scope_of(device).await?;
    store.push(device, &scope, &request, now_ms).await?;
    report.imported = report.rows.len();
    report.care_imported = care.len();
    Ok(report)
}

/// A row's problem in Chinese and English, for the CLI (the app words it
/// from the typed problem).
pub fn problem_text(problem: &RosterProblem) -> String {
    match problem {
        RosterProblem::MissingDoor => "缺门牌号 / door number missing: fill it in".into(),
        RosterProblem::DuplicateDoor { door } => {
            format!("门牌 {door} 重复 / door {door} appears twice: keep one row")
        }
        RosterProblem::NotANumber { field, text } => {
            format!("{field} “{text}” 不是整数 / is not a whole number: write a number such as 3")
        }
        RosterProblem::OutOfRange {
            field,
            value,
            min,
            max,
        } => format!("{field} {value} 超出范围 / must be from {min} to {max}"),
        RosterProblem::TooLong { field, chars, max } => {
            format!("{field} 有 {chars} 字，最多 {max} 字 / is {chars} characters; at most {max}")
        }
        RosterProblem::FormulaLike { field, text } => format!(
            "{field} “{text}” 以 = + - @ 开头，像公式 / starts like a formula: remove the \
             leading sign"
        ),
    }
}

/// What `doorstep-server import-roster` prints for a report.
pub fn report_lines(report: &RosterReport) -> Vec<String> {
    use doorstep_core::roster::{ColumnUse, SkipReason};
    let mut lines = Vec::new();
    if let Some(encoding) = &report.encoding {
        lines.push(format!("编码 / encoding: {encoding}"));
    }
    for sheet in &report.sheets {
        let Some(header) = sheet.header_row else {
            lines.push(format!(
                "工作表 / sheet {}: 无名册，已跳过 / no roster, left out",
                sheet.name
            ));
            continue;
        };
        let mut line = format!(
            "工作表 / sheet {}: 表头第 {header} 行 / header row {header}, {} 户 / households",
            sheet.name, sheet.households
        );
        if let Some(b) = &sheet.building {
            line.push_str(&format!(
                ", 楼栋取自{} / building {} from the {}",
                match b.from {
                    doorstep_core::roster::BuildingSource::SheetName => "工作表名",
                    doorstep_core::roster::BuildingSource::Title => "标题",
                },
                b.building,
                match b.from {
                    doorstep_core::roster::BuildingSource::SheetName => "sheet name",
                    doorstep_core::roster::BuildingSource::Title => "title",
                },
            ));
        }
        lines.push(line);
        for skipped in &sheet.skipped {
            let why = match skipped.reason {
                SkipReason::Title => "标题 / title",
                SkipReason::Blank => "空行 / blank",
                SkipReason::Note => "说明 / note",
                SkipReason::Total => "合计 / total",
                SkipReason::Signature => "签名 / signature",
                SkipReason::Header => "重复表头 / header again",
            };
            lines.push(format!(
                "  row {}: 跳过 / skipped ({why}) {}",
                skipped.row, skipped.text
            ));
        }
    }
    for row in &report.rows {
        lines.push(format!(
            "{} row {}: {}",
            row.sheet,
            row.row,
            door_key(&row.fields)
        ));
    }
    for error in &report.errors {
        lines.push(format!(
            "{} row {}: ERROR {}",
            error.sheet,
            error.row,
            problem_text(&error.problem)
        ));
    }
    for proposal in &report.care {
        lines.push(format!(
            "关爱 / care {} {}: {} ({})",
            proposal.door,
            proposal.head.as_deref().unwrap_or_default(),
            proposal.care,
            proposal.source
        ));
    }
    let left_out = report.columns(|u| *u == ColumnUse::IdNumber);
    if !left_out.is_empty() {
        lines.push(format!(
            "有意不导入的列 / left out on purpose (ID numbers are never stored): {}",
            left_out.join(", ")
        ));
    }
    let ignored = report.columns(|u| *u == ColumnUse::Ignored);
    if !ignored.is_empty() {
        lines.push(format!(
            "未识别的列 / ignored columns: {} (map one with --map 列名=field)",
            ignored.join(", ")
        ));
    }
    lines
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

/// `POST /api/compounds/{compound}/roster?file=名册.xlsx&dry_run=true&care=true&map=房间=door,…`
/// with the file as the body. Bad rows refuse the real import (422); `care`
/// accepts the care proposals.
pub mod http {
    use axum::{
        Json,
        body::Bytes,
        extract::{Path, Query, State},
        http::StatusCode,
    };
    use doorstep_core::{access::Role, api::ErrorCode};
    use serde::Deserialize;

    use super::{Import, RosterError, RosterReport, import, parse_mapping};
    use utoipa_axum::{
        router::{UtoipaMethodRouter, UtoipaMethodRouterExt},
        routes,
    };

    use crate::{AppState, auth::Caller, error::AppError, now_ms};

    /// Rosters of a few thousand households are well under this.
    pub const MAX_ROSTER_BYTES: usize = 8 * 1024 * 1024;

    #[derive(Deserialize, utoipa::IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct RosterQuery {
        /// The file's name; its extension picks the format.
        file: String,
        /// Report what would be imported; store nothing.
        #[serde(default)]
        dry_run: bool,
        /// Also record the care proposals on the care ledger.
        #[serde(default)]
        care: bool,
        /// Comma-separated `列名=field` pairs for other headers.
        #[serde(default)]
        map: String,
    }

    /// The route, with its larger body limit.
    pub fn route() -> UtoipaMethodRouter<AppState> {
        routes!(upload).layer(axum::extract::DefaultBodyLimit::max(MAX_ROSTER_BYTES))
    }

    /// Import households from a roster file sent as the body.
    ///
    /// `.xlsx`, `.xls`, or `.csv` in UTF-8 or GB18030/GBK; every sheet is
    /// read, headers found by their names (`map` overrides). A dry run
    /// reports it all; a real import is one transaction, all rows or none.
    #[utoipa::path(post, path = "/compounds/{compound}/roster", security(("device" = [])),
        params(crate::api::CompoundPath, RosterQuery),
        request_body(content = Vec<u8>, content_type = "application/octet-stream"),
        responses(
            (status = 200, description = "What was (or would be) imported, and the bad rows.", body = RosterReport),
            (status = 400, description = "The query lacks `file` or has a wrong type (`malformed`).", body = doorstep_core::api::ApiError),
            (status = 413, description = "Larger than 8 MB (`body_rejected`).", body = doorstep_core::api::ApiError),
            (status = 422, description = "The file cannot be read as a roster (`roster_empty`, `roster_no_header`, `roster_no_door_column`, `roster_wps_et`, `roster_unreadable`), a bad mapping (`invalid`), or a real import with bad rows (`bad_rows`): nothing imported.", body = doorstep_core::api::ApiError),
            crate::api::DeviceRefusals,
        ))]
    pub async fn upload(
        State(state): State<AppState>,
        caller: Caller,
        Path(compound): Path<String>,
        Query(query): Query<RosterQuery>,
        body: Bytes,
    ) -> Result<Json<RosterReport>, AppError> {
        caller.in_compound(&compound, &[Role::Coordinator])?;
        let mapping = parse_mapping(query.map.split(',')).map_err(|message| {
            AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::Invalid,
                message,
            )
        })?;
        let how = Import {
            dry_run: query.dry_run,
            accept_care: query.care,
        };
        let report = import(
            &state.store,
            &caller.0,
            &query.file,
            &body,
            &mapping,
            how,
            now_ms(),
        )
        .await
        .map_err(|err| match err {
            RosterError::Store(err) => AppError::from(err),
            RosterError::File(problem) => AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                problem.code(),
                problem.message(),
            ),
            RosterError::NoCompound(_) => {
                AppError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, err.to_string())
            }
        })?;
        if !query.dry_run && !report.errors.is_empty() {
            return Err(AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::BadRows,
                format!(
                    "有 {n} 行出错，未导入任何一行，请先检查 / {n} bad rows (first: {} row {}): \
                     nothing imported; run a dry run to see them all",
                    report.errors[0].sheet,
                    report.errors[0].row,
                    n = report.errors.len(),
                ),
            ));
        }
        Ok(Json(report))
    }
}
