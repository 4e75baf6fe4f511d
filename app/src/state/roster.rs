//! The roster upload page's words: a dry run's typed problems, skipped
//! rows, columns and file errors in the user's language, each saying what
//! to do; and a household as one line of normalised values.

use std::collections::BTreeMap;

use doorstep_core::roster::{ColumnUse, RosterProblem, SkipReason};
use serde_json::Value;

use doorstep_core::{
    api::ErrorCode,
    labels,
    schema::{Collection, Field, household, person},
};

use crate::i18n::{Key, Locale, Texts};

/// A household field's label ("门牌号"), or the field's name.
pub fn field_label(locale: Locale, field: &str) -> String {
    labels::field(Collection::Household, field, locale).to_owned()
}

pub fn problem_text(locale: Locale, problem: &RosterProblem) -> String {
    let t = |key| locale.text(key);
    match problem {
        RosterProblem::MissingDoor => t(Key::RosterProblemMissingDoor).to_owned(),
        RosterProblem::DuplicateDoor { door } => {
            format!("{} {door}", t(Key::RosterProblemDuplicateDoor))
        }
        RosterProblem::NotANumber { field, text } => format!(
            "{}“{text}”{}",
            field_label(locale, field),
            t(Key::RosterProblemNotANumber)
        ),
        RosterProblem::OutOfRange {
            field,
            value,
            min,
            max,
        } => format!(
            "{} {value}: {} {min}–{max}",
            field_label(locale, field),
            t(Key::RosterProblemOutOfRange)
        ),
        RosterProblem::TooLong { field, chars, max } => format!(
            "{} ({chars}): {} {max}",
            field_label(locale, field),
            t(Key::RosterProblemTooLong)
        ),
        RosterProblem::FormulaLike { field, text } => format!(
            "{}“{text}”{}",
            field_label(locale, field),
            t(Key::RosterProblemFormula)
        ),
    }
}

pub fn skip_key(reason: SkipReason) -> Key {
    match reason {
        SkipReason::Title => Key::RosterSkipTitle,
        SkipReason::Blank => Key::RosterSkipBlank,
        SkipReason::Note => Key::RosterSkipNote,
        SkipReason::Total => Key::RosterSkipTotal,
        SkipReason::Signature => Key::RosterSkipSignature,
        SkipReason::Header => Key::RosterSkipHeader,
    }
}

/// What the page says about a column: "户主姓名 → 户主".
pub fn column_text(locale: Locale, header: &str, used_as: &ColumnUse) -> String {
    let what = match used_as {
        ColumnUse::Field(field) => field_label(locale, field),
        ColumnUse::Care(care) => format!(
            "{}{}",
            locale.text(Key::RosterColumnCare),
            labels::choice(Collection::Person, person::CARE.name, care, locale).unwrap_or(care)
        ),
        ColumnUse::IdNumber => locale.text(Key::RosterColumnId).to_owned(),
        ColumnUse::Index => locale.text(Key::RosterColumnIndex).to_owned(),
        ColumnUse::Ignored => locale.text(Key::RosterColumnIgnored).to_owned(),
    };
    format!("{header} → {what}")
}

/// An API error code of the roster upload, in the user's language.
pub fn file_error_key(code: ErrorCode, status: u16) -> Key {
    match code {
        ErrorCode::RosterEmpty => Key::RosterFileEmpty,
        ErrorCode::RosterNoDoorColumn => Key::RosterFileNoDoor,
        ErrorCode::RosterNoHeader => Key::RosterFileNoHeader,
        ErrorCode::RosterWpsEt => Key::RosterFileEt,
        ErrorCode::RosterUnreadable => Key::RosterFileUnreadable,
        ErrorCode::BadRows => Key::RosterFileBadRows,
        ErrorCode::Invalid => Key::RosterFileMapping,
        _ => crate::errors::server(status),
    }
}

/// A household's normalised values on one line: "3-1-301 王芳 13800000001 3".
pub fn row_text(fields: &BTreeMap<String, Value>) -> String {
    let text = |field: Field| match field.of(fields) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let address = [household::BUILDING, household::UNIT, household::DOOR]
        .map(text)
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    std::iter::once(address)
        .chain(
            [
                household::HEAD,
                household::PHONE,
                household::MEMBERS,
                household::NOTES,
            ]
            .map(text),
        )
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn problems_are_worded_in_both_languages_with_what_to_do() {
        let formula = RosterProblem::FormulaLike {
            field: "head".into(),
            text: "=1+1".into(),
        };
        assert_eq!(
            problem_text(Locale::Zh, &formula),
            format!("户主“=1+1”{}", Key::RosterProblemFormula.zh())
        );
        assert!(problem_text(Locale::En, &formula).starts_with("Head"));
        let number = RosterProblem::NotANumber {
            field: "members".into(),
            text: "三".into(),
        };
        assert!(problem_text(Locale::Zh, &number).starts_with("人数“三”"));
        for code in [
            ErrorCode::RosterEmpty,
            ErrorCode::RosterNoDoorColumn,
            ErrorCode::RosterNoHeader,
            ErrorCode::RosterWpsEt,
            ErrorCode::RosterUnreadable,
            ErrorCode::BadRows,
        ] {
            assert_ne!(file_error_key(code, 422), Key::ErrorServerFailed, "{code}");
        }
        assert_eq!(file_error_key(ErrorCode::Busy, 503), Key::ErrorServerFailed);
        assert_eq!(
            file_error_key(ErrorCode::BodyRejected, 413),
            Key::ErrorServerTooLarge
        );
    }

    #[test]
    fn columns_and_rows_read_as_the_page_shows_them() {
        assert_eq!(
            column_text(Locale::Zh, "户主姓名", &ColumnUse::Field("head".into())),
            "户主姓名 → 户主"
        );
        assert!(
            column_text(
                Locale::Zh,
                "是否独居老人",
                &ColumnUse::Care("elderly_alone".into())
            )
            .contains("独居")
        );
        let fields = serde_json::from_value(json!({
            "building": "3", "unit": "1", "door": "301", "head": "王芳", "members": 3
        }))
        .unwrap();
        assert_eq!(row_text(&fields), "3-1-301 · 王芳 · 3");
    }
}
