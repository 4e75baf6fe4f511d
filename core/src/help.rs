//! Help requests (求助) from the building page: what a resident may ask
//! for, the form's checks (each value against the schema's limits), the
//! household a request belongs to, the records it becomes (a `need` marked
//! `source: resident` and its first step, `collected`), the status its
//! ticket shows, and the call-back figures coordinators watch.

use std::collections::BTreeMap;

use serde_json::json;

use crate::{
    access::Place,
    ids::{CompoundId, RecordId},
    mutation::Mutation,
    need::{Category, NeedState, Source, Status, steps_by_need},
    record::Record,
    roster,
    schema::{Collection, Field, Vocabulary, household, need, need_event},
};

/// What a resident may ask for, in the form's order.
pub const CATEGORIES: &[Category] = &[
    Category::HomeTest,
    Category::Medicine,
    Category::Food,
    Category::Care,
    Category::MedicalVisit,
    Category::Other,
];

/// Digits a call-back number has at least (a landline without its area
/// code) and at most (an international number).
pub(crate) const PHONE_DIGITS: std::ops::RangeInclusive<usize> = 7..=15;

/// The form as the resident filled it in, before checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HelpForm {
    pub unit: String,
    pub door: String,
    pub category: String,
    pub description: String,
    pub phone: String,
    pub name: String,
}

/// The form's fields, as the page names its inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelpField {
    Unit,
    Door,
    Category,
    Description,
    Phone,
    Name,
}

impl HelpField {
    /// The input's name: the schema field's.
    pub fn name(self) -> &'static str {
        self.field().name
    }

    /// The schema field that holds it, whose limits it keeps.
    fn field(self) -> Field {
        match self {
            HelpField::Unit => household::UNIT,
            HelpField::Door => household::DOOR,
            HelpField::Category => need::CATEGORY,
            HelpField::Description => need::DESCRIPTION,
            HelpField::Phone => need::PHONE,
            HelpField::Name => need::NAME,
        }
    }

    fn spec(self) -> &'static crate::schema::FieldSpec {
        self.field().spec()
    }

    /// The most characters it may hold (for the input's `maxlength`).
    pub fn max_chars(self) -> usize {
        match self.spec().ty {
            crate::schema::FieldType::Text { max_chars } => max_chars,
            _ => 32,
        }
    }
}

/// Why a form cannot be taken, by field, so the page says it in the
/// resident's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelpProblem {
    Missing(HelpField),
    TooLong(HelpField),
    /// Not one of [`CATEGORIES`].
    UnknownCategory,
    /// Not a phone number one could dial back.
    BadPhone,
}

impl HelpProblem {
    pub fn field(self) -> HelpField {
        match self {
            HelpProblem::Missing(f) | HelpProblem::TooLong(f) => f,
            HelpProblem::UnknownCategory => HelpField::Category,
            HelpProblem::BadPhone => HelpField::Phone,
        }
    }
}

impl std::fmt::Display for HelpProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let field = self.field().name();
        match self {
            HelpProblem::Missing(_) => write!(f, "{field} is required"),
            HelpProblem::TooLong(_) => write!(
                f,
                "{field} is at most {} characters",
                self.field().max_chars()
            ),
            HelpProblem::UnknownCategory => {
                write!(f, "category must be one of {CATEGORIES:?}")
            }
            HelpProblem::BadPhone => f.write_str("phone must be a number to call back"),
        }
    }
}

/// A checked request: values trimmed and normalised (full-width digits
/// become ASCII), within the schema's limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpRequest {
    pub unit: String,
    pub door: String,
    pub category: String,
    pub description: String,
    pub phone: String,
    pub name: String,
}

impl HelpForm {
    pub fn check(&self) -> Result<HelpRequest, HelpProblem> {
        let take = |field: HelpField, value: &str, required: bool| {
            let value = roster::normalize(value);
            if required && value.is_empty() {
                return Err(HelpProblem::Missing(field));
            }
            // The text's length limits; a category is checked below.
            let text = matches!(field.spec().ty, crate::schema::FieldType::Text { .. });
            if text && field.spec().check(&json!(value)).is_err() {
                return Err(HelpProblem::TooLong(field));
            }
            Ok(value)
        };
        let request = HelpRequest {
            unit: take(HelpField::Unit, &self.unit, false)?,
            door: take(HelpField::Door, &self.door, true)?,
            category: take(HelpField::Category, &self.category, true)?,
            description: take(HelpField::Description, &self.description, false)?,
            phone: take(HelpField::Phone, &self.phone, true)?,
            name: take(HelpField::Name, &self.name, false)?,
        };
        let asked = Category::from_word(&request.category);
        if !asked.is_some_and(|c| CATEGORIES.contains(&c)) {
            return Err(HelpProblem::UnknownCategory);
        }
        let digits = request.phone.chars().filter(char::is_ascii_digit).count();
        let dialable = request
            .phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'));
        if !dialable || !PHONE_DIGITS.contains(&digits) {
            return Err(HelpProblem::BadPhone);
        }
        Ok(request)
    }
}

/// The household at (`building`, unit, door) among `households`: the same
/// building, unit as `roster::unit_key` writes it, and door as typed
/// (normalised), so "2单元" and "2" are one unit.
pub fn find_household<'a>(
    households: impl IntoIterator<Item = &'a Record>,
    building: &str,
    unit: &str,
    door: &str,
) -> Option<RecordId> {
    let at = Place::new(building, Some(unit));
    let door = roster::normalize(door);
    households
        .into_iter()
        .filter(|h| h.collection == Collection::Household && !h.is_deleted())
        .find(|h| {
            Place::of_household(h).as_ref() == Some(&at)
                && h.text(household::DOOR)
                    .is_some_and(|d| roster::normalize(d) == door)
        })
        .map(|h| h.id.clone())
}

/// The ids of the records a request becomes.
pub struct NewIds {
    pub household: RecordId,
    pub need: RecordId,
    pub event: RecordId,
}

impl HelpRequest {
    /// The edits that record this request in `compound`, asked at `now_ms`
    /// from `building`'s page: a new household when `household` is none
    /// (building, unit and door only), the need, and its `collected` step.
    pub fn mutations(
        &self,
        compound: &CompoundId,
        building: &str,
        household: Option<RecordId>,
        ids: NewIds,
        now_ms: u64,
    ) -> Vec<Mutation> {
        let mut edits = Vec::new();
        let household = household.unwrap_or_else(|| {
            let mut fields = BTreeMap::from([
                household::BUILDING.set(building),
                household::DOOR.set(self.door.as_str()),
            ]);
            if !self.unit.is_empty() {
                fields.insert(household::UNIT.into(), json!(self.unit));
            }
            edits.push(Mutation::Set {
                collection: Collection::Household,
                id: ids.household.clone(),
                compound: compound.clone(),
                fields,
            });
            ids.household
        });
        let mut fields = BTreeMap::from([
            need::HOUSEHOLD.set(json!(household)),
            need::CATEGORY.set(self.category.as_str()),
            need::SOURCE.set(Source::Resident.word()),
            need::PHONE.set(self.phone.as_str()),
            need::REQUESTED_MS.set(now_ms),
        ]);
        for (field, value) in [
            (need::DESCRIPTION, &self.description),
            (need::NAME, &self.name),
        ] {
            if !value.is_empty() {
                fields.insert(field.into(), json!(value));
            }
        }
        edits.push(Mutation::Set {
            collection: Collection::Need,
            id: ids.need.clone(),
            compound: compound.clone(),
            fields,
        });
        edits.push(Mutation::Append {
            collection: Collection::NeedEvent,
            id: ids.event,
            compound: compound.clone(),
            fields: BTreeMap::from([
                need_event::NEED.set(json!(ids.need)),
                need_event::STEP.set(Status::Collected.name()),
                need_event::AT_MS.set(now_ms),
            ]),
        });
        edits
    }
}

/// Whether a need was asked for by a resident.
pub fn is_request(record: &Record) -> bool {
    record.choice(need::SOURCE) == Some(Source::Resident)
}

/// Whether a coordinator marked the need as spam.
pub fn is_spam(record: &Record) -> bool {
    record.flag(need::SPAM) == Some(true)
}

/// What a resident's ticket shows: no names, doors or phones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketView {
    pub category: Category,
    /// `None` until its first step has arrived.
    pub status: Option<Status>,
    /// Its latest step, else when it was asked.
    pub updated_ms: u64,
}

/// The ticket view of `need`, from its steps among `events`.
pub fn ticket_view(record: &Record, events: &[Record]) -> TicketView {
    let state = NeedState::fold(steps_by_need(events).remove(&record.id).unwrap_or_default());
    TicketView {
        category: record.choice(need::CATEGORY).unwrap_or(Category::Other),
        status: state.status,
        updated_ms: state
            .updated_ms()
            .or_else(|| record.ms(need::REQUESTED_MS))
            .unwrap_or_default(),
    }
}

/// Whether `need` (in `state`) is a resident's request nobody has called
/// back yet, and still open: what the menu counts.
pub fn awaits_call(need: &Record, state: &NeedState) -> bool {
    is_request(need)
        && !is_spam(need)
        && !need.is_deleted()
        && state.called_back_ms().is_none()
        && !state.is_resolved()
}

/// A request still waiting for its first call back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub need: RecordId,
    pub waited_ms: u64,
}

/// How fast residents who asked are called back: over the compound's
/// requests (not spam, not deleted).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallBacks {
    /// Requests neither called back nor resolved yet: the menu's count.
    pub waiting: usize,
    /// The median time from asking to the first call back.
    pub median_ms: Option<u64>,
    /// The open request that has waited longest for its call back.
    pub slowest_open: Option<Waiting>,
}

pub fn call_backs(records: &[Record], now_ms: u64) -> CallBacks {
    let steps = steps_by_need(records);
    let mut delays = Vec::new();
    let mut figures = CallBacks::default();
    for request in records.iter().filter(|r| {
        r.collection == Collection::Need && !r.is_deleted() && is_request(r) && !is_spam(r)
    }) {
        let state = NeedState::fold(steps.get(&request.id).cloned().unwrap_or_default());
        let asked = request
            .ms(need::REQUESTED_MS)
            .or_else(|| state.history.first().map(|s| s.at_ms))
            .unwrap_or(now_ms);
        if let Some(at) = state.called_back_ms() {
            delays.push(at.saturating_sub(asked));
        } else if awaits_call(request, &state) {
            figures.waiting += 1;
            let waited_ms = now_ms.saturating_sub(asked);
            if figures
                .slowest_open
                .as_ref()
                .is_none_or(|w| waited_ms > w.waited_ms)
            {
                figures.slowest_open = Some(Waiting {
                    need: request.id.clone(),
                    waited_ms,
                });
            }
        }
    }
    delays.sort_unstable();
    figures.median_ms = match delays.len() {
        0 => None,
        n if n % 2 == 1 => Some(delays[n / 2]),
        n => Some((delays[n / 2 - 1] + delays[n / 2]) / 2),
    };
    figures
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{hlc::Hlc, ids::ClientId};

    const MIN: u64 = 60_000;

    fn form() -> HelpForm {
        HelpForm {
            unit: "２单元".into(),
            door: " 701 ".into(),
            category: "home_test".into(),
            description: "刚做完膝盖手术，不能下楼".into(),
            phone: "138 0013 8000".into(),
            name: String::new(),
        }
    }

    fn apply(mutations: Vec<Mutation>, wall_ms: u64) -> Vec<Record> {
        mutations
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                m.validate().unwrap();
                m.apply(
                    None,
                    &Hlc {
                        wall_ms,
                        counter: i as u32,
                        node: ClientId::from_u128(9),
                    },
                )
                .unwrap()
                .0
            })
            .collect()
    }

    fn ids(n: u32) -> NewIds {
        NewIds {
            household: format!("h{n}").parse().unwrap(),
            need: format!("n{n}").parse().unwrap(),
            event: format!("e{n}").parse().unwrap(),
        }
    }

    /// (change to the form, the problem): each refused with its field.
    #[test]
    fn the_form_is_checked_field_by_field() {
        let request = form().check().unwrap();
        assert_eq!(
            (request.unit.as_str(), request.door.as_str()),
            ("2单元", "701")
        );
        type Change = fn(&mut HelpForm);
        let cases: Vec<(Change, Option<HelpProblem>)> = vec![
            (
                |f| f.door = "  ".into(),
                Some(HelpProblem::Missing(HelpField::Door)),
            ),
            (
                |f| f.phone = String::new(),
                Some(HelpProblem::Missing(HelpField::Phone)),
            ),
            (|f| f.phone = "123".into(), Some(HelpProblem::BadPhone)),
            (
                |f| f.phone = "call 13800138000".into(),
                Some(HelpProblem::BadPhone),
            ),
            (|f| f.phone = "+86 (138) 0013-8000".into(), None),
            (
                |f| f.category = "utilities".into(),
                Some(HelpProblem::UnknownCategory),
            ),
            (
                |f| f.category = "<x>".into(),
                Some(HelpProblem::UnknownCategory),
            ),
            (
                |f| f.category = String::new(),
                Some(HelpProblem::Missing(HelpField::Category)),
            ),
            (
                |f| f.description = "字".repeat(501),
                Some(HelpProblem::TooLong(HelpField::Description)),
            ),
            (
                |f| f.name = "名".repeat(65),
                Some(HelpProblem::TooLong(HelpField::Name)),
            ),
            (
                |f| f.door = "1".repeat(17),
                Some(HelpProblem::TooLong(HelpField::Door)),
            ),
            (|f| f.unit = String::new(), None),
            (|f| f.name = "王阿姨".into(), None),
        ];
        for (change, problem) in cases {
            let mut f = form();
            change(&mut f);
            assert_eq!(f.check().err(), problem, "{f:?}");
            if let Some(problem) = problem {
                assert!(problem.to_string().contains(problem.field().name()));
            }
        }
        assert_eq!(HelpField::Description.max_chars(), 500);
    }

    /// A request is filed under the household at its address, "2单元" and
    /// "2" being one unit; elsewhere a household is made for it.
    #[test]
    fn a_request_joins_its_household_or_makes_one() {
        let compound: CompoundId = "c1".parse().unwrap();
        let households = apply(
            vec![Mutation::Set {
                collection: Collection::Household,
                id: "old".parse().unwrap(),
                compound: compound.clone(),
                fields: BTreeMap::from([
                    ("building".into(), json!("3")),
                    ("unit".into(), json!("2")),
                    ("door".into(), json!("701")),
                    ("head".into(), json!("李")),
                ]),
            }],
            1,
        );
        let request = form().check().unwrap();
        let found = find_household(&households, "3", &request.unit, &request.door);
        assert_eq!(found.as_ref().map(RecordId::as_str), Some("old"));
        assert_eq!(
            find_household(&households, "4", &request.unit, &request.door),
            None
        );
        assert_eq!(find_household(&households, "3", "1", &request.door), None);

        let joined = apply(request.mutations(&compound, "3", found, ids(1), 100), 100);
        assert_eq!(joined.len(), 2, "no new household");
        assert_eq!(joined[0].named("household"), Some(&json!("old")));
        assert_eq!(joined[0].named("source"), Some(&json!("resident")));
        assert_eq!(joined[0].named("requested_ms"), Some(&json!(100)));
        assert_eq!(joined[0].named("name"), None);
        assert_eq!(joined[1].named("step"), Some(&json!("collected")));
        assert!(is_request(&joined[0]) && !is_spam(&joined[0]));

        let made = apply(request.mutations(&compound, "5", None, ids(2), 100), 100);
        assert_eq!(made.len(), 3);
        assert_eq!(made[0].collection, Collection::Household);
        assert_eq!(
            Place::of_household(&made[0]),
            Some(Place::new("5", Some("2")))
        );
        assert_eq!(made[0].named("head"), None, "the address only");
        assert_eq!(made[1].named("household"), Some(&json!("h2")));
        let view = ticket_view(&made[1], &made);
        assert_eq!(
            view,
            TicketView {
                category: Category::HomeTest,
                status: Some(Status::Collected),
                updated_ms: 100
            }
        );
    }

    fn step(need: &str, id: &str, to: &str, at_ms: u64) -> Record {
        let mut fields = BTreeMap::from([
            ("need".to_owned(), json!(need)),
            ("step".to_owned(), json!(to)),
            ("at_ms".to_owned(), json!(at_ms)),
        ]);
        if to == "assigned" {
            fields.insert("team".into(), json!("t1"));
            fields.insert("due_ms".into(), json!(at_ms + 60 * MIN));
        }
        if to == "resolved" {
            fields.insert("note".into(), json!("已上门"));
        }
        apply(
            vec![Mutation::Append {
                collection: Collection::NeedEvent,
                id: id.parse().unwrap(),
                compound: "c1".parse().unwrap(),
                fields,
            }],
            at_ms,
        )
        .remove(0)
    }

    /// A fixed set of requests and the figures they give.
    #[test]
    fn call_back_figures_from_a_fixed_data_set() {
        let compound: CompoundId = "c1".parse().unwrap();
        let request = form().check().unwrap();
        let mut records = Vec::new();
        // n1..n5 asked at minute 0, 10, 20, 30 and 40.
        for n in 1..=5 {
            records.extend(apply(
                request.mutations(&compound, "3", None, ids(n), u64::from(n - 1) * 10 * MIN),
                u64::from(n - 1) * 10 * MIN,
            ));
        }
        // Called back after 30, 5 and 10 minutes; n4 waits; n5 is spam.
        records.push(step("n1", "c1", "called_back", 30 * MIN));
        records.push(step("n2", "c2", "assigned", 12 * MIN));
        records.push(step("n2", "c3", "called_back", 15 * MIN));
        records.push(step("n3", "c4", "called_back", 30 * MIN));
        records.push(step("n3", "c5", "called_back", 50 * MIN));
        let mut spam = records
            .iter()
            .find(|r| r.id.as_str() == "n5")
            .unwrap()
            .clone();
        spam.fields.insert(
            "spam".into(),
            crate::record::Stamped {
                value: json!(true),
                hlc: Hlc {
                    wall_ms: 99 * MIN,
                    counter: 0,
                    node: ClientId::from_u128(1),
                },
            },
        );
        records.retain(|r| r.id.as_str() != "n5");
        records.push(spam);
        let now = 100 * MIN;
        let figures = call_backs(&records, now);
        assert_eq!(
            figures,
            CallBacks {
                waiting: 1,
                median_ms: Some(10 * MIN),
                slowest_open: Some(Waiting {
                    need: "n4".parse().unwrap(),
                    waited_ms: 70 * MIN
                }),
            }
        );
        // An even count takes the middle two's mean; a need resolved
        // without a call back no longer waits.
        records.push(step("n4", "c6", "called_back", 30 * MIN + 15 * MIN));
        let figures = call_backs(&records, now);
        assert_eq!(figures.median_ms, Some(12 * MIN + MIN / 2));
        assert_eq!((figures.waiting, figures.slowest_open), (0, None));
        assert_eq!(call_backs(&[], now), CallBacks::default());
    }
}
