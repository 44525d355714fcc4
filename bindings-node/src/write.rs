//! Core results to JavaScript values: plain objects with `Date` fields and
//! string ids. The structs here exist to declare the TypeScript interfaces and
//! to convert; absent optional values are `null`, never missing, so every
//! avatar has all its columns.

use avatar_store::{MigrationOutcome, MigrationStatus, Page, RepairOutcome, SchemaReport};
use chrono::{DateTime, Utc};
use napi::bindgen_prelude::{BigInt, Either, ToNapiValue, TypeName};
use napi::{Env, ValueType, sys};
use napi_derive::napi;

/// A user's project.
#[napi(object, use_nullable = true)]
pub struct Project {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<avatar_store::Project> for Project {
    fn from(p: avatar_store::Project) -> Self {
        Project {
            id: p.id.to_string(),
            user_id: p.user_id,
            name: p.name,
            description: p.description,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A project with its avatars, oldest first: the incident's `GET /projects` item.
#[napi(object, use_nullable = true)]
pub struct ProjectWithAvatars {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub avatars: Vec<Avatar>,
}

impl From<avatar_store::ProjectWithAvatars> for ProjectWithAvatars {
    fn from(pa: avatar_store::ProjectWithAvatars) -> Self {
        let p = pa.project;
        ProjectWithAvatars {
            id: p.id.to_string(),
            user_id: p.user_id,
            name: p.name,
            description: p.description,
            created_at: p.created_at,
            updated_at: p.updated_at,
            avatars: pa.avatars.into_iter().map(Avatar::from).collect(),
        }
    }
}

/// An avatar with persona, visual attributes and generation metadata.
#[napi(object, use_nullable = true)]
pub struct Avatar {
    pub id: String,
    pub project_id: String,
    pub user_id: String,
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
    /// A `number` while it is a safe integer, a `bigint` beyond (seeds are 64-bit).
    pub seed_used: Option<Either<i64, BigInt>>,
    pub usage_count: i64,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

impl From<avatar_store::Avatar> for Avatar {
    fn from(a: avatar_store::Avatar) -> Self {
        Avatar {
            id: a.id.to_string(),
            project_id: a.project_id.to_string(),
            user_id: a.user_id,
            name: a.name,
            image_url: a.image_url,
            thumbnail_url: a.thumbnail_url,
            persona_name: a.persona_name,
            persona_age: a.persona_age,
            persona_personality: a.persona_personality,
            persona_background: a.persona_background,
            gender: a.gender,
            age_range: a.age_range,
            ethnicity: a.ethnicity,
            body_type: a.body_type,
            hair_style: a.hair_style,
            hair_color: a.hair_color,
            eye_color: a.eye_color,
            skin_tone: a.skin_tone,
            style: a.style,
            source_type: a.source_type,
            generation_prompt: a.generation_prompt,
            seed_used: a.seed_used.map(|s| {
                if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&s) {
                    Either::A(s)
                } else {
                    Either::B(BigInt::from(s))
                }
            }),
            usage_count: a.usage_count,
            last_used_at: a.last_used_at,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// One page of projects; pass `nextCursor` back as `cursor` for the next one.
#[napi(object, use_nullable = true)]
pub struct ProjectPage {
    pub items: Vec<Project>,
    pub next_cursor: Option<String>,
}

/// One page of projects with their avatars.
#[napi(object, use_nullable = true)]
pub struct ProjectWithAvatarsPage {
    pub items: Vec<ProjectWithAvatars>,
    pub next_cursor: Option<String>,
}

/// One page of avatars.
#[napi(object, use_nullable = true)]
pub struct AvatarPage {
    pub items: Vec<Avatar>,
    pub next_cursor: Option<String>,
}

/// Numbers of records.
#[napi(object)]
pub struct Counts {
    pub projects: i64,
    pub avatars: i64,
}

/// A migration compiled into this build.
#[napi(object)]
pub struct EmbeddedMigration {
    /// The `n` of `V{n}__{name}.sql`.
    pub version: i32,
    pub name: String,
    /// The checksum refinery records in `refinery_schema_history`.
    pub checksum: String,
    pub sql: String,
}

/// What an operation produced, converted to JavaScript on the main thread.
// One value per call, moved once from the worker to the main thread: boxing
// the large variants would cost an allocation and save nothing.
#[allow(clippy::large_enum_variant)]
pub enum Out {
    Unit,
    Project(avatar_store::Project),
    Projects(Page<avatar_store::Project>),
    ProjectsWithAvatars(Page<avatar_store::ProjectWithAvatars>),
    Avatar(avatar_store::Avatar),
    Avatars(Vec<avatar_store::Avatar>),
    AvatarPage(Page<avatar_store::Avatar>),
    Counts(u64, u64),
    Report(SchemaReport),
    Repair(RepairOutcome),
    Migration(MigrationOutcome),
    Status(MigrationStatus),
    Restore(avatar_store::RestoreOutcome),
    Opened(std::sync::Arc<avatar_store::Store>),
}

impl TypeName for Out {
    fn type_name() -> &'static str {
        "unknown"
    }

    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

fn serialized<T: serde::Serialize>(env: sys::napi_env, v: &T) -> napi::Result<sys::napi_value> {
    let env = Env::from_raw(env);
    let value = env.to_js_value(v)?;
    unsafe { ToNapiValue::to_napi_value(env.raw(), value) }
}

impl ToNapiValue for Out {
    unsafe fn to_napi_value(env: sys::napi_env, out: Self) -> napi::Result<sys::napi_value> {
        unsafe {
            match out {
                Out::Unit => <()>::to_napi_value(env, ()),
                Out::Project(p) => Project::to_napi_value(env, p.into()),
                Out::Projects(page) => ProjectPage::to_napi_value(
                    env,
                    ProjectPage {
                        items: page.items.into_iter().map(Into::into).collect(),
                        next_cursor: page.next_cursor,
                    },
                ),
                Out::ProjectsWithAvatars(page) => ProjectWithAvatarsPage::to_napi_value(
                    env,
                    ProjectWithAvatarsPage {
                        items: page.items.into_iter().map(Into::into).collect(),
                        next_cursor: page.next_cursor,
                    },
                ),
                Out::Avatar(a) => Avatar::to_napi_value(env, a.into()),
                Out::Avatars(v) => Vec::<Avatar>::to_napi_value(env, v.into_iter().map(Into::into).collect()),
                Out::AvatarPage(page) => AvatarPage::to_napi_value(
                    env,
                    AvatarPage {
                        items: page.items.into_iter().map(Into::into).collect(),
                        next_cursor: page.next_cursor,
                    },
                ),
                Out::Counts(projects, avatars) => {
                    Counts::to_napi_value(env, Counts { projects: projects as i64, avatars: avatars as i64 })
                }
                Out::Report(r) => serialized(env, &r),
                Out::Repair(r) => serialized(env, &r),
                Out::Migration(m) => serialized(env, &m),
                Out::Status(s) => serialized(env, &s),
                Out::Restore(r) => serialized(env, &r),
                Out::Opened(store) => crate::Store::to_napi_value(env, crate::Store::wrap(store)),
            }
        }
    }
}
