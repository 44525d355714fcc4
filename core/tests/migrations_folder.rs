//! The migrations folder and the embedded set never disagree, and nothing in
//! the folder can be hidden from git (the incident's `.gitignore`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")
}

#[test]
fn folder_and_embedded_set_are_the_same() {
    let mut on_disk: Vec<(String, String)> = std::fs::read_dir(folder())
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), std::fs::read_to_string(e.path()).unwrap())
        })
        .collect();
    on_disk.sort();
    let mut embedded: Vec<(String, String)> = avatar_store::embedded_migrations()
        .into_iter()
        .map(|m| (format!("V{}__{}.sql", m.version, m.name), m.sql))
        .collect();
    embedded.sort();
    assert_eq!(
        on_disk.iter().map(|f| &f.0).collect::<Vec<_>>(),
        embedded.iter().map(|f| &f.0).collect::<Vec<_>>(),
        "a file was added, removed or renamed without a rebuild"
    );
    for ((name, disk), (_, emb)) in on_disk.iter().zip(&embedded) {
        assert_eq!(disk, emb, "{name} differs from the embedded copy");
        assert!(!disk.contains('\r'), "{name} has CR line endings; checksums would differ by OS");
    }
}

#[test]
fn ignore_rules_hide_no_migration() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let inside_git = Command::new("git").arg("-C").arg(&root).args(["rev-parse", "--git-dir"]).output();
    let Ok(out) = inside_git else { panic!("git is needed to check the ignore rules") };
    assert!(out.status.success(), "not a git checkout: the ignore rules cannot be checked");
    let mut paths: Vec<String> = std::fs::read_dir(folder())
        .unwrap()
        .map(|e| format!("migrations/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    // Files that do not exist yet must not be hidden either.
    paths.push("migrations/V999__next_release.sql".into());
    paths.push("migrations/".into());
    let out = Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["check-ignore", "--no-index", "-v"])
        .args(&paths)
        .output()
        .unwrap();
    // Exit status 1 means "none of them is ignored".
    assert_eq!(
        out.status.code(),
        Some(1),
        "ignore rules hide migrations:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn line_endings_are_pinned_for_migrations() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["check-attr", "eol", "--", "migrations/V1__create_projects_and_avatars.sql"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).trim_end().ends_with("eol: lf"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
