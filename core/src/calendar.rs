//! Dates as people in the compounds read them: China Standard Time
//! (UTC+8, no daylight saving), the one calendar of ledgers, exports and
//! the district's days. Plain arithmetic, no time-zone database.

/// China Standard Time's distance from UTC.
pub const CHINA_UTC_OFFSET_MS: i64 = 8 * 3_600_000;

/// A Unix time in milliseconds as a China Standard Time date and minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChinaTime {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    /// Minutes since midnight.
    pub minutes: i64,
}

impl ChinaTime {
    /// Total over every `u64`: a time a phone sent may be any number, and
    /// one past `i64::MAX` reads as the latest time there is.
    pub fn of(ms: u64) -> Self {
        let local = i64::try_from(ms)
            .unwrap_or(i64::MAX)
            .saturating_add(CHINA_UTC_OFFSET_MS);
        let days = local.div_euclid(86_400_000);
        let minutes = local.rem_euclid(86_400_000) / 60_000;
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year,
            month,
            day,
            minutes,
        }
    }

    /// `YYYY-MM-DD`, which sorts as dates do.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `YYYY-MM-DD HH:MM`.
    pub fn date_time(&self) -> String {
        format!(
            "{} {:02}:{:02}",
            self.date(),
            self.minutes / 60,
            self.minutes % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::ChinaTime;

    /// A phone may send any number as a time (the sync fuzz test found a
    /// push that overflowed here once figures were kept at write time).
    #[test]
    fn any_time_reads_as_a_date() {
        for ms in [u64::MAX, i64::MAX as u64, i64::MAX as u64 - 1] {
            let time = ChinaTime::of(ms);
            assert!(time.year > 200_000_000, "{ms}: {}", time.year);
            assert!((1..=12).contains(&time.month) && (1..=31).contains(&time.day));
        }
    }

    #[test]
    fn days_turn_at_midnight_in_china() {
        // 2022-04-06 15:59:59.999 UTC is 23:59 in China; a millisecond later
        // it is the 7th.
        let before = 1_649_260_799_999;
        assert_eq!(ChinaTime::of(before).date_time(), "2022-04-06 23:59");
        assert_eq!(ChinaTime::of(before + 1).date(), "2022-04-07");
        assert_eq!(ChinaTime::of(0).date_time(), "1970-01-01 08:00");
        assert_eq!(ChinaTime::of(951_782_400_000).date(), "2000-02-29");
    }
}
