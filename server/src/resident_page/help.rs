//! Help requests (求助) on the resident page: the form (server-rendered, no
//! script, so it works in WeChat's browser), its `POST
//! /api/public/help/{compound}/{building}` (checked with core's
//! `HelpForm`, limited per address and per building per hour, filed by the
//! store as a need with its ticket), the ticket page `/h/{ticket}` (the
//! request's category, status and last update; nothing personal) with its
//! worker `/h/sw.js` for offline visits, and the coordinator's switch
//! `/api/compounds/{compound}/help`.

use std::{net::SocketAddr, sync::LazyLock};

use axum::{
    Extension, Form, Json,
    extract::{ConnectInfo, Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use base64::Engine;
use doorstep_core::api::ErrorCode;
use doorstep_core::{
    access::Role,
    api::HelpSwitch,
    help::{CATEGORIES, HelpField, HelpForm, HelpProblem, TicketView, ticket_view},
    ids::CompoundId,
    need::{Category, Status},
    schema::Vocabulary,
};
use rand::Rng;
use serde::Deserialize;

use super::{
    LangQuery, STYLE,
    render::{escape, label},
    text::{Lang, Text},
};
use crate::{
    AppState,
    accounts::{ClientAddr, client_ip, throttle_address},
    auth::Caller,
    error::AppError,
    now_ms,
    security::base64_sha256,
    store::Filed,
};

/// The ticket page's only script: its worker, and the offline line.
const TICKET_SCRIPT: &str = include_str!("ticket.js");

/// The ticket page's policy: its stylesheet and script by hash, its worker.
static TICKET_CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; img-src data:; \
         connect-src 'self'; worker-src 'self'; base-uri 'none'; frame-ancestors 'none'; \
         form-action 'none'",
        base64_sha256(TICKET_SCRIPT),
        base64_sha256(STYLE)
    )
});

/// A page answering the form: its stylesheet, no script.
static ANSWER_CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; style-src 'sha256-{}'; img-src data:; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'",
        base64_sha256(STYLE)
    )
});

/// Requests one address, and one building, may make per window: a family
/// asks a few times; a building of a hundred doors rarely asks thirty times
/// an hour. Counted in the database (every instance), like redemptions.
#[derive(Clone, Copy, Debug)]
pub struct HelpLimits {
    pub window_ms: u64,
    pub per_address: u64,
    pub per_building: u64,
}

impl Default for HelpLimits {
    fn default() -> Self {
        Self {
            window_ms: 60 * 60 * 1000,
            per_address: 5,
            per_building: 30,
        }
    }
}

/// A ticket's random bytes: 128 bits, as a link no one guesses.
const TICKET_BYTES: usize = 16;

fn new_ticket() -> String {
    let bytes: [u8; TICKET_BYTES] = rand::rng().random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Only something shaped like a ticket is looked up.
fn looks_like_ticket(text: &str) -> bool {
    text.len() == 22
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn category_text(category: Category) -> Text {
    match category {
        Category::HomeTest => Text::CategoryHomeTest,
        Category::Medicine => Text::CategoryMedicine,
        Category::Food => Text::CategoryFood,
        Category::Care => Text::CategoryCare,
        Category::MedicalVisit => Text::CategoryMedicalVisit,
        Category::Utilities | Category::Garbage | Category::Shuttle | Category::Other => {
            Text::CategoryOther
        }
    }
}

fn status_text(status: Option<Status>) -> Text {
    match status {
        None | Some(Status::Collected) => Text::StatusCollected,
        Some(Status::CalledBack) => Text::StatusCalledBack,
        Some(Status::Assigned) => Text::StatusAssigned,
        Some(Status::InProgress) => Text::StatusInProgress,
        Some(Status::Resolved) => Text::StatusResolved,
        Some(Status::Closed) => Text::StatusClosed,
        Some(Status::Reopened) => Text::StatusReopened,
    }
}

fn field_text(field: HelpField) -> Text {
    match field {
        HelpField::Unit => Text::HelpUnit,
        HelpField::Door => Text::HelpDoor,
        HelpField::Category => Text::HelpWhat,
        HelpField::Description => Text::HelpWords,
        HelpField::Phone => Text::HelpPhone,
        HelpField::Name => Text::HelpName,
    }
}

/// A problem with the form, as the resident reads it.
pub fn problem_text(problem: HelpProblem, lang: Lang) -> String {
    let field = field_text(problem.field()).get(lang);
    match problem {
        HelpProblem::Missing(_) => Text::HelpMissing.get(lang).replace("{field}", field),
        HelpProblem::TooLong(_) => Text::HelpTooLong.get(lang).replace("{field}", field),
        HelpProblem::BadPhone => Text::HelpBadPhone.get(lang).to_owned(),
        HelpProblem::UnknownCategory => Text::HelpBadCategory.get(lang).to_owned(),
    }
}

/// What the form section says besides its fields.
pub enum Notice {
    None,
    /// The compound takes no requests: said instead of the form.
    Closed,
    /// Why the last attempt was not taken (the form keeps what was typed).
    Problem(String),
}

/// The form, folded under its summary unless it has something to say.
pub fn form(
    compound: &str,
    building: &str,
    lang: Lang,
    filled: &HelpForm,
    notice: &Notice,
) -> String {
    let t = |text: Text| escape(text.get(lang));
    if let Notice::Closed = notice {
        return format!(
            "<section class=\"help\" data-testid=\"help\"><h2>{}</h2>\
             <p class=\"notice\" data-testid=\"help-closed\">{}</p></section>",
            t(Text::HelpSummary),
            t(Text::HelpClosed)
        );
    }
    let (open, problem) = match notice {
        Notice::Problem(text) => (
            " open",
            format!(
                "<p class=\"banner warning\" role=\"alert\" data-testid=\"help-problem\">{}</p>",
                escape(text)
            ),
        ),
        _ => ("", String::new()),
    };
    let input = |field: HelpField, value: &str, extra: &str| {
        format!(
            "<label class=\"field\"><span>{label}</span><input name=\"{name}\" \
             data-testid=\"help-{name}\" maxlength=\"{max}\" value=\"{value}\"{extra}></label>",
            label = t(field_text(field)),
            name = field.name(),
            max = field.max_chars(),
            value = escape(value),
        )
    };
    let options: String = CATEGORIES
        .iter()
        .map(|c| {
            let selected = if c.word() == filled.category {
                " selected"
            } else {
                ""
            };
            format!(
                "<option value=\"{}\"{selected}>{}</option>",
                c.word(),
                t(category_text(*c))
            )
        })
        .collect();
    let lang_field = match lang {
        Lang::En => "<input type=\"hidden\" name=\"lang\" value=\"en\">",
        Lang::Zh => "",
    };
    format!(
        "<details class=\"help\" data-testid=\"help\"{open}><summary class=\"button wide\" \
         data-testid=\"help-open\">{summary}</summary>\
         <form method=\"post\" action=\"/api/public/help/{c}/{b}\" data-testid=\"help-form\">\
         <p class=\"notice\">{intro}</p>{problem}{lang_field}<div class=\"pair\">{unit}{door}</div>\
         <label class=\"field\"><span>{what}</span><select name=\"category\" \
         data-testid=\"help-category\" required>{options}</select></label>\
         <label class=\"field\"><span>{words}</span><textarea name=\"description\" rows=\"2\" \
         maxlength=\"{words_max}\" data-testid=\"help-description\">{description}</textarea></label>\
         {phone}{name}<p class=\"notice\">{privacy}</p>\
         <button class=\"button wide\" type=\"submit\" data-testid=\"help-send\">{send}</button>\
         </form></details>",
        summary = t(Text::HelpSummary),
        c = escape(&urlencoding(compound)),
        b = escape(&urlencoding(building)),
        intro = t(Text::HelpIntro),
        unit = input(HelpField::Unit, &filled.unit, ""),
        door = input(HelpField::Door, &filled.door, " required"),
        what = t(Text::HelpWhat),
        words = t(Text::HelpWords),
        words_max = HelpField::Description.max_chars(),
        description = escape(&filled.description),
        phone = input(
            HelpField::Phone,
            &filled.phone,
            " type=\"tel\" inputmode=\"tel\" autocomplete=\"tel\" required"
        ),
        name = input(HelpField::Name, &filled.name, " autocomplete=\"name\""),
        privacy = t(Text::HelpPrivacy),
        send = t(Text::HelpSend),
    )
}

/// A path segment, percent-encoded (building names may be Chinese).
fn urlencoding(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// A short page in the resident page's style: a heading and `body`.
fn small_page(lang: Lang, title: &str, body: &str, script: &str) -> String {
    let script = if script.is_empty() {
        String::new()
    } else {
        format!("<script>{script}</script>")
    };
    format!(
        "<!doctype html><html lang=\"{html_lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"theme-color\" content=\"#b3261e\"><title>{title}</title>\
         <link rel=\"icon\" href=\"data:,\"><style>{STYLE}</style></head>\
         <body><header class=\"bar\"><span class=\"name\">{app}</span></header>\
         <main class=\"resident\"><h1 data-testid=\"page-title\">{title}</h1>{body}</main>\
         {script}</body></html>",
        html_lang = lang.html_tag(),
        title = escape(title),
        app = escape(Text::AppName.get(lang)),
    )
}

fn answer(status: StatusCode, csp: &str, html: String) -> Response {
    (
        status,
        [
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_str(csp).expect("the policy is ASCII"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Html(html),
    )
        .into_response()
}

/// The form as posted (`application/x-www-form-urlencoded`); documented
/// as core's [`HelpForm`], whose rules it is checked by.
#[derive(Deserialize)]
pub struct Posted {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    door: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    name: String,
    /// The page's language, for the answer: `en`, else Chinese.
    lang: Option<String>,
}

/// `POST /api/public/help/{compound}/{building}`: files the request and
/// sends the resident to its ticket (303), or answers a page saying why
/// not, with the form as it was filled in: 404 `not_found`, 403
/// `help_closed`, 422 `invalid` (and the field), 429 `too_many_requests`.
/// Each answer carries its code in `X-Doorstep-Code` for scripts and tests.
#[utoipa::path(post, path = "/help/{compound}/{building}",
    params(crate::api::BuildingPath),
    request_body(content = HelpForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Filed: `Location` is the ticket page, `/h/{ticket}`.", headers(("location" = String))),
        (status = 403, description = "The compound does not take requests (its coordinator has not turned them on).", headers(("x-doorstep-code" = String, description = "`help_closed`")), content_type = "text/html", body = String),
        (status = 404, description = "No such compound.", headers(("x-doorstep-code" = String, description = "`not_found`")), content_type = "text/html", body = String),
        (status = 422, description = "A field is missing, too long, or not a phone number to call back; the form comes back as filled in.", headers(("x-doorstep-code" = String, description = "`invalid`")), content_type = "text/html", body = String),
        (status = 429, description = "Too many requests from this address or building this hour.", headers(("x-doorstep-code" = String, description = "`too_many_requests`")), content_type = "text/html", body = String),
        (status = 415, description = "The body is not a form (`unsupported_media_type`).", body = doorstep_core::api::ApiError),
        (status = 503, description = "The database did not answer (`store_unavailable`).", body = doorstep_core::api::ApiError),
    ))]
pub async fn post(
    State(state): State<AppState>,
    Path((compound, building)): Path<(String, String)>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    platform: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    Form(posted): Form<Posted>,
) -> Response {
    let lang = Lang::from_query(posted.lang.as_deref());
    let filled = HelpForm {
        unit: posted.unit,
        door: posted.door,
        category: posted.category,
        description: posted.description,
        phone: posted.phone,
        name: posted.name,
    };
    let title = super::render::title(&building, lang);
    let refuse = |status: StatusCode, code: ErrorCode, notice: Notice| {
        let body = if status == StatusCode::NOT_FOUND {
            format!(
                "<p class=\"headline\">{}</p>",
                escape(Text::Unknown.get(lang))
            )
        } else {
            let back = match lang {
                Lang::Zh => String::new(),
                Lang::En => "?lang=en".into(),
            };
            format!(
                "{}<p><a class=\"link\" href=\"/r/{}/{}{back}\">{}</a></p>",
                form(&compound, &building, lang, &filled, &notice),
                escape(&urlencoding(&compound)),
                escape(&urlencoding(&building)),
                escape(&label(&building, lang)),
            )
        };
        let mut response = answer(status, &ANSWER_CSP, small_page(lang, &title, &body, ""));
        response
            .headers_mut()
            .insert("x-doorstep-code", HeaderValue::from_static(code.as_str()));
        response
    };
    let Ok(compound_id) = compound.parse::<CompoundId>() else {
        return refuse(StatusCode::NOT_FOUND, ErrorCode::NotFound, Notice::None);
    };
    let store = &state.store;
    match store.help_requests(&compound_id).await {
        Ok(None) => return refuse(StatusCode::NOT_FOUND, ErrorCode::NotFound, Notice::None),
        Ok(Some(false)) => {
            return refuse(StatusCode::FORBIDDEN, ErrorCode::HelpClosed, Notice::Closed);
        }
        Ok(Some(true)) => {}
        Err(err) => return AppError::from(err).into_response(),
    }
    let request = match filled.check() {
        Ok(request) => request,
        Err(problem) => {
            let text = problem_text(problem, lang);
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::Invalid,
                Notice::Problem(text),
            );
        }
    };
    let limits = state.help_limits;
    let now = now_ms();
    let peer = match platform {
        Some(Extension(ClientAddr(ip))) => Some(ip),
        None => connect.map(|Extension(ConnectInfo(peer))| peer.ip()),
    };
    let address_key = format!(
        "help-ip:{}",
        throttle_address(client_ip(&state, peer, &headers))
    );
    let building_key = format!("help-building:{compound_id}/{building}");
    let counted = store
        .throttle_take(
            &[
                (address_key.as_str(), limits.per_address),
                (building_key.as_str(), limits.per_building),
            ],
            limits.window_ms,
            now,
        )
        .await;
    match counted {
        Ok(true) => {}
        Ok(false) => {
            let window = limits.window_ms.max(1);
            let wait_ms = window - now % window;
            let text = Text::HelpThrottled
                .get(lang)
                .replace("{n}", &wait_ms.div_ceil(60_000).to_string());
            let mut response = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyRequests,
                Notice::Problem(text),
            );
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&wait_ms.div_ceil(1000).to_string()).expect("digits"),
            );
            return response;
        }
        Err(err) => return AppError::from(err).into_response(),
    }
    let ticket = new_ticket();
    let filed = store
        .file_help(
            &compound_id,
            &building,
            &request,
            &store.secret_hash(&ticket),
            now,
        )
        .await;
    match filed {
        Ok(Filed::Need(need)) => {
            tracing::info!(compound = %compound_id, %need, "help request filed");
            if let Err(err) = crate::live::after_server_write(&state, &compound_id).await {
                // Filed and committed: phones see it at their next sync.
                tracing::warn!(code = %err.body.code, "help request not announced");
            }
            let query = match lang {
                Lang::Zh => "",
                Lang::En => "?lang=en",
            };
            (
                StatusCode::SEE_OTHER,
                [
                    (
                        header::LOCATION,
                        HeaderValue::from_str(&format!("/h/{ticket}{query}"))
                            .expect("a ticket is ASCII"),
                    ),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
            )
                .into_response()
        }
        Ok(Filed::Closed) => refuse(StatusCode::FORBIDDEN, ErrorCode::HelpClosed, Notice::Closed),
        Ok(Filed::Unknown) => refuse(StatusCode::NOT_FOUND, ErrorCode::NotFound, Notice::None),
        Err(err) => AppError::from(err).into_response(),
    }
}

/// The ticket page's body for `view`.
pub fn ticket_body(view: &TicketView, lang: Lang) -> String {
    let t = |text: Text| escape(text.get(lang));
    let updated = Text::TicketUpdated.get(lang).replace(
        "{time}",
        &doorstep_core::calendar::ChinaTime::of(view.updated_ms).date_time(),
    );
    format!(
        "<p class=\"banner warning\" id=\"offline\" data-testid=\"ticket-offline\" role=\"status\" \
         hidden>{offline}</p>\
         <p class=\"ticket-what\" data-testid=\"ticket-category\">{category}</p>\
         <p class=\"headline\" data-testid=\"ticket-status\" data-status=\"{code}\">{status}</p>\
         <p class=\"updated\" data-testid=\"ticket-updated\">{updated}</p>\
         <p class=\"notice\">{keep}</p>",
        offline = t(Text::TicketOffline),
        category = t(category_text(view.category)),
        code = view
            .status
            .map(|s| serde_json::to_value(s).expect("statuses serialise"))
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        status = t(status_text(view.status)),
        updated = escape(&updated),
        keep = t(Text::TicketKeep),
    )
}

/// `GET /h/{ticket}`: the request's category, status and last update, and
/// nothing else; any ticket the store does not know is the same 404.
pub async fn ticket(
    State(state): State<AppState>,
    Path(ticket): Path<String>,
    Query(query): Query<LangQuery>,
) -> Response {
    let lang = Lang::from_query(query.lang.as_deref());
    let title = Text::TicketTitle.get(lang);
    let found = if looks_like_ticket(&ticket) {
        state.store.ticket(&state.store.secret_hash(&ticket)).await
    } else {
        Ok(None)
    };
    match found {
        Ok(Some(records)) => {
            let view = ticket_view(&records.need, &records.events);
            answer(
                StatusCode::OK,
                &TICKET_CSP,
                small_page(lang, title, &ticket_body(&view, lang), TICKET_SCRIPT),
            )
        }
        Ok(None) => answer(
            StatusCode::NOT_FOUND,
            &TICKET_CSP,
            small_page(
                lang,
                title,
                &format!(
                    "<p class=\"headline\" data-testid=\"ticket-unknown\">{}</p>",
                    escape(Text::TicketUnknown.get(lang))
                ),
                "",
            ),
        ),
        Err(err) => AppError::from(err).into_response(),
    }
}

/// `GET /api/compounds/{compound}/help`: the switch, for its coordinator.
#[utoipa::path(get, path = "/compounds/{compound}/help", security(("device" = [])),
    params(crate::api::CompoundPath),
    responses(
        (status = 200, description = "Whether the compound's building pages take help requests.", body = HelpSwitch),
        crate::api::DeviceRefusals,
    ))]
pub async fn switch(
    State(state): State<AppState>,
    caller: Caller,
    Path(compound): Path<String>,
) -> Result<Json<HelpSwitch>, AppError> {
    let compound = caller.in_compound(&compound, &[Role::Coordinator])?;
    let enabled = state
        .store
        .help_requests(&compound)
        .await?
        .ok_or_else(|| AppError::not_found("no such compound"))?;
    Ok(Json(HelpSwitch { enabled }))
}

/// `PUT /api/compounds/{compound}/help`: the coordinator turns requests
/// on or off.
#[utoipa::path(put, path = "/compounds/{compound}/help", security(("device" = [])),
    params(crate::api::CompoundPath),
    request_body = HelpSwitch,
    responses(
        (status = 200, description = "The switch as it is now.", body = HelpSwitch),
        crate::api::JsonBodyRefusals,
        crate::api::DeviceRefusals,
    ))]
pub async fn set_switch(
    State(state): State<AppState>,
    caller: Caller,
    Path(compound): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<HelpSwitch>, AppError> {
    let compound = caller.in_compound(&compound, &[Role::Coordinator])?;
    let wanted: HelpSwitch = crate::api::json_object(&body, "{enabled}")?;
    if !state
        .store
        .set_help_requests(&compound, wanted.enabled)
        .await?
    {
        return Err(AppError::not_found("no such compound"));
    }
    tracing::info!(%compound, enabled = wanted.enabled, "help requests switched");
    Ok(Json(wanted))
}
