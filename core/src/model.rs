//! The data model (projects, avatars, their inputs and patches) and the
//! validation every write goes through before SQLite sees it.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};

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

/// A user's project: a named folder of avatars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    /// UUID v7 assigned at creation.
    pub id: Uuid,
    /// Owner; every query is scoped by it.
    pub user_id: String,
    /// Display name, non-empty.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Creation time (UTC, millisecond precision).
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change (UTC, millisecond precision).
    #[serde(with = "timestamp")]
    pub updated_at: DateTime<Utc>,
}

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

/// An avatar with persona, visual attributes and generation metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Avatar {
    /// UUID v7 assigned at creation.
    pub id: Uuid,
    /// The project it belongs to.
    pub project_id: Uuid,
    /// Owner; always the project's owner.
    pub user_id: String,
    /// Display name, non-empty.
    pub name: String,
    /// Full-size image, `http(s)` URL.
    pub image_url: Option<String>,
    /// Thumbnail image, `http(s)` URL.
    pub thumbnail_url: Option<String>,
    /// Persona: name.
    pub persona_name: Option<String>,
    /// Persona: age, 0–150.
    pub persona_age: Option<i64>,
    /// Persona: personality.
    pub persona_personality: Option<String>,
    /// Persona: background story.
    pub persona_background: Option<String>,
    /// Visual attribute.
    pub gender: Option<String>,
    /// Visual attribute.
    pub age_range: Option<String>,
    /// Visual attribute.
    pub ethnicity: Option<String>,
    /// Visual attribute.
    pub body_type: Option<String>,
    /// Visual attribute.
    pub hair_style: Option<String>,
    /// Visual attribute.
    pub hair_color: Option<String>,
    /// Visual attribute.
    pub eye_color: Option<String>,
    /// Visual attribute.
    pub skin_tone: Option<String>,
    /// Visual attribute.
    pub style: Option<String>,
    /// How the avatar was made, one of [`SOURCE_TYPES`].
    pub source_type: Option<String>,
    /// The prompt it was generated from.
    pub generation_prompt: Option<String>,
    /// The generator seed (64-bit).
    pub seed_used: Option<i64>,
    /// How often it was used; only [`crate::Store::record_usage`] changes it.
    pub usage_count: i64,
    /// When it was last used.
    #[serde(default, with = "timestamp::option")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// Creation time (UTC, millisecond precision).
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last edit (UTC, millisecond precision); usage does not count as an edit.
    #[serde(with = "timestamp")]
    pub updated_at: DateTime<Utc>,
}

/// Input for [`crate::Store::create_project`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewProject {
    /// Display name, non-empty after trimming.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

/// A partial update of a project: `None` leaves a field as it is, and for
/// optional fields `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectPatch {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New description, or `Some(None)` to clear it.
    #[serde(default, deserialize_with = "present")]
    pub description: Option<Option<String>>,
}

/// Input for [`crate::Store::create_avatar`]; every field but `project_id` and
/// `name` is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[allow(missing_docs)] // the fields are those of Avatar
pub struct NewAvatar {
    pub project_id: Uuid,
    pub name: String,
    pub image_url: Option<String>,
    pub thumbnail_url: Option<String>,
    pub persona_name: Option<String>,
    pub persona_age: Option<i64>,
    pub persona_personality: Option<String>,
    pub persona_background: Option<String>,
    pub gender: Option<String>,
    pub age_range: Option<String>,
    pub ethnicity: Option<String>,
    pub body_type: Option<String>,
    pub hair_style: Option<String>,
    pub hair_color: Option<String>,
    pub eye_color: Option<String>,
    pub skin_tone: Option<String>,
    pub style: Option<String>,
    pub source_type: Option<String>,
    pub generation_prompt: Option<String>,
    pub seed_used: Option<i64>,
}

/// A partial update of an avatar: `None` leaves a field as it is, and for
/// optional fields `Some(None)` clears it. The project, owner and usage
/// counters cannot be patched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[allow(missing_docs)] // the fields are those of Avatar
pub struct AvatarPatch {
    pub name: Option<String>,
    #[serde(deserialize_with = "present")]
    pub image_url: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub thumbnail_url: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub persona_name: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub persona_age: Option<Option<i64>>,
    #[serde(deserialize_with = "present")]
    pub persona_personality: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub persona_background: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub gender: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub age_range: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub ethnicity: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub body_type: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub hair_style: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub hair_color: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub eye_color: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub skin_tone: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub style: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub source_type: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub generation_prompt: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub seed_used: Option<Option<i64>>,
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

fn set<T: Clone>(target: &mut T, patch: &Option<T>) {
    if let Some(v) = patch {
        *target = v.clone();
    }
}

impl ProjectPatch {
    pub(crate) fn apply(&self, p: &mut Project) {
        set(&mut p.name, &self.name);
        set(&mut p.description, &self.description);
    }
}

impl AvatarPatch {
    pub(crate) fn apply(&self, a: &mut Avatar) {
        set(&mut a.name, &self.name);
        set(&mut a.image_url, &self.image_url);
        set(&mut a.thumbnail_url, &self.thumbnail_url);
        set(&mut a.persona_name, &self.persona_name);
        set(&mut a.persona_age, &self.persona_age);
        set(&mut a.persona_personality, &self.persona_personality);
        set(&mut a.persona_background, &self.persona_background);
        set(&mut a.gender, &self.gender);
        set(&mut a.age_range, &self.age_range);
        set(&mut a.ethnicity, &self.ethnicity);
        set(&mut a.body_type, &self.body_type);
        set(&mut a.hair_style, &self.hair_style);
        set(&mut a.hair_color, &self.hair_color);
        set(&mut a.eye_color, &self.eye_color);
        set(&mut a.skin_tone, &self.skin_tone);
        set(&mut a.style, &self.style);
        set(&mut a.source_type, &self.source_type);
        set(&mut a.generation_prompt, &self.generation_prompt);
        set(&mut a.seed_used, &self.seed_used);
    }
}

impl Avatar {
    /// The avatar a [`NewAvatar`] becomes, owned by `user_id`, with `id`
    /// and timestamps assigned.
    pub(crate) fn from_new(new: &NewAvatar, user_id: &str, id: Uuid, now: DateTime<Utc>) -> Avatar {
        Avatar {
            id,
            project_id: new.project_id,
            user_id: user_id.to_owned(),
            name: new.name.clone(),
            image_url: new.image_url.clone(),
            thumbnail_url: new.thumbnail_url.clone(),
            persona_name: new.persona_name.clone(),
            persona_age: new.persona_age,
            persona_personality: new.persona_personality.clone(),
            persona_background: new.persona_background.clone(),
            gender: new.gender.clone(),
            age_range: new.age_range.clone(),
            ethnicity: new.ethnicity.clone(),
            body_type: new.body_type.clone(),
            hair_style: new.hair_style.clone(),
            hair_color: new.hair_color.clone(),
            eye_color: new.eye_color.clone(),
            skin_tone: new.skin_tone.clone(),
            style: new.style.clone(),
            source_type: new.source_type.clone(),
            generation_prompt: new.generation_prompt.clone(),
            seed_used: new.seed_used,
            usage_count: 0,
            last_used_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Checks every field; the first failure names its field.
    pub fn validate(&self) -> Result<()> {
        validate_user_id(&self.user_id)?;
        name("name", &self.name)?;
        url("imageUrl", &self.image_url)?;
        url("thumbnailUrl", &self.thumbnail_url)?;
        text("personaName", &self.persona_name, MAX_NAME_LEN)?;
        if let Some(age) = self.persona_age {
            if !(0..=MAX_PERSONA_AGE).contains(&age) {
                return Err(Error::validation(
                    "personaAge",
                    format!("must be between 0 and {MAX_PERSONA_AGE}, got {age}"),
                ));
            }
        }
        text("personaPersonality", &self.persona_personality, MAX_LONG_TEXT_LEN)?;
        text("personaBackground", &self.persona_background, MAX_LONG_TEXT_LEN)?;
        for (field, value) in [
            ("gender", &self.gender),
            ("ageRange", &self.age_range),
            ("ethnicity", &self.ethnicity),
            ("bodyType", &self.body_type),
            ("hairStyle", &self.hair_style),
            ("hairColor", &self.hair_color),
            ("eyeColor", &self.eye_color),
            ("skinTone", &self.skin_tone),
            ("style", &self.style),
        ] {
            text(field, value, MAX_ATTRIBUTE_LEN)?;
        }
        if let Some(s) = &self.source_type {
            if !SOURCE_TYPES.contains(&s.as_str()) {
                return Err(Error::validation(
                    "sourceType",
                    format!("must be one of {}, got {:?}", SOURCE_TYPES.join(", "), truncate(s)),
                ));
            }
        }
        text("generationPrompt", &self.generation_prompt, MAX_PROMPT_LEN)?;
        validate_usage_count(self.usage_count)
    }

    /// Checks a record about to be imported as it stands, timestamps and
    /// counters included (which [`Avatar::validate`] checks too, as every
    /// write does).
    pub fn validate_imported(&self) -> Result<()> {
        validate_timestamp("createdAt", &self.created_at)?;
        validate_timestamp("updatedAt", &self.updated_at)?;
        if let Some(t) = &self.last_used_at {
            validate_timestamp("lastUsedAt", t)?;
        }
        self.validate()
    }
}

impl Project {
    /// Checks every field; the first failure names its field.
    pub fn validate(&self) -> Result<()> {
        validate_user_id(&self.user_id)?;
        name("name", &self.name)?;
        text("description", &self.description, MAX_DESCRIPTION_LEN)
    }
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
pub(crate) const FIELD_NAMES: &[&str] = &[
    "id",
    "projectId",
    "userId",
    "name",
    "description",
    "imageUrl",
    "thumbnailUrl",
    "personaName",
    "personaAge",
    "personaPersonality",
    "personaBackground",
    "gender",
    "ageRange",
    "ethnicity",
    "bodyType",
    "hairStyle",
    "hairColor",
    "eyeColor",
    "skinTone",
    "style",
    "sourceType",
    "generationPrompt",
    "seedUsed",
    "usageCount",
    "lastUsedAt",
    "createdAt",
    "updatedAt",
];

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

fn name(field: &str, s: &str) -> Result<()> {
    no_nul(field, s)?;
    if s.trim().is_empty() {
        return Err(Error::validation(field, "must not be empty"));
    }
    max_len(field, s, MAX_NAME_LEN)
}

fn text(field: &str, s: &Option<String>, max: usize) -> Result<()> {
    match s {
        Some(s) => {
            no_nul(field, s)?;
            max_len(field, s, max)
        }
        None => Ok(()),
    }
}

fn url(field: &str, s: &Option<String>) -> Result<()> {
    let Some(s) = s else { return Ok(()) };
    no_nul(field, s)?;
    max_len(field, s, MAX_URL_LEN)?;
    let scheme_ok = s
        .split_once("://")
        .map(|(scheme, rest)| URL_SCHEMES.iter().any(|ok| scheme.eq_ignore_ascii_case(ok)) && !rest.is_empty())
        .unwrap_or(false);
    if !scheme_ok {
        return Err(Error::validation(
            field,
            format!("must be an absolute {} URL, got {:?}", URL_SCHEMES.join(" or "), truncate(s)),
        ));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::validation(field, "must not contain whitespace or control characters"));
    }
    Ok(())
}

/// Formats a time the way the database stores it: RFC 3339 UTC with
/// milliseconds and a `Z`, always 24 characters, so text order is time order.
pub fn format_timestamp(t: &DateTime<Utc>) -> String {
    // chrono's RFC 3339 writer: about 3x faster than `format!` of the parts
    // and 5x faster than a `format` pattern, which is parsed on every call
    // (a criterion micro-benchmark, issue 10). Years past 9999 get a sign,
    // as `%Y` writes them; a leap second prints as :60.
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
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
