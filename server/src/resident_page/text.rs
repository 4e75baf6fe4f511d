//! Every word the resident page shows, in Chinese (the default) and English,
//! in one table: the server renders them into the page and its live updates,
//! and the page's script gets the few it needs (offline age, alerts) from
//! the page itself, so no sentence is written twice.

/// The page's language: `?lang=en`, else Chinese.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// `?lang=` as given; anything but `en` is Chinese.
    pub fn from_query(tag: Option<&str>) -> Self {
        match tag {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of the page.
    pub fn html_tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Self {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

/// One sentence of the page; `{b}`, `{n}` and `{time}` are filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Text {
    AppName,
    Title,
    BuildingLabel,
    Loading,
    Unknown,
    None,
    NotStarted,
    Away,
    Next,
    Here,
    Passed,
    Skipped,
    Finished,
    Cancelled,
    Schedule,
    Stale,
    Offline,
    Updated,
    Vendor,
    Order,
    AlertsOn,
    AlertsEnabled,
    AlertNext,
    AlertHere,
    /// The link to the other language, written in that language.
    OtherLanguage,
    Stops,
}

impl Text {
    pub const ALL: [Text; 26] = [
        Text::AppName,
        Text::Title,
        Text::BuildingLabel,
        Text::Loading,
        Text::Unknown,
        Text::None,
        Text::NotStarted,
        Text::Away,
        Text::Next,
        Text::Here,
        Text::Passed,
        Text::Skipped,
        Text::Finished,
        Text::Cancelled,
        Text::Schedule,
        Text::Stale,
        Text::Offline,
        Text::Updated,
        Text::Vendor,
        Text::Order,
        Text::AlertsOn,
        Text::AlertsEnabled,
        Text::AlertNext,
        Text::AlertHere,
        Text::OtherLanguage,
        Text::Stops,
    ];

    pub fn get(self, lang: Lang) -> &'static str {
        let (zh, en) = self.both();
        match lang {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    fn both(self) -> (&'static str, &'static str) {
        match self {
            Text::AppName => ("敲门行动", "Doorstep"),
            Text::Title => ("流动菜摊 · {b}", "Vegetable truck · {b}"),
            Text::BuildingLabel => ("{b}号楼", "Building {b}"),
            Text::Loading => ("正在获取菜车位置…", "Fetching the truck's position…"),
            Text::Unknown => (
                "找不到这个小区。请再扫一次楼下海报上的二维码。",
                "This compound was not found. Scan the QR code on your building's poster again.",
            ),
            Text::None => (
                "今天没有菜车经过您楼",
                "No truck is coming to your building today",
            ),
            Text::NotStarted => (
                "菜车还未出发，计划约 {time} 到达",
                "The truck has not set out; planned at about {time}",
            ),
            Text::Away => (
                "还有{n}栋，约 {time} 到达",
                "{n} buildings away, about {time}",
            ),
            Text::Next => (
                "下一站就是您楼，约 {time} 到达",
                "Your building is next, about {time}",
            ),
            Text::Here => (
                "菜车已到达，停留至约 {time}",
                "The truck is here until about {time}",
            ),
            Text::Passed => ("菜车已经过您楼", "The truck has passed your building"),
            Text::Skipped => ("本次不停靠您楼", "No stop at your building this time"),
            Text::Finished => ("本次菜车已结束", "This run is over"),
            Text::Cancelled => ("本次菜车已取消", "This run is cancelled"),
            Text::Schedule => ("（按计划）", " (schedule)"),
            Text::Stale => (
                "已有 {n} 分钟没有收到菜车位置，时间仅供参考",
                "No update from the truck for {n} min: times are only a guide",
            ),
            Text::Offline => (
                "当前离线，显示的是 {n} 分钟前的信息",
                "Offline: showing information from {n} min ago",
            ),
            Text::Updated => ("更新于 {time}", "Updated at {time}"),
            Text::Vendor => ("商户", "Vendor"),
            Text::Order => ("在线订购", "Order online"),
            Text::AlertsOn => ("开启到站提醒", "Turn on arrival alerts"),
            Text::AlertsEnabled => (
                "提醒已开启：快到时会响铃并振动",
                "Alerts on: you will hear a sound and feel a vibration",
            ),
            Text::AlertNext => (
                "菜车下一站就到您楼",
                "The truck comes to your building next",
            ),
            Text::AlertHere => ("菜车已到您楼下", "The truck is at your building"),
            Text::OtherLanguage => ("English", "中文"),
            Text::Stops => ("菜车路线", "The truck's stops"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both languages say every sentence, with the same placeholders.
    #[test]
    fn every_text_in_both_languages_with_the_same_blanks() {
        for text in Text::ALL {
            let (zh, en) = text.both();
            assert!(!zh.trim().is_empty() && !en.trim().is_empty(), "{text:?}");
            for blank in ["{b}", "{n}", "{time}"] {
                assert_eq!(zh.contains(blank), en.contains(blank), "{text:?} {blank}");
            }
        }
    }

    #[test]
    fn only_en_picks_english() {
        assert_eq!(Lang::from_query(Some("en")), Lang::En);
        for tag in [None, Some("zh"), Some("fr"), Some("")] {
            assert_eq!(Lang::from_query(tag), Lang::Zh);
        }
    }
}
