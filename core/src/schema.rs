//! Which collections exist, whether their records change or only accumulate,
//! and what each field may hold. One table, checked on the phone before an
//! edit enters the outbox and again on the server before it is stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// One field of one collection, by the name records store it under. Each
/// is a constant in its collection's module below (`household::HEAD`),
/// the one place that name is written; records are read and written
/// through them (`Record::text`, `Field::set`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Field {
    pub collection: Collection,
    pub name: &'static str,
}

impl Field {
    /// What the schema says the field may hold.
    pub fn spec(self) -> &'static FieldSpec {
        self.collection
            .field(self.name)
            .expect("every field constant is in its collection's table")
    }

    /// The words a choice field takes, in the schema's order; none for
    /// another field.
    pub fn choices(self) -> &'static [&'static str] {
        self.collection.choices(self.name)
    }

    /// The field and a value, as an edit's `fields` map holds them.
    pub fn set(self, value: impl Into<Value>) -> (String, Value) {
        (self.name.to_owned(), value.into())
    }

    /// The field's value in an edit's `fields` map.
    pub fn of(self, fields: &BTreeMap<String, Value>) -> Option<&Value> {
        fields.get(self.name)
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl From<Field> for String {
    fn from(field: Field) -> String {
        field.name.to_owned()
    }
}

/// The fixed words a choice field takes, as a type: its variants are the
/// schema's words (`FieldType::Choice(Outcome::WORDS)`), declared once with
/// [`vocabulary!`].
pub trait Vocabulary: Copy + Sized + 'static {
    /// The words, in the schema's order.
    const WORDS: &'static [&'static str];
    const ALL: &'static [Self];

    /// The word as stored.
    fn word(self) -> &'static str;

    fn from_word(word: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.word() == word)
    }
}

/// Declares a [`Vocabulary`]: an enum and the word each variant is stored as.
macro_rules! vocabulary {
    ($(#[$meta:meta])* pub enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $word:literal,)*
    }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant,)* }

        impl $crate::schema::Vocabulary for $name {
            const WORDS: &'static [&'static str] = &[$($word),*];
            const ALL: &'static [Self] = &[$(Self::$variant),*];

            fn word(self) -> &'static str {
                match self { $(Self::$variant => $word,)* }
            }
        }

        /// The wire words, as the API document lists them.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::openapi::words(<Self as $crate::schema::Vocabulary>::WORDS)
            }
        }
        /// Named by module (`visit_Health`): two vocabularies share a name.
        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                let module = module_path!().rsplit("::").next().unwrap_or_default();
                format!("{module}_{}", stringify!($name)).into()
            }
        }
    };
}
pub(crate) use vocabulary;

/// Declares each collection's field constants, and `ALL`, in table order.
macro_rules! fields {
    ($($module:ident $collection:ident { $($konst:ident = $name:literal,)* })*) => {$(
        #[doc = concat!("The fields of a `", stringify!($module), "` record.")]
        pub mod $module {
            use super::{Collection, Field};
            $(pub const $konst: Field = Field { collection: Collection::$collection, name: $name };)*
            /// In the order of the collection's table.
            pub const ALL: &[Field] = &[$($konst),*];
        }
    )*};
}

const fn field(field: Field, ty: FieldType, required: bool) -> FieldSpec {
    FieldSpec {
        name: field.name,
        ty,
        required,
        restricted: false,
        coordinator_only: false,
    }
}

const fn restricted(field: Field, ty: FieldType) -> FieldSpec {
    FieldSpec {
        name: field.name,
        ty,
        required: false,
        restricted: true,
        coordinator_only: false,
    }
}

const fn coordinator_only(field: Field, ty: FieldType) -> FieldSpec {
    FieldSpec {
        name: field.name,
        ty,
        required: false,
        restricted: false,
        coordinator_only: true,
    }
}

const fn text(max_chars: usize) -> FieldType {
    FieldType::Text { max_chars }
}

fields! {
    household Household {
        BUILDING = "building",
        UNIT = "unit",
        DOOR = "door",
        HEAD = "head",
        PHONE = "phone",
        MEMBERS = "members",
        NOTES = "notes",
    }
    purchase Purchase {
        HOUSEHOLD = "household",
        ITEMS = "items",
        AMOUNT_CENTS = "amount_cents",
    }
    truck Truck {
        NAME = "name",
        VENDOR = "vendor",
        PHONE = "phone",
        ORDER_LINK = "order_link",
    }
    run Run {
        TRUCK = "truck",
        DATE = "date",
        STATE = "state",
        STOPS = "stops",
    }
    stop_event StopEvent {
        RUN = "run",
        BUILDING = "building",
        KIND = "kind",
        AT_MS = "at_ms",
    }
    visit Visit {
        HOUSEHOLD = "household",
        ROUND = "round",
        TEAM = "team",
        OUTCOME = "outcome",
        REVISIT_AT_MS = "revisit_at_ms",
        SWAB = "swab",
        TUBE_NO = "tube_no",
        TEMPERATURE_C = "temperature_c",
        HEALTH = "health",
        SYMPTOMS = "symptoms",
        MEDICAL_NEEDS = "medical_needs",
        NEEDS_DOCTOR = "needs_doctor",
        CLOTHES_OK = "clothes_ok",
        BEDDING_OK = "bedding_ok",
        FOOD_OK = "food_ok",
        VISITED_AT_MS = "visited_at_ms",
    }
    need Need {
        HOUSEHOLD = "household",
        CATEGORY = "category",
        DESCRIPTION = "description",
        VISIT = "visit",
        SOURCE = "source",
        PHONE = "phone",
        NAME = "name",
        REQUESTED_MS = "requested_ms",
        SPAM = "spam",
    }
    need_event NeedEvent {
        NEED = "need",
        STEP = "step",
        TEAM = "team",
        DUE_MS = "due_ms",
        NOTE = "note",
        AT_MS = "at_ms",
    }
    person Person {
        HOUSEHOLD = "household",
        NAME = "name",
        CARE = "care",
        CARE_PLAN = "care_plan",
        HOMEBOUND = "homebound",
        KEY_STATUS = "key_status",
        KEY_SINCE_MS = "key_since_ms",
        KEY_UNTIL_MS = "key_until_ms",
    }
    team Team {
        NAME = "name",
        MEMBERS = "members",
        MEMBER1_NAME = "member1_name",
        MEMBER1_PHONE = "member1_phone",
        MEMBER2_NAME = "member2_name",
        MEMBER2_PHONE = "member2_phone",
        HOME_VISIT = "home_visit",
    }
    round Round {
        NAME = "name",
        STARTED_MS = "started_ms",
        CLOSED_MS = "closed_ms",
    }
    settlement Settlement {
        PURCHASE = "purchase",
        AT_MS = "at_ms",
    }
    assignment Assignment {
        ROUND = "round",
        BUILDING = "building",
        UNIT = "unit",
        TEAM = "team",
    }
    home_visit HomeVisit {
        ROUND = "round",
        HOUSEHOLD = "household",
        PERSON = "person",
        NEED = "need",
        TEAM = "team",
        RESULT = "result",
        TUBE_NO = "tube_no",
        AT_MS = "at_ms",
    }
}

/// A moment, in milliseconds since 1970 (UTC): from then until the end of
/// year 9999 in China, the last a date is written with four digits; a
/// larger number is a mistake, not a time.
const LATEST_MS: i64 = 253_402_271_999_999;
const TIME_MS: FieldType = FieldType::Int {
    min: 0,
    max: LATEST_MS,
};

const HOUSEHOLD: &[FieldSpec] = &[
    field(household::BUILDING, text(32), false),
    field(household::UNIT, text(16), false),
    field(household::DOOR, text(16), false),
    field(household::HEAD, text(64), false),
    field(household::PHONE, text(32), false),
    field(
        household::MEMBERS,
        FieldType::Int { min: 0, max: 99 },
        false,
    ),
    field(household::NOTES, text(2000), false),
];

const PURCHASE: &[FieldSpec] = &[
    field(
        purchase::HOUSEHOLD,
        FieldType::Ref(Collection::Household),
        true,
    ),
    field(purchase::ITEMS, text(500), true),
    field(
        purchase::AMOUNT_CENTS,
        FieldType::Int {
            min: 0,
            max: 100_000_000,
        },
        true,
    ),
];

const TRUCK: &[FieldSpec] = &[
    field(truck::NAME, text(32), false),
    field(truck::VENDOR, text(64), false),
    field(truck::PHONE, text(32), false),
    field(truck::ORDER_LINK, text(500), false),
];

const RUN: &[FieldSpec] = &[
    field(run::TRUCK, FieldType::Ref(Collection::Truck), false),
    field(run::DATE, text(10), false),
    field(
        run::STATE,
        FieldType::Choice(crate::truck::RUN_STATES),
        false,
    ),
    field(run::STOPS, FieldType::Stops, false),
];

const STOP_EVENT: &[FieldSpec] = &[
    field(stop_event::RUN, FieldType::Ref(Collection::Run), true),
    field(stop_event::BUILDING, text(32), true),
    field(
        stop_event::KIND,
        FieldType::Choice(crate::truck::EVENT_KINDS),
        true,
    ),
    field(stop_event::AT_MS, TIME_MS, true),
];

const VISIT: &[FieldSpec] = &[
    field(
        visit::HOUSEHOLD,
        FieldType::Ref(Collection::Household),
        false,
    ),
    field(visit::ROUND, FieldType::Ref(Collection::Round), false),
    field(visit::TEAM, FieldType::Ref(Collection::Team), false),
    field(
        visit::OUTCOME,
        FieldType::Choice(crate::visit::Outcome::WORDS),
        false,
    ),
    field(visit::REVISIT_AT_MS, TIME_MS, false),
    field(visit::SWAB, FieldType::Bool, false),
    field(visit::TUBE_NO, text(32), false),
    field(
        visit::TEMPERATURE_C,
        FieldType::Decimal {
            min: 35.0,
            max: 42.0,
        },
        false,
    ),
    field(
        visit::HEALTH,
        FieldType::Choice(crate::visit::Health::WORDS),
        false,
    ),
    field(visit::SYMPTOMS, text(200), false),
    field(visit::MEDICAL_NEEDS, text(500), false),
    field(visit::NEEDS_DOCTOR, FieldType::Bool, false),
    field(visit::CLOTHES_OK, FieldType::Bool, false),
    field(visit::BEDDING_OK, FieldType::Bool, false),
    field(visit::FOOD_OK, FieldType::Bool, false),
    field(visit::VISITED_AT_MS, TIME_MS, false),
];

const NEED: &[FieldSpec] = &[
    field(
        need::HOUSEHOLD,
        FieldType::Ref(Collection::Household),
        false,
    ),
    field(
        need::CATEGORY,
        FieldType::Choice(crate::need::Category::WORDS),
        false,
    ),
    field(need::DESCRIPTION, text(500), false),
    field(need::VISIT, FieldType::Ref(Collection::Visit), false),
    // Absent: raised at the door. "resident": asked for from the building
    // page (求助), with who to call back and when it was asked.
    field(
        need::SOURCE,
        FieldType::Choice(crate::need::Source::WORDS),
        false,
    ),
    field(need::PHONE, text(32), false),
    field(need::NAME, text(64), false),
    field(need::REQUESTED_MS, TIME_MS, false),
    // Set by a coordinator: hidden from the ledger and the figures, kept
    // in the record's history.
    coordinator_only(need::SPAM, FieldType::Bool),
];

const NEED_EVENT: &[FieldSpec] = &[
    field(need_event::NEED, FieldType::Ref(Collection::Need), true),
    field(
        need_event::STEP,
        FieldType::Choice(crate::need::STEPS),
        true,
    ),
    field(need_event::TEAM, FieldType::Ref(Collection::Team), false),
    field(need_event::DUE_MS, TIME_MS, false),
    field(need_event::NOTE, text(500), false),
    field(need_event::AT_MS, TIME_MS, true),
];

const PERSON: &[FieldSpec] = &[
    field(
        person::HOUSEHOLD,
        FieldType::Ref(Collection::Household),
        false,
    ),
    field(person::NAME, text(64), false),
    field(
        person::CARE,
        FieldType::Choice(crate::visit::CareGroup::WORDS),
        false,
    ),
    field(person::CARE_PLAN, text(1000), false),
    // Cannot go out (bedridden, after surgery, late pregnancy, no lift):
    // on the home-visit list of every round (`home_visit::candidates`).
    field(person::HOMEBOUND, FieldType::Bool, false),
    restricted(
        person::KEY_STATUS,
        FieldType::Choice(crate::visit::KeyStatus::WORDS),
    ),
    restricted(person::KEY_SINCE_MS, TIME_MS),
    restricted(person::KEY_UNTIL_MS, TIME_MS),
];

const TEAM: &[FieldSpec] = &[
    field(team::NAME, text(32), false),
    // Free text, as teams were first recorded; kept readable.
    field(team::MEMBERS, text(200), false),
    // The two volunteers who knock together, and how to reach them.
    field(team::MEMBER1_NAME, text(64), false),
    field(team::MEMBER1_PHONE, text(32), false),
    field(team::MEMBER2_NAME, text(64), false),
    field(team::MEMBER2_PHONE, text(32), false),
    // A home-visit team (上门专班): the coordinator dispatches households
    // to it.
    field(team::HOME_VISIT, FieldType::Bool, false),
];

const ROUND: &[FieldSpec] = &[
    field(round::NAME, text(64), false),
    field(round::STARTED_MS, TIME_MS, false),
    // Set when the coordinator ends the round; null reopens it.
    field(round::CLOSED_MS, TIME_MS, false),
];

const SETTLEMENT: &[FieldSpec] = &[
    field(
        settlement::PURCHASE,
        FieldType::Ref(Collection::Purchase),
        true,
    ),
    field(settlement::AT_MS, TIME_MS, true),
];

const ASSIGNMENT: &[FieldSpec] = &[
    field(assignment::ROUND, FieldType::Ref(Collection::Round), false),
    field(assignment::BUILDING, text(32), false),
    // A unit (单元) of the building, as `roster::unit_key` writes it; none
    // is the whole building.
    field(assignment::UNIT, text(16), false),
    field(assignment::TEAM, FieldType::Ref(Collection::Team), false),
];

const HOME_VISIT: &[FieldSpec] = &[
    field(home_visit::ROUND, FieldType::Ref(Collection::Round), false),
    field(
        home_visit::HOUSEHOLD,
        FieldType::Ref(Collection::Household),
        false,
    ),
    // What put the household on the list: a homebound person, or a need
    // asking for a home test or a medical visit.
    field(
        home_visit::PERSON,
        FieldType::Ref(Collection::Person),
        false,
    ),
    field(home_visit::NEED, FieldType::Ref(Collection::Need), false),
    field(home_visit::TEAM, FieldType::Ref(Collection::Team), false),
    field(
        home_visit::RESULT,
        FieldType::Choice(crate::home_visit::RESULTS),
        false,
    ),
    field(home_visit::TUBE_NO, text(32), false),
    // When the team recorded the result, on its phone's clock.
    field(home_visit::AT_MS, TIME_MS, false),
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

    /// The field people call a record by (a team's or a person's name),
    /// if its collection has one.
    pub fn name_field(self) -> Option<Field> {
        match self {
            Collection::Truck => Some(truck::NAME),
            Collection::Need => Some(need::NAME),
            Collection::Person => Some(person::NAME),
            Collection::Team => Some(team::NAME),
            Collection::Round => Some(round::NAME),
            _ => None,
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

    /// Every time field takes the years a date can be written in, and no
    /// later: a pushed time past them is refused, not stored.
    #[test]
    fn a_time_is_from_1970_to_the_end_of_year_9999() {
        let times: Vec<&FieldSpec> = Collection::ALL
            .into_iter()
            .flat_map(|c| c.fields())
            .filter(|f| f.name.ends_with("_ms"))
            .collect();
        assert_eq!(times.len(), 12);
        for spec in times {
            assert!(spec.check(&json!(0)).is_ok(), "{}", spec.name);
            assert!(spec.check(&json!(LATEST_MS)).is_ok(), "{}", spec.name);
            for wrong in [
                json!(-1),
                json!(LATEST_MS + 1),
                json!(i64::MAX),
                json!(u64::MAX),
            ] {
                assert!(spec.check(&wrong).is_err(), "{} took {wrong}", spec.name);
            }
        }
        let year = |ms: i64| crate::calendar::ChinaTime::of(ms as u64).year;
        assert_eq!((year(LATEST_MS), year(LATEST_MS + 1)), (9999, 10000));
    }

    /// Each collection's field constants are its table, in order, and
    /// name their own collection.
    #[test]
    fn field_constants_are_the_tables() {
        let modules: [(Collection, &[Field]); 14] = [
            (Collection::Household, household::ALL),
            (Collection::Purchase, purchase::ALL),
            (Collection::Truck, truck::ALL),
            (Collection::Run, run::ALL),
            (Collection::StopEvent, stop_event::ALL),
            (Collection::Visit, visit::ALL),
            (Collection::Need, need::ALL),
            (Collection::NeedEvent, need_event::ALL),
            (Collection::Person, person::ALL),
            (Collection::Team, team::ALL),
            (Collection::Round, round::ALL),
            (Collection::Settlement, settlement::ALL),
            (Collection::Assignment, assignment::ALL),
            (Collection::HomeVisit, home_visit::ALL),
        ];
        for (collection, fields) in modules {
            let names: Vec<_> = fields.iter().map(|f| f.name).collect();
            let table: Vec<_> = collection.fields().iter().map(|f| f.name).collect();
            assert_eq!(names, table, "{collection:?}");
            for f in fields {
                assert_eq!(f.collection, collection, "{}", f.name);
                assert_eq!(f.spec().name, f.name);
            }
        }
    }

    #[test]
    fn field_checks() {
        let members = household::MEMBERS.spec();
        let items = purchase::ITEMS.spec();
        let household = purchase::HOUSEHOLD.spec();
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
