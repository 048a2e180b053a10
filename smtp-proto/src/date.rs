//! Calendar dates in UTC from a Unix time the caller gives (the core has no clock; std
//! has no calendar): the RFC 5322 §3.3 `date-time` of `Received:` and `Date:` headers,
//! and the RFC 3339 `date-time` of TLS reports (RFC 8460 §4.4).
//!
//! ```
//! use smtp_proto::date::UtcDateTime;
//! let t = UtcDateTime::from_unix(1_796_317_728);
//! assert_eq!(t.rfc5322(), "Thu, 03 Dec 2026 17:08:48 +0000");
//! assert_eq!(t.rfc3339(), "2026-12-03T17:08:48Z");
//! ```

use std::fmt::Write;

/// A second in UTC, broken into calendar parts (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcDateTime {
    /// The year.
    pub year: i64,
    /// The month, 1–12.
    pub month: u32,
    /// The day of the month, 1–31.
    pub day: u32,
    /// The hour, 0–23.
    pub hour: u32,
    /// The minute, 0–59.
    pub minute: u32,
    /// The second, 0–59.
    pub second: u32,
    /// The day of the week, 0 = Monday … 6 = Sunday.
    pub weekday: u32,
}

impl UtcDateTime {
    /// The date and time `secs` seconds after 1970-01-01T00:00:00Z.
    pub fn from_unix(secs: u64) -> Self {
        let days = (secs / 86_400) as i64;
        let rem = (secs % 86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Self {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
            // 1970-01-01 was a Thursday (3).
            weekday: ((days + 3) % 7) as u32,
        }
    }

    /// `Thu, 03 Dec 2026 17:08:48 +0000` (RFC 5322 §3.3).
    pub fn rfc5322(&self) -> String {
        const WD: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        const MON: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let mut s = String::with_capacity(31);
        let _ = write!(
            s,
            "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
            WD[self.weekday as usize % 7],
            self.day,
            MON[(self.month as usize + 11) % 12],
            self.year,
            self.hour,
            self.minute,
            self.second
        );
        s
    }

    /// `2026-12-03T17:08:48Z` (RFC 3339 §5.6).
    pub fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// Year, month (1-12), day (1-31) of a day count since 1970-01-01 (proleptic
/// Gregorian). The era arithmetic is the standard 400-year-cycle conversion.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        let at = |s| UtcDateTime::from_unix(s);
        assert_eq!(at(0).rfc5322(), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(at(951_782_400).rfc5322(), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(
            at(1_796_317_728).rfc5322(),
            "Thu, 03 Dec 2026 17:08:48 +0000"
        );
        assert_eq!(at(951_868_799).rfc3339(), "2000-02-29T23:59:59Z");
        assert_eq!(at(4_102_444_800).rfc3339(), "2100-01-01T00:00:00Z");
    }
}
