//! The district official's page as plain data: the totals fetched from the
//! server (or the copy kept on the phone when that fails), each compound's
//! freshness, and the chart over days. Tested natively; the page only
//! renders it.

use doorstep_core::{
    calendar::ChinaTime,
    district::{Day, DistrictTotals},
};

/// Why the page could not show what the server counts now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadProblem {
    /// No answer: shown with the copy kept on the phone, if any.
    Offline,
    /// The server refuses this phone's sign-in (revoked or unknown).
    SignedOut,
    /// The server answered with another error code.
    Refused(doorstep_core::api::ErrorCode),
    /// This phone's storage failed.
    Storage,
}

/// What the page shows: totals (fresh, or kept from an earlier visit when
/// `problem` is set) and what went wrong, if anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DistrictLoad {
    pub totals: Option<DistrictTotals>,
    pub problem: Option<LoadProblem>,
}

/// How recent a compound's last change is, for its freshness line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Never synced anything.
    Never,
    /// Within the last hour: minutes ago.
    Minutes(u64),
    /// Within the last day: hours ago.
    Hours(u64),
    /// A day or more ago: days ago (a compound gone quiet).
    Days(u64),
}

impl Freshness {
    pub fn of(last_change_ms: Option<u64>, now_ms: u64) -> Self {
        let Some(at) = last_change_ms else {
            return Freshness::Never;
        };
        let minutes = now_ms.saturating_sub(at) / 60_000;
        match minutes {
            0..60 => Freshness::Minutes(minutes),
            60..1440 => Freshness::Hours(minutes / 60),
            _ => Freshness::Days(minutes / 1440),
        }
    }

    /// A compound silent for a day or more (or ever) is marked.
    pub fn is_stale(self) -> bool {
        matches!(self, Freshness::Never | Freshness::Days(_))
    }
}

/// One day's bars.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// `MM-DD`.
    pub label: String,
    pub day: Day,
    pub x: f64,
    /// Heights in the chart's units, from the baseline.
    pub visited_height: f64,
    pub tests_height: f64,
}

/// The chart over days: the last [`Chart::DAYS`] days up to the latest day
/// with work, every day shown (a quiet day is an empty slot, not skipped).
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub bars: Vec<Bar>,
    /// The largest count of a day, the top of the scale.
    pub max: usize,
}

impl Chart {
    pub const DAYS: usize = 14;
    pub const WIDTH: f64 = 340.0;
    pub const HEIGHT: f64 = 120.0;
    /// Each day's slot: two bars side by side.
    pub const SLOT: f64 = Self::WIDTH / Self::DAYS as f64;

    pub fn of(days: &[Day]) -> Self {
        let Some(last) = days.last().and_then(|d| day_number(&d.date)) else {
            return Chart {
                bars: Vec::new(),
                max: 0,
            };
        };
        let first = last - (Self::DAYS as i64 - 1);
        let shown: Vec<Day> = (first..=last)
            .map(|n| {
                let date = date_of(n);
                days.iter()
                    .find(|d| d.date == date)
                    .cloned()
                    .unwrap_or(Day {
                        date,
                        ..Day::default()
                    })
            })
            .collect();
        let max = shown
            .iter()
            .map(|d| d.households_visited.max(d.home_tests))
            .max()
            .unwrap_or(0);
        let scale = |n: usize| {
            if max == 0 {
                0.0
            } else {
                (Self::HEIGHT - 20.0) * n as f64 / max as f64
            }
        };
        let bars = shown
            .into_iter()
            .enumerate()
            .map(|(i, day)| Bar {
                label: day.date.get(5..).unwrap_or_default().to_owned(),
                x: i as f64 * Self::SLOT,
                visited_height: scale(day.households_visited),
                tests_height: scale(day.home_tests),
                day,
            })
            .collect();
        Chart { bars, max }
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (the inverse of
/// [`ChinaTime::date`]).
fn day_number(date: &str) -> Option<i64> {
    let mut parts = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The date of a day number, at noon China time (far from either midnight).
fn date_of(day: i64) -> String {
    let noon_utc = day * 86_400_000 + 4 * 3_600_000;
    ChinaTime::of(noon_utc.max(0) as u64).date()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(date: &str, visited: usize, tests: usize) -> Day {
        Day {
            date: date.into(),
            households_visited: visited,
            home_tests: tests,
        }
    }

    #[test]
    fn dates_and_day_numbers_agree() {
        for date in ["1970-01-01", "2000-02-29", "2022-03-01", "2022-12-31"] {
            assert_eq!(date_of(day_number(date).unwrap()), date);
        }
        assert_eq!(
            day_number("2022-03-01").unwrap() - day_number("2022-02-28").unwrap(),
            1
        );
        assert_eq!(day_number("not a date"), None);
    }

    #[test]
    fn the_chart_shows_every_one_of_the_last_fourteen_days() {
        let chart = Chart::of(&[
            day("2022-03-20", 9, 9),
            day("2022-04-01", 4, 2),
            day("2022-04-06", 8, 3),
        ]);
        assert_eq!(chart.bars.len(), Chart::DAYS);
        assert_eq!(chart.bars[0].label, "03-24");
        assert_eq!(chart.bars[13].label, "04-06");
        assert_eq!(chart.max, 8, "days before the window do not set the scale");
        let april_1 = &chart.bars[8];
        assert_eq!(april_1.label, "04-01");
        assert_eq!(april_1.tests_height * 2.0, april_1.visited_height);
        assert_eq!(chart.bars[13].visited_height, Chart::HEIGHT - 20.0);
        assert_eq!(chart.bars[12].visited_height, 0.0, "a quiet day is empty");
        assert!(chart.bars[1].x > chart.bars[0].x);
        assert!(Chart::of(&[]).bars.is_empty());
    }

    #[test]
    fn freshness_reads_minutes_hours_then_days() {
        let now = 10 * 86_400_000;
        assert_eq!(Freshness::of(None, now), Freshness::Never);
        assert_eq!(
            Freshness::of(Some(now - 5 * 60_000), now),
            Freshness::Minutes(5)
        );
        assert_eq!(
            Freshness::of(Some(now - 3 * 3_600_000), now),
            Freshness::Hours(3)
        );
        assert_eq!(
            Freshness::of(Some(now - 2 * 86_400_000), now),
            Freshness::Days(2)
        );
        // A phone whose clock is behind the server's reads "0 minutes".
        assert_eq!(Freshness::of(Some(now + 5_000), now), Freshness::Minutes(0));
        assert!(Freshness::Days(1).is_stale() && Freshness::Never.is_stale());
        assert!(!Freshness::Hours(23).is_stale());
    }
}
