//! The CLI on a PostgreSQL URL: the incident's drift found by `doctor`,
//! repaired by `doctor --fix`, and the password never printed.

mod common;
#[allow(dead_code, unused_macros)]
#[path = "../../core/tests/common/pg.rs"]
mod pg;

use std::path::Path;

use avatar_store::{HISTORY_TABLE, embedded_postgres_migrations};
use common::{INCIDENT_COLUMNS, cli};

/// The incident on PostgreSQL (history at head, the 18 columns never
/// arrived), holding one project and one avatar.
fn incident_database(c: &mut postgres::Client) {
    pg::incident_database(c, &INCIDENT_COLUMNS);
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

/// `url` with a password the trusting test server ignores, so that every
/// test can check it is never printed.
fn with_password(url: &str) -> String {
    let u = url.replacen("postgresql://postgres@", "postgresql://postgres:s3cr3t-pw@", 1);
    assert_ne!(u, url);
    u
}

/// Runs the binary; exit code and stdout + stderr, checked for the password.
fn run(cmd: &mut assert_cmd::Command) -> (Option<i32>, String) {
    let out = cmd.output().unwrap();
    let text = common::text(&out.stdout) + &common::text(&out.stderr);
    assert!(!text.contains("s3cr3t-pw"), "the password was printed: {text}");
    (out.status.code(), text)
}

/// The binary with the database in AVATAR_STORE_DB instead of --db.
fn with_env(url: &str) -> assert_cmd::Command {
    let mut c = common::bare();
    c.env("AVATAR_STORE_DB", url);
    c
}

#[test]
fn every_command_works_on_a_url_given_by_flag_or_environment() {
    let Some(db) = pg::TestDb::create() else { return };
    let Some(other) = pg::TestDb::create() else { return };
    let url = with_password(&db.url);
    let dir = tempfile::tempdir().unwrap();

    let (code, text) = run(with_env(&url).arg("--help"));
    assert_eq!(code, Some(0), "{text}");

    let (code, text) = run(cli(Path::new(&url)).args(["migrate", "--dry-run"]));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("at V0") && text.contains("V6__"), "{text}");
    let tables: i64 =
        db.client().query_one("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", &[]).unwrap().get(0);
    assert_eq!(tables, 0, "a dry run created tables");

    let (code, text) = run(with_env(&url).arg("status"));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("schema version: V0"), "{text}");

    // demo seeds a database without tables, and again without copies.
    for _ in 0..2 {
        let (code, text) = run(with_env(&url).arg("demo"));
        assert_eq!(code, Some(0), "{text}");
    }
    let (code, text) = run(cli(Path::new(&url)).args(["status", "--json"]));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("\"currentVersion\": 7"), "{text}");
    let (code, text) = run(cli(Path::new(&url)).arg("doctor"));
    assert_eq!(code, Some(0), "{text}");

    let other_url = with_password(&other.url);
    let (code, text) = run(with_env(&other_url).arg("migrate"));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("migrated from V0 to V7") && text.contains("one transaction"), "{text}");
    let (code, text) = run(with_env(&other_url).arg("migrate"));
    assert!(code == Some(0) && text.contains("already at V7"), "{text}");
    // A migrated database without records is not one demo writes into.
    let (code, text) = run(with_env(&other_url).arg("demo"));
    assert_eq!(code, Some(5), "{text}");

    let export = dir.path().join("all.jsonl");
    let (code, text) = run(with_env(&url).args(["export", "--all-users", "--json", "-o"]).arg(&export));
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(cli(Path::new(&other_url)).args(["import", "--all-users"]).arg(&export));
    assert_eq!(code, Some(0), "{text}");
    let again = dir.path().join("again.jsonl");
    run(cli(Path::new(&other_url)).args(["export", "--all-users", "-o"]).arg(&again));
    let records = |p: &Path| {
        let t = std::fs::read_to_string(p).unwrap();
        t.lines().filter(|l| l.contains("\"type\":\"")).map(str::to_owned).collect::<Vec<_>>()
    };
    assert!(records(&export).len() > 2);
    assert_eq!(records(&again), records(&export));

    // demo refuses a database holding someone else's records.
    let (code, text) = run(cli(Path::new(&url)).args(["import", "--user", "u9"]).arg(user_file(dir.path(), "u9")));
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(with_env(&url).arg("demo"));
    assert_eq!(code, Some(5), "{text}");

    let (code, text) = run(with_env(&url).arg("backup").arg(dir.path().join("b.dump")));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(&db.name), "{text}");
}

/// An export file holding one project of `user`.
fn user_file(dir: &Path, user: &str) -> std::path::PathBuf {
    let store = avatar_store::Store::open_in_memory().unwrap();
    store.create_project(user, &avatar_store::NewProject { name: "Theirs".into(), ..Default::default() }).unwrap();
    let path = dir.join(format!("{user}.jsonl"));
    let mut out = Vec::new();
    avatar_store::transfer::export_to(&store, avatar_store::Scope::User(user), &mut out).unwrap();
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn backup_then_restore_round_trips_and_never_replaces_silently() {
    let Some(a) = pg::TestDb::create() else { return };
    let Some(b) = pg::TestDb::create() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (code, text) = run(with_env(&with_password(&a.url)).arg("demo"));
    assert_eq!(code, Some(0), "{text}");
    let archive = dir.path().join("demo.dump");
    let (code, text) = run(cli(Path::new(&with_password(&a.url))).arg("backup").arg(&archive));
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(cli(Path::new(&a.url)).arg("backup").arg(&archive));
    assert_eq!(code, Some(10), "an existing file is not overwritten: {text}");

    let b_url = with_password(&b.url);
    let (code, text) = run(cli(Path::new(&b_url)).arg("restore").arg(&archive));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("(schema V7)"), "{text}");
    assert_eq!(b.fingerprint(), a.fingerprint().replace(&a.name, &b.name));

    // Into a database that holds rows: refused without --force, nothing changed.
    b.client().batch_execute("DELETE FROM avatars WHERE name <> 'Nova'").unwrap();
    let before = b.fingerprint();
    assert_ne!(before, a.fingerprint());
    let (code, text) = run(with_env(&b_url).args(["restore", "--json"]).arg(&archive));
    assert_eq!(code, Some(5), "{text}");
    assert!(text.contains("--force"), "{text}");
    assert_eq!(b.fingerprint(), before);

    let (code, text) = run(with_env(&b_url).args(["restore", "--force", "--json"]).arg(&archive));
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(b.fingerprint(), a.fingerprint());
    let out: serde_json::Value = serde_json::from_str(&text).unwrap();
    let kept = Path::new(out["outcome"]["replacedCopy"].as_str().expect("a kept copy")).to_owned();
    assert!(kept.starts_with(dir.path()) && kept.exists(), "{kept:?}");

    // The kept copy holds what was replaced.
    let Some(c) = pg::TestDb::create() else { return };
    let (code, text) = run(cli(Path::new(&c.url)).arg("restore").arg(&kept));
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(c.fingerprint(), before.replace(&b.name, &c.name));
}

/// status, doctor, export, backup and migrate --dry-run as a role that may
/// only read: they work, and the database is the same afterwards.
#[test]
fn read_only_commands_change_nothing_on_postgres() {
    let Some(db) = pg::TestDb::create() else { return };
    let mut c = db.client();
    incident_database(&mut c);
    let reader = db.reader_url();
    let before = db.fingerprint();
    let dir = tempfile::tempdir().unwrap();
    let url = Path::new(&reader);

    let (code, text) = run(cli(url).arg("status"));
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(cli(url).arg("doctor"));
    assert_eq!(code, Some(1), "{text}");
    for col in INCIDENT_COLUMNS {
        assert!(text.contains(&format!("missing column: avatars.{col}")), "{col}: {text}");
    }
    let (code, text) = run(cli(url).arg("backup").arg(dir.path().join("b.dump")));
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(db.fingerprint(), before);

    // An old database: the dry run lists what migrate would apply.
    let Some(old) = pg::TestDb::create() else { return };
    let mut c = old.client();
    c.batch_execute(&embedded_postgres_migrations()[0].sql).unwrap();
    pg::record_history(&mut c, "public", 1);
    c.batch_execute(
        "INSERT INTO projects VALUES ('01942f6a-5e00-7000-8000-0000000000aa', 'u1', 'P', NULL, now(), now())",
    )
    .unwrap();
    let reader = old.reader_url();
    let before = old.fingerprint();
    let url = Path::new(&reader);
    let (code, text) = run(cli(url).args(["migrate", "--dry-run"]));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("at V1") && text.contains("V2__") && text.contains("V6__"), "{text}");
    let (code, text) = run(cli(url).arg("status"));
    assert!(code == Some(0) && text.contains("schema version: V1"), "{text}");
    let (code, text) = run(cli(url).arg("doctor"));
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("pending"), "{text}");
    let (code, text) = run(cli(url).args(["export", "--user", "u1"]));
    assert_eq!(code, Some(6), "export wants a migrated database, and says so: {text}");
    assert_eq!(old.fingerprint(), before);

    // At head, export reads it as the reader too.
    run(cli(Path::new(&old.url)).arg("migrate"));
    let reader = old.reader_url();
    let before = old.fingerprint();
    let (code, text) = run(cli(Path::new(&reader)).args(["export", "--user", "u1"]));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("01942f6a-5e00-7000-8000-0000000000aa"), "{text}");
    assert_eq!(old.fingerprint(), before);
}

/// A folder holding a stand-in for `tool` that records its command line and
/// PGPASSWORD, then fails, printing the password (which must not get through).
fn fake_tool(tool: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join(tool);
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{0}/argv'\nprintf '%s' \"$PGPASSWORD\" > '{0}/password'\n\
             echo \"connection failed: password $PGPASSWORD rejected\" >&2\nexit 1\n",
            dir.path().display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

#[test]
fn the_password_reaches_pg_dump_in_its_environment_only() {
    let Some(db) = pg::TestDb::create() else { return };
    avatar_store::Store::open(&db.url).unwrap();
    let bin = fake_tool("pg_dump");
    let out = tempfile::tempdir().unwrap();
    let (code, text) = run(cli(Path::new(&with_password(&db.url)))
        .env("AVATAR_STORE_PG_BIN", bin.path())
        .arg("backup")
        .arg(out.path().join("b.dump")));
    assert_eq!(code, Some(10), "{text}");
    assert!(text.contains("pg_dump failed") && text.contains("password *** rejected"), "{text}");
    assert_eq!(std::fs::read_to_string(bin.path().join("password")).unwrap(), "s3cr3t-pw");
    let argv = std::fs::read_to_string(bin.path().join("argv")).unwrap();
    assert!(argv.contains("--format=custom") && !argv.contains("s3cr3t-pw"), "{argv}");
    assert!(!out.path().join("b.dump").exists());
}

#[test]
fn missing_pg_dump_and_pg_restore_say_what_to_install() {
    let Some(db) = pg::TestDb::create() else { return };
    avatar_store::Store::open(&db.url).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let dest = empty.path().join("b.dump");
    for args in [vec!["backup", dest.to_str().unwrap()], vec!["restore", dest.to_str().unwrap()]] {
        std::fs::write(&dest, "").unwrap();
        if args[0] == "backup" {
            std::fs::remove_file(&dest).unwrap();
        }
        // Neither PATH nor the folder named by AVATAR_STORE_PG_BIN holds them.
        let (code, text) = run(cli(Path::new(&with_password(&db.url)))
            .env("PATH", empty.path())
            .env("AVATAR_STORE_PG_BIN", empty.path())
            .args(&args));
        let tool = if args[0] == "backup" { "pg_dump" } else { "pg_restore" };
        assert_eq!(code, Some(10), "{text}");
        assert!(text.contains(&format!("{tool} was not found")), "{text}");
        assert!(text.contains("install the PostgreSQL client tools") && text.contains("postgresql-client"), "{text}");
    }
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
