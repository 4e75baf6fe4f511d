//! The door-knock checklist (一测二问三看): one test (a swab or a
//! temperature), two questions (health, medical needs), three looks (warm
//! clothes, warm bedding, food), and the door's outcome.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::record::Record;

pub const OUTCOMES: &[&str] = &["visited", "no_answer", "refused", "revisit"];
pub const HEALTH: &[&str] = &["normal", "symptoms"];
/// 关爱服务台账 groups.
pub const CARE_GROUPS: &[&str] = &["elderly_alone", "disabled", "chronic", "pregnant", "child"];
/// 重点人员台账 statuses (restricted fields).
pub const KEY_STATUSES: &[&str] = &["confirmed", "central_quarantine", "home_isolation"];
/// The descriptions a checklist writes on the needs it raises
/// ([`Checklist::needs`]); `labels::description` words them.
pub const RAISED: &[&str] = &["needs_doctor", "clothes", "bedding", "food"];
/// From this temperature on, a visit is flagged as fever.
pub const FEVER_C: f64 = 37.3;

/// What a volunteer records at one door. Serializable so the phone can keep
/// an unsaved one as a draft.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Checklist {
    pub outcome: Option<String>,
    pub revisit_at_ms: Option<u64>,
    pub swab: Option<bool>,
    pub tube_no: String,
    pub temperature_c: Option<f64>,
    pub health: Option<String>,
    pub symptoms: String,
    pub medical_needs: String,
    pub needs_doctor: bool,
    pub clothes_ok: Option<bool>,
    pub bedding_ok: Option<bool>,
    pub food_ok: Option<bool>,
}

/// The checklist field to fix, and the rule it breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChecklistError {
    pub field: &'static str,
    pub rule: ChecklistRule,
}

/// Each rule a checklist can break, so screens can say it in the
/// volunteer's language; `Display` is the English for logs and the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecklistRule {
    ChooseOutcome,
    UnknownOutcome,
    RevisitNeedsTime,
    TemperatureRange,
    SwabNeedsTube,
    NeedsTest,
    ListSymptoms,
}

impl ChecklistRule {
    pub fn message(self) -> &'static str {
        match self {
            ChecklistRule::ChooseOutcome => "choose the door's outcome",
            ChecklistRule::UnknownOutcome => "unknown outcome",
            ChecklistRule::RevisitNeedsTime => "a revisit needs a time",
            ChecklistRule::TemperatureRange => "temperature must be 35.0–42.0 °C",
            ChecklistRule::SwabNeedsTube => "a swab needs its tube number",
            ChecklistRule::NeedsTest => "record a swab or a temperature",
            ChecklistRule::ListSymptoms => "list the symptoms",
        }
    }
}

impl std::fmt::Display for ChecklistError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.rule.message())
    }
}

impl Checklist {
    /// The checklist a visit record holds (unset answers stay unset).
    pub fn of(visit: &Record) -> Self {
        let text = |f: &str| visit.value(f).and_then(Value::as_str).map(str::to_owned);
        let flag = |f: &str| visit.value(f).and_then(Value::as_bool);
        Checklist {
            outcome: text("outcome"),
            revisit_at_ms: visit.value("revisit_at_ms").and_then(Value::as_u64),
            swab: flag("swab"),
            tube_no: text("tube_no").unwrap_or_default(),
            temperature_c: visit.value("temperature_c").and_then(Value::as_f64),
            health: text("health"),
            symptoms: text("symptoms").unwrap_or_default(),
            medical_needs: text("medical_needs").unwrap_or_default(),
            needs_doctor: flag("needs_doctor").unwrap_or(false),
            clothes_ok: flag("clothes_ok"),
            bedding_ok: flag("bedding_ok"),
            food_ok: flag("food_ok"),
        }
    }

    pub fn check(&self) -> Result<(), ChecklistError> {
        use ChecklistRule::*;
        let fail = |field, rule| Err(ChecklistError { field, rule });
        let Some(outcome) = self.outcome.as_deref() else {
            return fail("outcome", ChooseOutcome);
        };
        if !OUTCOMES.contains(&outcome) {
            return fail("outcome", UnknownOutcome);
        }
        if outcome == "revisit" && self.revisit_at_ms.is_none() {
            return fail("revisit_at_ms", RevisitNeedsTime);
        }
        if let Some(t) = self.temperature_c
            && !(35.0..=42.0).contains(&t)
        {
            return fail("temperature_c", TemperatureRange);
        }
        if self.swab == Some(true) && self.tube_no.trim().is_empty() {
            return fail("tube_no", SwabNeedsTube);
        }
        if outcome == "visited" {
            if self.swab != Some(true) && self.temperature_c.is_none() {
                return fail("temperature_c", NeedsTest);
            }
            if self.health.as_deref() == Some("symptoms") && self.symptoms.trim().is_empty() {
                return fail("symptoms", ListSymptoms);
            }
        }
        Ok(())
    }

    pub fn has_fever(&self) -> bool {
        self.temperature_c.is_some_and(|t| t >= FEVER_C)
    }

    /// The needs this visit raises: a doctor, and every look that was not ok.
    pub fn needs(&self) -> Vec<(&'static str, &'static str)> {
        let mut needs = Vec::new();
        if self.needs_doctor {
            needs.push(("medical_visit", "needs_doctor"));
        }
        for (ok, category, what) in [
            (self.clothes_ok, "other", "clothes"),
            (self.bedding_ok, "other", "bedding"),
            (self.food_ok, "food", "food"),
        ] {
            if ok == Some(false) {
                needs.push((category, what));
            }
        }
        needs
    }

    /// The visit record's fields (unset answers are left out).
    pub fn fields(&self, visited_at_ms: u64) -> BTreeMap<String, Value> {
        let mut fields = BTreeMap::new();
        let mut put = |name: &str, value: Value| {
            fields.insert(name.to_owned(), value);
        };
        put("visited_at_ms", json!(visited_at_ms));
        if let Some(outcome) = &self.outcome {
            put("outcome", json!(outcome));
        }
        if let Some(at) = self.revisit_at_ms {
            put("revisit_at_ms", json!(at));
        }
        if let Some(swab) = self.swab {
            put("swab", json!(swab));
        }
        if !self.tube_no.trim().is_empty() {
            put("tube_no", json!(self.tube_no.trim()));
        }
        if let Some(t) = self.temperature_c {
            put("temperature_c", json!(t));
        }
        if let Some(health) = &self.health {
            put("health", json!(health));
        }
        for (name, text) in [
            ("symptoms", &self.symptoms),
            ("medical_needs", &self.medical_needs),
        ] {
            if !text.trim().is_empty() {
                put(name, json!(text.trim()));
            }
        }
        put("needs_doctor", json!(self.needs_doctor));
        for (name, look) in [
            ("clothes_ok", self.clothes_ok),
            ("bedding_ok", self.bedding_ok),
            ("food_ok", self.food_ok),
        ] {
            if let Some(ok) = look {
                put(name, json!(ok));
            }
        }
        fields
    }
}

/// Where a door stands in a round. Only `Visited` counts as 已走访; a door
/// nobody answered, or that asked to be visited later, stays on the list
/// of doors to go back to until a later visit answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoorState {
    /// No visit recorded this round.
    Pending,
    Visited,
    NoAnswer,
    Refused,
    /// Come back at `at_ms`, when the household gave a time.
    Revisit {
        at_ms: Option<u64>,
    },
}

impl DoorState {
    /// From the stored visit's `outcome` and `revisit_at_ms`.
    pub fn of(outcome: Option<&str>, revisit_at_ms: Option<u64>) -> Self {
        match outcome {
            None => DoorState::Pending,
            Some("visited") => DoorState::Visited,
            Some("no_answer") => DoorState::NoAnswer,
            Some("refused") => DoorState::Refused,
            Some("revisit") => DoorState::Revisit {
                at_ms: revisit_at_ms,
            },
            // A word this build does not know: not done, so not lost.
            Some(_) => DoorState::Pending,
        }
    }

    /// The stored outcome word (`pending` when there is none).
    pub fn word(self) -> &'static str {
        match self {
            DoorState::Pending => "pending",
            DoorState::Visited => "visited",
            DoorState::NoAnswer => "no_answer",
            DoorState::Refused => "refused",
            DoorState::Revisit { .. } => "revisit",
        }
    }

    /// The team has to go back: nobody answered, or a revisit was agreed.
    pub fn to_go_back(self) -> bool {
        matches!(self, DoorState::NoAnswer | DoorState::Revisit { .. })
    }

    /// A revisit whose time has come (or that has no time).
    pub fn revisit_due(self, now_ms: u64) -> bool {
        matches!(self, DoorState::Revisit { at_ms } if at_ms.is_none_or(|at| at <= now_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visited() -> Checklist {
        Checklist {
            outcome: Some("visited".into()),
            temperature_c: Some(36.5),
            health: Some("normal".into()),
            ..Default::default()
        }
    }

    /// Data-driven: a change to a good checklist, and the field it breaks.
    #[test]
    fn checklist_validation_table() {
        let cases: Vec<(&str, Checklist, Option<&str>)> = vec![
            ("good", visited(), None),
            (
                "35.0 is the lowest valid",
                Checklist {
                    temperature_c: Some(35.0),
                    ..visited()
                },
                None,
            ),
            (
                "42.0 is the highest valid",
                Checklist {
                    temperature_c: Some(42.0),
                    ..visited()
                },
                None,
            ),
            (
                "34.9 is too low",
                Checklist {
                    temperature_c: Some(34.9),
                    ..visited()
                },
                Some("temperature_c"),
            ),
            (
                "42.1 is too high",
                Checklist {
                    temperature_c: Some(42.1),
                    ..visited()
                },
                Some("temperature_c"),
            ),
            (
                "no test at all",
                Checklist {
                    temperature_c: None,
                    ..visited()
                },
                Some("temperature_c"),
            ),
            (
                "a swab is a test",
                Checklist {
                    temperature_c: None,
                    swab: Some(true),
                    tube_no: "A-17".into(),
                    ..visited()
                },
                None,
            ),
            (
                "a swab needs its tube",
                Checklist {
                    swab: Some(true),
                    ..visited()
                },
                Some("tube_no"),
            ),
            (
                "symptoms need listing",
                Checklist {
                    health: Some("symptoms".into()),
                    ..visited()
                },
                Some("symptoms"),
            ),
            (
                "no outcome",
                Checklist {
                    outcome: None,
                    ..visited()
                },
                Some("outcome"),
            ),
            (
                "no answer needs no test",
                Checklist {
                    outcome: Some("no_answer".into()),
                    temperature_c: None,
                    ..Default::default()
                },
                None,
            ),
            (
                "revisit needs a time",
                Checklist {
                    outcome: Some("revisit".into()),
                    ..Default::default()
                },
                Some("revisit_at_ms"),
            ),
        ];
        for (name, checklist, field) in cases {
            let err = checklist.check().err();
            assert_eq!(err.as_ref().map(|e| e.field), field, "{name}");
            assert!(err.is_none_or(|e| !e.to_string().is_empty()), "{name}");
        }
    }

    #[test]
    fn only_an_answered_door_is_visited_and_no_answer_or_revisit_is_gone_back_to() {
        // (outcome, revisit time, state, go back, revisit due at 100)
        let cases = [
            (None, None, DoorState::Pending, false, false),
            (Some("visited"), None, DoorState::Visited, false, false),
            (Some("no_answer"), None, DoorState::NoAnswer, true, false),
            (Some("refused"), None, DoorState::Refused, false, false),
            (
                Some("revisit"),
                Some(50),
                DoorState::Revisit { at_ms: Some(50) },
                true,
                true,
            ),
            (
                Some("revisit"),
                Some(500),
                DoorState::Revisit { at_ms: Some(500) },
                true,
                false,
            ),
            (Some("later"), None, DoorState::Pending, false, false),
        ];
        for (outcome, at, state, back, due) in cases {
            let got = DoorState::of(outcome, at);
            assert_eq!(got, state, "{outcome:?}");
            assert_eq!(got.to_go_back(), back, "{outcome:?}");
            assert_eq!(got.revisit_due(100), due, "{outcome:?} {at:?}");
            if let Some(word) = outcome.filter(|w| OUTCOMES.contains(w)) {
                assert_eq!(got.word(), word);
            }
        }
    }

    #[test]
    fn fever_starts_at_37_3() {
        for (t, fever) in [(37.2, false), (37.3, true), (39.0, true)] {
            assert_eq!(
                Checklist {
                    temperature_c: Some(t),
                    ..visited()
                }
                .has_fever(),
                fever,
                "{t}"
            );
        }
        assert!(!Checklist::default().has_fever());
    }

    #[test]
    fn not_ok_looks_and_a_doctor_raise_needs() {
        let checklist = Checklist {
            needs_doctor: true,
            food_ok: Some(false),
            clothes_ok: Some(true),
            bedding_ok: Some(false),
            ..visited()
        };
        assert_eq!(
            checklist.needs(),
            [
                ("medical_visit", "needs_doctor"),
                ("other", "bedding"),
                ("food", "food")
            ]
        );
        assert!(visited().needs().is_empty());
    }

    #[test]
    fn fields_are_valid_visit_fields() {
        let checklist = Checklist {
            swab: Some(true),
            tube_no: "A-17".into(),
            food_ok: Some(false),
            ..visited()
        };
        for (name, value) in checklist.fields(1) {
            let spec = crate::schema::Collection::Visit
                .field(&name)
                .unwrap_or_else(|| panic!("{name}"));
            assert!(spec.check(&value).is_ok(), "{name} = {value}");
        }
    }
}
