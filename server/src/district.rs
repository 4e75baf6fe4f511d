//! A district's totals (区/街道汇总) for its officials:
//! `GET /api/districts/{district}/totals` (JSON, each compound's figures
//! as the store keeps them current with every write, see
//! `store/figures.rs`) and
//! `…/totals.xlsx` (a workbook: a row per compound with a sum row, then
//! the days). Only counts leave here: never a name, door or phone.

use axum::{
    Form, Json,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use doorstep_core::api::ErrorCode;
use doorstep_core::{calendar::ChinaTime, dashboard::Totals, district::DistrictTotals};

use crate::{
    AppState,
    auth::{DistrictCaller, TokenForm},
    error::AppError,
    export::{Cell, Ledger, attachment, workbook},
};

/// The district's totals, for an official of it.
async fn totals_of(
    state: &AppState,
    caller: &DistrictCaller,
    district: &str,
) -> Result<DistrictTotals, AppError> {
    let district = caller.in_district(district)?;
    state
        .store
        .district_totals(&district, crate::now_ms())
        .await?
        .ok_or_else(|| AppError::not_found(format!("no district {district}")))
}

/// `GET /api/districts/{district}/totals`
#[utoipa::path(get, path = "/districts/{district}/totals", security(("device" = [])),
    params(("district" = doorstep_core::ids::DistrictId, Path, description = "The district's id.")),
    responses(
        (status = 200, description = "Every compound's figures, freshness and days, and their sum. Only counts.", body = DistrictTotals),
        crate::api::DeviceRefusals))]
pub async fn totals(
    State(state): State<AppState>,
    caller: DistrictCaller,
    Path(district): Path<String>,
) -> Result<Json<DistrictTotals>, AppError> {
    Ok(Json(totals_of(&state, &caller, &district).await?))
}

/// The figures of one row, in the sheet's column order.
fn figure_cells(totals: &Totals) -> [Cell; 6] {
    [
        totals.teams,
        totals.households_visited,
        totals.needs_collected,
        totals.needs_resolved,
        totals.home_tests,
        totals.purchases,
    ]
    .map(|n| Cell::Number(n as f64))
}

const FIGURE_HEADERS: [&str; 6] = [
    "工作队",
    "走访户数",
    "收集困难问题",
    "已解决",
    "上门核酸",
    "代购",
];

/// The workbook's sheets: compounds (by street, then name, with a sum row)
/// and days.
pub fn sheets(page: &DistrictTotals) -> Vec<Ledger> {
    let mut headers = vec!["街道", "小区"];
    headers.extend(FIGURE_HEADERS);
    headers.push("最近同步");
    let mut rows: Vec<Vec<Cell>> = page
        .compounds
        .iter()
        .map(|row| {
            let mut cells = vec![
                row.street.clone().map_or(Cell::Empty, Cell::Text),
                Cell::Text(row.compound.name.clone()),
            ];
            cells.extend(figure_cells(&row.totals));
            cells.push(row.last_change_ms.map_or(Cell::Empty, Cell::Time));
            cells
        })
        .collect();
    let mut sum = vec![
        Cell::Text("合计".into()),
        Cell::Text(format!("{} 个小区", page.compounds.len())),
    ];
    sum.extend(figure_cells(&page.sum));
    sum.push(Cell::Empty);
    rows.push(sum);
    let compounds = Ledger {
        name: "各小区",
        slug: "compounds",
        headers,
        rows,
    };
    let days = Ledger {
        name: "按日",
        slug: "days",
        headers: vec!["日期", "走访户数", "上门核酸"],
        rows: page
            .days
            .iter()
            .map(|day| {
                vec![
                    Cell::Text(day.date.clone()),
                    Cell::Number(day.households_visited as f64),
                    Cell::Number(day.home_tests as f64),
                ]
            })
            .collect(),
    };
    vec![compounds, days]
}

/// `GET /api/districts/{district}/totals.xlsx`
#[utoipa::path(get, path = "/districts/{district}/totals.xlsx", security(("device" = [])),
    params(("district" = doorstep_core::ids::DistrictId, Path, description = "The district's id.")),
    responses((status = 200, description = "The totals as an Excel workbook: 各小区 (a row per compound, by street, with a 合计 row) and 按日 (the days).", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), crate::api::DeviceRefusals))]
pub async fn xlsx(
    State(state): State<AppState>,
    caller: DistrictCaller,
    Path(district): Path<String>,
) -> Result<Response, AppError> {
    let page = totals_of(&state, &caller, &district).await?;
    let bytes = workbook(&sheets(&page)).map_err(|e| {
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ExportFailed,
            e.to_string(),
        )
    })?;
    let date = ChinaTime::of(page.computed_at_ms).date();
    Ok(attachment(
        &format!("{}-汇总-{date}.xlsx", page.district.id),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        bytes,
    ))
}

/// `POST` of [`xlsx`] with the token in a form (the app's download button).
#[utoipa::path(post, path = "/districts/{district}/totals.xlsx",
    params(("district" = doorstep_core::ids::DistrictId, Path, description = "The district's id.")),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "The totals as an Excel workbook: 各小区 (a row per compound, by street, with a 合计 row) and 按日 (the days).", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), crate::api::FormRefusals))]
pub async fn xlsx_form(
    State(state): State<AppState>,
    Path(district): Path<String>,
    Form(form): Form<TokenForm>,
) -> Result<Response, AppError> {
    let made = async {
        let caller = DistrictCaller::from_form(&state, &form).await?;
        xlsx(State(state), caller, Path(district)).await
    };
    Ok(made.await.unwrap_or_else(crate::security::error_page))
}
