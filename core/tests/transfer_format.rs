//! The format test suite: every fixture of `tests/fixtures/transfer`, imported
//! through the Rust API, with the outcome `expected.json` gives. The CLI, Python
//! and Node run the same files against the same expectations.

use std::path::{Path, PathBuf};

use avatar_store::{Scope, Store, transfer};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/transfer")
}

fn expected() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap()).unwrap()
}

#[test]
fn every_fixture_imports_with_its_expected_counts_or_error() {
    let expected = expected();
    let user = expected["user"].as_str().unwrap();
    let cases = expected["cases"].as_array().unwrap();
    assert!(cases.len() >= 8);
    for case in cases {
        let file = case["file"].as_str().unwrap();
        let store = Store::open_in_memory().unwrap();
        let outcome = transfer::import_from_path(&store, Scope::User(user), fixtures().join(file));
        match (outcome, case.get("code")) {
            (Ok((projects, avatars)), None) => {
                assert_eq!(
                    (projects, avatars),
                    (case["projects"].as_u64().unwrap(), case["avatars"].as_u64().unwrap())
                );
                assert_eq!(store.count(user).unwrap(), (projects, avatars), "{file}");
            }
            (Err(e), Some(code)) => {
                assert_eq!(e.code(), code, "{file}: {e}");
                assert_eq!(e.line(), case["line"].as_u64(), "{file}: {e}");
                assert_eq!(e.field(), case["field"].as_str(), "{file}: {e}");
                assert!(e.to_string().starts_with(&format!("line {}: ", case["line"])), "{file}: {e}");
                assert_eq!(store.count_all_users().unwrap(), (0, 0), "{file}: the import wrote something");
            }
            (outcome, _) => panic!("{file}: unexpected {outcome:?}"),
        }
    }
}

/// Import then export gives back the records of the file line for line.
#[test]
fn the_valid_fixture_round_trips_through_the_writer() {
    let store = Store::open_in_memory().unwrap();
    let text = std::fs::read_to_string(fixtures().join("valid.jsonl")).unwrap();
    transfer::import_from(&store, Scope::User("alice"), text.as_bytes()).unwrap();
    let mut out = Vec::new();
    assert_eq!(transfer::export_to(&store, Scope::User("alice"), &mut out).unwrap(), (2, 3));
    let out = String::from_utf8(out).unwrap();
    let (head, body) = out.split_once('\n').unwrap();
    assert_eq!(body, text.split_once('\n').unwrap().1);
    let header: serde_json::Value = serde_json::from_str(head).unwrap();
    assert_eq!(header["format"], transfer::FORMAT);
    assert_eq!(header["version"], transfer::VERSION);
    assert_eq!(header["userId"], "alice");
    assert_eq!(header["schemaVersion"], avatar_store::latest_version());
}

/// A file export goes through a temporary file: the target is never
/// replaced, and appears only complete.
#[test]
fn export_to_path_refuses_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("a.db")).unwrap();
    transfer::import_from_path(&store, Scope::User("alice"), fixtures().join("valid.jsonl")).unwrap();
    let out = dir.path().join("out.jsonl");
    assert_eq!(transfer::export_to_path(&store, Scope::User("alice"), &out).unwrap(), (2, 3));
    let e = transfer::export_to_path(&store, Scope::AllUsers, &out).unwrap_err();
    assert_eq!(e.code(), "CONFLICT", "{e}");
    let copy = Store::open_in_memory().unwrap();
    assert_eq!(transfer::import_from_path(&copy, Scope::AllUsers, &out).unwrap(), (2, 3));
    let e = transfer::import_from_path(&copy, Scope::AllUsers, dir.path().join("absent.jsonl")).unwrap_err();
    assert_eq!((e.code(), e.line()), ("IO", None), "{e}");
    assert!(e.to_string().contains("absent.jsonl"), "{e}");
}

/// The export iterator reads one snapshot: writes made while it is being
/// consumed are not in it.
#[test]
fn the_export_iterator_reads_one_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("a.db")).unwrap();
    let add = |n: usize, what: &str| {
        for i in 0..n {
            let new = avatar_store::NewProject { name: format!("{what} {i}"), ..Default::default() };
            store.create_project("alice", &new).unwrap();
        }
    };
    // Far more than the iterator reads ahead, so it is mid-statement below.
    add(1000, "early");
    let mut it = store.export_iter("alice").unwrap();
    let Some(Ok(avatar_store::Record::Project(first))) = it.next() else { panic!("no first project") };
    add(1000, "late");
    // Read by a second statement: only one transaction around both keeps it out.
    let late = avatar_store::NewAvatar { project_id: first.id, name: "late".into(), ..Default::default() };
    store.create_avatar("alice", &late).unwrap();
    assert_eq!(1 + it.count(), 1000);
    assert_eq!(store.export_all_users_iter().unwrap().count(), 2001);
}

/// A failing output is the output's I/O error, not blamed on the database.
#[test]
fn an_output_error_does_not_name_the_database() {
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("no space left on the output"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("a.db")).unwrap();
    let p =
        store.create_project("alice", &avatar_store::NewProject { name: "P".into(), ..Default::default() }).unwrap();
    // Past the writer's buffer, so the failure comes while records are read.
    let avatars: Vec<_> = (0..200)
        .map(|i| avatar_store::NewAvatar {
            project_id: p.id,
            name: format!("a{i}"),
            generation_prompt: Some("x".repeat(2000)),
            ..Default::default()
        })
        .collect();
    store.create_avatars("alice", &avatars).unwrap();
    let e = transfer::export_to(&store, Scope::User("alice"), Full).unwrap_err();
    assert_eq!(e.code(), "IO", "{e}");
    assert!(e.to_string().contains("no space left on the output"), "{e}");
    assert!(!e.to_string().contains("a.db"), "the database is blamed: {e}");
}
