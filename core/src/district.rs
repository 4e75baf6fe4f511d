//! District totals (区/街道汇总): what a district official sees. Each
//! compound's [`Totals`] are the coordinator dashboard's, computed by
//! [`crate::dashboard::totals`] from the compound's records, so a figure
//! means the same on both pages; the days and the sum are built here. Only
//! counts: never a name, door or phone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    api::CompoundSummary,
    calendar::ChinaTime,
    dashboard::{Totals, totals},
    ids::DistrictId,
    record::Record,
    schema::{Collection, visit},
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
    /// [`COUNTED`] are ignored).
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
                .collect(),
        }
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
        let mut sum = Totals::default();
        let mut days: BTreeMap<String, Day> = BTreeMap::new();
        for (row, compound_days) in compounds {
            sum.add(&row.totals);
            for day in &compound_days {
                days.entry(day.date.clone())
                    .or_insert_with(|| Day {
                        date: day.date.clone(),
                        ..Day::default()
                    })
                    .add(day);
            }
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
            sum,
            days: days.into_values().collect(),
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
    use serde_json::json;

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
