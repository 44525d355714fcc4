//! # avatar-store
//!
//! Storage engine for an Avatar Creator: projects and avatars (persona,
//! visual attributes, generation metadata) over embedded SQLite.
//!
//! The schema migrations are compiled into the library; every open applies
//! the pending ones (after a backup) and verifies the live schema against the
//! expected one, so a database missing columns fails at open with every
//! missing column named, instead of failing requests later.
//!
//! ```
//! use avatar_store::{AvatarQuery, NewAvatar, NewProject, ProjectQuery, Store};
//!
//! # fn main() -> avatar_store::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("avatars.db");
//! let store = Store::open(&path)?;
//! let project = store.create_project("user-1", &NewProject { name: "Launch".into(), ..Default::default() })?;
//! store.create_avatar("user-1", &NewAvatar {
//!     project_id: project.id,
//!     name: "Nova".into(),
//!     persona_name: Some("Nova Reyes".into()),
//!     hair_color: Some("silver".into()),
//!     ..Default::default()
//! })?;
//! let page = store.list_projects_with_avatars("user-1", &ProjectQuery::default())?;
//! assert_eq!(page.items[0].avatars[0].name, "Nova");
//! // Another user sees nothing.
//! assert!(store.list_avatars("user-2", &AvatarQuery::default())?.items.is_empty());
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

// The shared PostgreSQL test helpers (core/tests/common/pg.rs) name the
// crate by its name, also where unit tests include them.
#[cfg(test)]
extern crate self as avatar_store;
mod adopt;
mod backup;
mod checkpoint;
mod error;
mod fields;
mod group;
mod migrate;
mod model;
mod postgres;
mod repo;
mod schema;
mod store;
pub mod transfer;

pub use adopt::{AdoptOutcome, AdoptionReport, VersionComparison};
pub use backup::{RestoreOutcome, restore};
pub use error::{Error, Result};
#[doc(hidden)]
pub use fields::FieldType;
pub use fields::{Check, Create, FieldDescriptor, FieldKind, FieldRef, FieldValue, Patch};
pub use group::{Write, Written};
pub use migrate::{
    AppliedMigration, HISTORY_TABLE, MigrationInfo, MigrationOutcome, MigrationStatus, embedded_migrations,
    embedded_postgres_migrations, inspect, latest_version,
};
pub use model::{
    AVATAR_FIELDS, Avatar, AvatarPatch, MAX_ATTRIBUTE_LEN, MAX_DESCRIPTION_LEN, MAX_LONG_TEXT_LEN, MAX_NAME_LEN,
    MAX_PERSONA_AGE, MAX_PROMPT_LEN, MAX_URL_LEN, MAX_USAGE_COUNT, MAX_USER_ID_LEN, NewAvatar, NewProject,
    PROJECT_FIELDS, Project, ProjectPatch, ProjectWithAvatars, SOURCE_TYPES, URL_SCHEMES, format_timestamp, parse_id,
    parse_timestamp, validate_usage_count, validate_user_id,
};
pub use postgres::display_database;
pub use repo::{
    AvatarQuery, AvatarSort, DEFAULT_PAGE_SIZE, MAX_NAME_CONTAINS_LEN, MAX_PAGE_SIZE, Page, ProjectQuery, SortOrder,
    check_limit,
};
pub use schema::{ColumnSpec, Difference, IndexSpec, MissingColumn, RepairOutcome, SchemaReport};
pub use store::{
    Importer, MAX_BUSY_TIMEOUT, MAX_CONNECT_TIMEOUT, MAX_POOL_SIZE, MAX_STATEMENT_TIMEOUT, OpenOptions, Record, Scope,
    Store,
};
pub use transfer::ExportIter;
pub use uuid::Uuid;
