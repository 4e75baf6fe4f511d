//! The door-knock checklist (一测二问三看): one test (a swab or a
//! temperature), two questions (health, medical needs), three looks (warm
//! clothes, warm bedding, food), and the door's outcome.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    ids::RecordId,
    need::Category,
    record::Record,
    schema::{Field, Vocabulary, visit, vocabulary},
};

vocabulary! {
    /// What happened at a door.
    pub enum Outcome {
        Visited = "visited",
        NoAnswer = "no_answer",
        Refused = "refused",
        Revisit = "revisit",
    }
}

vocabulary! {
    /// The health question's answer.
    pub enum Health {
        Normal = "normal",
        Symptoms = "symptoms",
    }
}

vocabulary! {
    /// 关爱服务台账 groups.
    pub enum CareGroup {
        ElderlyAlone = "elderly_alone",
        Disabled = "disabled",
        Chronic = "chronic",
        Pregnant = "pregnant",
        Child = "child",
    }
}

vocabulary! {
    /// 重点人员台账 statuses (restricted fields).
    pub enum KeyStatus {
        Confirmed = "confirmed",
        CentralQuarantine = "central_quarantine",
        HomeIsolation = "home_isolation",
    }
}

/// The descriptions a checklist writes on the needs it raises
/// ([`Checklist::needs`]); `labels::description` words them.
pub const RAISED: &[&str] = &["needs_doctor", "clothes", "bedding", "food"];
/// From this temperature on, a visit is flagged as fever.
pub const FEVER_C: f64 = 37.3;

/// One visit per household per round: revisiting edits the same record.
/// Round and team ids are kept short so this stays within 64 characters.
pub fn visit_id(round: &RecordId, household: &RecordId) -> RecordId {
    format!("v-{round}-{household}")
        .parse()
        .expect("ids of ids stay within 64 characters")
}

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
    pub field: Field,
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
    pub fn of(record: &Record) -> Self {
        let text = |f| record.text(f).map(str::to_owned);
        Checklist {
            outcome: text(visit::OUTCOME),
            revisit_at_ms: record.ms(visit::REVISIT_AT_MS),
            swab: record.flag(visit::SWAB),
            tube_no: text(visit::TUBE_NO).unwrap_or_default(),
            temperature_c: record.decimal(visit::TEMPERATURE_C),
            health: text(visit::HEALTH),
            symptoms: text(visit::SYMPTOMS).unwrap_or_default(),
            medical_needs: text(visit::MEDICAL_NEEDS).unwrap_or_default(),
            needs_doctor: record.flag(visit::NEEDS_DOCTOR).unwrap_or(false),
            clothes_ok: record.flag(visit::CLOTHES_OK),
            bedding_ok: record.flag(visit::BEDDING_OK),
            food_ok: record.flag(visit::FOOD_OK),
        }
    }

    pub fn check(&self) -> Result<(), ChecklistError> {
        use ChecklistRule::*;
        let fail = |field, rule| Err(ChecklistError { field, rule });
        let Some(outcome) = self.outcome.as_deref() else {
            return fail(visit::OUTCOME, ChooseOutcome);
        };
        let Some(outcome) = Outcome::from_word(outcome) else {
            return fail(visit::OUTCOME, UnknownOutcome);
        };
        if outcome == Outcome::Revisit && self.revisit_at_ms.is_none() {
            return fail(visit::REVISIT_AT_MS, RevisitNeedsTime);
        }
        if let Some(t) = self.temperature_c
            && !(35.0..=42.0).contains(&t)
        {
            return fail(visit::TEMPERATURE_C, TemperatureRange);
        }
        if self.swab == Some(true) && self.tube_no.trim().is_empty() {
            return fail(visit::TUBE_NO, SwabNeedsTube);
        }
        if outcome == Outcome::Visited {
            if self.swab != Some(true) && self.temperature_c.is_none() {
                return fail(visit::TEMPERATURE_C, NeedsTest);
            }
            if self.health.as_deref() == Some(Health::Symptoms.word())
                && self.symptoms.trim().is_empty()
            {
                return fail(visit::SYMPTOMS, ListSymptoms);
            }
        }
        Ok(())
    }

    pub fn has_fever(&self) -> bool {
        self.temperature_c.is_some_and(|t| t >= FEVER_C)
    }

    /// The needs this visit raises: a doctor, and every look that was not ok.
    pub fn needs(&self) -> Vec<(Category, &'static str)> {
        let mut needs = Vec::new();
        if self.needs_doctor {
            needs.push((Category::MedicalVisit, "needs_doctor"));
        }
        for (ok, category, what) in [
            (self.clothes_ok, Category::Other, "clothes"),
            (self.bedding_ok, Category::Other, "bedding"),
            (self.food_ok, Category::Food, "food"),
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
        let mut put = |field: Field, value: Value| {
            fields.insert(field.into(), value);
        };
        put(visit::VISITED_AT_MS, json!(visited_at_ms));
        if let Some(outcome) = &self.outcome {
            put(visit::OUTCOME, json!(outcome));
        }
        if let Some(at) = self.revisit_at_ms {
            put(visit::REVISIT_AT_MS, json!(at));
        }
        if let Some(swab) = self.swab {
            put(visit::SWAB, json!(swab));
        }
        if !self.tube_no.trim().is_empty() {
            put(visit::TUBE_NO, json!(self.tube_no.trim()));
        }
        if let Some(t) = self.temperature_c {
            put(visit::TEMPERATURE_C, json!(t));
        }
        if let Some(health) = &self.health {
            put(visit::HEALTH, json!(health));
        }
        for (name, text) in [
            (visit::SYMPTOMS, &self.symptoms),
            (visit::MEDICAL_NEEDS, &self.medical_needs),
        ] {
            if !text.trim().is_empty() {
                put(name, json!(text.trim()));
            }
        }
        put(visit::NEEDS_DOCTOR, json!(self.needs_doctor));
        for (name, look) in [
            (visit::CLOTHES_OK, self.clothes_ok),
            (visit::BEDDING_OK, self.bedding_ok),
            (visit::FOOD_OK, self.food_ok),
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
    /// From a visit's `outcome` and `revisit_at_ms`; a word this build
    /// does not know reads as pending: not done, so not lost.
    pub fn of(outcome: Option<Outcome>, revisit_at_ms: Option<u64>) -> Self {
        match outcome {
            None => DoorState::Pending,
            Some(Outcome::Visited) => DoorState::Visited,
            Some(Outcome::NoAnswer) => DoorState::NoAnswer,
            Some(Outcome::Refused) => DoorState::Refused,
            Some(Outcome::Revisit) => DoorState::Revisit {
                at_ms: revisit_at_ms,
            },
        }
    }

    /// Where the door of this round's visit (if any) stands.
    pub fn of_visit(record: Option<&Record>) -> Self {
        let Some(v) = record else {
            return DoorState::Pending;
        };
        Self::of(v.choice(visit::OUTCOME), v.ms(visit::REVISIT_AT_MS))
    }

    /// The stored outcome, if any.
    pub fn outcome(self) -> Option<Outcome> {
        match self {
            DoorState::Pending => None,
            DoorState::Visited => Some(Outcome::Visited),
            DoorState::NoAnswer => Some(Outcome::NoAnswer),
            DoorState::Refused => Some(Outcome::Refused),
            DoorState::Revisit { .. } => Some(Outcome::Revisit),
        }
    }

    /// The stored outcome word (`pending` when there is none).
    pub fn word(self) -> &'static str {
        self.outcome().map_or("pending", Outcome::word)
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
            assert_eq!(err.as_ref().map(|e| e.field.name), field, "{name}");
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
            let got = DoorState::of(outcome.and_then(Outcome::from_word), at);
            assert_eq!(got, state, "{outcome:?}");
            assert_eq!(got.to_go_back(), back, "{outcome:?}");
            assert_eq!(got.revisit_due(100), due, "{outcome:?} {at:?}");
            if let Some(word) = outcome.filter(|w| Outcome::WORDS.contains(w)) {
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
                (Category::MedicalVisit, "needs_doctor"),
                (Category::Other, "bedding"),
                (Category::Food, "food")
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
