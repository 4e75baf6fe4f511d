//! Printable A4 posters, one per building, each with a QR code that opens
//! that building's resident page (`/r/{compound}/{building}`).

use std::collections::BTreeSet;

use axum::{
    Form,
    extract::{Path, State},
    http::{HeaderMap, header},
};
use doorstep_core::{
    access::Role,
    building::building_label,
    ids::CompoundId,
    schema::{Collection, household, run},
    truck::Stop,
};
use qrcode::{QrCode, render::svg};

use crate::{
    AppState,
    auth::{Caller, TokenForm},
    error::AppError,
};

/// Printable posters, one per building, each with a QR code to the
/// building's resident page (coordinators).
#[utoipa::path(get, path = "/compounds/{compound}/posters", security(("device" = [])),
    params(crate::api::CompoundPath),
    responses((status = 200, description = "Printable A4 HTML pages, one per building, each with a QR code to the building's resident page.", content_type = "text/html", body = String), crate::api::DeviceRefusals))]
pub async fn posters(
    State(state): State<AppState>,
    caller: Caller,
    Path(compound): Path<String>,
    headers: HeaderMap,
) -> Result<axum::response::Response, AppError> {
    let compound = caller.in_compound(&compound, &[Role::Coordinator])?;
    let name = state
        .store
        .compounds()
        .await?
        .into_iter()
        .find(|c| c.id == compound)
        .ok_or_else(|| AppError::not_found("no such compound"))?
        .name;
    let base = base_url(&state, &headers);
    let buildings = buildings(&state, &compound).await?;
    let pages: String = buildings
        .iter()
        .map(|building| {
            let url = format!("{base}/r/{compound}/{}", percent_encode(building));
            poster(&name, building, &url)
        })
        .collect();
    Ok(crate::security::print_page(format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{title} 菜车海报</title>\
         <style>{STYLE}</style></head><body>{pages}</body></html>",
        title = escape(&name)
    )))
}

const STYLE: &str = "@page{size:A4;margin:0}body{margin:0;font-family:'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif}\
.poster{box-sizing:border-box;width:210mm;height:297mm;padding:20mm;page-break-after:always;display:flex;\
flex-direction:column;align-items:center;justify-content:center;text-align:center;gap:10mm}\
.compound{font-size:16pt;color:#555}.building{font-size:64pt;font-weight:700;margin:0}\
.qr svg{width:120mm;height:120mm}.how{font-size:20pt;line-height:1.5;margin:0}.url{font-size:10pt;color:#777;word-break:break-all}";

/// `POST` of [`posters`] with the token in a form (the app's print link).
#[utoipa::path(post, path = "/compounds/{compound}/posters",
    params(crate::api::CompoundPath),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Printable A4 HTML pages, one per building, each with a QR code to the building's resident page.", content_type = "text/html", body = String), crate::api::FormRefusals))]
pub async fn posters_form(
    State(state): State<AppState>,
    Path(compound): Path<String>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<axum::response::Response, AppError> {
    let made = async {
        let caller = Caller::from_form(&state, &form).await?;
        posters(State(state), caller, Path(compound), headers).await
    };
    Ok(made.await.unwrap_or_else(crate::security::error_page))
}

/// A QR code of `url` as an SVG element.
pub fn qr_svg(url: &str) -> String {
    QrCode::new(url.as_bytes())
        .map(|code| code.render::<svg::Color>().min_dimensions(400, 400).build())
        .unwrap_or_default()
}

fn poster(compound: &str, building: &str, url: &str) -> String {
    let qr = qr_svg(url);
    format!(
        "<section class=\"poster\" data-building=\"{b}\"><div class=\"compound\">{c}</div>\
         <h1 class=\"building\">{l}</h1><div class=\"qr\">{qr}</div>\
         <p class=\"how\">微信或手机相机扫码，查看流动菜摊几点到本楼。<br>菜车快到时，页面会响铃提醒。</p>\
         <div class=\"url\">{u}</div></section>",
        b = escape(building),
        l = escape(&building_label(building, |b| format!("{b}号楼"))),
        c = escape(compound),
        u = escape(url)
    )
}

/// Buildings on any run's route and in the household registry, in natural order.
async fn buildings(state: &AppState, compound: &CompoundId) -> Result<Vec<String>, AppError> {
    let mut names = BTreeSet::new();
    for run in state.store.records_of(compound, Collection::Run).await? {
        if let Some(stops) = run.value(run::STOPS).and_then(|v| Stop::list_from(v).ok()) {
            names.extend(stops.into_iter().map(|s| s.building));
        }
    }
    for record in state
        .store
        .records_of(compound, Collection::Household)
        .await?
    {
        if let Some(building) = record.text(household::BUILDING)
            && !building.trim().is_empty()
            && !record.is_deleted()
        {
            names.insert(building.trim().to_owned());
        }
    }
    let mut names: Vec<String> = names.into_iter().collect();
    names.sort_by_key(|n| {
        (
            n.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse::<u64>()
                .unwrap_or(u64::MAX),
            n.clone(),
        )
    });
    Ok(names)
}

/// Where phones reach this server: the configured public URL, else the request's host.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::poster;

    /// A building stored as "1号楼" is printed once as 1号楼, like "1".
    #[test]
    fn a_poster_names_its_building_once() {
        for name in ["1", "1号楼"] {
            let page = poster("幸福小区", name, "https://example.test/r/c1/1");
            assert!(page.contains(">1号楼</h1>"), "{name}: {page}");
            assert!(!page.contains("号楼号楼"), "{name}");
        }
        assert!(poster("幸福小区", "综合楼", "u").contains(">综合楼</h1>"));
    }
}
