//! The data model (projects, avatars, their inputs and patches) and the
//! validation every write goes through before SQLite sees it.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::fields::{
    apply_patch, define_record, init_field, join_columns, new_struct, not_settable, patch_struct, set_new, set_patch,
};

/// Longest accepted `userId`, in characters.
pub const MAX_USER_ID_LEN: usize = 255;
/// Longest accepted project or avatar `name`, in characters.
pub const MAX_NAME_LEN: usize = 200;
/// Longest accepted project `description`, in characters.
pub const MAX_DESCRIPTION_LEN: usize = 2_000;
/// Longest accepted `imageUrl` / `thumbnailUrl`, in characters.
pub const MAX_URL_LEN: usize = 2_048;
/// Longest accepted `personaPersonality` / `personaBackground`, in characters.
pub const MAX_LONG_TEXT_LEN: usize = 5_000;
/// Longest accepted visual attribute (`gender`, `hairColor`, ...), in characters.
pub const MAX_ATTRIBUTE_LEN: usize = 100;
/// Longest accepted `generationPrompt`, in characters.
pub const MAX_PROMPT_LEN: usize = 4_000;
/// Highest accepted `personaAge`.
pub const MAX_PERSONA_AGE: i64 = 150;
/// Highest `usageCount` a record may carry, on import as everywhere:
/// 2^53 − 1, the largest integer JavaScript numbers (and JSON readers built on
/// doubles) hold exactly, so the count reads back the same in every binding.
/// [`crate::Store::record_usage`] on an avatar at this count is a
/// [`Error::Conflict`] and leaves it unchanged.
pub const MAX_USAGE_COUNT: i64 = (1 << 53) - 1;
/// The accepted values of `sourceType`.
pub const SOURCE_TYPES: &[&str] = &["generated", "uploaded", "imported", "preset"];
/// URL schemes accepted in `imageUrl` and `thumbnailUrl`.
pub const URL_SCHEMES: &[&str] = &["https", "http"];

crate::project_table!(define_record {
    /// A user's project: a named folder of avatars.
    record Project;
    /// Input for [`crate::Store::create_project`].
    #[serde(rename_all = "camelCase")]
    new NewProject;
    /// A partial update of a project: `None` leaves a field as it is, and for
    /// optional fields `Some(None)` clears it.
    #[serde(rename_all = "camelCase")]
    patch ProjectPatch;
    fields PROJECT_FIELDS; columns PROJECT_COLUMNS; placeholders PROJECT_PLACEHOLDERS;
});

crate::avatar_table!(define_record {
    /// An avatar with persona, visual attributes and generation metadata.
    record Avatar;
    /// Input for [`crate::Store::create_avatar`]; every field but `project_id` and
    /// `name` is optional.
    #[serde(rename_all = "camelCase", default)]
    new NewAvatar;
    /// A partial update of an avatar: `None` leaves a field as it is, and for
    /// optional fields `Some(None)` clears it. The project, owner and usage
    /// counters cannot be patched.
    #[serde(rename_all = "camelCase", default)]
    patch AvatarPatch;
    fields AVATAR_FIELDS; columns AVATAR_COLUMNS; placeholders AVATAR_PLACEHOLDERS;
});

/// A project together with its avatars, oldest avatar first: the shape of the
/// Avatar Creator's `GET /projects` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectWithAvatars {
    /// The project's own fields, flattened into the JSON object.
    #[serde(flatten)]
    pub project: Project,
    /// Its avatars in creation order.
    pub avatars: Vec<Avatar>,
}

/// JSON carries times in the stored form (fixed width, milliseconds, `Z`),
/// so exports and API responses read the same as the database.
mod timestamp {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_timestamp(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_timestamp(&text).ok_or_else(|| D::Error::custom(format!("not an RFC 3339 time: {text:?}")))
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
            match Option::<String>::deserialize(d)? {
                Some(text) => super::super::parse_timestamp(&text)
                    .map(Some)
                    .ok_or_else(|| D::Error::custom(format!("not an RFC 3339 time: {text:?}"))),
                None => Ok(None),
            }
        }
    }
}

/// In JSON a patch tells "absent" (leave) from `null` (clear).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Checks a caller's user id: non-empty after trimming, at most
/// [`MAX_USER_ID_LEN`] characters, no NUL.
pub fn validate_user_id(user_id: &str) -> Result<()> {
    no_nul("userId", user_id)?;
    if user_id.trim().is_empty() {
        return Err(Error::validation("userId", "must not be empty"));
    }
    max_len("userId", user_id, MAX_USER_ID_LEN)
}

/// Checks a `usageCount`: 0 to [`MAX_USAGE_COUNT`].
pub fn validate_usage_count(n: i64) -> Result<()> {
    if !(0..=MAX_USAGE_COUNT).contains(&n) {
        return Err(Error::validation("usageCount", format!("must be between 0 and {MAX_USAGE_COUNT}, got {n}")));
    }
    Ok(())
}

/// Every column of both tables, in the data model's spelling: the names a
/// database error may mention.
pub(crate) fn field_names() -> impl Iterator<Item = &'static str> {
    AVATAR_FIELDS.iter().chain(PROJECT_FIELDS).map(|f| f.column)
}

/// Parses an id given as text, naming `field` when it is not a UUID.
///
/// ```
/// let id = avatar_store::parse_id("projectId", "0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6b").unwrap();
/// assert_eq!(id.get_version_num(), 7);
/// let err = avatar_store::parse_id("projectId", "nope").unwrap_err();
/// assert_eq!(err.field(), Some("projectId"));
/// ```
pub fn parse_id(field: &str, s: &str) -> Result<Uuid> {
    Uuid::try_parse(s).map_err(|_| Error::validation(field, format!("not a UUID: {:?}", truncate(s))))
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

fn no_nul(field: &str, s: &str) -> Result<()> {
    if s.contains('\0') {
        return Err(Error::validation(field, "must not contain NUL bytes"));
    }
    Ok(())
}

fn max_len(field: &str, s: &str, max: usize) -> Result<()> {
    // Byte length bounds the character count from above, so most strings skip the count.
    if s.len() > max && s.chars().count() > max {
        return Err(Error::validation(field, format!("longer than {max} characters")));
    }
    Ok(())
}

pub(crate) fn name(field: &str, s: &str) -> Result<()> {
    no_nul(field, s)?;
    if s.trim().is_empty() {
        return Err(Error::validation(field, "must not be empty"));
    }
    max_len(field, s, MAX_NAME_LEN)
}

pub(crate) fn text(field: &str, s: &str, max: usize) -> Result<()> {
    no_nul(field, s)?;
    max_len(field, s, max)
}

pub(crate) fn range(field: &str, n: i64, lo: i64, hi: i64) -> Result<()> {
    if !(lo..=hi).contains(&n) {
        return Err(Error::validation(field, format!("must be between {lo} and {hi}, got {n}")));
    }
    Ok(())
}

pub(crate) fn one_of(field: &str, s: &str, values: &[&str]) -> Result<()> {
    if !values.contains(&s) {
        return Err(Error::validation(field, format!("must be one of {}, got {:?}", values.join(", "), truncate(s))));
    }
    Ok(())
}

pub(crate) fn url(field: &str, s: &str) -> Result<()> {
    no_nul(field, s)?;
    max_len(field, s, MAX_URL_LEN)?;
    // `scheme://` and at least one byte more, compared in place (splitting
    // at the first "://" set up a substring search for every URL).
    let b = s.as_bytes();
    let scheme_ok = URL_SCHEMES.iter().any(|ok| {
        let n = ok.len();
        b.len() > n + 3 && b[..n].eq_ignore_ascii_case(ok.as_bytes()) && &b[n..n + 3] == b"://"
    });
    if !scheme_ok {
        return Err(Error::validation(
            field,
            format!("must be an absolute {} URL, got {:?}", URL_SCHEMES.join(" or "), truncate(s)),
        ));
    }
    // For ASCII (nearly every URL) whitespace and control characters are
    // the bytes up to the space and DEL: a byte test instead of decoding
    // and classifying each char, which cost about 900 instructions per URL.
    let unclean = if s.is_ascii() {
        s.bytes().any(|b| b <= b' ' || b == 0x7f)
    } else {
        s.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    if unclean {
        return Err(Error::validation(field, "must not contain whitespace or control characters"));
    }
    Ok(())
}

/// Formats a time the way the database stores it: RFC 3339 UTC with
/// milliseconds and a `Z`, always 24 characters, so text order is time order.
pub fn format_timestamp(t: &DateTime<Utc>) -> String {
    // chrono's RFC 3339 writer (3x faster than `format!` of the parts, issue
    // 10) keeps what the fixed form cannot hold: years past 9999 get a sign,
    // as `%Y` writes them; a leap second prints as :60.
    match fixed_timestamp(t) {
        Some(text) => String::from_utf8(text.to_vec()).expect("digits and ASCII separators"),
        None => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }
}

/// [`format_timestamp`] of a time in years 0..=9999 without a leap second
/// (every stored time), written digit by digit: two per new avatar, where
/// chrono's writer cost about 700 instructions each (callgrind, W2) and
/// this about a sixth of that. `None` for the rest.
pub(crate) fn fixed_timestamp(t: &DateTime<Utc>) -> Option<[u8; 24]> {
    // The naive time: `DateTime`'s own accessors add the (zero) offset on each call.
    let t = t.naive_utc();
    let nanos = t.nanosecond();
    let year = t.year();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let mut b = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut n: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, year as u32);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, t.second());
    put(20, 3, nanos / 1_000_000);
    Some(b)
}

/// Parses a stored timestamp. The fixed-width form is read by hand because it
/// is on every row of every read; anything else falls back to RFC 3339.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let fixed = b.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z';
    if fixed {
        let n = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
        };
        let date = NaiveDate::from_ymd_opt(n(0..4)? as i32, n(5..7)?, n(8..10)?)?;
        let time = date.and_hms_milli_opt(n(11..13)?, n(14..16)?, n(17..19)?, n(20..23)?)?;
        return Some(Utc.from_utc_datetime(&time));
    }
    DateTime::parse_from_rfc3339(s).ok().map(|t| truncate_to_millis(t.with_timezone(&Utc)))
}

/// Drops sub-millisecond precision, which the database does not keep.
pub fn truncate_to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    let ms = t.nanosecond() / 1_000_000 * 1_000_000;
    t.with_nanosecond(ms).unwrap_or(t)
}

/// The creation time carried by a UUID v7, so that `createdAt` order and id
/// order agree; falls back to now for other versions.
pub(crate) fn time_of_id(id: &Uuid) -> DateTime<Utc> {
    id.get_timestamp()
        .and_then(|ts| {
            let (secs, nanos) = ts.to_unix();
            Utc.timestamp_opt(secs as i64, nanos).single()
        })
        .map(truncate_to_millis)
        .unwrap_or_else(|| truncate_to_millis(Utc::now()))
}

/// Years outside 0..=9999 would break the fixed width of stored timestamps.
pub(crate) fn validate_timestamp(field: &str, t: &DateTime<Utc>) -> Result<()> {
    if !(0..=9999).contains(&t.year()) {
        return Err(Error::validation(field, "year must be between 0 and 9999"));
    }
    Ok(())
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn format_timestamp_matches_chrono_pattern() {
        let times = [
            "0000-01-01T00:00:00.000Z",
            "1970-01-01T00:00:00.000Z",
            "2026-11-25T09:05:07.009Z",
            "2024-02-29T23:59:59.999Z",
            "9999-12-31T23:59:59.990Z",
        ];
        for text in times {
            let t = parse_timestamp(text).unwrap();
            assert_eq!(format_timestamp(&t), t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
            assert_eq!(format_timestamp(&t), text);
        }
        // A leap second (nanoseconds >= 1e9) keeps its milliseconds within 0..=999.
        let leap = Utc.with_ymd_and_hms(2016, 12, 31, 23, 59, 59).unwrap().with_nanosecond(1_500_000_000).unwrap();
        assert_eq!(format_timestamp(&leap), leap.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        let now = truncate_to_millis(Utc::now());
        assert_eq!(format_timestamp(&now), now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        // Outside 0..=9999, what the `%Y` pattern writes too.
        for year in [-1, 10_000] {
            let t = Utc.with_ymd_and_hms(year, 1, 2, 3, 4, 5).unwrap();
            assert_eq!(format_timestamp(&t), t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        }
    }

    fn avatar() -> Avatar {
        let now = truncate_to_millis(Utc::now());
        Avatar::from_new(&NewAvatar { name: "Ada".into(), ..Default::default() }, "u1", Uuid::now_v7(), now)
    }

    #[test]
    fn timestamps_round_trip_at_fixed_width() {
        let t = truncate_to_millis(Utc::now());
        let s = format_timestamp(&t);
        assert_eq!(s.len(), 24);
        assert_eq!(parse_timestamp(&s), Some(t));
        assert_eq!(
            parse_timestamp("2026-01-02T03:04:05+00:00").map(|t| format_timestamp(&t)).as_deref(),
            Some("2026-01-02T03:04:05.000Z")
        );
        assert_eq!(parse_timestamp("2026-13-02T03:04:05.000Z"), None);
        assert_eq!(parse_timestamp("garbage"), None);
    }

    /// The fixed-width writer against chrono's RFC 3339 writer, which it
    /// replaces for years 0..=9999, and against the pattern it stands for.
    #[test]
    fn the_hand_written_timestamp_agrees_with_chrono() {
        use proptest::prelude::*;
        let chrono_form = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let first = Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap().timestamp_millis();
        let last = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap().timestamp_millis() + 999;
        proptest!(ProptestConfig::with_cases(20_000), |(ms in first..=last, sub_ms in 0u32..1_000_000)| {
            let t = DateTime::from_timestamp_millis(ms).unwrap();
            // Sub-millisecond digits are cut, never rounded up.
            let t = t.with_nanosecond(t.nanosecond() + sub_ms).unwrap();
            let text = format_timestamp(&t);
            prop_assert_eq!(&text, &chrono_form(&t));
            prop_assert_eq!(&text, &t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        });
        for t in [first, last, 0, 951_782_400_000, 4_107_542_399_999] {
            let t = DateTime::from_timestamp_millis(t).unwrap();
            assert_eq!(format_timestamp(&t), chrono_form(&t));
        }
    }

    /// The byte test for ASCII URLs and the char test for the rest refuse
    /// the same things.
    #[test]
    fn urls_with_whitespace_or_control_characters_are_refused_ascii_or_not() {
        for bad in [
            "https://a b",
            "https://a\tb",
            "https://a\nb",
            "https://a\x0bb",
            "https://a\x1fb",
            "https://a\x7fb",
            "https://a\0b",
            "https://ä b",
            "https://ä\u{85}b",
            "https://ä\u{a0}b",
            "https://ä\u{2028}b",
            "https://ä\u{9f}b",
            "https://",
            "http:/x",
            "ftp://x",
            "httpss://x",
            " https://x",
        ] {
            assert_eq!(url("imageUrl", bad).unwrap_err().field(), Some("imageUrl"), "{bad:?}");
        }
        for good in ["https://x", "HTTP://x/~a?b=c#d", "hTtPs://ä.example/ü", "http://a/%20", "https://:://"] {
            url("imageUrl", good).unwrap_or_else(|e| panic!("{good:?}: {e}"));
        }
    }

    #[test]
    fn each_rule_names_its_field() {
        type Breaker = Box<dyn Fn(&mut Avatar)>;
        let cases: Vec<(&str, Breaker)> = vec![
            ("name", Box::new(|a| a.name = "  ".into())),
            ("name", Box::new(|a| a.name = "x".repeat(MAX_NAME_LEN + 1))),
            ("name", Box::new(|a| a.name = "a\0b".into())),
            ("userId", Box::new(|a| a.user_id = String::new())),
            ("imageUrl", Box::new(|a| a.image_url = Some("javascript:alert(1)".into()))),
            ("imageUrl", Box::new(|a| a.image_url = Some(format!("https://x/{}", "a".repeat(MAX_URL_LEN))))),
            ("thumbnailUrl", Box::new(|a| a.thumbnail_url = Some("https://a b".into()))),
            ("personaAge", Box::new(|a| a.persona_age = Some(151))),
            ("personaAge", Box::new(|a| a.persona_age = Some(-1))),
            ("sourceType", Box::new(|a| a.source_type = Some("stolen".into()))),
            ("hairColor", Box::new(|a| a.hair_color = Some("x".repeat(MAX_ATTRIBUTE_LEN + 1)))),
            ("generationPrompt", Box::new(|a| a.generation_prompt = Some("\0".into()))),
            ("usageCount", Box::new(|a| a.usage_count = -5)),
            ("usageCount", Box::new(|a| a.usage_count = MAX_USAGE_COUNT + 1)),
            ("usageCount", Box::new(|a| a.usage_count = i64::MAX)),
        ];
        for (field, break_it) in cases {
            let mut a = avatar();
            break_it(&mut a);
            let err = a.validate().unwrap_err();
            assert_eq!(err.field(), Some(field), "{err}");
            assert_eq!(err.code(), "VALIDATION");
        }
    }

    #[test]
    fn limits_are_inclusive_and_count_characters() {
        let mut a = avatar();
        a.name = "é".repeat(MAX_NAME_LEN);
        a.persona_age = Some(150);
        a.image_url = Some("HTTPS://example.com/a.png".into());
        a.generation_prompt = Some("'; DROP TABLE avatars; --".into());
        a.usage_count = MAX_USAGE_COUNT;
        a.validate().unwrap();
        a.validate_imported().unwrap();
    }

    #[test]
    fn patch_json_tells_absent_from_null() {
        let p: AvatarPatch = serde_json::from_str(r#"{"hairColor": null, "name": "B"}"#).unwrap();
        assert_eq!(p.hair_color, Some(None));
        assert_eq!(p.eye_color, None);
        assert_eq!(p.name.as_deref(), Some("B"));
    }
}
