//! The UI language: Chinese by default, English one tap away, remembered on
//! this device. Every visible string is a [`Key`] or [`Msg`] into
//! `locales/*.json`, or one of core's words for the schema's names and
//! vocabularies (`doorstep_core::labels`).

use doorstep_core::{
    labels,
    need::Status,
    schema::{Collection, Field, Vocabulary, visit},
    visit::Outcome,
};
use leptos::prelude::*;

use crate::device::settings;

include!(concat!(env!("OUT_DIR"), "/i18n_keys.rs"));

pub use doorstep_core::labels::Locale;

/// The app's texts in a language: plain ones by [`Key`], ones with
/// arguments by [`Msg`] (both generated from `locales/*.json`).
pub trait Texts {
    fn text(self, key: Key) -> &'static str;
    fn msg(self, msg: Msg) -> String;
}

impl Texts for Locale {
    fn text(self, key: Key) -> &'static str {
        match self {
            Locale::Zh => key.zh(),
            Locale::En => key.en(),
        }
    }

    fn msg(self, msg: Msg) -> String {
        match self {
            Locale::Zh => msg.zh(),
            Locale::En => msg.en(),
        }
    }
}

/// localStorage key of the preference (a UI setting, not data: no sync).
pub const STORAGE_KEY: &str = "doorstep.locale";

/// The reactive handle that components use, provided once by the shell.
#[derive(Clone, Copy)]
pub struct I18n {
    locale: RwSignal<Locale>,
}

impl I18n {
    pub fn locale(&self) -> Locale {
        self.locale.get()
    }

    /// The text of `key` in the current language; reactive.
    pub fn t(&self, key: Key) -> &'static str {
        self.locale.get().text(key)
    }

    /// A text with its arguments filled, in the current language; reactive.
    pub fn msg(&self, msg: Msg) -> String {
        self.locale.get().msg(msg)
    }

    /// A building's name as people read it ("1" and "1号楼" both read
    /// "1号楼"; core's one rule); reactive.
    pub fn building(&self, name: &str) -> String {
        let locale = self.locale.get();
        doorstep_core::building::building_label(name, |b| locale.msg(Msg::BuildingLabel { b: &b }))
    }

    /// A unit (单元) as people read it: "1" reads "1单元"; reactive.
    pub fn unit(&self, unit: &str) -> String {
        self.msg(Msg::UnitLabel { u: &unit })
    }

    /// A field's name as people read it (core's table); reactive.
    pub fn field(&self, field: Field) -> &'static str {
        labels::field(field.collection, field.name, self.locale.get())
    }

    /// A field named on the wire (an error's), as people read it: its
    /// name as written when the schema does not know it; reactive.
    pub fn field_named<'a>(&self, collection: Collection, name: &'a str) -> &'a str {
        labels::field(collection, name, self.locale.get())
    }

    /// A door's outcome ("已走访"), or "未走访" for a door not yet knocked;
    /// reactive.
    pub fn outcome(&self, outcome: Option<Outcome>) -> String {
        outcome
            .and_then(|o| {
                labels::choice(
                    Collection::Visit,
                    visit::OUTCOME.name,
                    o.word(),
                    self.locale.get(),
                )
            })
            .unwrap_or_else(|| self.t(Key::OutcomePending))
            .to_owned()
    }

    /// A need's state as its badge names it; reactive.
    pub fn status(&self, status: Option<Status>) -> &'static str {
        labels::status(status, self.locale.get())
    }

    /// One value of a fixed vocabulary as people read it (core's table),
    /// the stored word itself if the vocabulary lacks it; reactive.
    pub fn choice(&self, field: Field, value: &str) -> String {
        labels::choice(field.collection, field.name, value, self.locale.get())
            .map_or_else(|| value.to_owned(), str::to_owned)
    }

    pub fn toggle(&self) {
        let next = self.locale.get_untracked().other();
        self.locale.set(next);
        store_preference(next);
        apply_document_lang(next);
    }
}

/// Reads the stored preference and provides [`I18n`] to the component tree.
pub fn provide_i18n() -> I18n {
    let locale = stored_preference().unwrap_or_default();
    apply_document_lang(locale);
    let i18n = I18n {
        locale: RwSignal::new(locale),
    };
    provide_context(i18n);
    i18n
}

pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}

fn stored_preference() -> Option<Locale> {
    Locale::from_tag(&settings::text(STORAGE_KEY)?)
}

fn store_preference(locale: Locale) {
    settings::set_text(STORAGE_KEY, locale.tag());
}

fn apply_document_lang(locale: Locale) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", locale.tag());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_is_the_default() {
        assert_eq!(Locale::default(), Locale::Zh);
        assert_eq!(Locale::default().text(Key::AreaVisitsTitle), "走访");
    }

    #[test]
    fn tags_round_trip_and_unknown_tags_are_rejected() {
        for locale in [Locale::Zh, Locale::En] {
            assert_eq!(Locale::from_tag(locale.tag()), Some(locale));
            assert_eq!(locale.other().other(), locale);
            assert_ne!(locale.other(), locale);
        }
        assert_eq!(Locale::from_tag("fr"), None);
    }

    #[test]
    fn the_toggle_names_the_other_language_in_that_language() {
        assert_eq!(Locale::Zh.text(Key::LocaleToggle), "English");
        assert_eq!(Locale::En.text(Key::LocaleToggle), "中文");
    }

    #[test]
    fn every_chinese_string_is_actually_chinese() {
        for key in Key::ALL {
            if key == Key::LocaleToggle {
                continue;
            }
            let zh = key.zh();
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{key:?} has no Chinese: {zh}"
            );
        }
    }
}
