//! Which collections exist, whether their records change or only accumulate,
//! and what each field may hold. One table, checked on the phone before an
//! edit enters the outbox and again on the server before it is stored.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Collection {
    /// 户: one household in the registry.
    Household,
    /// 代购: one purchase made on a household's behalf.
    Purchase,
    /// 菜车: a vegetable truck and its vendor's contact.
    Truck,
    /// 车次: one truck's visit to a compound on a date, with its stops.
    Run,
    /// 到站记录: a staff tap at a stop (arrived, left, skipped, or undo).
    StopEvent,
    /// 走访记录: one door-knock (一测二问三看) at a household in a round.
    Visit,
    /// 困难问题: a need found at a door; its state comes from its events.
    Need,
    /// 困难问题台账 entry: one step of a need's lifecycle.
    NeedEvent,
    /// 住户成员: a person on the care or key-persons ledger.
    Person,
    /// 工作队: a door-knock team, usually two volunteers.
    Team,
    /// 轮次: one pass over the compound, e.g. a full-coverage round.
    Round,
    /// 代购结清: a purchase on a household's behalf was paid back.
    Settlement,
    /// 分工: which team covers a building, or one unit of it, in a round.
    Assignment,
    /// 上门专班派单: a household on a round's home-visit list, sent to a
    /// home-visit team, with what the team found at the door.
    HomeVisit,
}

/// How a collection's records evolve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    /// Fields are edited; last writer wins per field; deletes are tombstones.
    Mutable,
    /// Ledger entries: written once, never edited; totals are derived from them.
    AppendOnly,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldType {
    Text {
        max_chars: usize,
    },
    Int {
        min: i64,
        max: i64,
    },
    /// The id of a record in another collection.
    Ref(Collection),
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
    /// A run's ordered stops (`[{building, planned_ms, dwell_min}]`).
    Stops,
    Bool,
    /// A number with decimals, e.g. a temperature in °C.
    Decimal {
        min: f64,
        max: f64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub ty: FieldType,
    /// An append-only entry must carry it. Mutable fields may always be cleared.
    pub required: bool,
    /// Sensitive (key-persons ledger): only roles granted access may read it.
    pub restricted: bool,
    /// A coordinator's decision (e.g. marking a request spam): other roles
    /// read it but may not set it.
    pub coordinator_only: bool,
}

const fn field(name: &'static str, ty: FieldType, required: bool) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        required,
        restricted: false,
        coordinator_only: false,
    }
}

const fn restricted(name: &'static str, ty: FieldType) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        required: false,
        restricted: true,
        coordinator_only: false,
    }
}

const fn coordinator_only(name: &'static str, ty: FieldType) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        required: false,
        restricted: false,
        coordinator_only: true,
    }
}

const fn text(max_chars: usize) -> FieldType {
    FieldType::Text { max_chars }
}

const HOUSEHOLD: &[FieldSpec] = &[
    field("building", text(32), false),
    field("unit", text(16), false),
    field("door", text(16), false),
    field("head", text(64), false),
    field("phone", text(32), false),
    field("members", FieldType::Int { min: 0, max: 99 }, false),
    field("notes", text(2000), false),
];

const PURCHASE: &[FieldSpec] = &[
    field("household", FieldType::Ref(Collection::Household), true),
    field("items", text(500), true),
    field(
        "amount_cents",
        FieldType::Int {
            min: 0,
            max: 100_000_000,
        },
        true,
    ),
];

const TRUCK: &[FieldSpec] = &[
    field("name", text(32), false),
    field("vendor", text(64), false),
    field("phone", text(32), false),
    field("order_link", text(500), false),
];

const RUN: &[FieldSpec] = &[
    field("truck", FieldType::Ref(Collection::Truck), false),
    field("date", text(10), false),
    field("state", FieldType::Choice(crate::truck::RUN_STATES), false),
    field("stops", FieldType::Stops, false),
];

const STOP_EVENT: &[FieldSpec] = &[
    field("run", FieldType::Ref(Collection::Run), true),
    field("building", text(32), true),
    field("kind", FieldType::Choice(crate::truck::EVENT_KINDS), true),
    field(
        "at_ms",
        FieldType::Int {
            min: 0,
            max: i64::MAX,
        },
        true,
    ),
];

const VISIT: &[FieldSpec] = &[
    field("household", FieldType::Ref(Collection::Household), false),
    field("round", FieldType::Ref(Collection::Round), false),
    field("team", FieldType::Ref(Collection::Team), false),
    field("outcome", FieldType::Choice(crate::visit::OUTCOMES), false),
    field(
        "revisit_at_ms",
        FieldType::Int {
            min: 0,
            max: i64::MAX,
        },
        false,
    ),
    field("swab", FieldType::Bool, false),
    field("tube_no", text(32), false),
    field(
        "temperature_c",
        FieldType::Decimal {
            min: 35.0,
            max: 42.0,
        },
        false,
    ),
    field("health", FieldType::Choice(crate::visit::HEALTH), false),
    field("symptoms", text(200), false),
    field("medical_needs", text(500), false),
    field("needs_doctor", FieldType::Bool, false),
    field("clothes_ok", FieldType::Bool, false),
    field("bedding_ok", FieldType::Bool, false),
    field("food_ok", FieldType::Bool, false),
    field(
        "visited_at_ms",
        FieldType::Int {
            min: 0,
            max: i64::MAX,
        },
        false,
    ),
];

const NEED: &[FieldSpec] = &[
    field("household", FieldType::Ref(Collection::Household), false),
    field(
        "category",
        FieldType::Choice(crate::need::CATEGORIES),
        false,
    ),
    field("description", text(500), false),
    field("visit", FieldType::Ref(Collection::Visit), false),
    // Absent: raised at the door. "resident": asked for from the building
    // page (求助), with who to call back and when it was asked.
    field("source", FieldType::Choice(crate::need::SOURCES), false),
    field("phone", text(32), false),
    field("name", text(64), false),
    field(
        "requested_ms",
        FieldType::Int {
            min: 0,
            max: i64::MAX,
        },
        false,
    ),
    // Set by a coordinator: hidden from the ledger and the figures, kept
    // in the record's history.
    coordinator_only("spam", FieldType::Bool),
];

const NEED_EVENT: &[FieldSpec] = &[
    field("need", FieldType::Ref(Collection::Need), true),
    field("step", FieldType::Choice(crate::need::STEPS), true),
    field("team", FieldType::Ref(Collection::Team), false),
    field(
        "due_ms",
        FieldType::Int {
            min: 0,
            max: i64::MAX,
        },
        false,
    ),
    field("note", text(500), false),
    field(
        "at_ms",
        FieldType::Int {
            min: 0,
            max: i64::MAX,
        },
        true,
    ),
];

const PERSON: &[FieldSpec] = &[
    field("household", FieldType::Ref(Collection::Household), false),
    field("name", text(64), false),
    field("care", FieldType::Choice(crate::visit::CARE_GROUPS), false),
    field("care_plan", text(1000), false),
    // Cannot go out (bedridden, after surgery, late pregnancy, no lift):
    // on the home-visit list of every round (`home_visit::candidates`).
    field("homebound", FieldType::Bool, false),
    restricted("key_status", FieldType::Choice(crate::visit::KEY_STATUSES)),
    restricted(
        "key_since_ms",
        FieldType::Int {
            min: 0,
            max: i64::MAX,
        },
    ),
    restricted(
        "key_until_ms",
        FieldType::Int {
            min: 0,
            max: i64::MAX,
        },
    ),
];

const TEAM: &[FieldSpec] = &[
    field("name", text(32), false),
    // Free text, as teams were first recorded; kept readable.
    field("members", text(200), false),
    // The two volunteers who knock together, and how to reach them.
    field("member1_name", text(64), false),
    field("member1_phone", text(32), false),
    field("member2_name", text(64), false),
    field("member2_phone", text(32), false),
    // A home-visit team (上门专班): the coordinator dispatches households
    // to it.
    field("home_visit", FieldType::Bool, false),
];

const ROUND: &[FieldSpec] = &[
    field("name", text(64), false),
    field(
        "started_ms",
        FieldType::Int {
            min: 0,
            max: i64::MAX,
        },
        false,
    ),
    // Set when the coordinator ends the round; null reopens it.
    field(
        "closed_ms",
        FieldType::Int {
            min: 0,
            max: i64::MAX,
        },
        false,
    ),
];

const SETTLEMENT: &[FieldSpec] = &[
    field("purchase", FieldType::Ref(Collection::Purchase), true),
    field(
        "at_ms",
        FieldType::Int {
            min: 0,
            max: i64::MAX,
        },
        true,
    ),
];

const ASSIGNMENT: &[FieldSpec] = &[
    field("round", FieldType::Ref(Collection::Round), false),
    field("building", text(32), false),
    // A unit (单元) of the building, as `roster::unit_key` writes it; none
    // is the whole building.
    field("unit", text(16), false),
    field("team", FieldType::Ref(Collection::Team), false),
];

const HOME_VISIT: &[FieldSpec] = &[
    field("round", FieldType::Ref(Collection::Round), false),
    field("household", FieldType::Ref(Collection::Household), false),
    // What put the household on the list: a homebound person, or a need
    // asking for a home test or a medical visit.
    field("person", FieldType::Ref(Collection::Person), false),
    field("need", FieldType::Ref(Collection::Need), false),
    field("team", FieldType::Ref(Collection::Team), false),
    field(
        "result",
        FieldType::Choice(crate::home_visit::RESULTS),
        false,
    ),
    field("tube_no", text(32), false),
    // When the team recorded the result, on its phone's clock.
    field(
        "at_ms",
        FieldType::Int {
            min: 0,
            max: i64::MAX,
        },
        false,
    ),
];

impl Collection {
    pub const ALL: [Collection; 14] = [
        Collection::Household,
        Collection::Purchase,
        Collection::Truck,
        Collection::Run,
        Collection::StopEvent,
        Collection::Visit,
        Collection::Need,
        Collection::NeedEvent,
        Collection::Person,
        Collection::Team,
        Collection::Round,
        Collection::Settlement,
        Collection::Assignment,
        Collection::HomeVisit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Collection::Household => "household",
            Collection::Purchase => "purchase",
            Collection::Truck => "truck",
            Collection::Run => "run",
            Collection::StopEvent => "stop_event",
            Collection::Visit => "visit",
            Collection::Need => "need",
            Collection::NeedEvent => "need_event",
            Collection::Person => "person",
            Collection::Team => "team",
            Collection::Round => "round",
            Collection::Settlement => "settlement",
            Collection::Assignment => "assignment",
            Collection::HomeVisit => "home_visit",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn lifecycle(self) -> Lifecycle {
        match self {
            Collection::Household
            | Collection::Truck
            | Collection::Run
            | Collection::Visit
            | Collection::Need
            | Collection::Person
            | Collection::Team
            | Collection::Round
            | Collection::Assignment
            | Collection::HomeVisit => Lifecycle::Mutable,
            Collection::Purchase
            | Collection::StopEvent
            | Collection::NeedEvent
            | Collection::Settlement => Lifecycle::AppendOnly,
        }
    }

    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            Collection::Household => HOUSEHOLD,
            Collection::Purchase => PURCHASE,
            Collection::Truck => TRUCK,
            Collection::Run => RUN,
            Collection::StopEvent => STOP_EVENT,
            Collection::Visit => VISIT,
            Collection::Need => NEED,
            Collection::NeedEvent => NEED_EVENT,
            Collection::Person => PERSON,
            Collection::Team => TEAM,
            Collection::Round => ROUND,
            Collection::Settlement => SETTLEMENT,
            Collection::Assignment => ASSIGNMENT,
            Collection::HomeVisit => HOME_VISIT,
        }
    }

    pub fn field(self, name: &str) -> Option<&'static FieldSpec> {
        self.fields().iter().find(|f| f.name == name)
    }

    /// The words a choice field takes, in the schema's order; none for
    /// another field.
    pub fn choices(self, name: &str) -> &'static [&'static str] {
        match self.field(name).map(|f| f.ty) {
            Some(FieldType::Choice(words)) => words,
            _ => &[],
        }
    }
}

impl FieldSpec {
    /// Checks one value; `null` clears a field and is allowed where not required.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        if value.is_null() {
            return if self.required {
                Err("is required".into())
            } else {
                Ok(())
            };
        }
        match self.ty {
            FieldType::Text { max_chars } => {
                let text = value.as_str().ok_or("must be text")?;
                let chars = text.chars().count();
                if chars > max_chars {
                    return Err(format!("is {chars} characters; at most {max_chars}"));
                }
                // Nobody types one, and PostgreSQL cannot store it in a
                // column (a unit or building is one).
                if text.contains('\0') {
                    return Err("may not contain a NUL character".into());
                }
                if self.required && text.trim().is_empty() {
                    return Err("is required".into());
                }
            }
            FieldType::Int { min, max } => {
                let n = value.as_i64().ok_or("must be a whole number")?;
                if !(min..=max).contains(&n) {
                    return Err(format!("is {n}; must be from {min} to {max}"));
                }
            }
            FieldType::Ref(target) => {
                let id = value.as_str().ok_or("must be a record id")?;
                id.parse::<crate::ids::RecordId>()
                    .map_err(|_| format!("must be the id of a {}", target.name()))?;
            }
            FieldType::Choice(words) => {
                let word = value.as_str().ok_or("must be text")?;
                if !words.contains(&word) {
                    return Err(format!("is {word:?}; must be one of {words:?}"));
                }
            }
            FieldType::Stops => {
                crate::truck::Stop::list_from(value)?;
            }
            FieldType::Bool => {
                value.as_bool().ok_or("must be true or false")?;
            }
            FieldType::Decimal { min, max } => {
                let n = value.as_f64().ok_or("must be a number")?;
                if !(min..=max).contains(&n) {
                    return Err(format!("is {n}; must be from {min} to {max}"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Collection::ALL {
            assert_eq!(Collection::from_name(c.name()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), json!(c.name()));
        }
    }

    #[test]
    fn field_checks() {
        let members = Collection::Household.field("members").unwrap();
        let items = Collection::Purchase.field("items").unwrap();
        let household = Collection::Purchase.field("household").unwrap();
        for (spec, value, ok) in [
            (members, json!(3), true),
            (members, json!(0), true),
            (members, json!(100), false),
            (members, json!(-1), false),
            (members, json!(2.5), false),
            (members, json!("3"), false),
            (members, json!(null), true),
            (items, json!("米 10斤"), true),
            (items, json!("  "), false),
            (items, json!(null), false),
            (items, json!("x".repeat(501)), false),
            (items, json!("米\u{0}"), false),
            (household, json!("h-1"), true),
            (household, json!("h 1"), false),
        ] {
            assert_eq!(spec.check(&value).is_ok(), ok, "{} = {value}", spec.name);
        }
    }
}
