//! Fixtures shared by the integration tests: databases at historical schema
//! versions and the incident's drifted database, built with plain rusqlite
//! the way an older release (or a hand-run console) would have left them.
#![allow(dead_code)]

pub mod db;
pub mod pg;
pub mod seed;

use std::path::Path;

use avatar_store::{HISTORY_TABLE, NewAvatar, NewProject, Store, Uuid, embedded_migrations};
use rusqlite::{Connection, params};

pub mod files;

/// The incident's 18 columns, as `avatars.<name>`.
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

/// A file at schema `version`, as the release that stopped there left it.
pub fn database_at_version(path: &Path, version: i32) -> Connection {
    let conn = Connection::open(path).unwrap();
    for m in embedded_migrations().iter().filter(|m| m.version <= version) {
        conn.execute_batch(&m.sql).unwrap();
    }
    record_history(&conn, version);
    conn
}

/// The incident: history says fully migrated, but `avatars` never got the 18
/// columns, nor the indexes that need them.
pub fn incident_database(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    let all = embedded_migrations();
    conn.execute_batch(&all[0].sql).unwrap();
    for m in &all[1..] {
        let sql: String = m.sql.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
        for stmt in sql.split(';').map(str::trim).filter(|s| s.starts_with("CREATE INDEX")) {
            if !INCIDENT_COLUMNS.iter().any(|c| stmt.contains(c)) {
                conn.execute_batch(stmt).unwrap();
            }
        }
    }
    record_history(&conn, avatar_store::latest_version());
    conn
}

/// Rows with the base columns, valid at every schema version.
pub fn insert_base_rows(conn: &Connection, user: &str, projects: usize, avatars_each: usize) -> Vec<(Uuid, Vec<Uuid>)> {
    let mut out = Vec::new();
    for p in 0..projects {
        let pid = Uuid::now_v7();
        let t = format!("2025-10-01T00:00:{:02}.000Z", p % 60);
        conn.execute(
            "INSERT INTO projects (id, userId, name, description, createdAt, updatedAt) VALUES (?1, ?2, ?3, NULL, ?4, ?4)",
            params![pid.to_string(), user, format!("project {p}"), t],
        )
        .unwrap();
        let mut ids = Vec::new();
        for a in 0..avatars_each {
            let aid = Uuid::now_v7();
            conn.execute(
                "INSERT INTO avatars (id, projectId, userId, name, imageUrl, thumbnailUrl, createdAt, updatedAt) \
                 VALUES (?1, ?2, ?3, ?4, 'https://cdn.example/a.png', NULL, ?5, ?5)",
                params![aid.to_string(), pid.to_string(), user, format!("avatar {p}.{a}"), t],
            )
            .unwrap();
            ids.push(aid);
        }
        out.push((pid, ids));
    }
    out
}

pub fn project(store: &Store, user: &str, name: &str) -> avatar_store::Project {
    store.create_project(user, &NewProject { name: name.into(), description: None }).unwrap()
}

pub fn full_avatar(project_id: Uuid, name: &str) -> NewAvatar {
    NewAvatar {
        project_id,
        name: name.into(),
        image_url: Some("https://cdn.example.com/avatars/full.png".into()),
        thumbnail_url: Some("https://cdn.example.com/avatars/thumb.png".into()),
        persona_name: Some("Nova Reyes".into()),
        persona_age: Some(29),
        persona_personality: Some("curious, warm".into()),
        persona_background: Some("grew up by the sea".into()),
        gender: Some("female".into()),
        age_range: Some("25-34".into()),
        ethnicity: Some("latina".into()),
        body_type: Some("athletic".into()),
        hair_style: Some("bob".into()),
        hair_color: Some("silver".into()),
        eye_color: Some("green".into()),
        skin_tone: Some("tan".into()),
        style: Some("cyberpunk".into()),
        source_type: Some("generated".into()),
        generation_prompt: Some(
            "portrait of a cyberpunk woman with a silver bob, green eyes, neon city at night".into(),
        ),
        seed_used: Some(i64::MAX),
    }
}

/// Column names of a table, from the file itself.
pub fn columns(conn: &Connection, table: &str) -> Vec<String> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)").unwrap();
    stmt.query_map([table], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

pub fn backups_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".bak"))
        .collect();
    v.sort();
    v
}
