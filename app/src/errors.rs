//! Errors as people read them: each typed error from core (a checklist
//! rule, a need's lifecycle step, a field's range) and each code the server
//! answers with becomes a sentence in the person's language that says what
//! went wrong and what to do next. Core's English `Display` stays for logs.

use doorstep_core::{
    api::ErrorCode,
    home_visit::ResultError,
    labels,
    need::StepError,
    schema::{Collection, FieldType},
    visit::ChecklistRule,
};

use crate::{
    i18n::{Key, Locale, Msg, Texts},
    storage::StorageError,
};

pub fn checklist(rule: ChecklistRule) -> Key {
    match rule {
        ChecklistRule::ChooseOutcome => Key::ErrorCheckChooseOutcome,
        ChecklistRule::UnknownOutcome => Key::ErrorCheckUnknownOutcome,
        ChecklistRule::RevisitNeedsTime => Key::ErrorCheckRevisitTime,
        ChecklistRule::TemperatureRange => Key::ErrorCheckTemperatureRange,
        ChecklistRule::SwabNeedsTube => Key::ErrorCheckSwabTube,
        ChecklistRule::NeedsTest => Key::ErrorCheckNeedsTest,
        ChecklistRule::ListSymptoms => Key::ErrorCheckListSymptoms,
    }
}

pub fn home_visit(err: ResultError) -> Key {
    match err {
        ResultError::TestedNeedsTube => Key::HomeVisitsTubeNeeded,
    }
}

/// A read or write of this phone's storage that failed: that nothing was
/// saved, and what to do. The browser's own words go to the console.
pub fn storage(err: &StorageError) -> Key {
    match err {
        StorageError::Closed => Key::StorageClosed,
        StorageError::Full => Key::ErrorStorageFull,
        StorageError::Invalid { .. } => Key::ErrorStorageInvalid,
        StorageError::Refused(_) => Key::ErrorStorageRefused,
        StorageError::Unreadable(_) => Key::ErrorStorageUnreadable,
        StorageError::Browser(_) => Key::SaveFailed,
    }
}

pub fn step(locale: Locale, error: &StepError) -> String {
    match error {
        StepError::NotAllowed { from, to } => locale.msg(Msg::ErrorStepNotAllowed {
            from: &labels::status(*from, locale),
            to: &labels::status(Some(*to), locale),
        }),
        StepError::AssignNeedsTeamAndDue => locale.text(Key::ErrorStepAssign).to_owned(),
        StepError::ResolveNeedsNote => locale.text(Key::ErrorStepResolve).to_owned(),
        StepError::ReopenNeedsNote => locale.text(Key::ErrorStepReopen).to_owned(),
    }
}

/// What a field of `collection` takes, read from core's schema, for a value
/// the schema refused.
pub fn field(locale: Locale, collection: Collection, name: &str) -> String {
    let Some(spec) = collection.field(name) else {
        return locale.text(Key::ErrorFieldInvalid).to_owned();
    };
    match spec.ty {
        FieldType::Int { min, max } => locale.msg(Msg::ErrorFieldWholeNumber {
            min: &min,
            max: &max,
        }),
        FieldType::Decimal { min, max } => locale.msg(Msg::ErrorFieldNumber {
            min: &min,
            max: &max,
        }),
        FieldType::Text { max_chars } if spec.required => {
            locale.msg(Msg::ErrorFieldRequiredText { max: &max_chars })
        }
        FieldType::Text { max_chars } => locale.msg(Msg::ErrorFieldText { max: &max_chars }),
        FieldType::Choice(_) => locale.text(Key::ErrorFieldChoice).to_owned(),
        _ => locale.text(Key::ErrorFieldInvalid).to_owned(),
    }
}

/// Why the stall's new-run or reroute form could not save, by the field it
/// names (`state::truck`): its own fields say how to write them; the
/// truck's and run's schema fields say their range.
pub fn truck_form(locale: Locale, field: &str) -> String {
    match field {
        "buildings" | "stops" => locale.text(Key::ErrorTruckBuildings).to_owned(),
        "first_arrival" => locale.text(Key::ErrorTruckFirstArrival).to_owned(),
        "minutes_between" | "dwell_min" => locale.text(Key::ErrorTruckMinutes).to_owned(),
        name if Collection::Truck.field(name).is_some() => {
            self::field(locale, Collection::Truck, name)
        }
        name => self::field(locale, Collection::Run, name),
    }
}

/// A sync the server refused as a whole, by its error code.
pub fn sync_refused(code: ErrorCode) -> Key {
    match code {
        ErrorCode::Busy | ErrorCode::StoreUnavailable => Key::ErrorSyncBusy,
        ErrorCode::Forbidden => Key::ErrorSyncForbidden,
        ErrorCode::NotFound => Key::ErrorSyncNotFound,
        // The server speaks a newer sync format: this build must reload.
        ErrorCode::UnsupportedSchema => Key::ErrorSyncOutdated,
        _ => Key::ErrorSyncInvalid,
    }
}

/// One edit the server refused for good (`Refusal::code`).
pub fn refusal(code: ErrorCode) -> Key {
    match code {
        ErrorCode::Forbidden => Key::ErrorRefusalForbidden,
        ErrorCode::EntryExists => Key::ErrorRefusalEntryExists,
        // The record broke a checklist or lifecycle rule.
        ErrorCode::Invalid => Key::ErrorRefusalInvalid,
        ErrorCode::WrongCompound => Key::ErrorRefusalWrongCompound,
        _ => Key::ErrorRefusalOther,
    }
}

/// A request the server refused, by its status, when its code says
/// nothing more particular: what to do next, never the server's English.
pub fn server(status: u16) -> Key {
    match status {
        401 => Key::ErrorServerSignedOut,
        403 => Key::ErrorServerForbidden,
        404 => Key::ErrorServerMissing,
        413 => Key::ErrorServerTooLarge,
        _ => Key::ErrorServerFailed,
    }
}

#[cfg(test)]
mod tests {
    use doorstep_core::need::Status;

    use super::*;

    /// Two or more Latin words in a row: an English sentence.
    fn has_latin_sentence(text: &str) -> bool {
        text.split(|c: char| !(c.is_ascii_alphabetic() || c == ' ' || c == '\''))
            .any(|run| run.split_whitespace().filter(|w| w.len() > 1).count() >= 2)
    }

    fn every_message(locale: Locale) -> Vec<String> {
        use ChecklistRule::*;
        let mut all: Vec<String> = [
            ChooseOutcome,
            UnknownOutcome,
            RevisitNeedsTime,
            TemperatureRange,
            SwabNeedsTube,
            NeedsTest,
            ListSymptoms,
        ]
        .into_iter()
        .map(|rule| locale.text(checklist(rule)).to_owned())
        .collect();
        for from in std::iter::once(None).chain(Status::ALL.map(Some)) {
            for to in Status::ALL {
                all.push(step(locale, &StepError::NotAllowed { from, to }));
            }
        }
        for error in [
            StepError::AssignNeedsTeamAndDue,
            StepError::ResolveNeedsNote,
            StepError::ReopenNeedsNote,
        ] {
            all.push(step(locale, &error));
        }
        for collection in [
            Collection::Household,
            Collection::Person,
            Collection::Purchase,
        ] {
            for spec in collection.fields() {
                all.push(field(locale, collection, spec.name));
            }
        }
        for name in [
            "buildings",
            "first_arrival",
            "minutes_between",
            "dwell_min",
            "name",
            "vendor",
            "phone",
            "order_link",
            "date",
        ] {
            all.push(truck_form(locale, name));
        }
        for code in [
            ErrorCode::Busy,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::Invalid,
            ErrorCode::MidGap,
            ErrorCode::UnsupportedSchema,
        ] {
            all.push(locale.text(sync_refused(code)).to_owned());
            all.push(locale.text(refusal(code)).to_owned());
        }
        for status in [401, 403, 404, 413, 500, 503] {
            all.push(locale.text(server(status)).to_owned());
        }
        for err in [
            StorageError::Closed,
            StorageError::Full,
            StorageError::Invalid {
                field: "door".into(),
                message: "too long".into(),
            },
            StorageError::Refused("append-only".into()),
            StorageError::Unreadable("expected value".into()),
            StorageError::Browser("UnknownError: disk".into()),
        ] {
            all.push(locale.text(storage(&err)).to_owned());
        }
        all
    }

    #[test]
    fn core_errors_read_in_chinese_with_no_english_left() {
        for message in every_message(Locale::Zh) {
            assert!(!message.contains('{'), "{message}");
            assert!(!has_latin_sentence(&message), "{message}");
        }
        let swab = Locale::Zh.text(checklist(ChecklistRule::SwabNeedsTube));
        assert!(swab.contains("试管编号"), "{swab}");
        let closed = step(
            Locale::Zh,
            &StepError::NotAllowed {
                from: Some(Status::Collected),
                to: Status::Closed,
            },
        );
        assert!(
            closed.contains("已收集") && closed.contains("已销号"),
            "{closed}"
        );
        assert!(field(Locale::Zh, Collection::Household, "members").contains("整数"));
    }

    #[test]
    fn every_error_has_english_too() {
        for message in every_message(Locale::En) {
            assert!(!message.contains('{') && !message.is_empty(), "{message}");
        }
    }

    #[test]
    fn the_sentence_check_finds_english() {
        assert!(has_latin_sentence("请检查： a swab needs its tube number"));
        assert!(!has_latin_sentence("试管编号 A-17，体温 36.5 ℃"));
    }
}
