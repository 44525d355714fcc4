//! A database of the test's backend (a SQLite file, or a database of its own
//! on the PostgreSQL test server when the test runs as `::postgres` under
//! `on_both_backends!`), put in the states older releases, other tools and
//! hand-run consoles leave, with plain SQL (rusqlite or the postgres crate),
//! never through the store. So one test body covers both dialects.

use std::path::{Path, PathBuf};

use avatar_store::{HISTORY_TABLE, MigrationInfo, OpenOptions, Store, Uuid};

use super::INCIDENT_COLUMNS;
use super::pg::{self, TestDb};

pub enum Db {
    Sqlite { dir: tempfile::TempDir, path: PathBuf },
    Postgres(TestDb),
}

impl Db {
    /// An empty database of this test thread's backend.
    pub fn new() -> Db {
        if pg::on_postgres() {
            Db::Postgres(TestDb::create().expect("the PostgreSQL variant runs only with a server"))
        } else {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("prod.db");
            Db::Sqlite { dir, path }
        }
    }

    /// A database as the release that stopped at `version` left it.
    pub fn at_version(version: i32) -> Db {
        let db = Db::new();
        for m in db.migrations().iter().filter(|m| m.version <= version) {
            db.execute(&m.sql);
        }
        db.record_history(version);
        db
    }

    /// The incident: the history records every migration, but `avatars` has
    /// only V1's columns, and nothing that needs the 18 others.
    pub fn incident() -> Db {
        let db = Db::new();
        let all = db.migrations();
        db.execute(&all[0].sql);
        for m in &all[1..] {
            let sql: String =
                m.sql.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
            for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                if !INCIDENT_COLUMNS.iter().any(|c| stmt.contains(c)) {
                    // A later version may drop an index the incident never got.
                    db.execute(
                        &stmt
                            .replace("DROP INDEX IF EXISTS ", "DROP INDEX ")
                            .replace("DROP INDEX ", "DROP INDEX IF EXISTS "),
                    );
                }
            }
        }
        db.record_history(avatar_store::latest_version());
        db
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    /// The path or URL to open.
    pub fn target(&self) -> &Path {
        match self {
            Db::Sqlite { path, .. } => path,
            Db::Postgres(db) => Path::new(&db.url),
        }
    }

    /// The folder of a SQLite file (where its backups go); None on PostgreSQL.
    pub fn dir(&self) -> Option<&Path> {
        match self {
            Db::Sqlite { dir, .. } => Some(dir.path()),
            Db::Postgres(_) => None,
        }
    }

    pub fn open(&self) -> avatar_store::Result<Store> {
        Store::open(self.target())
    }

    pub fn open_with(&self, options: OpenOptions) -> avatar_store::Result<Store> {
        options.open(self.target())
    }

    /// This dialect's embedded migrations.
    pub fn migrations(&self) -> Vec<MigrationInfo> {
        if self.is_postgres() {
            avatar_store::embedded_postgres_migrations()
        } else {
            avatar_store::embedded_migrations()
        }
    }

    /// Runs `sql` (one or more statements) as it is.
    pub fn execute(&self, sql: &str) {
        match self {
            Db::Sqlite { path, .. } => rusqlite::Connection::open(path).unwrap().execute_batch(sql).unwrap(),
            Db::Postgres(db) => db.client().batch_execute(sql).unwrap_or_else(|e| panic!("{e}: {sql}")),
        }
    }

    /// One integer (a count, a version) that `sql` selects.
    pub fn query_i64(&self, sql: &str) -> i64 {
        match self {
            Db::Sqlite { path, .. } => {
                rusqlite::Connection::open(path).unwrap().query_row(sql, [], |r| r.get(0)).unwrap()
            }
            Db::Postgres(db) => db.client().query_one(&format!("SELECT ({sql})::int8"), &[]).unwrap().get(0),
        }
    }

    /// Strings (names) that `sql` selects, one per row.
    pub fn query_strings(&self, sql: &str) -> Vec<String> {
        match self {
            Db::Sqlite { path, .. } => {
                let conn = rusqlite::Connection::open(path).unwrap();
                let mut stmt = conn.prepare(sql).unwrap();
                stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
            }
            Db::Postgres(db) => db.client().query(sql, &[]).unwrap().iter().map(|r| r.get(0)).collect(),
        }
    }

    pub fn record_history(&self, up_to: i32) {
        self.execute(&format!(
            "CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (version INT4 PRIMARY KEY, name VARCHAR(255), \
             applied_on VARCHAR(255), checksum VARCHAR(255));"
        ));
        for m in self.migrations().iter().filter(|m| m.version <= up_to) {
            self.execute(&format!(
                "INSERT INTO {HISTORY_TABLE} VALUES ({}, '{}', '2025-10-01T00:00:00Z', '{}')",
                m.version, m.name, m.checksum
            ));
        }
    }

    /// The versions the history records; empty without a history table.
    pub fn history(&self) -> Vec<i64> {
        if !self.tables().iter().any(|t| t == HISTORY_TABLE) {
            return Vec::new();
        }
        self.query_strings(&format!("SELECT CAST(version AS TEXT) FROM {HISTORY_TABLE} ORDER BY version"))
            .iter()
            .map(|v| v.parse().unwrap())
            .collect()
    }

    /// Every table, sorted.
    pub fn tables(&self) -> Vec<String> {
        match self {
            Db::Sqlite { .. } => {
                self.query_strings("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            }
            Db::Postgres(_) => self.query_strings(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
            ),
        }
    }

    /// The columns of `table`, in order.
    pub fn columns(&self, table: &str) -> Vec<String> {
        match self {
            Db::Sqlite { .. } => self.query_strings(&format!("SELECT name FROM pragma_table_info('{table}')")),
            Db::Postgres(_) => self.query_strings(&format!(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position"
            )),
        }
    }

    /// The declared type of a column, upper-cased.
    pub fn column_type(&self, table: &str, column: &str) -> String {
        let sql = match self {
            Db::Sqlite { .. } => {
                format!("SELECT upper(type) FROM pragma_table_info('{table}') WHERE name = '{column}'")
            }
            Db::Postgres(_) => format!(
                "SELECT upper(data_type::text) FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = '{table}' AND column_name = '{column}'"
            ),
        };
        self.query_strings(&sql).pop().unwrap()
    }

    /// Declared indexes (not those behind a primary key).
    pub fn index_count(&self) -> i64 {
        match self {
            Db::Sqlite { .. } => {
                self.query_i64("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL")
            }
            Db::Postgres(_) => self.query_i64(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey'",
            ),
        }
    }

    /// Everything a refused open must leave as it was: the file and its
    /// folder on SQLite (byte for byte), the tables and history on PostgreSQL.
    pub fn fingerprint(&self) -> Vec<u8> {
        match self {
            Db::Sqlite { dir, path } => {
                let mut out = std::fs::read(path).unwrap();
                let mut names: Vec<String> = std::fs::read_dir(dir.path())
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                out.extend(names.join("\n").into_bytes());
                out
            }
            Db::Postgres(_) => {
                let mut out = format!("{:?}", self.tables());
                for t in self.tables() {
                    out.push_str(&format!("{t}: {:?}", self.columns(&t)));
                }
                out.push_str(&format!("{:?} {}", self.history(), self.index_count()));
                out.into_bytes()
            }
        }
    }

    /// Rows with the base columns, valid at every schema version.
    pub fn insert_base_rows(&self, user: &str, projects: usize, avatars_each: usize) -> Vec<(Uuid, Vec<Uuid>)> {
        let mut out = Vec::new();
        let mut sql = String::new();
        for p in 0..projects {
            let pid = Uuid::now_v7();
            let t = format!("2025-10-01T00:00:{:02}.000Z", p % 60);
            sql.push_str(&format!(
                "INSERT INTO projects (\"id\", \"userId\", \"name\", \"description\", \"createdAt\", \"updatedAt\") \
                 VALUES ('{pid}', '{user}', 'project {p}', NULL, '{t}', '{t}');\n"
            ));
            let mut ids = Vec::new();
            for a in 0..avatars_each {
                let aid = Uuid::now_v7();
                sql.push_str(&format!(
                    "INSERT INTO avatars (\"id\", \"projectId\", \"userId\", \"name\", \"imageUrl\", \"thumbnailUrl\", \
                     \"createdAt\", \"updatedAt\") VALUES ('{aid}', '{pid}', '{user}', 'avatar {p}.{a}', \
                     'https://cdn.example/a.png', NULL, '{t}', '{t}');\n"
                ));
                ids.push(aid);
            }
            out.push((pid, ids));
        }
        self.execute(&sql);
        out
    }
}
