//! Helpers shared by the CLI tests: the binary, and databases in the states
//! operators meet (fresh, old, the incident's drift), built with plain rusqlite.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use avatar_store::{HISTORY_TABLE, embedded_migrations};
use rusqlite::{Connection, params};

/// The incident's 18 columns.
pub const INCIDENT_COLUMNS: [&str; 18] = [
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
];

/// The binary, with the database given by flag and no inherited AVATAR_STORE_DB.
pub fn cli(db: &Path) -> Command {
    let mut c = bare();
    c.arg("--db").arg(db);
    c
}

/// The binary with no database option at all.
pub fn bare() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_avatar-store"));
    c.env_remove("AVATAR_STORE_DB");
    c
}

pub fn record_history(conn: &Connection, up_to: i32) {
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (version INT4 PRIMARY KEY, name VARCHAR(255), \
         applied_on VARCHAR(255), checksum VARCHAR(255));"
    ))
    .unwrap();
    for m in embedded_migrations().iter().filter(|m| m.version <= up_to) {
        conn.execute(
            &format!("INSERT INTO {HISTORY_TABLE} VALUES (?1, ?2, '2025-10-01T00:00:00Z', ?3)"),
            params![m.version, m.name, m.checksum],
        )
        .unwrap();
    }
}

/// A file as the release that stopped at `version` left it.
pub fn database_at_version(path: &Path, version: i32) {
    let conn = Connection::open(path).unwrap();
    for m in embedded_migrations().iter().filter(|m| m.version <= version) {
        conn.execute_batch(&m.sql).unwrap();
    }
    record_history(&conn, version);
}

/// The incident: the history records every migration, but `avatars` has only
/// V1's columns and lacks the indexes that would need the 18 others.
pub fn incident_database(path: &Path) {
    let conn = Connection::open(path).unwrap();
    let all = embedded_migrations();
    conn.execute_batch(&all[0].sql).unwrap();
    for m in &all[1..] {
        for stmt in m.sql.split(';').map(str::trim).filter(|s| s.contains("CREATE INDEX")) {
            let stmt: String =
                stmt.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
            if !INCIDENT_COLUMNS.iter().any(|c| stmt.contains(c)) {
                conn.execute_batch(&stmt).unwrap();
            }
        }
    }
    record_history(&conn, avatar_store::latest_version());
    conn.execute_batch(
        "INSERT INTO projects VALUES ('01942f6a-5e00-7000-8000-0000000000aa', 'u1', 'Live', NULL, \
           '2025-10-01T00:00:00.000Z', '2025-10-01T00:00:00.000Z');
         INSERT INTO avatars VALUES ('01942f6a-5e00-7000-8000-0000000000bb', '01942f6a-5e00-7000-8000-0000000000aa', \
           'u1', 'Survivor', 'https://cdn.example/a.png', NULL, '2025-10-01T00:00:00.000Z', '2025-10-01T00:00:00.000Z');",
    )
    .unwrap();
}

pub fn columns(path: &Path, table: &str) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)").unwrap();
    stmt.query_map([table], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// Files in `dir` whose name ends with `.bak`.
pub fn backups_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bak"))
        .collect();
    v.sort();
    v
}

pub fn stdout_json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
