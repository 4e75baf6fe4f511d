//! The resident page as HTML: the whole page for the first response, and the
//! live part alone for each update. The status line comes from core's ETA
//! rules (`eta::timeline`, `Timeline::forecast`) at the server's clock, so
//! a phone whose clock is wrong still reads the right times; times are shown
//! in China Standard Time, where the compounds are.

use doorstep_core::{
    building::building_label,
    eta::{Basis, BuildingStatus, StopState, timeline},
    truck::{PublicRun, PublicRuns},
};
use serde::Serialize;

use super::text::{Lang, Text};

/// UTC+8, in minutes.
const CHINA_OFFSET_MIN: u64 = 8 * 60;

/// The moments a resident may be alerted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Moment {
    Next,
    Here,
}

/// The live part of the page at one moment: what `GET
/// /api/public/status/{compound}/{building}` answers and each event of its
/// stream carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = ResidentStatus)]
pub struct Live {
    /// The server's clock when this was rendered: the page measures its
    /// phone's clock against it (offline ages).
    pub server_time_ms: u64,
    /// Set while the truck is next or at this building (the page alerts).
    pub moment: Option<Moment>,
    /// The status line, stale warning, line of stops, update time and vendor.
    pub html: String,
}

/// `HH:MM` of a Unix time in China Standard Time.
pub fn clock(ms: u64) -> String {
    let minutes = (ms / 60_000 + CHINA_OFFSET_MIN) % (24 * 60);
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Text for HTML element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn label(building: &str, lang: Lang) -> String {
    building_label(building, |b| {
        Text::BuildingLabel.get(lang).replace("{b}", b)
    })
}

pub fn title(building: &str, lang: Lang) -> String {
    Text::Title.get(lang).replace("{b}", &label(building, lang))
}

/// The live part for a resident of `building`, at `now_ms` (server clock).
pub fn live(runs: &PublicRuns, building: &str, now_ms: u64, lang: Lang) -> Live {
    let Some(run) = runs.current_for(building) else {
        return Live {
            server_time_ms: now_ms,
            moment: None,
            html: headline(Text::None.get(lang)) + &updated(now_ms, lang),
        };
    };
    let line = timeline(run.state, &run.stops, &run.events, now_ms);
    let forecast = line.forecast(building);
    let moment = match forecast.status {
        BuildingStatus::Next { .. } => Some(Moment::Next),
        BuildingStatus::HereNow { .. } => Some(Moment::Here),
        _ => None,
    };
    let mut html = headline(&status_line(&forecast.status, lang));
    if let Some(stale_ms) = forecast.stale_ms {
        let text = Text::Stale
            .get(lang)
            .replace("{n}", &(stale_ms / 60_000).to_string());
        html += &format!(
            "<p class=\"banner warning\" data-testid=\"resident-stale\">{}</p>",
            escape(&text)
        );
    }
    html += &format!(
        "<ol class=\"stop-line\" data-testid=\"resident-stops\" aria-label=\"{}\">",
        Text::Stops.get(lang)
    );
    for stop in &line.stops {
        let state = match stop.state {
            StopState::Ahead => "ahead",
            StopState::Here => "here",
            StopState::Done => "done",
            StopState::Skipped => "skipped",
        };
        let mine = if stop.building == building {
            " mine"
        } else {
            ""
        };
        html += &format!(
            "<li class=\"stop{mine}\" data-state=\"{state}\" data-testid=\"stop-{id}\">\
             <span class=\"dot\"></span><span class=\"stop-name\">{name}</span></li>",
            id = escape(&stop.building),
            name = escape(&label(&stop.building, lang)),
        );
    }
    html += "</ol>";
    html += &updated(now_ms, lang);
    html += &vendor(run, lang);
    Live {
        server_time_ms: now_ms,
        moment,
        html,
    }
}

fn headline(text: &str) -> String {
    format!(
        "<p class=\"headline\" data-testid=\"resident-status\">{}</p>",
        escape(text)
    )
}

fn updated(now_ms: u64, lang: Lang) -> String {
    format!(
        "<p class=\"updated\" data-testid=\"resident-updated\">{}</p>",
        escape(&Text::Updated.get(lang).replace("{time}", &clock(now_ms)))
    )
}

/// The big sentence for a status.
pub fn status_line(status: &BuildingStatus, lang: Lang) -> String {
    let t = |text: Text| text.get(lang);
    let schedule = |basis: &Basis| {
        if *basis == Basis::Schedule {
            t(Text::Schedule)
        } else {
            ""
        }
    };
    match status {
        BuildingStatus::NotStarted { eta_ms } => {
            t(Text::NotStarted).replace("{time}", &clock(*eta_ms))
        }
        BuildingStatus::Away {
            stops,
            eta_ms,
            basis,
        } => {
            t(Text::Away)
                .replace("{n}", &stops.to_string())
                .replace("{time}", &clock(*eta_ms))
                + schedule(basis)
        }
        BuildingStatus::Next { eta_ms, basis } => {
            t(Text::Next).replace("{time}", &clock(*eta_ms)) + schedule(basis)
        }
        BuildingStatus::HereNow { until_ms } => t(Text::Here).replace("{time}", &clock(*until_ms)),
        BuildingStatus::Passed => t(Text::Passed).to_owned(),
        BuildingStatus::Skipped => t(Text::Skipped).to_owned(),
        BuildingStatus::Finished => t(Text::Finished).to_owned(),
        BuildingStatus::Cancelled => t(Text::Cancelled).to_owned(),
        BuildingStatus::NotOnRoute => t(Text::None).to_owned(),
    }
}

/// Only web links leave the page as links (never `javascript:`).
fn web_link(link: &str) -> Option<&str> {
    let lower = link.trim().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(link.trim())
}

fn vendor(run: &PublicRun, lang: Lang) -> String {
    let truck = &run.truck;
    if truck.vendor.is_empty() && truck.name.is_empty() && truck.phone.is_empty() {
        return String::new();
    }
    let mut html = format!(
        "<div class=\"vendor\" data-testid=\"resident-vendor\"><div>{}: {} · {}</div>",
        Text::Vendor.get(lang),
        escape(&truck.vendor),
        escape(&truck.name)
    );
    if !truck.phone.is_empty() {
        let dial: String = truck
            .phone
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect();
        html += &format!(
            "<a class=\"phone\" href=\"tel:{}\">{}</a>",
            escape(&dial),
            escape(&truck.phone)
        );
    }
    if let Some(link) = web_link(&truck.order_link) {
        html += &format!(
            "<a class=\"button\" href=\"{}\" target=\"_blank\" rel=\"noopener\">{}</a>",
            escape(link),
            Text::Order.get(lang)
        );
    }
    html + "</div>"
}

/// What the first response holds in its live part.
pub enum First<'a> {
    /// The status at the server's clock.
    Live(&'a Live),
    /// The store did not answer: the building and "loading"; the script
    /// keeps asking.
    Loading,
    /// No such compound: said plainly, and no script.
    Unknown,
}

/// The whole page. `script` and `style` are inlined (their hashes are in
/// the page's Content-Security-Policy); `help` (the help form, or the line
/// saying requests are not taken) follows the status.
pub fn page(
    compound: &str,
    building: &str,
    lang: Lang,
    first: First<'_>,
    help: &str,
    style: &str,
    script: &str,
) -> String {
    let title = escape(&title(building, lang));
    let other = lang.other();
    let (live_attributes, live_html, script) = match first {
        First::Live(live) => (
            format!(
                " data-t=\"{}\" data-m=\"{}\"",
                live.server_time_ms,
                match live.moment {
                    Some(Moment::Next) => "next",
                    Some(Moment::Here) => "here",
                    None => "",
                }
            ),
            live.html.clone(),
            script,
        ),
        First::Loading => (String::new(), headline(Text::Loading.get(lang)), script),
        First::Unknown => (String::new(), headline(Text::Unknown.get(lang)), ""),
    };
    let script = if script.is_empty() {
        String::new()
    } else {
        format!("<script>{script}</script>")
    };
    let t = |text: Text| escape(text.get(lang));
    format!(
        "<!doctype html><html lang=\"{html_lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"theme-color\" content=\"#b3261e\"><title>{title}</title>\
         <link rel=\"icon\" href=\"data:,\"><style>{style}</style></head>\
         <body data-compound=\"{compound}\" data-building=\"{building}\" data-lang=\"{tag}\">\
         <header class=\"bar\"><span class=\"name\">{app}</span>\
         <a class=\"lang\" href=\"?lang={other_tag}\" lang=\"{other_html}\" hreflang=\"{other_html}\" \
         data-testid=\"resident-lang\">{other_name}</a></header>\
         <main class=\"resident\"><h1 data-testid=\"resident-title\">{title}</h1>\
         <p class=\"banner warning\" id=\"offline\" data-testid=\"resident-offline\" \
         data-text=\"{offline}\" role=\"status\" hidden></p>\
         <div id=\"live\" aria-live=\"polite\"{live_attributes}>{live_html}</div>\
         <button class=\"button wide\" id=\"alerts\" type=\"button\" data-testid=\"resident-alerts\" \
         data-title=\"{app}\" data-next=\"{alert_next}\" data-here=\"{alert_here}\">{alerts_on}</button>\
         <p class=\"notice\" id=\"alerts-on\" data-testid=\"resident-alerts-enabled\" hidden>{alerts_enabled}</p>\
         {help}</main>{script}</body></html>",
        html_lang = lang.html_tag(),
        compound = escape(compound),
        building = escape(building),
        tag = lang.tag(),
        app = t(Text::AppName),
        other_tag = other.tag(),
        other_html = other.html_tag(),
        other_name = escape(Text::OtherLanguage.get(lang)),
        offline = t(Text::Offline),
        alert_next = t(Text::AlertNext),
        alert_here = t(Text::AlertHere),
        alerts_on = t(Text::AlertsOn),
        alerts_enabled = t(Text::AlertsEnabled),
    )
}

#[cfg(test)]
mod tests {
    use doorstep_core::truck::{EventKind, RunState, Stop, Tap, TruckInfo};

    use super::*;

    const MIN: u64 = 60_000;
    /// 2026-11-28 02:00 UTC, 10:00 in China.
    const T0: u64 = 1_795_831_200_000;

    fn runs(state: RunState, taps: Vec<Tap>, now: u64) -> PublicRuns {
        PublicRuns {
            compound: "c1".parse().unwrap(),
            runs: vec![PublicRun {
                id: "r1".parse().unwrap(),
                compound: "c1".parse().unwrap(),
                date: "2026-11-28".into(),
                state,
                truck: TruckInfo {
                    name: "豫A·12345".into(),
                    vendor: "老李<菜摊>".into(),
                    phone: "0371-1234567".into(),
                    order_link: "javascript:alert(1)".into(),
                },
                stops: ["1", "2", "4"]
                    .iter()
                    .enumerate()
                    .map(|(i, b)| Stop {
                        building: (*b).into(),
                        planned_ms: T0 + i as u64 * 20 * MIN,
                        dwell_min: 15,
                    })
                    .collect(),
                events: taps,
            }],
            server_time_ms: now,
        }
    }

    fn tap(building: &str, kind: EventKind, at_ms: u64) -> Tap {
        Tap {
            building: building.into(),
            kind,
            at_ms,
        }
    }

    #[test]
    fn clock_is_china_time() {
        assert_eq!(clock(T0), "10:00");
        assert_eq!(clock(T0 + 14 * 60 * MIN + 5 * MIN), "00:05");
    }

    /// The status line and stale age come from the server's clock alone:
    /// nothing from the phone (whose clock may be 10 minutes wrong) enters.
    #[test]
    fn times_are_the_servers() {
        // Arrived at 1 ten minutes late: building 4 is two stops away, due
        // at 10:50 (planned 10:40, plus the delay).
        let now = T0 + 12 * MIN;
        let data = runs(
            RunState::Underway,
            vec![tap("1", EventKind::Arrived, T0 + 10 * MIN)],
            now,
        );
        let zh = live(&data, "4", now, Lang::Zh);
        assert!(zh.html.contains(">还有2栋，约 10:50 到达<"), "{}", zh.html);
        assert!(!zh.html.contains("resident-stale"));
        assert_eq!(zh.server_time_ms, now);
        assert_eq!(zh.moment, None);
        // Nothing tapped for an hour past the expected departure: stale,
        // with the age of the last tap.
        let later = T0 + 10 * MIN + 60 * MIN;
        let stale = live(&data, "4", later, Lang::En);
        assert!(
            stale
                .html
                .contains("No update from the truck for 60 min: times are only a guide"),
            "{}",
            stale.html
        );
    }

    #[test]
    fn next_and_here_are_moments() {
        let now = T0 + 30 * MIN;
        let data = runs(
            RunState::Underway,
            vec![tap("2", EventKind::Arrived, T0 + 20 * MIN)],
            now,
        );
        assert_eq!(live(&data, "4", now, Lang::Zh).moment, Some(Moment::Next));
        assert_eq!(live(&data, "2", now, Lang::Zh).moment, Some(Moment::Here));
        assert_eq!(live(&data, "1", now, Lang::Zh).moment, None);
    }

    #[test]
    fn vendor_text_is_escaped_and_only_web_links_are_links() {
        let data = runs(RunState::Planned, vec![], T0 - 60 * MIN);
        let html = live(&data, "4", T0 - 60 * MIN, Lang::Zh).html;
        assert!(html.contains("老李&lt;菜摊&gt;"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("href=\"tel:03711234567\""), "{html}");
        assert!(html.contains("菜车还未出发，计划约 10:40 到达"), "{html}");
    }

    #[test]
    fn a_building_with_no_run_says_so() {
        let data = runs(RunState::Planned, vec![], T0);
        let html = live(&data, "9", T0, Lang::Zh).html;
        assert!(html.contains("今天没有菜车经过您楼"), "{html}");
    }

    #[test]
    fn the_page_holds_the_building_and_its_state_in_the_first_bytes() {
        let data = runs(RunState::Planned, vec![], T0);
        let now = live(&data, "4", T0, Lang::Zh);
        let html = page("c1", "4", Lang::Zh, First::Live(&now), "", "", "x()");
        assert!(html.contains("<html lang=\"zh-CN\">"));
        assert!(html.contains(">流动菜摊 · 4号楼</h1>"), "{html}");
        assert!(html.contains("菜车还未出发"));
        assert!(html.contains(&format!("data-t=\"{T0}\"")));
        assert!(html.contains("href=\"?lang=en\""));
        assert!(html.contains("<script>x()</script>"));

        let loading = page("c1", "1号楼", Lang::En, First::Loading, "", "", "x()");
        assert!(
            loading.contains(">Vegetable truck · Building 1</h1>"),
            "{loading}"
        );
        assert!(
            loading.contains("Fetching the truck&#39;s position…"),
            "{loading}"
        );
        assert!(!loading.contains("data-t="));

        let unknown = page("c1", "<b>", Lang::Zh, First::Unknown, "", "", "x()");
        assert!(unknown.contains("找不到这个小区"));
        assert!(
            !unknown.contains("<script>"),
            "no script on an unknown compound"
        );
        assert!(!unknown.contains("<b>"), "{unknown}");
    }
}
