//! When a failed delivery is tried again (`webhooks.retry_schedule`).
//!
//! The first attempt goes out at once; after the n-th failed attempt the n-th delay of the
//! schedule is waited, plus up to 20% jitter so that a receiver that was down does not get every
//! retry in the same second. Past the last delay the delivery is `failed`: a schedule of k delays
//! allows k + 1 attempts.

use std::time::Duration;

/// The contract's schedule (section 8).
pub const DEFAULT_SCHEDULE: [&str; 7] = ["5s", "5m", "30m", "2h", "5h", "10h", "10h"];

/// The largest share of a delay added as jitter.
pub const MAX_JITTER: f64 = 0.2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        RetrySchedule::parse(&DEFAULT_SCHEDULE).expect("the default schedule parses")
    }
}

impl RetrySchedule {
    /// Reads a list like `["5s", "5m", "2h"]`; the error names the entry by its index.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<RetrySchedule, String> {
        let delays = entries
            .iter()
            .enumerate()
            .map(|(i, e)| parse_duration(e.as_ref()).map_err(|why| format!("[{i}]: {why}")))
            .collect::<Result<_, _>>()?;
        Ok(RetrySchedule { delays })
    }

    pub fn from_delays(delays: Vec<Duration>) -> RetrySchedule {
        RetrySchedule { delays }
    }

    /// The delays without jitter.
    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }

    /// Attempts a delivery gets in all: the first and one per delay.
    pub fn max_attempts(&self) -> usize {
        self.delays.len() + 1
    }

    /// How long to wait before the next attempt once `failed_attempts` attempts have failed:
    /// zero before the first, then the schedule's delay plus `jitter * 20%` of it (`jitter` is
    /// drawn by the caller from `0.0..1.0`; values outside are clamped, NaN counts as 0).
    /// `None` once the schedule is exhausted: the delivery has failed.
    pub fn delay_after(&self, failed_attempts: usize, jitter: f64) -> Option<Duration> {
        if failed_attempts == 0 {
            return Some(Duration::ZERO);
        }
        let base = *self.delays.get(failed_attempts - 1)?;
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        Some(base + base.mul_f64(jitter * MAX_JITTER))
    }
}

/// A whole number followed by a unit, `ms`, `s`, `m`, `h` or `d`: `"500ms"`, `"5m"`, `"10h"`.
/// Zero is refused (a retry at once would only repeat the failure).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "{text:?} is not a duration: write a whole number and a unit, ms, s, m, h or d \
             (like \"500ms\", \"5s\", \"30m\", \"2h\")"
        )
    };
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let unit_ms: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    if n == 0 {
        return Err(format!("{text:?}: a retry delay must be greater than 0"));
    }
    n.checked_mul(unit_ms)
        .filter(|&ms| ms <= 365 * 86_400_000)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?}: a retry delay may be a year at most"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn durations_parse_with_each_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(5 * S));
        assert_eq!(parse_duration("30m"), Ok(1800 * S));
        assert_eq!(parse_duration("2h"), Ok(7200 * S));
        assert_eq!(parse_duration("1d"), Ok(86400 * S));
        assert_eq!(parse_duration(" 5m "), Ok(300 * S));
    }

    #[test]
    fn bad_durations_say_why() {
        for bad in ["", "5", "s", "5 s", "5sec", "-5s", "1.5h", "5S", "ms5", "h"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.contains("is not a duration"), "{bad:?}: {e}");
        }
        assert!(parse_duration("0s").unwrap_err().contains("greater than 0"));
        assert!(parse_duration("400d").unwrap_err().contains("a year"));
        assert!(parse_duration("99999999999999999999h").is_err());
    }

    #[test]
    fn a_bad_entry_is_named_by_its_index() {
        let e = RetrySchedule::parse(&["5s", "5x"]).unwrap_err();
        assert!(e.starts_with("[1]: \"5x\""), "{e}");
    }

    #[test]
    fn default_is_the_contracts() {
        let d = RetrySchedule::default();
        let secs: Vec<u64> = d.delays().iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [5, 300, 1800, 7200, 18000, 36000, 36000]);
        assert_eq!(d.max_attempts(), 8);
    }

    #[test]
    fn delays_follow_the_schedule_then_run_out() {
        let d = RetrySchedule::default();
        assert_eq!(d.delay_after(0, 0.9), Some(Duration::ZERO));
        assert_eq!(d.delay_after(1, 0.0), Some(5 * S));
        assert_eq!(d.delay_after(2, 0.0), Some(300 * S));
        assert_eq!(d.delay_after(7, 0.0), Some(36000 * S));
        assert_eq!(d.delay_after(8, 0.0), None);
        assert_eq!(d.delay_after(usize::MAX, 0.5), None);
        let empty = RetrySchedule::parse::<&str>(&[]).unwrap();
        assert_eq!(empty.delay_after(1, 0.0), None);
        assert_eq!(empty.max_attempts(), 1);
    }

    #[test]
    fn jitter_adds_at_most_a_fifth() {
        let d = RetrySchedule::parse(&["10s"]).unwrap();
        assert_eq!(d.delay_after(1, 0.5), Some(11 * S));
        let near = d.delay_after(1, 0.999_999).unwrap();
        assert!(near > 11 * S && near < 12 * S, "{near:?}");
        assert_eq!(d.delay_after(1, 1.0), Some(12 * S));
        assert_eq!(d.delay_after(1, 7.0), Some(12 * S));
        assert_eq!(d.delay_after(1, -1.0), Some(10 * S));
        assert_eq!(d.delay_after(1, f64::NAN), Some(10 * S));
    }
}
