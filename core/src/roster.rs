//! Household rosters (住户台账) as community offices keep them in Excel or
//! WPS: which row is the header, what each column holds, how its values are
//! written, and which rows are households. The server reads the file into
//! [`Sheet`]s; [`plan`] turns them into a [`RosterReport`], the dry run both
//! the upload page and `doorstep-server import-roster` show.
//!
//! Every message is typed ([`RosterProblem`], [`SkipReason`],
//! [`RosterFileProblem`]) so the app words it in the user's language.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    api::ErrorCode,
    schema::{Field, FieldType, Vocabulary, household},
    spreadsheet::looks_like_formula,
    visit::CareGroup,
};

/// One sheet of a workbook (a CSV file is one sheet named after the file):
/// its cells as text, as written (not trimmed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<Vec<String>>,
}

/// What a column holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ColumnUse {
    /// A household field (`building`, `unit`, `door`, `head`, `phone`,
    /// `members`, `notes`).
    Field(String),
    /// Marks a care group (`crate::visit::CARE_GROUPS`): a proposed
    /// care-ledger entry where it says yes.
    Care(String),
    /// 身份证号: recognised and left out on purpose, never stored.
    IdNumber,
    /// 序号: the row's number in the sheet.
    Index,
    /// Not recognised nor mapped.
    Ignored,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RosterColumn {
    pub header: String,
    #[serde(rename = "use")]
    pub used_as: ColumnUse,
}

/// Where a sheet without a building column takes its building from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BuildingSource {
    /// The sheet's name, e.g. "3号楼".
    SheetName,
    /// A title row above the header, e.g. "某某小区3号楼住户台账".
    Title,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SheetBuilding {
    pub building: String,
    pub from: BuildingSource,
}

/// Why a row is not a household and was passed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Above the header: a title.
    Title,
    Blank,
    /// A note, e.g. "注：……" or "填表说明".
    Note,
    /// 合计, 总计, 小计.
    Total,
    /// 填表人, 审核人, 签字…
    Signature,
    /// The header again (a sheet printed page by page).
    Header,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkippedRow {
    pub row: usize,
    pub reason: SkipReason,
    /// The row's cells joined, shortened.
    pub text: String,
}

/// How one sheet was read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RosterSheet {
    pub name: String,
    /// The header's row number (from 1); `None`: no roster found, the sheet
    /// is left out (e.g. a 说明 sheet).
    pub header_row: Option<usize>,
    pub columns: Vec<RosterColumn>,
    /// Set when the sheet has no building column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building: Option<SheetBuilding>,
    pub skipped: Vec<SkippedRow>,
    /// Households read from it (good rows).
    pub households: usize,
}

/// One household as it would be imported, values normalised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RosterRow {
    pub sheet: String,
    pub row: usize,
    pub fields: BTreeMap<String, Value>,
}

/// Why a row cannot be imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum RosterProblem {
    MissingDoor,
    /// The same building/unit/door earlier in the file or already stored.
    DuplicateDoor {
        door: String,
    },
    NotANumber {
        field: String,
        text: String,
    },
    OutOfRange {
        field: String,
        value: i64,
        min: i64,
        max: i64,
    },
    TooLong {
        field: String,
        chars: usize,
        max: usize,
    },
    /// Starts like a spreadsheet formula (=, +, -, @, tab, CR): a program
    /// that opens an export of it could run it.
    FormulaLike {
        field: String,
        text: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RosterRowError {
    pub sheet: String,
    pub row: usize,
    pub problem: RosterProblem,
}

/// A care-ledger entry the roster suggests; imported only when the user
/// accepts the proposals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CareProposal {
    pub sheet: String,
    pub row: usize,
    /// The household's building/unit/door.
    pub door: String,
    /// Its head, who the ledger entry names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// One of `crate::visit::CARE_GROUPS`.
    pub care: String,
    /// What said so, e.g. "备注：独居老人" (kept as the entry's care plan).
    pub source: String,
}

/// What a roster dry run (or an import) reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RosterReport {
    /// The text encoding of a CSV file ("UTF-8", "GB18030", "UTF-16LE").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    pub sheets: Vec<RosterSheet>,
    pub rows: Vec<RosterRow>,
    pub errors: Vec<RosterRowError>,
    pub care: Vec<CareProposal>,
    /// Households created (0 on a dry run or when any row is bad).
    pub imported: usize,
    /// Care-ledger entries created (accepted proposals).
    #[serde(default)]
    pub care_imported: usize,
}

impl RosterReport {
    /// Headers of every sheet's columns used as `used_as`, each once.
    pub fn columns(&self, used_as: impl Fn(&ColumnUse) -> bool) -> Vec<String> {
        let mut headers: Vec<String> = Vec::new();
        for column in self.sheets.iter().flat_map(|s| &s.columns) {
            if used_as(&column.used_as) && !headers.contains(&column.header) {
                headers.push(column.header.clone());
            }
        }
        headers
    }
}

/// Why a whole file cannot be read; `code` is the API error code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RosterFileProblem {
    /// No sheet holds a row.
    Empty,
    /// No sheet has a roster, and `sheet` has a header without a door
    /// column (门牌号, 房号, 室号…).
    NoDoorColumn { sheet: String },
    /// No sheet has a header row in its first 10 rows.
    NoHeader,
    /// A WPS spreadsheet (.et): save it as .xlsx first.
    WpsEt,
    /// Not a spreadsheet this reads; `detail` from the reader.
    Unreadable { detail: String },
}

impl RosterFileProblem {
    pub fn code(&self) -> ErrorCode {
        match self {
            RosterFileProblem::Empty => ErrorCode::RosterEmpty,
            RosterFileProblem::NoDoorColumn { .. } => ErrorCode::RosterNoDoorColumn,
            RosterFileProblem::NoHeader => ErrorCode::RosterNoHeader,
            RosterFileProblem::WpsEt => ErrorCode::RosterWpsEt,
            RosterFileProblem::Unreadable { .. } => ErrorCode::RosterUnreadable,
        }
    }

    /// Chinese, then English, with what to do: for the CLI and the API's
    /// `message` (the app words it from `code`).
    pub fn message(&self) -> String {
        match self {
            RosterFileProblem::Empty => {
                "文件里没有内容 / the file holds no rows: choose the roster file".into()
            }
            RosterFileProblem::NoDoorColumn { sheet } => format!(
                "工作表“{sheet}”的表头里没有门牌号列 / sheet {sheet:?} has no door-number \
                 column (门牌号, 房号, 室号): name it in the mapping, e.g. 房间=door"
            ),
            RosterFileProblem::NoHeader => "前 10 行里找不到表头 / no header row in the first \
                 10 rows of any sheet (楼栋, 单元, 门牌号, 户主…): check the file, or map \
                 its headers, e.g. 房间=door"
                .into(),
            RosterFileProblem::WpsEt => "WPS 表格文件（.et）请先另存为 .xlsx / a WPS .et \
                 file: in WPS choose 文件 → 另存为 → Excel 工作簿 (.xlsx) and upload that"
                .into(),
            RosterFileProblem::Unreadable { detail } => format!(
                "无法读取，请另存为 .xlsx 或 .csv 再试 / cannot read the file ({detail}): \
                 save it as .xlsx or .csv and try again"
            ),
        }
    }
}

/// What a header names, before the sheet is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Field(Field),
    Care(CareGroup),
    IdNumber,
    Index,
}

/// Header words and what they name, matched as contained text with the
/// longest word first; on a tie, the earlier entry (so 户主电话 is a phone).
const SYNONYMS: &[(&str, Target)] = &[
    ("身份证", Target::IdNumber),
    ("证件号", Target::IdNumber),
    ("序号", Target::Index),
    ("独居", Target::Care(CareGroup::ElderlyAlone)),
    ("空巢", Target::Care(CareGroup::ElderlyAlone)),
    ("残疾", Target::Care(CareGroup::Disabled)),
    ("慢性病", Target::Care(CareGroup::Chronic)),
    ("孕妇", Target::Care(CareGroup::Pregnant)),
    ("儿童", Target::Care(CareGroup::Child)),
    ("婴幼儿", Target::Care(CareGroup::Child)),
    ("联系电话", Target::Field(household::PHONE)),
    ("联系方式", Target::Field(household::PHONE)),
    ("手机", Target::Field(household::PHONE)),
    ("电话", Target::Field(household::PHONE)),
    ("常住人口", Target::Field(household::MEMBERS)),
    ("家庭人口", Target::Field(household::MEMBERS)),
    ("人口数", Target::Field(household::MEMBERS)),
    ("人口", Target::Field(household::MEMBERS)),
    ("人数", Target::Field(household::MEMBERS)),
    ("户主姓名", Target::Field(household::HEAD)),
    ("户主", Target::Field(household::HEAD)),
    ("姓名", Target::Field(household::HEAD)),
    ("业主", Target::Field(household::HEAD)),
    ("楼栋", Target::Field(household::BUILDING)),
    ("楼号", Target::Field(household::BUILDING)),
    ("楼幢", Target::Field(household::BUILDING)),
    ("栋号", Target::Field(household::BUILDING)),
    ("幢号", Target::Field(household::BUILDING)),
    ("单元", Target::Field(household::UNIT)),
    ("门牌", Target::Field(household::DOOR)),
    ("房号", Target::Field(household::DOOR)),
    ("房间号", Target::Field(household::DOOR)),
    ("室号", Target::Field(household::DOOR)),
    ("户号", Target::Field(household::DOOR)),
    ("备注", Target::Field(household::NOTES)),
];

/// Words in 备注 that propose a care entry.
const CARE_WORDS: &[(&str, CareGroup)] = &[
    ("独居", CareGroup::ElderlyAlone),
    ("空巢", CareGroup::ElderlyAlone),
    ("残疾", CareGroup::Disabled),
    ("慢性病", CareGroup::Chronic),
    ("孕妇", CareGroup::Pregnant),
    ("儿童", CareGroup::Child),
    ("婴幼儿", CareGroup::Child),
];

/// A care column's cell that says no.
const NO: &[&str] = &["否", "无", "不是", "×", "x", "n", "no", "0", "-", "/", "—"];

const TOTAL_WORDS: &[&str] = &["合计", "总计", "小计"];
const SIGNATURE_WORDS: &[&str] = &[
    "填表人",
    "填报人",
    "制表人",
    "审核人",
    "负责人",
    "签字",
    "签名",
    "盖章",
];
const NOTE_PREFIXES: &[&str] = &["注", "说明", "备注：", "填表说明"];

/// How many rows from the top may hold the header.
pub const HEADER_WITHIN: usize = 10;

fn classify(header: &str, mapping: &BTreeMap<String, String>) -> Option<Target> {
    let header = normalize(header);
    if header.is_empty() {
        return None;
    }
    if let Some(field) = mapping.get(&header) {
        let field = household::ALL.iter().find(|f| f.name == field)?;
        return Some(Target::Field(*field));
    }
    let mut best: Option<(usize, Target)> = None;
    for (word, target) in SYNONYMS {
        let len = word.chars().count();
        if header.contains(word) && best.is_none_or(|(l, _)| len > l) {
            best = Some((len, *target));
        }
    }
    best.map(|(_, t)| t)
}

/// Full-width letters, digits and signs as ASCII, the ideographic space as
/// a space, runs of white space as one, trimmed.
pub fn normalize(text: &str) -> String {
    let ascii: String = text
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' | '\u{00A0}' => ' ',
            c => c,
        })
        .collect();
    ascii.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A building's number in a sheet name or title: "3号楼", "5栋", "12幢";
/// a sheet name may also be the number alone.
fn building_in(text: &str, bare_number: bool) -> Option<String> {
    let text = normalize(text);
    if bare_number && !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
        return Some(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let rest: String = chars[i..].iter().collect();
            if ["号楼", "栋", "幢", "楼"]
                .iter()
                .any(|s| rest.starts_with(s))
            {
                return Some(chars[start..i].iter().collect());
            }
        } else {
            i += 1;
        }
    }
    None
}

/// A unit (单元) as the roster stores it, and as assignments and scopes
/// compare it: "1单元", "１号" and " 1 " are all "1". Unit words are
/// stripped until none is left, so a key is its own key.
pub fn unit_key(value: &str) -> String {
    let mut key = normalize(value);
    loop {
        let stripped = strip_suffix(&key, &["单元", "号"]);
        if stripped == key {
            return key;
        }
        key = stripped;
    }
}

/// Strips a unit word from a value: "3号楼" → "3", "1单元" → "1",
/// "301室" → "301"; a value that is only the word stays.
fn strip_suffix(value: &str, suffixes: &[&str]) -> String {
    for suffix in suffixes {
        if let Some(rest) = value.strip_suffix(suffix)
            && !rest.trim().is_empty()
        {
            return rest.trim().to_owned();
        }
    }
    value.to_owned()
}

/// Starts like a formula a spreadsheet would run
/// ([`crate::spreadsheet::looks_like_formula`], also after leading spaces).
/// A cell starting with + or - is only a number or a placeholder when the
/// rest is digits (a basement door "-1", a phone "+86 138…") or dashes ("-",
/// "--" for "none", as offices write): those import as they are.
pub fn formula_like(field: Field, raw: &str) -> bool {
    if looks_like_formula(raw) && !raw.starts_with(['+', '-']) {
        return true;
    }
    let text = raw.trim_start();
    if !looks_like_formula(text) {
        return false;
    }
    if !text.starts_with(['+', '-']) {
        return true;
    }
    let only = |allowed: &str| text.chars().all(|c| allowed.contains(c));
    let placeholder = only("-–— ");
    let rest = &text[1..];
    let number = !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || ". ".contains(c));
    let phone = field == household::PHONE && only("+-0123456789() ");
    !(placeholder || number || phone)
}

/// Whether a care column's cell says yes ("是", "√", or any words but no).
fn says_yes(cell: &str) -> bool {
    let cell = normalize(cell).to_lowercase();
    !cell.is_empty() && !NO.contains(&cell.as_str())
}

fn cells_text(cells: &[String]) -> String {
    let text = cells
        .iter()
        .map(|c| normalize(c))
        .filter(|c| !c.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    text.chars().take(60).collect()
}

/// Finds a sheet's header: the row within the first [`HEADER_WITHIN`] with
/// the most recognised columns (the first of equals).
fn header_of(sheet: &Sheet, mapping: &BTreeMap<String, String>) -> Option<(usize, usize)> {
    sheet
        .rows
        .iter()
        .take(HEADER_WITHIN)
        .enumerate()
        .map(|(i, row)| {
            let found = row
                .iter()
                .filter(|c| classify(c, mapping).is_some())
                .count();
            (i, found)
        })
        .filter(|&(_, found)| found > 0)
        .fold(
            None,
            |best: Option<(usize, usize)>, (i, found)| match best {
                Some((_, f)) if f >= found => best,
                _ => Some((i, found)),
            },
        )
}

/// Building, unit and door together identify a door in a compound.
pub fn door_key(fields: &BTreeMap<String, Value>) -> String {
    [household::BUILDING, household::UNIT, household::DOOR]
        .iter()
        .map(|f| f.of(fields).and_then(Value::as_str).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("/")
}

/// Reads every sheet: finds its header, names its columns, normalises each
/// row's values and checks them. `mapping` (header → household field)
/// overrides the synonyms; `existing_doors` (door keys already stored) are
/// duplicates too.
pub fn plan(
    sheets: &[Sheet],
    mapping: &BTreeMap<String, String>,
    existing_doors: &[String],
) -> Result<RosterReport, RosterFileProblem> {
    if sheets
        .iter()
        .all(|s| s.rows.iter().flatten().all(|c| c.trim().is_empty()))
    {
        return Err(RosterFileProblem::Empty);
    }
    let mut report = RosterReport::default();
    let mut seen: std::collections::HashSet<String> = existing_doors.iter().cloned().collect();
    let mut no_door: Option<String> = None;
    for sheet in sheets {
        let Some((header_at, found)) = header_of(sheet, mapping) else {
            report.sheets.push(RosterSheet {
                name: sheet.name.clone(),
                header_row: None,
                columns: Vec::new(),
                building: None,
                skipped: Vec::new(),
                households: 0,
            });
            continue;
        };
        let targets: Vec<Option<Target>> = sheet.rows[header_at]
            .iter()
            .map(|h| classify(h, mapping))
            .collect();
        let column_of = |field: Field| {
            targets
                .iter()
                .position(|t| matches!(t, Some(Target::Field(f)) if *f == field))
        };
        let Some(door_column) = column_of(household::DOOR) else {
            // A 汇总 or 说明 sheet is left out; a file with no roster at all
            // is refused, naming the sheet that looked most like one.
            if found >= 2 && no_door.is_none() {
                no_door = Some(sheet.name.clone());
            }
            report.sheets.push(RosterSheet {
                name: sheet.name.clone(),
                header_row: None,
                columns: Vec::new(),
                building: None,
                skipped: Vec::new(),
                households: 0,
            });
            continue;
        };
        let columns: Vec<RosterColumn> = sheet.rows[header_at]
            .iter()
            .zip(&targets)
            .filter(|(h, _)| !h.trim().is_empty())
            .map(|(header, target)| RosterColumn {
                header: normalize(header),
                used_as: match target {
                    Some(Target::Field(f)) => ColumnUse::Field(f.name.to_owned()),
                    Some(Target::Care(c)) => ColumnUse::Care(c.word().to_owned()),
                    Some(Target::IdNumber) => ColumnUse::IdNumber,
                    Some(Target::Index) => ColumnUse::Index,
                    None => ColumnUse::Ignored,
                },
            })
            .collect();
        let mut skipped: Vec<SkippedRow> = sheet.rows[..header_at]
            .iter()
            .enumerate()
            .map(|(i, cells)| {
                let text = cells_text(cells);
                let reason = if text.is_empty() {
                    SkipReason::Blank
                } else if NOTE_PREFIXES.iter().any(|p| text.starts_with(p)) {
                    SkipReason::Note
                } else {
                    SkipReason::Title
                };
                SkippedRow {
                    row: i + 1,
                    reason,
                    text,
                }
            })
            .collect();
        let building = if column_of(household::BUILDING).is_some() {
            None
        } else {
            building_in(&sheet.name, true)
                .map(|building| SheetBuilding {
                    building,
                    from: BuildingSource::SheetName,
                })
                .or_else(|| {
                    skipped
                        .iter()
                        .filter(|s| s.reason == SkipReason::Title)
                        .find_map(|s| building_in(&s.text, false))
                        .map(|building| SheetBuilding {
                            building,
                            from: BuildingSource::Title,
                        })
                })
        };
        let header_text = cells_text(&sheet.rows[header_at]);
        let mut households = 0;
        // Merged building and unit cells hold their value in the first row
        // only: later rows take it from above.
        let mut above: BTreeMap<Field, String> = BTreeMap::new();
        for (index, cells) in sheet.rows.iter().enumerate().skip(header_at + 1) {
            let row = index + 1;
            let text = cells_text(cells);
            let door_empty = cells
                .get(door_column)
                .is_none_or(|c| normalize(c).is_empty());
            let skip = if text.is_empty() {
                Some(SkipReason::Blank)
            } else if text == header_text {
                Some(SkipReason::Header)
            } else if door_empty && TOTAL_WORDS.iter().any(|w| text.contains(w)) {
                Some(SkipReason::Total)
            } else if door_empty && SIGNATURE_WORDS.iter().any(|w| text.contains(w)) {
                Some(SkipReason::Signature)
            } else if door_empty && NOTE_PREFIXES.iter().any(|p| text.starts_with(p)) {
                Some(SkipReason::Note)
            } else {
                None
            };
            if let Some(reason) = skip {
                skipped.push(SkippedRow { row, reason, text });
                continue;
            }
            let mut fields: BTreeMap<String, Value> = BTreeMap::new();
            let mut problem = None;
            for (target, raw) in targets.iter().zip(cells) {
                let (Some(Target::Field(field)), value) = (target, normalize(raw)) else {
                    continue;
                };
                if value.is_empty() {
                    continue;
                }
                if formula_like(*field, raw) {
                    problem.get_or_insert(RosterProblem::FormulaLike {
                        field: field.name.to_owned(),
                        text: value.chars().take(40).collect(),
                    });
                    continue;
                }
                match field_value(*field, &value) {
                    Ok(v) => {
                        fields.insert((*field).into(), v);
                    }
                    Err(p) => {
                        problem.get_or_insert(p);
                    }
                }
            }
            // Care columns' sources name their headers.
            let care: Vec<(CareGroup, String)> = targets
                .iter()
                .zip(cells)
                .zip(&sheet.rows[header_at])
                .filter_map(|((target, raw), header)| match target {
                    Some(Target::Care(group)) if says_yes(raw) => {
                        Some((*group, format!("{}：{}", normalize(header), normalize(raw))))
                    }
                    _ => None,
                })
                .chain(
                    household::NOTES
                        .of(&fields)
                        .and_then(Value::as_str)
                        .into_iter()
                        .flat_map(|notes| {
                            CARE_WORDS
                                .iter()
                                .filter(move |(word, _)| notes.contains(word))
                                .map(move |(_, group)| (*group, format!("备注：{notes}")))
                        }),
                )
                .collect();
            if let Some(b) = &building {
                fields.insert(household::BUILDING.into(), json!(b.building));
            }
            split_address(&mut fields);
            for field in [household::BUILDING, household::UNIT] {
                match field.of(&fields).and_then(Value::as_str) {
                    Some(v) => {
                        above.insert(field, v.to_owned());
                    }
                    None if column_of(field).is_some() => {
                        if let Some(v) = above.get(&field) {
                            fields.insert(field.into(), json!(v));
                        }
                    }
                    None => {}
                }
            }
            if problem.is_none() && household::DOOR.of(&fields).is_none() {
                problem = Some(RosterProblem::MissingDoor);
            }
            let door = door_key(&fields);
            if problem.is_none() && seen.contains(&door) {
                problem = Some(RosterProblem::DuplicateDoor { door: door.clone() });
            }
            match problem {
                Some(problem) => report.errors.push(RosterRowError {
                    sheet: sheet.name.clone(),
                    row,
                    problem,
                }),
                None => {
                    let head = household::HEAD
                        .of(&fields)
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    let mut groups: Vec<CareGroup> = Vec::new();
                    for (group, source) in care {
                        if groups.contains(&group) {
                            continue;
                        }
                        groups.push(group);
                        report.care.push(CareProposal {
                            sheet: sheet.name.clone(),
                            row,
                            door: door.clone(),
                            head: head.clone(),
                            care: group.word().to_owned(),
                            source: source.chars().take(200).collect(),
                        });
                    }
                    seen.insert(door);
                    households += 1;
                    report.rows.push(RosterRow {
                        sheet: sheet.name.clone(),
                        row,
                        fields,
                    });
                }
            }
        }
        report.sheets.push(RosterSheet {
            name: sheet.name.clone(),
            header_row: Some(header_at + 1),
            columns,
            building,
            skipped,
            households,
        });
    }
    if report.sheets.iter().all(|s| s.header_row.is_none()) {
        return Err(match no_door {
            Some(sheet) => RosterFileProblem::NoDoorColumn { sheet },
            None => RosterFileProblem::NoHeader,
        });
    }
    Ok(report)
}

/// One cell's value for a household field, normalised and checked.
fn field_value(field: Field, value: &str) -> Result<Value, RosterProblem> {
    let spec = field.spec();
    let value = match field {
        household::BUILDING => strip_suffix(value, &["号楼", "栋", "幢", "号"]),
        household::UNIT => unit_key(value),
        household::DOOR => strip_suffix(value, &["室", "号", "房"]),
        household::MEMBERS => strip_suffix(value, &["人", "口"]),
        // Phones are written with spaces: 138 0000 0001.
        household::PHONE => value.replace(' ', ""),
        _ => value.to_owned(),
    };
    let field = field.name;
    match spec.ty {
        FieldType::Int { min, max } => {
            let n = value
                .strip_suffix(".0")
                .unwrap_or(&value)
                .parse::<i64>()
                .map_err(|_| RosterProblem::NotANumber {
                    field: field.to_owned(),
                    text: value.clone(),
                })?;
            if !(min..=max).contains(&n) {
                return Err(RosterProblem::OutOfRange {
                    field: field.to_owned(),
                    value: n,
                    min,
                    max,
                });
            }
            Ok(json!(n))
        }
        FieldType::Text { max_chars } => {
            let chars = value.chars().count();
            if chars > max_chars {
                return Err(RosterProblem::TooLong {
                    field: field.to_owned(),
                    chars,
                    max: max_chars,
                });
            }
            Ok(json!(value))
        }
        _ => unreachable!("household fields are text and whole numbers"),
    }
}

/// A door written as "3-1-301" (building-unit-door) fills building and
/// unit when the row has none, or when they say the same.
fn split_address(fields: &mut BTreeMap<String, Value>) {
    let Some(door) = household::DOOR.of(fields).and_then(Value::as_str) else {
        return;
    };
    let parts: Vec<&str> = door.split(['-', '—', '/']).map(str::trim).collect();
    let [building, unit, door] = parts[..] else {
        return;
    };
    if [building, unit, door].iter().any(|p| p.is_empty()) {
        return;
    }
    let fits = |field: Field, value: &str| {
        field
            .of(fields)
            .and_then(Value::as_str)
            .is_none_or(|v| v == value)
    };
    if fits(household::BUILDING, building) && fits(household::UNIT, unit) {
        let (building, unit, door) = (building.to_owned(), unit.to_owned(), door.to_owned());
        fields.insert(household::BUILDING.into(), json!(building));
        fields.insert(household::UNIT.into(), json!(unit));
        fields.insert(household::DOOR.into(), json!(door));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(name: &str, rows: &[&[&str]]) -> Sheet {
        Sheet {
            name: name.into(),
            rows: rows
                .iter()
                .map(|r| r.iter().map(|c| c.to_string()).collect())
                .collect(),
        }
    }

    #[test]
    fn headers_by_synonym_longest_first() {
        let none = BTreeMap::new();
        for (header, target) in [
            ("户主姓名", Some(Target::Field(household::HEAD))),
            ("联系方式", Some(Target::Field(household::PHONE))),
            ("手机号码", Some(Target::Field(household::PHONE))),
            ("户主电话", Some(Target::Field(household::PHONE))),
            ("家庭人口", Some(Target::Field(household::MEMBERS))),
            ("人口数", Some(Target::Field(household::MEMBERS))),
            ("门牌", Some(Target::Field(household::DOOR))),
            ("室号", Some(Target::Field(household::DOOR))),
            ("楼栋号", Some(Target::Field(household::BUILDING))),
            ("户主身份证号", Some(Target::IdNumber)),
            ("是否独居老人", Some(Target::Care(CareGroup::ElderlyAlone))),
            ("序号", Some(Target::Index)),
            ("民族", None),
            ("", None),
        ] {
            assert_eq!(classify(header, &none), target, "{header}");
        }
        let mapping = [("房间".to_owned(), "door".to_owned())].into();
        assert_eq!(
            classify("房间", &mapping),
            Some(Target::Field(household::DOOR))
        );
    }

    #[test]
    fn values_are_normalised() {
        for (field, cell, value) in [
            (household::BUILDING, "3号楼", json!("3")),
            (household::BUILDING, "５栋", json!("5")),
            (household::UNIT, "1单元", json!("1")),
            (household::DOOR, "301室", json!("301")),
            (household::DOOR, "３０１", json!("301")),
            (household::MEMBERS, "3人", json!(3)),
            (household::MEMBERS, "４", json!(4)),
            (household::MEMBERS, "2.0", json!(2)),
            (household::PHONE, "138 0000 0001", json!("13800000001")),
            (
                household::PHONE,
                "+86 138 0000 0001",
                json!("+8613800000001"),
            ),
            (household::HEAD, "王\u{3000}芳 ", json!("王 芳")),
        ] {
            assert_eq!(field_value(field, &normalize(cell)), Ok(value), "{cell}");
        }
        // A unit's key is its own key: assignments store keys and read them
        // back through it.
        for unit in ["1单元", "１号", " 1 ", "1号单元", "单元", "A座"] {
            let key = unit_key(unit);
            assert_eq!(unit_key(&key), key, "{unit}");
        }
        assert_eq!(unit_key("1号单元"), "1");
        assert_eq!(unit_key("单元"), "单元");
        assert!(matches!(
            field_value(household::MEMBERS, "三"),
            Err(RosterProblem::NotANumber { .. })
        ));
        assert!(matches!(
            field_value(household::MEMBERS, "120"),
            Err(RosterProblem::OutOfRange { value: 120, .. })
        ));
    }

    #[test]
    fn formula_like_cells_are_caught_but_phones_may_start_with_plus() {
        for (field, cell, formula) in [
            (household::HEAD, "=1+1", true),
            (household::NOTES, "=HYPERLINK(\"http://x\",\"y\")", true),
            (household::HEAD, "+1", false),
            (household::DOOR, "-1", false),
            (household::NOTES, "-", false),
            (household::UNIT, "--", false),
            (household::NOTES, "-1+1", true),
            (household::HEAD, "+A1", true),
            (household::NOTES, "-2+3", true),
            (household::HEAD, "@SUM(A1)", true),
            (household::HEAD, "\t=1", true),
            (household::NOTES, "\rx", true),
            (household::HEAD, " =1", true),
            (household::HEAD, "王芳", false),
            (household::NOTES, "独居老人 a=b", false),
            (household::PHONE, "+86 138 0000 0001", false),
            (household::PHONE, "+86-(10)-1234", false),
            (household::PHONE, "+1+cmd|' /C calc'!A0", true),
            (household::PHONE, "=1+1", true),
        ] {
            assert_eq!(formula_like(field, cell), formula, "{field} {cell:?}");
        }
    }

    #[test]
    fn buildings_from_names_and_titles() {
        assert_eq!(building_in("3号楼", true), Some("3".into()));
        assert_eq!(building_in("１２栋", true), Some("12".into()));
        assert_eq!(building_in("7", true), Some("7".into()));
        assert_eq!(building_in("7", false), None);
        assert_eq!(
            building_in("幸福小区3号楼住户台账（2022年1月）", false),
            Some("3".into())
        );
        assert_eq!(building_in("Sheet1", true), None);
    }

    /// A sheet as offices keep it: title, blank, note, header with 序号,
    /// a merged building cell, a 3-1-301 door, a 合计 and a 填表人 row.
    #[test]
    fn a_sheet_with_titles_totals_and_care_words() {
        let s = sheet(
            "Sheet1",
            &[
                &["幸福小区住户台账", "", ""],
                &[],
                &["注：请逐户核对", "", ""],
                &[
                    "序号",
                    "楼栋",
                    "单元",
                    "门牌号",
                    "户主姓名",
                    "联系方式",
                    "家庭人口",
                    "备注",
                    "身份证号",
                    "是否独居老人",
                ],
                &[
                    "1",
                    "3号楼",
                    "1单元",
                    "101室",
                    "王芳",
                    "138 0000 0001",
                    "1人",
                    "独居老人",
                    "110101194001011234",
                    "是",
                ],
                &[
                    "2",
                    "",
                    "1单元",
                    "102",
                    "李强",
                    "13800000002",
                    "４",
                    "",
                    "",
                    "否",
                ],
                &["3", "", "", "3-2-201", "赵敏", "", "3", "家有孕妇", "", ""],
                &["4", "", "", "202", "=1+1", "", "", "", "", ""],
                &["合计", "", "", "", "", "", "8", "", "", ""],
                &["填表人：张三", "", "", "", "", "", "", "", "", ""],
            ],
        );
        let report = plan(&[s], &BTreeMap::new(), &[]).unwrap();
        let sheet = &report.sheets[0];
        assert_eq!(sheet.header_row, Some(4));
        assert_eq!(
            sheet
                .skipped
                .iter()
                .map(|s| (s.row, s.reason))
                .collect::<Vec<_>>(),
            [
                (1, SkipReason::Title),
                (2, SkipReason::Blank),
                (3, SkipReason::Note),
                (9, SkipReason::Total),
                (10, SkipReason::Signature),
            ]
        );
        let doors: Vec<String> = report.rows.iter().map(|r| door_key(&r.fields)).collect();
        assert_eq!(doors, ["3/1/101", "3/1/102", "3/2/201"]);
        assert_eq!(report.rows[0].fields["members"], 1);
        assert_eq!(report.rows[1].fields["members"], 4);
        assert!(
            report
                .rows
                .iter()
                .all(|r| !r.fields.values().any(|v| v == "110101194001011234")),
            "ID numbers are never kept"
        );
        assert_eq!(report.columns(|u| *u == ColumnUse::IdNumber), ["身份证号"]);
        assert_eq!(report.columns(|u| *u == ColumnUse::Index), ["序号"]);
        assert_eq!(
            report.errors,
            [RosterRowError {
                sheet: "Sheet1".into(),
                row: 8,
                problem: RosterProblem::FormulaLike {
                    field: "head".into(),
                    text: "=1+1".into()
                }
            }]
        );
        let care: Vec<(usize, &str, &str)> = report
            .care
            .iter()
            .map(|c| (c.row, c.care.as_str(), c.source.as_str()))
            .collect();
        assert_eq!(
            care,
            [
                (5, "elderly_alone", "是否独居老人：是"),
                (7, "pregnant", "备注：家有孕妇"),
            ]
        );
    }

    #[test]
    fn sheets_named_by_building_and_files_without_a_door_column() {
        let rows: &[&[&str]] = &[&["门牌号", "户主"], &["101", "王"]];
        let report = plan(
            &[
                sheet("3号楼", rows),
                sheet("5号楼", rows),
                sheet("说明", &[&["请填写户主"]]),
                sheet("汇总", &[&["楼栋", "人数"], &["3", "2"]]),
            ],
            &BTreeMap::new(),
            &["5//101".to_owned()],
        )
        .unwrap();
        assert_eq!(
            report.sheets[0].building,
            Some(SheetBuilding {
                building: "3".into(),
                from: BuildingSource::SheetName
            })
        );
        assert_eq!(report.rows.len(), 1);
        assert_eq!(
            report.errors[0].problem,
            RosterProblem::DuplicateDoor {
                door: "5//101".into()
            }
        );
        assert_eq!(report.sheets[2].header_row, None);
        assert_eq!(report.sheets[3].header_row, None);

        let no_door = plan(
            &[sheet("名册", &[&["楼号", "房间", "姓名"]])],
            &BTreeMap::new(),
            &[],
        );
        assert_eq!(no_door.unwrap_err().code(), ErrorCode::RosterNoDoorColumn);
        assert_eq!(
            plan(&[sheet("x", &[&[""]])], &BTreeMap::new(), &[]).unwrap_err(),
            RosterFileProblem::Empty
        );
    }
}
