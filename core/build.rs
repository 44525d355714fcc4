//! Checks the migrations folders (one per dialect) before `embed_migrations!` reads it.
//!
//! refinery skips a file whose name does not match its pattern without a
//! word, accepts an empty folder, and only re-embeds when the crate is rebuilt.
//! Each of those let a schema change silently miss a release, which is how the
//! incident this crate exists for happened, so here each one stops the build.

use std::path::Path;

/// One folder per SQL dialect, same versions and names in each.
const DIALECTS: [&str; 2] = ["sqlite", "postgres"];

fn main() {
    // Read at run time, not with env!(): a build-script binary compiled for a
    // copy of the tree elsewhere may be reused from a shared target directory.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("../migrations");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut heads: Vec<(&str, Vec<(u32, String)>)> = Vec::new();
    for dialect in DIALECTS {
        heads.push((dialect, check_folder(&root.join(dialect), dialect)));
    }
    // A migration written for one dialect only would leave the other's
    // databases at a different version under the same number.
    let (first, first_set) = &heads[0];
    for (dialect, set) in &heads[1..] {
        if set != first_set {
            let names = |s: &[(u32, String)]| s.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(", ");
            fail(&format!(
                "migrations/{first}/ and migrations/{dialect}/ must hold the same versions and names: \
                 {first} has [{}], {dialect} has [{}]",
                names(first_set),
                names(set)
            ));
        }
    }
}

pub fn check_folder(dir: &Path, dialect: &str) -> Vec<(u32, String)> {
    // Watching the folder reruns this script (and re-embeds) when a file is
    // added, removed or renamed; watching each file catches edits.
    println!("cargo:rerun-if-changed={}", dir.display());

    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => fail(&format!("cannot read {}: {e}", dir.display())),
    };
    let mut versions = Vec::new();
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| fail(&format!("reading {}: {e}", dir.display())));
        let name = entry.file_name().to_string_lossy().into_owned();
        println!("cargo:rerun-if-changed={}", entry.path().display());
        match parse_name(&name) {
            Some(v) => versions.push((v, name)),
            None => fail(&format!(
                "migrations/{dialect}/{name} does not match V{{n}}__{{name}}.sql \
                 (n a positive integer, name of [A-Za-z0-9_]); refinery would skip it silently"
            )),
        }
    }
    if versions.is_empty() {
        fail(&format!(
            "migrations/{dialect}/ holds no V{{n}}__{{name}}.sql file; the library would build with no schema"
        ));
    }
    versions.sort();
    for (i, (v, name)) in versions.iter().enumerate() {
        let expected = i as u32 + 1;
        if *v != expected {
            fail(&format!(
                "migrations/{dialect}/ must be numbered 1, 2, 3, ... without gaps or repeats: \
                 found {name} where V{expected} was expected"
            ));
        }
    }
    versions
}

fn parse_name(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('V')?.strip_suffix(".sql")?;
    let (num, label) = rest.split_once("__")?;
    let ok_num = !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) && !num.starts_with('0');
    let ok_label = !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok_num && ok_label { num.parse().ok() } else { None }
}

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    panic!("{msg}");
}
