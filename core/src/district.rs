//! District totals (区/街道汇总): what a district official sees. Each
//! compound's [`Totals`] are the coordinator dashboard's, computed by
//! [`crate::dashboard::totals`] from the compound's records, so a figure
//! means the same on both pages; the days and the sum are built here. Only
//! counts: never a name, door or phone.
//!
//! Every figure is a sum over [`Share`]s (a household's visits and people,
//! a need and its steps, a record that counts alone), so the server keeps
//! each compound's [`Figures`] current as it writes: it counts again only
//! the shares a write touches, before and after, and applies the
//! difference ([`Figures::change`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    api::CompoundSummary,
    calendar::ChinaTime,
    dashboard::{Totals, totals},
    ids::DistrictId,
    record::Record,
    schema::{Collection, need_event, person, visit},
    visit::Outcome,
};

/// A district's id and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DistrictSummary {
    pub id: DistrictId,
    /// Display name, e.g. 洪山区 or 珞南街道.
    pub name: String,
}

/// One day's door work (China Standard Time), for the chart over days.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Households whose door was answered that day.
    pub households_visited: usize,
    /// Swabs taken at the door that day: during door visits, and by
    /// home-visit teams.
    pub home_tests: usize,
}

impl Day {
    fn add(&mut self, other: &Day) {
        self.households_visited += other.households_visited;
        self.home_tests += other.home_tests;
    }

    fn subtract(&mut self, other: &Day) {
        self.households_visited = self
            .households_visited
            .saturating_sub(other.households_visited);
        self.home_tests = self.home_tests.saturating_sub(other.home_tests);
    }

    fn is_empty(&self) -> bool {
        self.households_visited == 0 && self.home_tests == 0
    }
}

/// A compound's figures as the server keeps them per compound: its totals
/// and its days, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub totals: Totals,
    pub days: Vec<Day>,
}

/// The collections [`Figures::of`] reads; the others do not change them.
pub const COUNTED: [Collection; 7] = [
    Collection::Team,
    Collection::Visit,
    Collection::Need,
    Collection::NeedEvent,
    Collection::Purchase,
    Collection::Person,
    Collection::HomeVisit,
];

/// The part of a compound's figures a counted record belongs to. Each
/// figure of [`Figures::of`] over a compound's records is the sum of the
/// figures of its shares counted apart: whatever one record's figures
/// depend on (distinct households visited, care people whose household was
/// visited, a need's latest step) lies in the same share.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Share {
    /// One household's visits and people.
    Household(String),
    /// A need and its steps.
    Need(String),
    /// A record that counts on its own: a team, a purchase, a home visit,
    /// or a visit, person or step that names no household or need.
    Record(Collection, String),
}

impl Share {
    /// The share `record` counts in; `None` if its collection is not
    /// [`COUNTED`].
    pub fn of(record: &Record) -> Option<Self> {
        if !COUNTED.contains(&record.collection) {
            return None;
        }
        let own = || Share::Record(record.collection, record.id.to_string());
        let by = |field, share: fn(String) -> Share| {
            record
                .text(field)
                .map_or_else(own, |text| share(text.to_owned()))
        };
        Some(match record.collection {
            Collection::Visit => by(visit::HOUSEHOLD, Share::Household),
            Collection::Person => by(person::HOUSEHOLD, Share::Household),
            Collection::Need => Share::Need(record.id.to_string()),
            Collection::NeedEvent => by(need_event::NEED, Share::Need),
            _ => own(),
        })
    }

    /// The share as a database key: one text, distinct for distinct shares.
    pub fn key(&self) -> String {
        match self {
            Share::Household(id) => format!("household:{id}"),
            Share::Need(id) => format!("need:{id}"),
            Share::Record(collection, id) => format!("{}:{id}", collection.name()),
        }
    }
}

/// When a visit happened: the time the volunteer recorded, else the time
/// of the edit that set its outcome.
fn visit_day(record: &Record) -> Option<String> {
    let at = record.ms(visit::VISITED_AT_MS).or_else(|| {
        record
            .fields
            .get(visit::OUTCOME.name)
            .map(|f| f.hlc.wall_ms)
    })?;
    Some(ChinaTime::of(at).date())
}

impl Figures {
    /// A compound's figures from its records (any collections; those not
    /// [`COUNTED`] are ignored). Days with nothing to show are left out.
    pub fn of(records: &[Record]) -> Self {
        let mut days: BTreeMap<String, (std::collections::BTreeSet<&str>, usize)> = BTreeMap::new();
        for record in records
            .iter()
            .filter(|r| r.collection == Collection::Visit && !r.is_deleted())
        {
            let Some(date) = visit_day(record) else {
                continue;
            };
            let visited = record.choice(visit::OUTCOME) == Some(Outcome::Visited);
            let swab = record.flag(visit::SWAB) == Some(true);
            let household = record.text(visit::HOUSEHOLD);
            if !visited && !swab {
                continue;
            }
            let day = days.entry(date).or_default();
            if let (true, Some(household)) = (visited, household) {
                day.0.insert(household);
            }
            day.1 += usize::from(swab);
        }
        for tested in crate::home_visit::tests_taken(records) {
            if let Some(at) = crate::home_visit::tested_at(tested) {
                days.entry(ChinaTime::of(at).date()).or_default().1 += 1;
            }
        }
        Self {
            totals: totals(records),
            days: days
                .into_iter()
                .map(|(date, (households, home_tests))| Day {
                    date,
                    households_visited: households.len(),
                    home_tests,
                })
                .filter(|day| !day.is_empty())
                .collect(),
        }
    }

    /// Adds another's figures: a share, or a compound into its district.
    pub fn add(&mut self, other: &Figures) {
        self.totals.add(&other.totals);
        let mut days: BTreeMap<String, Day> = std::mem::take(&mut self.days)
            .into_iter()
            .map(|day| (day.date.clone(), day))
            .collect();
        for day in &other.days {
            days.entry(day.date.clone())
                .or_insert_with(|| Day {
                    date: day.date.clone(),
                    ..Day::default()
                })
                .add(day);
        }
        self.days = days.into_values().collect();
    }

    /// Takes away figures added before; days left with nothing go.
    pub fn subtract(&mut self, other: &Figures) {
        self.totals.subtract(&other.totals);
        for day in &other.days {
            if let Some(kept) = self.days.iter_mut().find(|d| d.date == day.date) {
                kept.subtract(day);
            }
        }
        self.days.retain(|day| !day.is_empty());
    }

    /// Keeps a compound's figures current across a write: `before` and
    /// `after` are every record of the shares the write touched (the
    /// shares of its records before and after it), as they stood before
    /// and as they stand after.
    pub fn change(&mut self, before: &[Record], after: &[Record]) {
        self.add(&Figures::of(after));
        self.subtract(&Figures::of(before));
    }
}

/// One compound's row on the district page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompoundRow {
    pub compound: CompoundSummary,
    /// The 街道 it belongs to within the district, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    pub totals: Totals,
    /// When the server last took in a change of this compound (its
    /// freshness); `None` if it never has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_change_ms: Option<u64>,
}

/// Answer of `GET /api/districts/{district}/totals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DistrictTotals {
    pub district: DistrictSummary,
    /// By street, then name.
    pub compounds: Vec<CompoundRow>,
    /// Every compound's totals added up.
    pub sum: Totals,
    /// The district's days, oldest first: each compound's days added up.
    pub days: Vec<Day>,
    /// When the server counted.
    pub computed_at_ms: u64,
}

impl DistrictTotals {
    /// The district's page from its compounds' rows and figures.
    pub fn new(
        district: DistrictSummary,
        compounds: impl IntoIterator<Item = (CompoundRow, Vec<Day>)>,
        computed_at_ms: u64,
    ) -> Self {
        let mut rows = Vec::new();
        let mut sum = Figures::default();
        for (row, days) in compounds {
            sum.add(&Figures {
                totals: row.totals.clone(),
                days,
            });
            rows.push(row);
        }
        rows.sort_by(|a, b| {
            (&a.street, &a.compound.name, &a.compound.id).cmp(&(
                &b.street,
                &b.compound.name,
                &b.compound.id,
            ))
        });
        Self {
            district,
            compounds: rows,
            sum: sum.totals,
            days: sum.days,
            computed_at_ms,
        }
    }

    /// Each street's compounds added up, in the rows' order (compounds
    /// with no street last, as `None`).
    pub fn streets(&self) -> Vec<(Option<String>, Totals)> {
        let mut streets: Vec<(Option<String>, Totals)> = Vec::new();
        for row in &self.compounds {
            match streets.iter_mut().find(|(s, _)| *s == row.street) {
                Some((_, totals)) => totals.add(&row.totals),
                None => streets.push((row.street.clone(), row.totals.clone())),
            }
        }
        streets.sort_by_key(|(street, _)| (street.is_none(), street.clone()));
        streets
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::fixtures::record;

    /// 2022-04-06 10:00 in China.
    const APRIL_6: u64 = 1_649_210_400_000;
    const DAY_MS: u64 = 86_400_000;

    fn row(id: &str, street: Option<&str>, home_tests: usize) -> CompoundRow {
        CompoundRow {
            compound: CompoundSummary {
                id: id.parse().unwrap(),
                name: format!("小区{id}"),
            },
            street: street.map(str::to_owned),
            totals: Totals {
                home_tests,
                teams: 1,
                ..Totals::default()
            },
            last_change_ms: None,
        }
    }

    #[test]
    fn days_count_answered_doors_and_swabs_by_china_date() {
        let records = vec![
            record(
                "visit",
                "v1",
                json!({"household": "h1", "outcome": "visited", "swab": true, "tube_no": "A1"}),
                APRIL_6,
            ),
            // The same household again that day counts once.
            record(
                "visit",
                "v2",
                json!({"household": "h1", "outcome": "visited"}),
                APRIL_6 + 3_600_000,
            ),
            // The recorded time wins over the edit's.
            record(
                "visit",
                "v3",
                json!({"household": "h2", "outcome": "visited", "visited_at_ms": APRIL_6 + DAY_MS}),
                APRIL_6,
            ),
            record(
                "visit",
                "v4",
                json!({"household": "h3", "outcome": "no_answer"}),
                APRIL_6,
            ),
            record("team", "t1", json!({"name": "一队"}), APRIL_6),
            // A home-visit team's test, recorded the next day on a phone
            // that synced later.
            record(
                "home_visit",
                "hv1",
                json!({"household": "h4", "result": "tested", "tube_no": "B1", "at_ms": APRIL_6 + DAY_MS}),
                APRIL_6 + 2 * DAY_MS,
            ),
        ];
        let figures = Figures::of(&records);
        assert_eq!(
            figures.days,
            vec![
                Day {
                    date: "2022-04-06".into(),
                    households_visited: 1,
                    home_tests: 1
                },
                Day {
                    date: "2022-04-07".into(),
                    households_visited: 1,
                    home_tests: 1
                },
            ]
        );
        assert_eq!(figures.totals, totals(&records), "the dashboard's figures");
    }

    /// One random edit of the compound's counted records: a collection,
    /// which of a few ids, a delete or which of a few values each field
    /// takes (the last value leaves the field out).
    type Edit = (usize, usize, bool, [usize; 5]);

    /// The edit as a mutation, if it is one the wire accepts.
    fn mutation(edit: &Edit) -> Option<crate::mutation::Mutation> {
        let (c, slot, delete, [a, b, d, e, f]) = *edit;
        let collection = COUNTED[c % COUNTED.len()];
        let pick = |n: usize, values: &[Value]| values.get(n % (values.len() + 1)).cloned();
        let household = pick(a, &[json!("h0"), json!("h1"), json!("h2")]);
        let day = pick(
            d,
            &[
                json!(APRIL_6),
                json!(APRIL_6 + DAY_MS / 2),
                json!(APRIL_6 + DAY_MS),
            ],
        );
        let mut fields = serde_json::Map::new();
        let mut put = |name: &str, value: Option<Value>| {
            if let Some(value) = value {
                fields.insert(name.to_owned(), value);
            }
        };
        match collection {
            Collection::Visit => {
                put("household", household);
                put("outcome", pick(b, &[json!("visited"), json!("no_answer")]));
                put("swab", pick(e, &[json!(true), json!(false)]));
                put("tube_no", Some(json!("T1")));
                put("visited_at_ms", day);
            }
            Collection::Person => {
                put("household", household);
                put("care", pick(b, &[json!("elderly_alone")]));
            }
            Collection::Need => {
                put("household", household);
                put("category", Some(json!("food")));
                put("spam", pick(e, &[json!(true), json!(false)]));
            }
            Collection::NeedEvent => {
                put("need", pick(a, &[json!("n0"), json!("n1")]));
                put(
                    "step",
                    pick(b, &[json!("collected"), json!("resolved"), json!("closed")]),
                );
                put("at_ms", pick(f, &[json!(1), json!(2), json!(3)]));
            }
            Collection::HomeVisit => {
                put("household", household);
                put("result", pick(b, &[json!("tested"), json!("not_home")]));
                put("tube_no", Some(json!("B1")));
                put("at_ms", day);
            }
            Collection::Purchase => {
                put("household", household);
                put("items", Some(json!("米")));
            }
            _ => put("name", Some(json!("一队"))),
        }
        let kind = match (delete, collection.lifecycle()) {
            (true, crate::schema::Lifecycle::Mutable) => "delete",
            (_, crate::schema::Lifecycle::Mutable) => "set",
            (_, crate::schema::Lifecycle::AppendOnly) => "append",
        };
        // Needs are n0, n1…, as steps name them.
        let id = match collection {
            Collection::Need => format!("n{slot}"),
            _ => format!("{}{slot}", collection.name()),
        };
        let mut args = json!({"collection": collection.name(), "id": id, "compound": "c1"});
        if kind != "delete" {
            args["fields"] = Value::Object(fields);
        }
        serde_json::from_value(json!({"kind": kind, "args": args})).ok()
    }

    /// The records `edits` leave, applied in turn at growing stamps (an
    /// edit the record refuses changes nothing), with the kept figures
    /// changed edit by edit the way the server keeps them.
    fn replay(edits: &[Edit]) -> (Vec<Record>, Figures) {
        let mut records: BTreeMap<(Collection, String), Record> = BTreeMap::new();
        let mut kept = Figures::default();
        for (n, edit) in edits.iter().enumerate() {
            let Some(mutation) = mutation(edit) else {
                continue;
            };
            let key = (mutation.collection(), mutation.id().to_string());
            let hlc = crate::hlc::Hlc {
                wall_ms: APRIL_6 + n as u64 * 3_600_000,
                counter: 0,
                node: crate::ids::ClientId::from_u128(1),
            };
            let Ok((after, _)) = mutation.apply(records.get(&key), &hlc) else {
                continue;
            };
            let touched: Vec<Share> = records
                .get(&key)
                .into_iter()
                .chain([&after])
                .filter_map(Share::of)
                .collect();
            let of_touched = |records: &BTreeMap<(Collection, String), Record>| -> Vec<Record> {
                records
                    .values()
                    .filter(|r| Share::of(r).is_some_and(|s| touched.contains(&s)))
                    .cloned()
                    .collect()
            };
            let before = of_touched(&records);
            records.insert(key, after);
            kept.change(&before, &of_touched(&records));
        }
        (records.into_values().collect(), kept)
    }

    proptest::proptest! {
        /// Counting each share apart and adding them up gives the
        /// compound's figures; keeping them edit by edit gives the same as
        /// counting everything again.
        #[test]
        fn shares_add_up_to_the_compound(
            edits in proptest::collection::vec(
                (0..7usize, 0..3usize, proptest::bool::weighted(0.1), proptest::array::uniform5(0..4usize)),
                0..60,
            )
        ) {
            let (records, kept) = replay(&edits);
            let whole = Figures::of(&records);
            let mut shares: BTreeMap<Share, Vec<Record>> = BTreeMap::new();
            for record in &records {
                shares.entry(Share::of(record).unwrap()).or_default().push(record.clone());
            }
            let mut sum = Figures::default();
            for records in shares.values() {
                sum.add(&Figures::of(records));
            }
            proptest::prop_assert_eq!(&sum, &whole);
            proptest::prop_assert_eq!(&kept, &whole);
            proptest::prop_assert_eq!(&whole.totals, &totals(&records));
        }
    }

    #[test]
    fn only_counted_records_have_a_share() {
        for collection in Collection::ALL {
            let record = Record::new(collection, "x1".parse().unwrap(), "c1".parse().unwrap());
            assert_eq!(
                Share::of(&record).is_some(),
                COUNTED.contains(&collection),
                "{}",
                collection.name()
            );
        }
        let visit = record("visit", "v1", json!({"household": "h1"}), APRIL_6);
        let person = record("person", "p1", json!({"household": "h1"}), APRIL_6);
        assert_eq!(Share::of(&visit), Share::of(&person), "one household");
        let need = record(
            "need",
            "n1",
            json!({"household": "h1", "category": "food"}),
            APRIL_6,
        );
        let step = record(
            "need_event",
            "e1",
            json!({"need": "n1", "step": "collected", "at_ms": 1}),
            APRIL_6,
        );
        assert_eq!(Share::of(&need), Share::of(&step), "a need with its steps");
        assert_ne!(
            Share::of(&need).unwrap().key(),
            Share::of(&visit).unwrap().key()
        );
    }

    #[test]
    fn the_sum_adds_every_compound_and_every_day() {
        let day = |date: &str, tests| Day {
            date: date.into(),
            households_visited: 1,
            home_tests: tests,
        };
        let district = DistrictSummary {
            id: "d1".parse().unwrap(),
            name: "洪山区".into(),
        };
        let page = DistrictTotals::new(
            district,
            [
                (row("b", Some("珞南街道"), 3), vec![day("2022-04-06", 3)]),
                (row("a", None, 2), vec![day("2022-04-07", 2)]),
                (
                    row("c", Some("珞南街道"), 5),
                    vec![day("2022-04-06", 4), day("2022-04-07", 1)],
                ),
            ],
            9,
        );
        assert_eq!(page.sum.home_tests, 10);
        assert_eq!(page.sum.teams, 3);
        let both = |date: &str, tests| Day {
            households_visited: 2,
            ..day(date, tests)
        };
        assert_eq!(
            page.days,
            vec![both("2022-04-06", 7), both("2022-04-07", 3)]
        );
        let order: Vec<&str> = page
            .compounds
            .iter()
            .map(|r| r.compound.id.as_str())
            .collect();
        assert_eq!(order, ["a", "b", "c"], "no street sorts first as None");
        let streets = page.streets();
        assert_eq!(streets[0].0.as_deref(), Some("珞南街道"));
        assert_eq!(streets[0].1.home_tests, 8);
        assert_eq!(streets[1].0, None);
    }
}
