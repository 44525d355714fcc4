//! export and import: the round trip, idempotence, and every kind of bad file
//! refused with its line number and nothing written.

mod common;

use std::path::Path;

use avatar_store::{AvatarQuery, NewAvatar, NewProject, Store};
use common::*;
use predicates::prelude::*;

/// Two users, projects with and without avatars, every field kind filled or empty.
fn seeded(db: &Path) {
    let store = Store::open(db).unwrap();
    for user in ["alice", "bob"] {
        for p in 0..3 {
            let project = store
                .create_project(
                    user,
                    &NewProject {
                        name: format!("{user} project {p}"),
                        description: (p % 2 == 0).then(|| "with \"quotes\", émoji 🎭 and\nnewlines".into()),
                    },
                )
                .unwrap();
            for a in 0..p * 2 {
                let avatar = store
                    .create_avatar(
                        user,
                        &NewAvatar {
                            project_id: project.id,
                            name: format!("{user} avatar {p}.{a}"),
                            image_url: Some(format!("https://cdn.example.com/{user}/{p}/{a}.png")),
                            persona_name: Some("Nova".into()),
                            persona_age: Some(a as i64 * 10),
                            hair_color: (a % 2 == 0).then(|| "silver".into()),
                            source_type: Some("generated".into()),
                            generation_prompt: Some("'; DROP TABLE avatars; --".into()),
                            seed_used: Some(i64::MIN + a as i64),
                            ..Default::default()
                        },
                    )
                    .unwrap();
                if a % 3 == 0 {
                    store.record_usage(user, &avatar.id).unwrap();
                }
            }
        }
    }
}

/// The lines of an export without the header, whose `exportedAt` differs per run.
fn body(export: &str) -> Vec<String> {
    let lines: Vec<String> = export.lines().map(str::to_owned).collect();
    assert!(lines[0].starts_with("{\"format\":\"avatar-store-export\",\"version\":1,"), "{}", lines[0]);
    lines[1..].to_vec()
}

fn export_text(db: &Path, extra: &[&str]) -> String {
    text(&cli(db).arg("export").args(extra).assert().success().get_output().stdout)
}

#[test]
fn export_then_import_into_a_fresh_file_gives_equal_data() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    seeded(&src);
    let file = dir.path().join("all.jsonl");

    let out = cli(&src)
        .args(["export", "--all-users", "-o"])
        .arg(&file)
        .arg("--json")
        .assert()
        .success()
        .get_output()
        .clone();
    let j = stdout_json(&out);
    assert_eq!((j["projects"].as_u64(), j["avatars"].as_u64()), (Some(6), Some(12)));
    let exported = std::fs::read_to_string(&file).unwrap();
    assert_eq!(exported.lines().last().unwrap(), r#"{"type":"end","projects":6,"avatars":12}"#);
    // Standard output carries the same records as the file.
    assert_eq!(body(&export_text(&src, &["--all-users"])), body(&exported));

    let dst = dir.path().join("dst.db");
    let out = cli(&dst).args(["import", "--all-users"]).arg(&file).assert().success().get_output().clone();
    assert!(text(&out.stdout).contains("imported 6 projects and 12 avatars"), "{}", text(&out.stdout));
    assert_eq!(body(&export_text(&dst, &["--all-users"])), body(&exported));

    // Field by field through the library as well, usage counters included.
    let (a, b) = (Store::open(&src).unwrap(), Store::open(&dst).unwrap());
    for user in ["alice", "bob"] {
        let q = AvatarQuery { limit: Some(100), ..Default::default() };
        assert_eq!(a.list_avatars(user, &q).unwrap().items, b.list_avatars(user, &q).unwrap().items);
    }
    assert!(b.list_avatars("alice", &AvatarQuery::default()).unwrap().items.iter().any(|a| a.usage_count == 1));
}

#[test]
fn import_is_idempotent_by_id_and_updates_changed_records() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    seeded(&src);
    let file = dir.path().join("x.jsonl");
    cli(&src).args(["export", "--all-users", "-o"]).arg(&file).assert().success();
    let dst = dir.path().join("dst.db");
    cli(&dst).args(["import", "--all-users"]).arg(&file).assert().success();
    cli(&dst).args(["import", "--all-users"]).arg(&file).assert().success();
    assert_eq!(Store::open(&dst).unwrap().count_all_users().unwrap(), (6, 12));

    // A record changed in the file replaces the stored one with the same id.
    let edited =
        std::fs::read_to_string(&file).unwrap().replacen("\"personaName\":\"Nova\"", "\"personaName\":\"Vega\"", 1);
    std::fs::write(&file, edited).unwrap();
    cli(&dst)
        .args(["import", "--all-users"])
        .arg(&file)
        .arg("--json")
        .assert()
        .success()
        .stdout(predicate::str::contains("\"avatars\": 12"));
    let store = Store::open(&dst).unwrap();
    assert_eq!(store.count_all_users().unwrap(), (6, 12));
    let names: Vec<_> = ["alice", "bob"]
        .iter()
        .flat_map(|u| store.list_avatars(u, &AvatarQuery { limit: Some(100), ..Default::default() }).unwrap().items)
        .filter_map(|a| a.persona_name)
        .collect();
    assert_eq!(names.iter().filter(|n| *n == "Vega").count(), 1);
}

#[test]
fn export_of_one_user_holds_only_that_user() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    seeded(&src);
    let out = export_text(&src, &["--user", "bob"]);
    let lines = body(&out);
    assert_eq!(lines.last().unwrap(), r#"{"type":"end","projects":3,"avatars":6}"#);
    assert!(lines[..lines.len() - 1].iter().all(|l| l.contains("\"userId\":\"bob\"")));
    assert!(out.lines().next().unwrap().contains("\"userId\":\"bob\""));
    // An empty user id is a validation error naming the field.
    cli(&src).args(["export", "--user", " "]).assert().code(3).stderr(predicate::str::contains("userId"));
}

#[test]
fn import_reads_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    seeded(&src);
    let data = export_text(&src, &["--all-users"]);
    let dst = dir.path().join("dst.db");
    cli(&dst).args(["import", "--all-users", "-"]).write_stdin(data).assert().success();
    assert_eq!(Store::open(&dst).unwrap().count_all_users().unwrap(), (6, 12));
}

#[test]
fn the_progress_bar_stays_off_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    seeded(&src);
    let file = dir.path().join("x.jsonl");
    let out = cli(&src).args(["export", "--all-users", "-o"]).arg(&file).assert().success().get_output().clone();
    assert_eq!(text(&out.stderr), "");
    assert!(!text(&out.stdout).contains('\u{1b}'), "terminal escapes on a pipe");
    let out = cli(&dir.path().join("d.db"))
        .args(["import", "--all-users"])
        .arg(&file)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(text(&out.stderr), "");
    // Exporting to stdout keeps stdout pure data; the summary goes to stderr.
    let out = cli(&src).args(["export", "--all-users"]).assert().success().get_output().clone();
    assert!(text(&out.stdout).lines().all(|l| l.starts_with('{')));
    assert_eq!(text(&out.stderr), "exported 6 projects and 12 avatars to standard output\n");
}

/// `script` gives the command a pseudo-terminal, as a person at a shell has.
#[test]
fn the_progress_bar_shows_on_a_terminal() {
    // `script` (util-linux, essential on Debian) gives the command a terminal.
    assert!(std::process::Command::new("script").arg("--version").output().is_ok(), "util-linux `script` is needed");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    seeded(&src);
    let bin = env!("CARGO_BIN_EXE_avatar-store");
    let cmd = format!("{bin} --db {} export --all-users -o {}", src.display(), dir.path().join("x.jsonl").display());
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("AVATAR_STORE_DB")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let screen = text(&out.stdout);
    assert!(screen.contains("exporting") && screen.contains("records"), "no progress bar on a terminal: {screen:?}");
}

/// Each bad file: its expected line number, a phrase of the message, and the exit code.
fn bad_files(good: &str) -> Vec<(&'static str, String, u64, &'static str, i32)> {
    let lines: Vec<&str> = good.lines().collect();
    let n = lines.len() as u64;
    let join = |v: Vec<String>| v.join("\n") + "\n";
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let with = |i: usize, f: &dyn Fn(&str) -> String| {
        let mut v = owned(&lines);
        v[i] = f(lines[i]);
        join(v)
    };
    let first_avatar = lines.iter().position(|l| l.contains("\"type\":\"avatar\"")).unwrap();
    vec![
        ("no end line", join(owned(&lines[..lines.len() - 1])), n, "truncated", 3),
        (
            "cut mid-line",
            good[..good.len() - good.lines().last().unwrap().len() - 30].to_string(),
            n - 1,
            "truncated",
            3,
        ),
        ("empty file", String::new(), 1, "empty", 3),
        ("wrong version", with(0, &|l| l.replace("\"version\":1", "\"version\":2")), 1, "version 2", 3),
        ("not an export", join(owned(&lines[1..])), 1, "not an avatar-store export", 3),
        ("malformed JSON", with(2, &|l| l.replacen("\",\"", "\" \"", 1)), 3, "malformed JSON", 3),
        (
            "persona age out of range",
            with(first_avatar, &|l| l.replacen("\"personaAge\":0", "\"personaAge\":151", 1)),
            first_avatar as u64 + 1,
            "invalid personaAge",
            3,
        ),
        (
            "persona age of the wrong type",
            with(first_avatar, &|l| l.replacen("\"personaAge\":0", "\"personaAge\":\"old\"", 1)),
            first_avatar as u64 + 1,
            "invalid personaAge",
            3,
        ),
        (
            "unknown source type",
            with(first_avatar, &|l| l.replacen("\"generated\"", "\"stolen\"", 1)),
            first_avatar as u64 + 1,
            "invalid sourceType",
            3,
        ),
        (
            "bad url",
            with(first_avatar, &|l| l.replacen("https://cdn", "javascript://cdn", 1)),
            first_avatar as u64 + 1,
            "invalid imageUrl",
            3,
        ),
        ("bad id", with(1, &|l| l.replacen("\"id\":\"", "\"id\":\"zz", 1)), 2, "invalid id", 3),
        ("missing name", with(1, &|l| l.replacen("\"name\":", "\"nom\":", 1)), 2, "missing field `name`", 3),
        ("unknown record type", with(1, &|l| l.replacen("\"project\"", "\"folder\"", 1)), 2, "invalid type", 3),
        (
            "counts that do not match",
            with(lines.len() - 1, &|l| l.replace("\"avatars\":6}", "\"avatars\":7}")),
            n,
            "damaged",
            3,
        ),
        ("data after the end", join(owned(&lines)) + lines[1] + "\n", n + 1, "after the end line", 3),
        (
            "avatar before its project",
            {
                let mut v = owned(&lines);
                let a = v.remove(first_avatar);
                v.insert(1, a);
                join(v)
            },
            2,
            "invalid projectId",
            3,
        ),
    ]
}

#[test]
fn every_kind_of_bad_import_file_is_refused_with_its_line_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    seeded(&src);
    let good = export_text(&src, &["--user", "alice"]).replace("alice", "carol");
    assert!(good.contains("\"personaAge\":0"), "fixture changed: {good}");

    // A target that already holds data, which must come out unchanged.
    let target = dir.path().join("target.db");
    seeded(&target);
    let before = body(&export_text(&target, &["--all-users"]));

    for (what, content, line, phrase, code) in bad_files(&good) {
        let file = dir.path().join("bad.jsonl");
        std::fs::write(&file, &content).unwrap();
        let out = cli(&target).args(["import", "--user", "carol"]).arg(&file).assert().code(code).get_output().clone();
        let err = text(&out.stderr);
        assert!(err.contains(&format!("line {line}: ")), "{what}: expected line {line} in: {err}");
        assert!(err.contains(phrase), "{what}: expected {phrase:?} in: {err}");
        assert_eq!(body(&export_text(&target, &["--all-users"])), before, "{what}: the import wrote something");

        // JSON errors carry the line as a number.
        let out = cli(&target)
            .args(["import", "--user", "carol"])
            .arg(&file)
            .arg("--json")
            .assert()
            .code(code)
            .get_output()
            .clone();
        let e: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
        assert_eq!(e["error"]["line"], line, "{what}");

        // Into a new file: refused too, and no file is left behind.
        let fresh = dir.path().join("fresh.db");
        cli(&fresh).args(["import", "--user", "carol"]).arg(&file).assert().code(code);
        assert!(!fresh.exists(), "{what}: a failed import left a database behind");
    }
    // The good file itself goes in.
    let file = dir.path().join("good.jsonl");
    std::fs::write(&file, &good).unwrap();
    cli(&target).args(["import", "--user", "carol"]).arg(&file).assert().success();
    assert_eq!(Store::open(&target).unwrap().count("carol").unwrap(), (3, 6));
}

#[test]
fn an_id_owned_by_another_user_is_a_conflict_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    seeded(&db);
    // The same ids, claimed by another user.
    let stolen = export_text(&db, &["--user", "alice"]).replace("\"userId\":\"alice\"", "\"userId\":\"mallory\"");
    let file = dir.path().join("stolen.jsonl");
    std::fs::write(&file, stolen).unwrap();
    let before = body(&export_text(&db, &["--all-users"]));
    cli(&db)
        .args(["import", "--user", "mallory"])
        .arg(&file)
        .assert()
        .code(5)
        .stderr(predicate::str::contains("line 2: conflict"));
    assert_eq!(body(&export_text(&db, &["--all-users"])), before);
    assert_eq!(Store::open(&db).unwrap().count("mallory").unwrap(), (0, 0));
}

#[test]
fn a_missing_import_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    cli(&db).args(["import", "--all-users"]).arg(dir.path().join("nope.jsonl")).assert().code(10);
    assert!(!db.exists());
}

#[test]
fn a_failed_export_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prod.db");
    incident_database(&db);
    let file = dir.path().join("out.jsonl");
    cli(&db).args(["export", "--all-users", "-o"]).arg(&file).assert().code(6);
    assert!(!file.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "temporary files left behind");
}

/// Every row of the database, exported (with the header's time cut off).
fn dump(db: &Path) -> Vec<String> {
    body(&export_text(db, &["--all-users"]))
}

#[test]
fn a_user_importing_another_users_file_is_refused_and_their_rows_stay_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    seeded(&db);
    let alices = export_text(&db, &["--user", "alice"]);
    let (rows, bytes) = (dump(&db), std::fs::read(&db).unwrap());
    let file = dir.path().join("in.jsonl");
    let refused = |content: &str, code: i32, phrase: &str| {
        std::fs::write(&file, content).unwrap();
        let out = cli(&db).args(["import", "--user", "bob"]).arg(&file).assert().code(code).get_output().clone();
        let err = text(&out.stderr);
        assert!(err.contains(phrase), "expected {phrase:?} in: {err}");
        assert_eq!(dump(&db), rows, "alice's rows changed");
    };
    // Alice's export as it is: its header names alice.
    refused(&alices, 3, "line 1: invalid userId: the file is an export of user \"alice\"");
    assert!(std::fs::read(&db).unwrap() == bytes, "the database file changed");
    // Without the header's user: the first record is refused, by its owner.
    let headless = alices.replacen("\"userId\":\"alice\"", "\"userId\":null", 1);
    refused(&headless, 3, "line 2: invalid userId: the record belongs to user \"alice\"");
    assert!(std::fs::read(&db).unwrap() == bytes, "the database file changed");
    // Alice's ids relabelled as bob's: taken by another user, alice keeps them.
    refused(&alices.replace("\"userId\":\"alice\"", "\"userId\":\"bob\""), 5, "line 2: conflict");
    // A new avatar of bob's in alice's project: that project does not exist for bob.
    let avatar = alices.lines().find(|l| l.contains("\"type\":\"avatar\"")).unwrap();
    let id = &avatar[avatar.find("\"id\":\"").unwrap() + 6..][..36];
    let planted = avatar
        .replace("\"userId\":\"alice\"", "\"userId\":\"bob\"")
        .replace(id, &avatar_store::Uuid::now_v7().to_string());
    let header = r#"{"format":"avatar-store-export","version":1,"exportedAt":"2026-01-05T09:30:00.000Z","schemaVersion":5,"userId":"bob"}"#;
    refused(
        &format!("{header}\n{planted}\n{{\"type\":\"end\",\"projects\":0,\"avatars\":1}}\n"),
        3,
        "line 2: invalid projectId",
    );
    assert_eq!(Store::open(&db).unwrap().count("bob").unwrap(), (3, 6), "bob's own rows");
}

#[test]
fn export_and_import_need_a_user_or_all_users() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    seeded(&db);
    let file = dir.path().join("x.jsonl");
    cli(&db).args(["export", "--user", "alice", "-o"]).arg(&file).assert().success();
    for args in [
        &["export"][..],
        &["export", "--user", "a", "--all-users"],
        &["import", "x.jsonl"],
        &["import", "--user", "a", "--all-users", "x.jsonl"],
    ] {
        cli(&db)
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--user").or(predicate::str::contains("--all-users")));
    }
    let out = cli(&db).args(["export", "--all-users"]).assert().success().get_output().clone();
    assert!(text(&out.stdout).lines().next().unwrap().contains("\"userId\":null"));
    let fresh = dir.path().join("fresh.db");
    cli(&fresh)
        .args(["import", "--user", "alice", "--json"])
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains("\"userId\": \"alice\""));
    assert_eq!(Store::open(&fresh).unwrap().count_all_users().unwrap(), (3, 6));
}

#[test]
fn export_refuses_an_existing_file_without_force_and_the_database_always() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    seeded(&db);
    let export = |out: &Path, force: bool| {
        let mut c = cli(&db);
        c.args(["export", "--user", "alice", "-o"]).arg(out);
        if force {
            c.arg("--force");
        }
        c.assert()
    };
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "keep me").unwrap();
    export(&notes, false)
        .code(5)
        .stderr(predicate::str::contains("already exists").and(predicate::str::contains("--force")));
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "keep me");
    export(&notes, true).success();
    assert!(std::fs::read_to_string(&notes).unwrap().ends_with("{\"type\":\"end\",\"projects\":3,\"avatars\":6}\n"));

    // The database, under every name it can be reached by, with or without --force.
    std::os::unix::fs::symlink(&db, dir.path().join("link.db")).unwrap();
    std::fs::hard_link(&db, dir.path().join("hard.db")).unwrap();
    let names = [
        db.clone(),
        dir.path().join("sub/../app.db"),
        dir.path().join("app.db-wal"),
        dir.path().join("app.db-shm"),
        dir.path().join("link.db"),
        dir.path().join("hard.db"),
    ];
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let bytes = std::fs::read(&db).unwrap();
    for name in &names {
        for force in [false, true] {
            export(name, force).code(5).stderr(predicate::str::contains("is the database being exported"));
        }
    }
    assert!(std::fs::read(&db).unwrap() == bytes, "the database was written");
    // Relative to the working directory too.
    cli(Path::new("app.db"))
        .current_dir(dir.path())
        .args(["export", "--all-users", "--force", "-o", "./app.db"])
        .assert()
        .code(5);
    assert!(std::fs::read(&db).unwrap() == bytes, "the database was written");
}

#[test]
fn export_of_a_newer_schema_says_to_upgrade_not_to_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    seeded(&db);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        &format!(
            "INSERT INTO {} VALUES (99, 'from_the_future', '2030-01-01T00:00:00Z', '1')",
            avatar_store::HISTORY_TABLE
        ),
        [],
    )
    .unwrap();
    drop(conn);
    let out = cli(&db).args(["export", "--all-users"]).assert().code(8).get_output().clone();
    let err = text(&out.stderr);
    assert!(err.contains("upgrade avatar-store"), "{err}");
    assert!(!err.contains("migrate`") && !err.contains("doctor --fix"), "a hint that cannot help: {err}");
}

/// A path that is not UTF-8 (a file name is bytes on Unix).
#[test]
fn non_utf8_paths_are_reported_without_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(std::ffi::OsStr::from_bytes(b"\xff.db"));
    seeded(&db);
    let file = dir.path().join(std::ffi::OsStr::from_bytes(b"out\xfe.jsonl"));
    cli(&db).args(["export", "--all-users", "-o"]).arg(&file).assert().success();
    cli(&db).args(["export", "--all-users", "--json", "-o"]).arg(&file).arg("--force").assert().success();
    cli(&db).args(["export", "--user", "bob"]).assert().success();
    let copy = dir.path().join(std::ffi::OsStr::from_bytes(b"copy\xff.db"));
    let out = cli(&copy).args(["import", "--all-users", "--json"]).arg(&file).assert().success().get_output().clone();
    let j = stdout_json(&out);
    assert_eq!((j["projects"].as_u64(), j["avatars"].as_u64()), (Some(6), Some(12)));
    assert!(j["database"].as_str().unwrap().ends_with("copy\u{fffd}.db"), "{j}");
    cli(&copy).args(["import", "--all-users"]).arg(&file).assert().success();
}

/// Writes `n` avatars of alice's in one project, as an export, without the end line.
fn big_export(n: usize) -> (String, String) {
    let project = avatar_store::Uuid::now_v7();
    let mut s = String::from(
        "{\"format\":\"avatar-store-export\",\"version\":1,\"exportedAt\":\"2026-01-05T09:30:00.000Z\",\"schemaVersion\":5,\"userId\":\"alice\"}\n",
    );
    s.push_str(&format!(
        "{{\"type\":\"project\",\"id\":\"{project}\",\"userId\":\"alice\",\"name\":\"big\",\"description\":null,\
         \"createdAt\":\"2026-01-05T09:00:00.000Z\",\"updatedAt\":\"2026-01-05T09:00:00.000Z\"}}\n"
    ));
    for i in 0..n {
        s.push_str(&format!(
            "{{\"type\":\"avatar\",\"id\":\"{}\",\"projectId\":\"{project}\",\"userId\":\"alice\",\"name\":\"A{i}\",\
             \"generationPrompt\":\"{}\",\"usageCount\":0,\"createdAt\":\"2026-01-05T09:00:00.000Z\",\
             \"updatedAt\":\"2026-01-05T09:00:00.000Z\"}}\n",
            avatar_store::Uuid::now_v7(),
            "x".repeat(500)
        ));
    }
    (s, format!("{{\"type\":\"end\",\"projects\":1,\"avatars\":{n}}}\n"))
}

/// The import's standard input, fed from the test: `written()` is how much
/// of it the import has taken in (less what the pipe and the reader buffer).
fn spawn_import(db: &Path, user: &str) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_avatar-store"))
        .env_remove("AVATAR_STORE_DB")
        .arg("--db")
        .arg(db)
        .args(["import", "--user", user, "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_stalled_import_holds_no_lock_that_applications_wait_on() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    seeded(&db);
    let (records, end) = big_export(4_000);
    let mut child = spawn_import(&db, "alice");
    let mut stdin = child.stdin.take().unwrap();
    // 2 MB, far more than a pipe (64 KB) and the import's reader (256 KB)
    // hold: once written, the import has read well past its header, where
    // an import that streams into the database holds the write lock.
    stdin.write_all(records.as_bytes()).unwrap();
    stdin.flush().unwrap();
    // The input stalls here. An application writes meanwhile, and is not kept waiting.
    let app = Store::options().busy_timeout(std::time::Duration::from_millis(500)).open(&db).unwrap();
    let p =
        app.create_project("bob", &NewProject { name: "written while the import waits".into(), ..Default::default() });
    assert!(p.is_ok(), "an application write waited for the stalled import: {p:?}");
    stdin.write_all(end.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(app.count("alice").unwrap(), (3 + 1, 6 + 4_000));
    assert_eq!(app.count("bob").unwrap(), (3 + 1, 6));
}

#[test]
fn a_failed_import_never_deletes_a_database_another_process_opened_meanwhile() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    let (records, _) = big_export(4_000);
    let mut child = spawn_import(&db, "alice");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(records.as_bytes()).unwrap();
    stdin.flush().unwrap();
    // While the import reads, another process opens the path (creating the
    // database if the import has not) and keeps it open.
    let app = Store::open(&db).unwrap();
    // The input ends with a record whose project exists nowhere: the import fails.
    let orphan = format!(
        "{{\"type\":\"avatar\",\"id\":\"{}\",\"projectId\":\"{}\",\"userId\":\"alice\",\"name\":\"orphan\",\"usageCount\":0,\
         \"createdAt\":\"2026-01-05T09:00:00.000Z\",\"updatedAt\":\"2026-01-05T09:00:00.000Z\"}}\n",
        avatar_store::Uuid::now_v7(),
        avatar_store::Uuid::now_v7()
    );
    stdin.write_all(orphan.as_bytes()).unwrap();
    stdin.write_all(b"{\"type\":\"end\",\"projects\":1,\"avatars\":4001}\n").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("line 4003: invalid projectId"), "{}", text(&out.stderr));
    // The other process's database is still there, and what it writes lands in it.
    assert!(db.exists(), "the failed import deleted a database another process had open");
    app.create_project("bob", &NewProject { name: "after".into(), ..Default::default() }).unwrap();
    drop(app);
    assert_eq!(Store::open(&db).unwrap().count_all_users().unwrap(), (1, 0));
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(!name.to_string_lossy().contains(".import-"), "the import left {name:?} behind");
    }
}

#[test]
fn a_failed_import_into_a_new_file_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    seeded(&src);
    let good = export_text(&src, &["--user", "alice"]);
    // Valid line by line; the database refuses the avatar whose project comes after it.
    let mut lines: Vec<&str> = good.lines().collect();
    let first_avatar = lines.iter().position(|l| l.contains("\"type\":\"avatar\"")).unwrap();
    let a = lines.remove(first_avatar);
    lines.insert(1, a);
    let file = dir.path().join("bad.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("fresh.db");
    cli(&db)
        .args(["import", "--user", "alice"])
        .arg(&file)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("line 2: invalid projectId"));
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0, "files left behind");
    // The same file in the right order makes the database, complete, in one file.
    std::fs::write(&file, &good).unwrap();
    cli(&db).args(["import", "--user", "alice"]).arg(&file).assert().success();
    let left: Vec<_> = std::fs::read_dir(work.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, [std::ffi::OsString::from("fresh.db")]);
    assert_eq!(Store::open(&db).unwrap().count("alice").unwrap(), (3, 6));
}

/// Runs as an unprivileged user when the tests run as root (root writes any file).
fn as_unprivileged(cmd: &mut std::process::Command) -> Option<()> {
    let uid = std::process::Command::new("id").arg("-u").output().ok()?;
    if text(&uid.stdout).trim() != "0" {
        return Some(());
    }
    let setpriv = std::process::Command::new("setpriv").arg("--version").output().ok()?;
    setpriv.status.success().then_some(())?;
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    *cmd = std::process::Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(program).args(args);
    Some(())
}

#[test]
fn a_read_only_database_is_an_io_error_naming_it_not_a_line() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    seeded(&db);
    let file = dir.path().join("alice.jsonl");
    cli(&db).args(["export", "--user", "alice", "-o"]).arg(&file).assert().success();
    let rows = dump(&db);
    // The file is read-only; its folder is not, so SQLite can keep its
    // shared-memory file beside it and the database opens (read-only).
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    // A copy of the binary beside the data: the checkout may sit in a folder
    // (a home directory, say) that the unprivileged user cannot enter.
    let exe = dir.path().join("avatar-store");
    std::fs::copy(env!("CARGO_BIN_EXE_avatar-store"), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = std::process::Command::new(&exe);
    cmd.env_remove("AVATAR_STORE_DB").arg("--db").arg(&db).args(["import", "--user", "alice"]).arg(&file);
    if as_unprivileged(&mut cmd).is_none() {
        eprintln!("skipped: running as root without setpriv");
        return;
    }
    let out = cmd.output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(10), "{err}");
    assert!(err.contains(&format!("I/O error on {}", db.display())), "the database is not named: {err}");
    assert!(!err.contains("line "), "a line is blamed for the database's error: {err}");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(dump(&db), rows);
}

/// The format test suite of the core (`core/tests/fixtures/transfer`), run
/// through the command: the same counts, or the same code, line and field.
#[test]
fn the_format_fixtures_import_with_their_expected_outcome() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/transfer");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("expected.json")).unwrap()).unwrap();
    let user = expected["user"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for case in expected["cases"].as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        let db = dir.path().join(format!("{file}.db"));
        let out = cli(&db).args(["import", "--json", "--user", user]).arg(fixtures.join(file)).output().unwrap();
        match case.get("code") {
            None => {
                assert_eq!(out.status.code(), Some(0), "{file}: {}", text(&out.stderr));
                let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                assert_eq!((&j["projects"], &j["avatars"]), (&case["projects"], &case["avatars"]), "{file}");
            }
            Some(code) => {
                let e: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
                let e = &e["error"];
                assert_eq!((&e["code"], &e["line"], &e["field"]), (code, &case["line"], &case["field"]), "{file}: {e}");
                assert_eq!(out.status.code(), Some(3), "{file}");
                assert!(!db.exists(), "{file}: a failed import left a database behind");
            }
        }
    }
}
