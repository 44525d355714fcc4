//! `demo`: seeds a sample database and prints the demo user's projects with
//! their avatars, the shape of the Avatar Creator's `GET /projects`.
//!
//! It writes only into a new file or a demo database, never into whatever
//! database `AVATAR_STORE_DB` happens to name: a demo database is one whose
//! every project and avatar belongs to the demo user, with at least one.

use std::path::Path;

use avatar_store::{ProjectQuery, Store};
use serde_json::json;

use crate::Report;
use crate::fail::CliError;
use crate::ops::{is_url, open_to_read, shown};

/// The database `demo` uses when no --db / AVATAR_STORE_DB is given.
pub const DEFAULT_DB: &str = "avatar-store-demo.db";
/// The user the sample data belongs to.
pub const USER: &str = "demo-user";
/// The sample data, in the export format: seeding is an import, so records
/// keep fixed ids and running the demo again updates them instead of adding copies.
pub const DATA: &str = include_str!("demo.jsonl");

pub fn run(db: &Path) -> Result<Report, CliError> {
    refuse_unless_demo(db)?;
    let store = Store::open(db)?;
    let (projects, avatars) =
        crate::transfer::import_from(&store, avatar_store::Scope::User(USER), &mut DATA.as_bytes())?;

    let mut all = Vec::new();
    let mut query = ProjectQuery::default();
    loop {
        let page = store.list_projects_with_avatars(USER, &query)?;
        all.extend(page.items);
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    let text = serde_json::to_string_pretty(&all).unwrap_or_default() + "\n";
    eprintln!(
        "demo database {}: seeded user {USER:?} with {projects} projects and {avatars} avatars; their projects:",
        shown(db)
    );
    Ok(Report { human: text, json: json!(all), exit: crate::fail::OK, to_stderr: false })
}

/// Refuses, with a `CONFLICT` (exit 5) and before changing anything, a
/// database that is neither new (missing or empty; on PostgreSQL, a schema
/// without tables and history) nor a demo database.
fn refuse_unless_demo(db: &Path) -> Result<(), CliError> {
    if !is_url(db) {
        match std::fs::metadata(db) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(CliError::io(db, e)),
            Ok(m) if m.len() == 0 => return Ok(()),
            Ok(_) => {}
        }
    }
    let refuse = |why: &str| {
        CliError::from(avatar_store::Error::Conflict(format!(
            "{} is not a demo database ({why}); demo only seeds a new file or a database it seeded",
            shown(db)
        )))
        .with_hint("pass --db with a new file name, or unset AVATAR_STORE_DB to use ./avatar-store-demo.db")
    };
    let store = open_to_read(db)?;
    let report = store.check_schema()?;
    // An empty server database: no history, none of our tables, no others.
    let empty = report.current_version == 0
        && report.warnings.is_empty()
        && ["avatars", "projects"].iter().all(|t| report.missing_tables.iter().any(|m| m == t));
    if is_url(db) && empty {
        return Ok(());
    }
    if !report.missing_tables.is_empty() {
        return Err(refuse("it is not an avatar-store database"));
    }
    let (all_projects, all_avatars) = store.count_all_users()?;
    let (projects, avatars) = store.count(USER)?;
    if (all_projects, all_avatars) != (projects, avatars) {
        return Err(refuse("it holds records of other users"));
    }
    if projects + avatars == 0 {
        return Err(refuse("it holds no demo records"));
    }
    Ok(())
}
