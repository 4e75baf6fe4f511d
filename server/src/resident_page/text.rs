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

/// One sentence of the page; `{b}`, `{n}`, `{time}` and `{field}` are
/// filled in.
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
    HelpSummary,
    HelpIntro,
    HelpUnit,
    HelpDoor,
    HelpWhat,
    HelpWords,
    HelpPhone,
    HelpName,
    HelpSend,
    HelpPrivacy,
    HelpClosed,
    HelpThrottled,
    HelpMissing,
    HelpTooLong,
    HelpBadPhone,
    HelpBadCategory,
    CategoryHomeTest,
    CategoryMedicine,
    CategoryFood,
    CategoryCare,
    CategoryMedicalVisit,
    CategoryOther,
    TicketTitle,
    TicketUpdated,
    TicketKeep,
    TicketOffline,
    TicketUnknown,
    StatusCollected,
    StatusCalledBack,
    StatusAssigned,
    StatusInProgress,
    StatusResolved,
    StatusClosed,
    StatusReopened,
}

impl Text {
    pub const ALL: [Text; 60] = [
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
        Text::HelpSummary,
        Text::HelpIntro,
        Text::HelpUnit,
        Text::HelpDoor,
        Text::HelpWhat,
        Text::HelpWords,
        Text::HelpPhone,
        Text::HelpName,
        Text::HelpSend,
        Text::HelpPrivacy,
        Text::HelpClosed,
        Text::HelpThrottled,
        Text::HelpMissing,
        Text::HelpTooLong,
        Text::HelpBadPhone,
        Text::HelpBadCategory,
        Text::CategoryHomeTest,
        Text::CategoryMedicine,
        Text::CategoryFood,
        Text::CategoryCare,
        Text::CategoryMedicalVisit,
        Text::CategoryOther,
        Text::TicketTitle,
        Text::TicketUpdated,
        Text::TicketKeep,
        Text::TicketOffline,
        Text::TicketUnknown,
        Text::StatusCollected,
        Text::StatusCalledBack,
        Text::StatusAssigned,
        Text::StatusInProgress,
        Text::StatusResolved,
        Text::StatusClosed,
        Text::StatusReopened,
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
            Text::HelpSummary => ("需要帮助？向社区求助", "Need help? Ask the community"),
            Text::HelpIntro => (
                "社区工作人员会打电话给您。急症请拨打 120。",
                "Community staff will call you back. In an emergency, call 120.",
            ),
            Text::HelpUnit => ("单元", "Unit"),
            Text::HelpDoor => ("门牌号", "Door"),
            Text::HelpWhat => ("需要什么帮助", "What you need"),
            Text::HelpWords => ("简单说明（选填）", "A few words (optional)"),
            Text::HelpPhone => ("回电号码", "Phone number to call you back"),
            Text::HelpName => ("称呼（选填）", "Your name (optional)"),
            Text::HelpSend => ("提交求助", "Send"),
            Text::HelpPrivacy => (
                "您的电话和称呼只给社区工作人员看，不会显示在本页。",
                "Only community staff see your phone and name; this page never shows them.",
            ),
            Text::HelpClosed => (
                "本小区暂未开通网上求助，请拨打社区电话。",
                "This compound does not take requests here yet; please call the community office.",
            ),
            Text::HelpThrottled => (
                "提交太频繁，请 {n} 分钟后再试，或拨打社区电话。",
                "Too many requests; try again in {n} min, or call the community office.",
            ),
            Text::HelpMissing => ("请填写：{field}", "Please fill in: {field}"),
            Text::HelpTooLong => ("太长了：{field}", "Too long: {field}"),
            Text::HelpBadPhone => (
                "请填写能打通的电话号码",
                "Please give a phone number we can call",
            ),
            Text::HelpBadCategory => ("请选择需要什么帮助", "Please choose what you need"),
            Text::CategoryHomeTest => ("上门核酸检测", "Home test"),
            Text::CategoryMedicine => ("买药", "Medicine"),
            Text::CategoryFood => ("食品和生活用品", "Food and daily goods"),
            Text::CategoryCare => ("老人或残疾人照护", "Elderly or disabled care"),
            Text::CategoryMedicalVisit => ("就医", "Medical visit"),
            Text::CategoryOther => ("其他", "Other"),
            Text::TicketTitle => ("求助进度", "Your request"),
            Text::TicketUpdated => ("最后更新 {time}", "Last update {time}"),
            Text::TicketKeep => (
                "请收藏本页链接，随时查看进度。",
                "Bookmark this page to check on your request.",
            ),
            Text::TicketOffline => (
                "当前离线，显示的是上次的进度",
                "Offline: showing the last known status",
            ),
            Text::TicketUnknown => (
                "找不到这个求助。请检查链接是否完整。",
                "This request was not found. Check that the link is complete.",
            ),
            Text::StatusCollected => (
                "已收到，等待社区回电",
                "Received; the community will call you",
            ),
            Text::StatusCalledBack => ("社区已回电", "The community has called you"),
            Text::StatusAssigned => ("已安排专人处理", "Someone is assigned to help"),
            Text::StatusInProgress => ("正在处理", "Being handled"),
            Text::StatusResolved => ("已解决", "Resolved"),
            Text::StatusClosed => ("已办结", "Closed"),
            Text::StatusReopened => ("已重新处理", "Reopened"),
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
            for blank in ["{b}", "{n}", "{time}", "{field}"] {
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
