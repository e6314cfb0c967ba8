//! Wall-clock time and the proleptic Gregorian calendar: seconds since the
//! Unix epoch, and the conversions between day numbers and dates that the
//! audit log (timestamps) and the certificate checks (X.509 validity) need.
//!
//! A leaf with no I/O besides reading the system clock; the date arithmetic
//! is H. Hinnant's `days_from_civil` / `civil_from_days`, exact for every
//! date an `i64` day count can name.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Days since 1970-01-01 of a date (`month` 1-12, `day` 1-31).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month 1-12, day 1-31) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Epoch seconds as RFC 3339 UTC: `2024-05-01T12:34:56Z`, or with
/// `millis` `2024-05-01T12:34:56.789Z`.
pub fn format_utc(epoch: i64, millis: Option<u32>) -> String {
    let (y, m, d) = civil_from_days(epoch.div_euclid(86_400));
    let s = epoch.rem_euclid(86_400);
    let (hh, mm, ss) = (s / 3600, s / 60 % 60, s % 60);
    // Every access and audit line carries one: the digits are written by
    // hand (the formatting machinery cost ~3,000 instructions a line), for
    // the four-digit years anything real has.
    if (0..=9999).contains(&y) && millis.is_none_or(|ms| ms < 1000) {
        fn put(out: &mut String, mut n: u64, width: usize) {
            let mut digits = [b'0'; 4];
            for d in digits[..width].iter_mut().rev() {
                *d = b'0' + (n % 10) as u8;
                n /= 10;
            }
            for &d in &digits[..width] {
                out.push(char::from(d));
            }
        }
        let mut out = String::with_capacity(24);
        put(&mut out, y as u64, 4);
        for (sep, n) in [('-', m as u64), ('-', d as u64), ('T', hh as u64), (':', mm as u64)] {
            out.push(sep);
            put(&mut out, n, 2);
        }
        out.push(':');
        put(&mut out, ss as u64, 2);
        if let Some(ms) = millis {
            out.push('.');
            put(&mut out, u64::from(ms), 3);
        }
        out.push('Z');
        return out;
    }
    match millis {
        Some(ms) => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{ms:03}Z"),
        None => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-1_000_000, -719_469, -1, 0, 1, 11_016, 19_000, 60_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && (1..=31).contains(&d), "{days}");
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
    }

    #[test]
    fn known_dates() {
        let cases = [
            (0, None, "1970-01-01T00:00:00Z"),
            (951_782_400, Some(5), "2000-02-29T00:00:00.005Z"),
            (1_700_000_000, Some(123), "2023-11-14T22:13:20.123Z"),
            (4_107_542_399, None, "2100-02-28T23:59:59Z"),
            (-1, None, "1969-12-31T23:59:59Z"),
            (253_402_300_799, Some(999), "9999-12-31T23:59:59.999Z"),
            (253_402_300_800, Some(0), "10000-01-01T00:00:00.000Z"),
            (-62_167_219_200, None, "0000-01-01T00:00:00Z"),
            (-62_167_219_201, None, "-001-12-31T23:59:59Z"),
        ];
        for (secs, ms, want) in cases {
            assert_eq!(format_utc(secs, ms), want);
        }
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert!(unix_now() > 1.7e9);
    }

    /// The digits written by hand are `format!`'s, over years 0 to 9999.
    #[test]
    fn hand_written_digits_match_format() {
        let mut secs = -62_167_219_200i64;
        let mut i = 0u32;
        while secs < 253_402_300_800 {
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            let t = secs.rem_euclid(86_400);
            let (hh, mm, ss) = (t / 3600, t / 60 % 60, t % 60);
            let ms = i % 1000;
            let want = format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{ms:03}Z");
            assert_eq!(format_utc(secs, Some(ms)), want);
            assert_eq!(format_utc(secs, None), format!("{}Z", &want[..19]));
            secs += 7_777_777 + i64::from(i % 3_600);
            i += 1;
        }
        assert!(i > 30_000, "{i}");
    }
}
