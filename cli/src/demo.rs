//! `demo`: seeds a sample database and prints the demo user's projects with
//! their avatars, the shape of the Avatar Creator's `GET /projects`.

use std::path::Path;

use avatar_store::{ProjectQuery, Store};
use serde_json::json;

use crate::Report;
use crate::fail::CliError;

/// The database `demo` uses when no --db / AVATAR_STORE_DB is given.
pub const DEFAULT_DB: &str = "avatar-store-demo.db";
/// The user the sample data belongs to.
pub const USER: &str = "demo-user";
/// The sample data, in the export format: seeding is an import, so records
/// keep fixed ids and running the demo again updates them instead of adding copies.
pub const DATA: &str = include_str!("demo.jsonl");

pub fn run(db: &Path) -> Result<Report, CliError> {
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
        db.display()
    );
    Ok(Report { human: text, json: json!(all), exit: crate::fail::OK, to_stderr: false })
}
