//! Timestamps: stored as unix milliseconds, shown as RFC 3339 with whole seconds in the display offset.

use chrono::{DateTime, FixedOffset, NaiveDateTime, SecondsFormat, TimeZone, Utc};

use super::FieldError;

/// Now, in unix milliseconds.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// `2023-03-23T09:36:26+05:30`.
pub fn display(unix_ms: i64, offset: FixedOffset) -> String {
    DateTime::<Utc>::from_timestamp_millis(unix_ms)
        .unwrap_or_default()
        .with_timezone(&offset)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// India Standard Time, which Exotel uses for its offset-less local times.
pub fn india_offset() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600 + 30 * 60).expect("valid offset")
}

/// A time as Exotel writes it: India time without an offset (`2024-05-01 10:00:00`).
pub fn exotel_time(unix_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(unix_ms)
        .unwrap_or_default()
        .with_timezone(&india_offset())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Reads a time as Exotel sends it: `2024-05-01 10:00:00` (India time), with an explicit offset
/// (`2024-05-01 10:00:00+05:30`), or RFC 3339. Exotel's placeholder `1970-01-01 05:30:00` means
/// unknown and reads as `None`, as does anything unparseable.
pub fn parse_exotel_time(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let parsed = DateTime::parse_from_rfc3339(text)
        .ok()
        .or_else(|| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%:z").ok())
        .or_else(|| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%z").ok())
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .ok()
                .and_then(|naive| india_offset().from_local_datetime(&naive).single())
        })?;
    (parsed.timestamp() > 0).then_some(parsed)
}

/// Reads a time given by a client: RFC 3339 with any offset (`2026-12-02T10:00:00+05:30`,
/// `2026-12-02T04:30:00Z`), to unix seconds (whole seconds: a fraction is dropped).
pub fn parse_rfc3339(field: &str, text: &str) -> Result<i64, FieldError> {
    DateTime::parse_from_rfc3339(text.trim()).map(|t| t.timestamp()).map_err(|_| {
        FieldError(format!(
            "{field} must be an RFC 3339 time with an offset, such as 2026-12-02T10:00:00+05:30 (got {text:?})"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_times_are_rfc3339_with_any_offset_read_to_whole_seconds() {
        assert_eq!(parse_rfc3339("Since", "2023-03-23T09:36:26+05:30").unwrap(), 1_679_544_386);
        assert_eq!(parse_rfc3339("Since", "2023-03-23T04:06:26.900Z").unwrap(), 1_679_544_386);
        for bad in ["2023-03-23 09:36:26", "2023-03-23T09:36:26", "yesterday", ""] {
            let error = parse_rfc3339("since", bad).unwrap_err().0;
            assert!(error.starts_with("since must be an RFC 3339 time"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn display_uses_whole_seconds_and_the_offset() {
        assert_eq!(display(1_679_544_386_123, india_offset()), "2023-03-23T09:36:26+05:30");
        assert_eq!(display(0, FixedOffset::east_opt(0).unwrap()), "1970-01-01T00:00:00+00:00");
    }

    #[test]
    fn exotel_local_times_read_as_india_time() {
        let t = parse_exotel_time("2024-05-01 10:00:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-05-01T10:00:00+05:30");
        assert_eq!(parse_exotel_time("2026-03-02 11:15:06+05:30").unwrap().to_rfc3339(), "2026-03-02T11:15:06+05:30");
        assert!(parse_exotel_time("1970-01-01 05:30:00").is_none());
        assert!(parse_exotel_time("1970-01-01 05:30:00+05:30").is_none());
        assert!(parse_exotel_time("").is_none());
        assert!(parse_exotel_time("yesterday").is_none());
    }

    #[test]
    fn exotel_times_are_written_in_india_time_and_read_back() {
        let at = 1_714_537_800_000; // 2024-05-01T04:30:00Z
        assert_eq!(exotel_time(at), "2024-05-01 10:00:00");
        assert_eq!(parse_exotel_time(&exotel_time(at)).unwrap().timestamp_millis(), at);
    }
}
