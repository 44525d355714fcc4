//! The CLI on a PostgreSQL URL: the incident's drift found by `doctor`,
//! repaired by `doctor --fix`, and the password never printed.

mod common;
#[allow(dead_code, unused_macros)]
#[path = "../../core/tests/common/pg.rs"]
mod pg;

use std::path::Path;

use avatar_store::{HISTORY_TABLE, embedded_postgres_migrations};
use common::{INCIDENT_COLUMNS, cli};

/// The incident on PostgreSQL: history at V5, the 18 columns never arrived.
fn incident_database(c: &mut postgres::Client) {
    let all = embedded_postgres_migrations();
    c.batch_execute(&all[0].sql).unwrap();
    for m in &all[1..] {
        for stmt in m.sql.split(';').map(|s| {
            s.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n").trim().to_owned()
        }) {
            if stmt.starts_with("CREATE INDEX") && !INCIDENT_COLUMNS.iter().any(|col| stmt.contains(col)) {
                c.batch_execute(&stmt).unwrap();
            }
        }
    }
    c.batch_execute(&format!(
        "CREATE TABLE {HISTORY_TABLE} (version INT4 PRIMARY KEY, name VARCHAR(255), \
         applied_on VARCHAR(255), checksum VARCHAR(255))"
    ))
    .unwrap();
    for m in &all {
        c.execute(
            &format!("INSERT INTO {HISTORY_TABLE} VALUES ($1, $2, '2025-10-01T00:00:00Z', $3)"),
            &[&m.version, &m.name, &m.checksum],
        )
        .unwrap();
    }
    c.batch_execute(
        "INSERT INTO projects VALUES ('p1', 'u1', 'P', NULL, now(), now()); \
         INSERT INTO avatars VALUES ('a1', 'p1', 'u1', 'A', NULL, NULL, now(), now());",
    )
    .unwrap();
}

#[test]
fn doctor_names_the_18_columns_on_postgres_and_fix_repairs_them() {
    let Some(db) = pg::TestDb::create() else { return };
    incident_database(&mut db.client());
    // The test server trusts local connections: any password is accepted,
    // and none may be printed.
    let url = db.url.replacen("postgresql://postgres@", "postgresql://postgres:s3cr3t-pw@", 1);
    assert_ne!(url, db.url);
    let url = Path::new(&url);

    let out = cli(url).arg("doctor").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for col in INCIDENT_COLUMNS {
        assert!(text.contains(&format!("missing column: avatars.{col}")), "{col}: {text}");
    }
    assert!(!text.contains("s3cr3t-pw"), "{text}");
    assert!(text.contains(&db.name), "{text}");

    let out = cli(url).args(["doctor", "--fix", "--json"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("s3cr3t-pw"), "{text}");

    let out = cli(url).arg("doctor").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let mut c = db.client();
    let listed = pg::listed_avatar_columns(&mut c);
    for col in INCIDENT_COLUMNS {
        assert!(listed.iter().any(|l| l == col), "{col} in {listed:?}");
    }
    let n: i64 = c.query_one("SELECT count(*) FROM avatars WHERE id = 'a1'", &[]).unwrap().get(0);
    assert_eq!(n, 1, "rows intact");
}

#[path = "../../core/tests/common/seed.rs"]
mod seed;

/// The incident team's database as Prisma Migrate and the report's console
/// left it: `doctor` compares it with each version writing nothing (no
/// history table appears), `migrate --adopt` refuses it by name until it is
/// exactly a version, then records it, and `migrate` does the rest.
#[test]
fn doctor_and_migrate_adopt_on_a_prisma_made_postgres_database() {
    let Some(db) = pg::TestDb::create() else { return };
    let mut c = db.client();
    for sql in [seed::PRISMA_MIGRATIONS, seed::BASE_TABLES_POSTGRES, seed::ROWS] {
        c.batch_execute(sql).unwrap();
    }
    let url = Path::new(&db.url);
    let has_history = |c: &mut postgres::Client| {
        c.query_opt("SELECT 1 FROM information_schema.tables WHERE table_name = $1", &[&HISTORY_TABLE])
            .unwrap()
            .is_some()
    };
    let run = |args: &[&str]| {
        let out = cli(url).args(args).output().unwrap();
        let all = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), all)
    };

    let (code, text) = run(&["migrate"]);
    assert_eq!(code, Some(7), "{text}");
    assert!(text.contains("migrate --adopt"), "{text}");

    // Before the 18 columns: this would have caught the incident before deploy.
    let (code, text) = run(&["doctor"]);
    assert_eq!(code, Some(1), "{text}");
    for col in INCIDENT_COLUMNS {
        assert!(text.contains(&format!("missing column: avatars.{col} ")), "{col}: {text}");
    }
    assert!(text.contains("V1: matches exactly"), "{text}");
    assert!(!has_history(&mut c), "doctor wrote nothing");

    // The report's 18 hand-typed statements: three columns typed otherwise than V4 makes them.
    c.batch_execute(seed::INCIDENT_ALTERS).unwrap();
    let (code, text) = run(&["doctor"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains(&format!("the closest is V{}", seed::FIXED_VERSION)), "{text}");
    let (code, text) = run(&["migrate", "--adopt"]);
    assert_eq!(code, Some(7), "{text}");
    for col in seed::MISTYPED_POSTGRES {
        assert!(text.contains(&format!("avatars.{col}: expected")), "{col}: {text}");
    }
    assert!(!has_history(&mut c), "a refused adoption wrote nothing");

    c.batch_execute(seed::FIX_POSTGRES).unwrap();
    let (code, text) = run(&["migrate", "--adopt"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(&format!("adopted as V{}", seed::FIXED_VERSION)), "{text}");
    let (code, text) = run(&["migrate"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("schema OK"), "{text}");
    let (code, text) = run(&["doctor"]);
    assert_eq!(code, Some(0), "{text}");
    let versions: Vec<i32> = c
        .query(&format!("SELECT version FROM {HISTORY_TABLE} ORDER BY version"), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, (1..=avatar_store::latest_version()).collect::<Vec<_>>());
    let n: i64 = c.query_one("SELECT count(*) FROM avatars WHERE id = $1", &[&seed::AVATAR_ID]).unwrap().get(0);
    assert_eq!(n, 1, "rows intact");
}
