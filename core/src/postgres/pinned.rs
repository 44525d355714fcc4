//! The schema this build's PostgreSQL migrations produce, written down.
//!
//! A store normally learns it from the server (see `schema::expected`): the
//! migrations run in a scratch schema inside a transaction that is rolled
//! back. A read-only store cannot do that (every `CREATE` fails in a
//! read-only transaction, and a deploy check's role may lack the privilege
//! anyway), so it compares against this copy instead. The test below fails
//! when this copy and what the test server makes of the migrations differ.

use crate::schema::{ColumnSpec, IndexSpec, Schema, TableSpec};

const TS: &str = "TIMESTAMP(3) WITH TIME ZONE";

/// (table, [(column, type, not null, default, primary key position)], foreign keys)
type Table =
    (&'static str, &'static [(&'static str, &'static str, bool, Option<&'static str>, i32)], &'static [&'static str]);

const TABLES: &[Table] = &[
    (
        "avatars",
        &[
            ("id", "TEXT", true, None, 1),
            ("projectId", "TEXT", true, None, 0),
            ("userId", "TEXT", true, None, 0),
            ("name", "TEXT", true, None, 0),
            ("imageUrl", "TEXT", false, None, 0),
            ("thumbnailUrl", "TEXT", false, None, 0),
            ("createdAt", TS, true, None, 0),
            ("updatedAt", TS, true, None, 0),
            ("personaName", "TEXT", false, None, 0),
            ("personaAge", "INTEGER", false, None, 0),
            ("personaPersonality", "TEXT", false, None, 0),
            ("personaBackground", "TEXT", false, None, 0),
            ("gender", "TEXT", false, None, 0),
            ("ageRange", "TEXT", false, None, 0),
            ("ethnicity", "TEXT", false, None, 0),
            ("bodyType", "TEXT", false, None, 0),
            ("hairStyle", "TEXT", false, None, 0),
            ("hairColor", "TEXT", false, None, 0),
            ("eyeColor", "TEXT", false, None, 0),
            ("skinTone", "TEXT", false, None, 0),
            ("style", "TEXT", false, None, 0),
            ("sourceType", "TEXT", false, None, 0),
            ("generationPrompt", "TEXT", false, None, 0),
            ("seedUsed", "BIGINT", false, None, 0),
            ("usageCount", "INTEGER", true, Some("0"), 0),
            ("lastUsedAt", TS, false, None, 0),
        ],
        &["FOREIGN KEY (\"projectId\") REFERENCES projects(id) ON DELETE CASCADE"],
    ),
    (
        "projects",
        &[
            ("id", "TEXT", true, None, 1),
            ("userId", "TEXT", true, None, 0),
            ("name", "TEXT", true, None, 0),
            ("description", "TEXT", false, None, 0),
            ("createdAt", TS, true, None, 0),
            ("updatedAt", TS, true, None, 0),
        ],
        &[],
    ),
];

/// (name, table, columns as pg_get_indexdef lists them)
const INDEXES: &[(&str, &str, &[&str])] = &[
    ("idx_avatars_project_created", "avatars", &["\"projectId\"", "\"createdAt\"", "id"]),
    ("idx_projects_user_created", "projects", &["\"userId\"", "\"createdAt\"", "id"]),
];

/// The head schema, as `schema::read_schema` reads it from a PostgreSQL 15 server.
pub(crate) fn expected() -> Schema {
    let mut s = Schema::default();
    for (table, columns, fks) in TABLES {
        let mut t = TableSpec { foreign_keys: fks.iter().map(|f| f.to_string()).collect(), ..Default::default() };
        for (name, decl_type, not_null, default, primary_key) in *columns {
            t.columns.insert(
                name.to_string(),
                ColumnSpec {
                    decl_type: decl_type.to_string(),
                    not_null: *not_null,
                    default: default.map(str::to_owned),
                    primary_key: *primary_key,
                },
            );
        }
        s.tables.insert(table.to_string(), t);
    }
    for (name, table, columns) in INDEXES {
        let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        let sql = format!("CREATE INDEX {name} ON {table} USING btree ({})", columns.join(", "));
        s.indexes.insert(
            name.to_string(),
            IndexSpec { name: name.to_string(), table: table.to_string(), columns, unique: false, sql },
        );
    }
    s
}

#[cfg(test)]
mod test {
    /// What the migrations make on the test server is what a read-only
    /// store compares with. Skips without a server, as the integration
    /// tests do, and fails under CI=true.
    #[test]
    fn the_written_down_schema_is_what_the_migrations_make() {
        let url = match std::env::var("AVATAR_STORE_TEST_PG_URL") {
            Ok(u) if !u.trim().is_empty() => u,
            _ => {
                assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "CI=true needs AVATAR_STORE_TEST_PG_URL");
                eprintln!("skipped: AVATAR_STORE_TEST_PG_URL is not set");
                return;
            }
        };
        // The scratch schema is rolled back: any database of the server does.
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let live = super::super::schema::expected(&mut c).unwrap();
        assert_eq!(format!("{:#?}", super::expected()), format!("{live:#?}"));
    }
}
