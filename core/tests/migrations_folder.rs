//! The migrations folders (one per dialect) and the embedded sets never
//! disagree, the two dialects hold the same versions and names, the build
//! script's checks hold, and nothing in the folders can be hidden from git
//! (the incident's `.gitignore`).

use std::path::{Path, PathBuf};
use std::process::Command;

use avatar_store::MigrationInfo;

// The build script's own checks, compiled here so their failure modes are
// tested (a build script cannot be run on a scratch folder otherwise).
#[allow(dead_code)]
#[path = "../build.rs"]
mod build_script;

const DIALECTS: [&str; 2] = ["sqlite", "postgres"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn folder(dialect: &str) -> PathBuf {
    root().join("migrations").join(dialect)
}

fn embedded(dialect: &str) -> Vec<MigrationInfo> {
    match dialect {
        "sqlite" => avatar_store::embedded_migrations(),
        "postgres" => avatar_store::embedded_postgres_migrations(),
        other => unreachable!("{other}"),
    }
}

#[test]
fn folder_and_embedded_set_are_the_same() {
    for dialect in DIALECTS {
        let mut on_disk: Vec<(String, String)> = std::fs::read_dir(folder(dialect))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name().to_string_lossy().into_owned(), std::fs::read_to_string(e.path()).unwrap())
            })
            .collect();
        on_disk.sort();
        let mut embedded: Vec<(String, String)> =
            embedded(dialect).into_iter().map(|m| (format!("V{}__{}.sql", m.version, m.name), m.sql)).collect();
        embedded.sort();
        assert_eq!(
            on_disk.iter().map(|f| &f.0).collect::<Vec<_>>(),
            embedded.iter().map(|f| &f.0).collect::<Vec<_>>(),
            "{dialect}: a file was added, removed or renamed without a rebuild"
        );
        for ((name, disk), (_, emb)) in on_disk.iter().zip(&embedded) {
            assert_eq!(disk, emb, "{dialect}/{name} differs from the embedded copy");
            assert!(!disk.contains('\r'), "{dialect}/{name} has CR line endings; checksums would differ by OS");
        }
    }
}

#[test]
fn both_dialects_have_the_same_versions_and_names() {
    let names = |d| embedded(d).into_iter().map(|m| (m.version, m.name)).collect::<Vec<_>>();
    assert_eq!(names("sqlite"), names("postgres"));
}

#[test]
fn nothing_is_left_loose_in_the_migrations_root() {
    // A file dropped in migrations/ itself would be embedded by neither dialect.
    let loose: Vec<String> = std::fs::read_dir(root().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(loose.is_empty(), "files outside a dialect folder: {loose:?}");
}

fn build_check(files: &[&str]) -> Result<Vec<(u32, String)>, String> {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        std::fs::write(dir.path().join(f), "SELECT 1;\n").unwrap();
    }
    let path = dir.path().to_path_buf();
    std::panic::catch_unwind(move || build_script::check_folder(&path, "postgres")).map_err(|e| {
        e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap()
    })
}

#[test]
fn build_script_refuses_misnamed_files_gaps_and_empty_folders() {
    assert_eq!(build_check(&["V1__a.sql", "V2__b.sql"]).unwrap().len(), 2);
    let misnamed = build_check(&["V1__a.sql", "V2_b.sql"]).unwrap_err();
    assert!(misnamed.contains("migrations/postgres/V2_b.sql does not match"), "{misnamed}");
    let gap = build_check(&["V1__a.sql", "V3__c.sql"]).unwrap_err();
    assert!(gap.contains("found V3__c.sql where V2 was expected"), "{gap}");
    let empty = build_check(&[]).unwrap_err();
    assert!(empty.contains("holds no"), "{empty}");
}

#[test]
fn ignore_rules_hide_no_migration() {
    let root = root();
    let inside_git = Command::new("git").arg("-C").arg(&root).args(["rev-parse", "--git-dir"]).output();
    let Ok(out) = inside_git else { panic!("git is needed to check the ignore rules") };
    assert!(out.status.success(), "not a git checkout: the ignore rules cannot be checked");
    let mut paths = vec!["migrations/".to_string()];
    for dialect in DIALECTS {
        paths.extend(
            std::fs::read_dir(folder(dialect))
                .unwrap()
                .map(|e| format!("migrations/{dialect}/{}", e.unwrap().file_name().to_string_lossy())),
        );
        // Files and folders that do not exist yet must not be hidden either.
        paths.push(format!("migrations/{dialect}/V999__next_release.sql"));
        paths.push(format!("migrations/{dialect}/"));
    }
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
    let root = root();
    for dialect in DIALECTS {
        for file in [
            format!("migrations/{dialect}/V1__create_projects_and_avatars.sql"),
            format!("migrations/{dialect}/V999__next_release.sql"),
        ] {
            let out =
                Command::new("git").arg("-C").arg(&root).args(["check-attr", "eol", "--", &file]).output().unwrap();
            assert!(
                String::from_utf8_lossy(&out.stdout).trim_end().ends_with("eol: lf"),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}
