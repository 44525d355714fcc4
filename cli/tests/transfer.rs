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

    let out = cli(&src).arg("export").arg("-o").arg(&file).arg("--json").assert().success().get_output().clone();
    let j = stdout_json(&out);
    assert_eq!((j["projects"].as_u64(), j["avatars"].as_u64()), (Some(6), Some(12)));
    let exported = std::fs::read_to_string(&file).unwrap();
    assert_eq!(exported.lines().last().unwrap(), r#"{"type":"end","projects":6,"avatars":12}"#);
    // Standard output carries the same records as the file.
    assert_eq!(body(&export_text(&src, &[])), body(&exported));

    let dst = dir.path().join("dst.db");
    let out = cli(&dst).arg("import").arg(&file).assert().success().get_output().clone();
    assert!(text(&out.stdout).contains("imported 6 projects and 12 avatars"), "{}", text(&out.stdout));
    assert_eq!(body(&export_text(&dst, &[])), body(&exported));

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
    cli(&src).arg("export").arg("-o").arg(&file).assert().success();
    let dst = dir.path().join("dst.db");
    cli(&dst).arg("import").arg(&file).assert().success();
    cli(&dst).arg("import").arg(&file).assert().success();
    assert_eq!(Store::open(&dst).unwrap().count(None).unwrap(), (6, 12));

    // A record changed in the file replaces the stored one with the same id.
    let edited =
        std::fs::read_to_string(&file).unwrap().replacen("\"personaName\":\"Nova\"", "\"personaName\":\"Vega\"", 1);
    std::fs::write(&file, edited).unwrap();
    cli(&dst)
        .arg("import")
        .arg(&file)
        .arg("--json")
        .assert()
        .success()
        .stdout(predicate::str::contains("\"avatars\": 12"));
    let store = Store::open(&dst).unwrap();
    assert_eq!(store.count(None).unwrap(), (6, 12));
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
    let data = export_text(&src, &[]);
    let dst = dir.path().join("dst.db");
    cli(&dst).args(["import", "-"]).write_stdin(data).assert().success();
    assert_eq!(Store::open(&dst).unwrap().count(None).unwrap(), (6, 12));
}

#[test]
fn the_progress_bar_stays_off_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    seeded(&src);
    let file = dir.path().join("x.jsonl");
    let out = cli(&src).arg("export").arg("-o").arg(&file).assert().success().get_output().clone();
    assert_eq!(text(&out.stderr), "");
    assert!(!text(&out.stdout).contains('\u{1b}'), "terminal escapes on a pipe");
    let out = cli(&dir.path().join("d.db")).arg("import").arg(&file).assert().success().get_output().clone();
    assert_eq!(text(&out.stderr), "");
    // Exporting to stdout keeps stdout pure data; the summary goes to stderr.
    let out = cli(&src).arg("export").assert().success().get_output().clone();
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
    let cmd = format!("{bin} --db {} export -o {}", src.display(), dir.path().join("x.jsonl").display());
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
    let before = body(&export_text(&target, &[]));

    for (what, content, line, phrase, code) in bad_files(&good) {
        let file = dir.path().join("bad.jsonl");
        std::fs::write(&file, &content).unwrap();
        let out = cli(&target).arg("import").arg(&file).assert().code(code).get_output().clone();
        let err = text(&out.stderr);
        assert!(err.contains(&format!("line {line}: ")), "{what}: expected line {line} in: {err}");
        assert!(err.contains(phrase), "{what}: expected {phrase:?} in: {err}");
        assert_eq!(body(&export_text(&target, &[])), before, "{what}: the import wrote something");

        // JSON errors carry the line as a number.
        let out = cli(&target).arg("import").arg(&file).arg("--json").assert().code(code).get_output().clone();
        let e: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
        assert_eq!(e["error"]["line"], line, "{what}");

        // Into a new file: refused too, and no file is left behind.
        let fresh = dir.path().join("fresh.db");
        cli(&fresh).arg("import").arg(&file).assert().code(code);
        assert!(!fresh.exists(), "{what}: a failed import left a database behind");
    }
    // The good file itself goes in.
    let file = dir.path().join("good.jsonl");
    std::fs::write(&file, &good).unwrap();
    cli(&target).arg("import").arg(&file).assert().success();
    assert_eq!(Store::open(&target).unwrap().count(Some("carol")).unwrap(), (3, 6));
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
    let before = body(&export_text(&db, &[]));
    cli(&db).arg("import").arg(&file).assert().code(5).stderr(predicate::str::contains("line 2: conflict"));
    assert_eq!(body(&export_text(&db, &[])), before);
    assert_eq!(Store::open(&db).unwrap().count(Some("mallory")).unwrap(), (0, 0));
}

#[test]
fn a_missing_import_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    cli(&db).arg("import").arg(dir.path().join("nope.jsonl")).assert().code(10);
    assert!(!db.exists());
}

#[test]
fn a_failed_export_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prod.db");
    incident_database(&db);
    let file = dir.path().join("out.jsonl");
    cli(&db).arg("export").arg("-o").arg(&file).assert().code(6);
    assert!(!file.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "temporary files left behind");
}
