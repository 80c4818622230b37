//! The command line's durations: a number and one unit letter (`90s`, `30m`, `24h`, `7d`),
//! each option with its own units and bounds.

use std::time::Duration;

/// Why a duration was refused (clap prints it under the option).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not a number followed by one of the option's units.
    #[error("`{text}` is not a duration like {examples}")]
    Form {
        text: String,
        examples: &'static str,
    },
    /// A duration, but outside what the option allows.
    #[error("`{text}`: {bounds}")]
    Bounds { text: String, bounds: &'static str },
}

/// Whether the number may carry a sign (a negative one is then refused as out of bounds).
#[derive(Clone, Copy)]
enum Number {
    Signed,
    Unsigned,
}

/// What one option accepts.
struct Rule {
    number: Number,
    days: bool,
    min_secs: i128,
    max_secs: i128,
    examples: &'static str,
    bounds: &'static str,
}

fn seconds(text: &str, rule: &Rule) -> Result<i128, DurationError> {
    let form = || DurationError::Form {
        text: text.to_owned(),
        examples: rule.examples,
    };
    let split = text.char_indices().last().map_or(0, |(at, _)| at);
    let (number, unit) = text.split_at(split);
    let (n, range): (i128, (i128, i128)) = match rule.number {
        Number::Signed => (
            number.parse::<i64>().map_err(|_| form())?.into(),
            (i64::MIN.into(), i64::MAX.into()),
        ),
        Number::Unsigned => (
            number.parse::<u64>().map_err(|_| form())?.into(),
            (0, u64::MAX.into()),
        ),
    };
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" if rule.days => 86_400,
        _ => return Err(form()),
    };
    let secs = n * factor;
    if !(range.0..=range.1).contains(&secs) {
        return Err(form());
    }
    if !(rule.min_secs..=rule.max_secs).contains(&secs) {
        return Err(DurationError::Bounds {
            text: text.to_owned(),
            bounds: rule.bounds,
        });
    }
    Ok(secs)
}

/// `--offline-after`: `90s` or `5m` (1 second to 1 day), in seconds.
pub fn offline_after(text: &str) -> Result<i64, DurationError> {
    let rule = Rule {
        number: Number::Signed,
        days: false,
        min_secs: 1,
        max_secs: 86_400,
        examples: "90s or 5m",
        bounds: "between 1 second and 1 day",
    };
    seconds(text, &rule).map(|s| s as i64)
}

/// `--expires-in` of an enrollment token: `30m`, `24h`, `7d` (1 minute to 90 days), in seconds.
pub fn token_lifetime(text: &str) -> Result<i64, DurationError> {
    let rule = Rule {
        number: Number::Signed,
        days: true,
        min_secs: 60,
        max_secs: 90 * 86_400,
        examples: "30m, 24h or 7d",
        bounds: "a token lives between 1 minute and 90 days",
    };
    seconds(text, &rule).map(|s| s as i64)
}

/// How long signed release metadata stays valid: `90s`, `30m`, `12h`, `7d` (1 second to 10
/// years).
pub fn metadata_lifetime(text: &str) -> Result<Duration, DurationError> {
    let rule = Rule {
        number: Number::Unsigned,
        days: true,
        min_secs: 1,
        max_secs: 3650 * 86_400,
        examples: "90s, 30m, 12h or 7d",
        bounds: "between 1 second and 10 years",
    };
    seconds(text, &rule).map(|s| Duration::from_secs(s as u64))
}

/// `--catalog-grace`: `0s` to `90d`, in seconds.
pub fn catalog_grace(text: &str) -> Result<i64, DurationError> {
    let rule = Rule {
        number: Number::Signed,
        days: true,
        min_secs: 0,
        max_secs: 90 * 86_400,
        examples: "24h or 7d",
        bounds: "between 0 seconds and 90 days",
    };
    seconds(text, &rule).map(|s| s as i64)
}

/// The courier's delays (`--delivery-backoff`, `--delivery-settle`, ...): `0s` to `7d`.
pub fn delivery_delay(text: &str) -> Result<Duration, DurationError> {
    let rule = Rule {
        number: Number::Unsigned,
        days: true,
        min_secs: 0,
        max_secs: 7 * 86_400,
        examples: "10s, 30m, 1h or 1d",
        bounds: "between 0 seconds and 7 days",
    };
    seconds(text, &rule).map(|s| Duration::from_secs(s as u64))
}

/// `--header-timeout` and `--body-timeout`: `10s` or `2m` (1 second to 1 hour).
pub fn request_timeout(text: &str) -> Result<Duration, DurationError> {
    let rule = Rule {
        number: Number::Unsigned,
        days: false,
        min_secs: 1,
        max_secs: 3600,
        examples: "10s or 2m",
        bounds: "between 1 second and 1 hour",
    };
    seconds(text, &rule).map(|s| Duration::from_secs(s as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_lifetimes_parse_within_bounds() {
        assert_eq!(token_lifetime("24h"), Ok(86_400));
        assert_eq!(token_lifetime("30m"), Ok(1_800));
        assert_eq!(token_lifetime("7d"), Ok(604_800));
        assert!(token_lifetime("10s").is_err());
        assert!(token_lifetime("91d").is_err());
        assert!(token_lifetime("h").is_err());
        assert!(token_lifetime("").is_err());
        assert!(token_lifetime("24x").is_err());
        assert!(token_lifetime("99999999999999999d").is_err());
        assert!(token_lifetime("5时").is_err());
    }

    #[test]
    fn metadata_lifetimes_parse_within_bounds() {
        assert_eq!(metadata_lifetime("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(metadata_lifetime("90s"), Ok(Duration::from_secs(90)));
        assert!(metadata_lifetime("0s").is_err());
        assert!(metadata_lifetime("3651d").is_err());
        assert!(metadata_lifetime("d").is_err());
        assert!(metadata_lifetime("-5d").is_err());
        assert!(metadata_lifetime("99999999999999999999d").is_err());
    }

    #[test]
    fn offline_after_takes_no_days_and_says_why() {
        assert_eq!(offline_after("90s"), Ok(90));
        assert_eq!(offline_after("5m"), Ok(300));
        assert_eq!(
            offline_after("1d").map_err(|e| e.to_string()),
            Err("`1d` is not a duration like 90s or 5m".to_owned())
        );
        assert_eq!(
            offline_after("-5m").map_err(|e| e.to_string()),
            Err("`-5m`: between 1 second and 1 day".to_owned())
        );
    }
}
