//! The export and import commands: files, flags and the progress bar. The
//! format itself (its header, records, end line and line-numbered errors)
//! is the core's `avatar_store::transfer`.
//!
//! Export streams records as the core reads them from one snapshot. Import
//! works in two passes so that it never holds the database's write lock while
//! it waits for its input (standard input can stall for ever): the first reads
//! and checks every line into a temporary file beside the database, without
//! touching the database; the second writes them in one short transaction.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use avatar_store::transfer::{Checked, Header, Reader, Writer};
use avatar_store::{Scope, Store};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::Report;
use crate::fail::CliError;
use crate::ops::{is_url, path_json, require_existing, shown};

fn bar(total: u64, unit: &str, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let template = if unit == "bytes" {
        "{spinner} {msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})"
    } else {
        "{spinner} {msg} [{bar:40}] {human_pos}/{human_len} records ({per_sec}, eta {eta})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}

/// A path for a message or a JSON report. Paths need not be UTF-8 (a file
/// name is bytes on Unix), and serializing one that is not would fail.
pub fn lossy(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `path` with `suffix` appended to its file name (`app.db` → `app.db-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The directory a file is in (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Where `path` points: the file itself resolved when it exists, else its
/// resolved directory joined with its name.
fn resolved(path: &Path) -> Option<PathBuf> {
    path.canonicalize().ok().or_else(|| Some(parent_dir(path).canonicalize().ok()?.join(path.file_name()?)))
}

/// Whether writing `out` would write over the database or one of the files
/// SQLite keeps beside it (whether or not they exist right now): by path,
/// through symbolic links, and by identity for hard links.
fn is_database_file(db: &Path, out: &Path) -> bool {
    let out_at = resolved(out);
    ["", "-wal", "-shm", "-journal"].iter().any(|suffix| {
        let f = with_suffix(db, suffix);
        (out_at.is_some() && out_at == resolved(&f)) || same_file::is_same_file(out, &f).unwrap_or(false)
    })
}

/// Refuses an export target that is the database, or that exists without --force.
fn check_output(db: &Path, out: &Path, force: bool) -> Result<(), CliError> {
    if !is_url(db) && is_database_file(db, out) {
        return Err(avatar_store::Error::Conflict(format!(
            "{} is the database being exported (or its -wal, -shm or -journal file); \
             export never writes over it, --force or not",
            lossy(out)
        ))
        .into());
    }
    if !force && std::fs::symlink_metadata(out).is_ok() {
        return Err(exists(out));
    }
    Ok(())
}

fn exists(out: &Path) -> CliError {
    CliError::from(avatar_store::Error::Conflict(format!("the output file {} already exists", lossy(out))))
        .with_hint("pass --force to replace it, or choose another file")
}

pub fn export(db: &Path, scope: Scope<'_>, output: Option<&Path>, force: bool, json: bool) -> Result<Report, CliError> {
    if let Scope::User(u) = scope {
        avatar_store::validate_user_id(u)?;
    }
    require_existing(db)?;
    if let Some(out) = output {
        check_output(db, out, force)?;
    }
    // Exporting never changes the file: an old or drifted schema is reported,
    // not migrated, and the read-only mode leaves a rollback-journal file in
    // that mode and no -wal or -shm file behind.
    let store = Store::options().read_only(true).open(db).map_err(|e| {
        let hint = match &e {
            avatar_store::Error::NewerSchema { .. } => Some(
                "this file was written by a newer avatar-store; export it with that version or a later one \
                 (upgrade avatar-store); migrate and doctor cannot help",
            ),
            avatar_store::Error::SchemaDrift(_) => Some(
                "export reads a database at the current schema; run `avatar-store migrate` for pending \
                 migrations or `avatar-store doctor --fix` for missing columns first",
            ),
            _ => None,
        };
        let e = CliError::from(e);
        match hint {
            Some(h) => e.with_hint(h),
            None => e,
        }
    })?;
    let (projects_total, avatars_total) = store.count_in(scope)?;

    // Into a temporary file renamed at the end, so FILE is complete or absent.
    let mut temp = match output {
        Some(path) => Some(tempfile::NamedTempFile::new_in(parent_dir(path)).map_err(|e| CliError::io(path, e))?),
        None => None,
    };
    let sink: Box<dyn Write> = match temp.as_mut() {
        Some(t) => Box::new(t.as_file_mut()),
        None => Box::new(io::stdout().lock()),
    };
    let target = output.map(lossy).unwrap_or_else(|| "standard output".into());
    let on_output = |e: avatar_store::Error| named(e, &target);

    // The bar would garble records printed on the same terminal.
    let visible = io::stderr().is_terminal() && (output.is_some() || !io::stdout().is_terminal());
    let pb = bar(projects_total + avatars_total, "records", visible);
    pb.set_message("exporting");

    let header = Header::new(&store, scope)?;
    let mut w = Writer::new(BufWriter::with_capacity(256 * 1024, sink), &header).map_err(on_output)?;
    // Streamed on the read-only store's one connection, from one snapshot.
    store.export_in(scope, |record| {
        w.record(&record).map_err(on_output)?;
        pb.inc(1);
        Ok(())
    })?;
    let ((projects, avatars), _) = w.finish().map_err(on_output)?;
    pb.finish_and_clear();
    if let (Some(t), Some(path)) = (temp, output) {
        t.as_file().sync_all().map_err(|e| CliError::io(path, e))?;
        // Checked again here, atomically: FILE may have appeared meanwhile.
        if force {
            t.persist(path).map_err(|e| CliError::io(path, e.error))?;
        } else {
            t.persist_noclobber(path).map_err(|e| match e.error.kind() {
                io::ErrorKind::AlreadyExists => exists(path),
                _ => CliError::io(path, e.error),
            })?;
        }
    }

    let human = format!("exported {projects} projects and {avatars} avatars to {target}\n");
    let summary = json!({
        "database": path_json(db),
        "output": output.map(lossy),
        "userId": scope.user_id(),
        "allUsers": scope == Scope::AllUsers,
        "projects": projects,
        "avatars": avatars,
    });
    // With records on stdout the summary goes to stderr, and only as text:
    // a JSON object there would be mistaken for part of the data by nobody, but
    // it is noise for the person watching.
    let to_stderr = output.is_none();
    let human = if to_stderr && json { serde_json::to_string(&summary).unwrap_or_default() + "\n" } else { human };
    Ok(Report { human, json: summary, exit: crate::fail::OK, to_stderr })
}

/// Names `path` in an I/O error of the core that names no file (one about
/// a stream it was handed, or about the database it was given).
fn named(e: avatar_store::Error, path: &str) -> avatar_store::Error {
    use avatar_store::Error as E;
    match e {
        E::Io { path: p, message } if p.is_empty() => E::Io { path: path.to_owned(), message },
        E::AtLine { line, error } => named(*error, path).at_line(line),
        e => e,
    }
}

/// Names the database in an I/O error that names no file.
fn on_database(e: CliError, db: &Path) -> CliError {
    match e {
        CliError::Store { error, hint } => CliError::Store { error: named(error, &shown(db)), hint },
        e => e,
    }
}

/// Imports a whole export held in memory (header, records, end line) into
/// `store`: the demo's data.
pub fn import_from(store: &Store, scope: Scope<'_>, r: impl Read) -> Result<(u64, u64), CliError> {
    Ok(avatar_store::transfer::import_from(store, scope, r)?)
}

/// Imports into a database that does not exist yet. It is built under a
/// temporary name beside `db` and put in place, only when complete, by a
/// rename that never replaces a file: a failed import leaves no database
/// behind and yet never deletes anything at `db`, so a database another
/// process creates or opens there meanwhile is never touched. `Ok(None)`
/// when one appeared meanwhile: the caller imports into it instead.
fn import_into_new(db: &Path, checked: &Checked, pb: &ProgressBar) -> Result<Option<(u64, u64)>, CliError> {
    let name = db.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{name}.import-");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        // The mode SQLite gives a database it creates (before the umask).
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let temp = builder.tempfile_in(parent_dir(db)).map_err(|e| CliError::io(db, e))?.into_temp_path();
    // SQLite's companion files of the temporary database: ours alone, and
    // normally gone already.
    let companions: Vec<PathBuf> = ["-wal", "-shm", "-journal"].iter().map(|s| with_suffix(&temp, s)).collect();
    let cleanup = || {
        for f in &companions {
            let _ = std::fs::remove_file(f);
        }
    };
    let counts = match build_new(&temp, db, checked, pb) {
        Ok(c) => c,
        Err(e) => {
            cleanup();
            return Err(e);
        }
    };
    let published = temp.persist_noclobber(db);
    cleanup();
    match published {
        Ok(()) => Ok(Some(counts)),
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok(None),
        Err(e) => Err(CliError::io(db, e.error)),
    }
}

/// Creates, migrates and fills the temporary database, and leaves it as one
/// self-contained file (no write-ahead log beside it) ready to be renamed.
fn build_new(temp: &Path, db: &Path, checked: &Checked, pb: &ProgressBar) -> Result<(u64, u64), CliError> {
    let counts = {
        let store = Store::open(temp).map_err(|e| on_database(e.into(), db))?;
        checked.import_into(&store, || pb.inc(1)).map_err(|e| on_database(e.into(), db))?
    };
    // Rollback-journal mode folds the log into the file, and SQLite refuses
    // the switch while any other connection is open: only then is the one
    // file the whole database. The next open goes back to WAL.
    let conn = rusqlite::Connection::open(temp).map_err(|e| CliError::io(temp, e))?;
    conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| CliError::io(temp, e))?;
    let mode: String =
        conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0)).map_err(|e| CliError::io(temp, e))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(CliError::io(temp, format!("could not close the new database's log (journal mode {mode})")));
    }
    conn.close().map_err(|(_, e)| CliError::io(temp, e))?;
    Ok(counts)
}

fn import_into_existing(db: &Path, checked: &Checked, pb: &ProgressBar) -> Result<(u64, u64), CliError> {
    let store = Store::open(db)?;
    Ok(checked.import_into(&store, || pb.inc(1))?)
}

pub fn import(db: &Path, scope: Scope<'_>, file: &Path) -> Result<Report, CliError> {
    if let Scope::User(u) = scope {
        avatar_store::validate_user_id(u)?;
    }
    let stdin = file.as_os_str() == "-";
    let from = if stdin { "standard input".to_string() } else { lossy(file) };
    let (input, size): (Box<dyn Read>, Option<u64>) = if stdin {
        (Box::new(io::stdin().lock()), None)
    } else {
        let f = File::open(file).map_err(|e| CliError::io(file, e))?;
        let size = f.metadata().ok().map(|m| m.len());
        (Box::new(f), size)
    };
    let terminal = io::stderr().is_terminal();
    let pb = bar(size.unwrap_or(0), "bytes", terminal && size.is_some());
    pb.set_message("reading");
    let input = BufReader::with_capacity(256 * 1024, pb.wrap_read(input));

    // First pass: the whole input is read and checked before the database
    // is opened, so a wrong file does not even create one, and a slow or
    // stalled input holds no lock that applications wait on. The temporary
    // copy goes beside the database: it is about as big as the data the
    // database is about to take, on the disk that must hold it anyway.
    let on_input = |e: avatar_store::Error| named(e, &from);
    let reader = Reader::new(input, scope).map_err(on_input)?;
    // A server's data lives elsewhere: the local copy goes to the temporary folder.
    let spool = if is_url(db) { std::env::temp_dir() } else { parent_dir(db).to_path_buf() };
    let checked = Checked::read(reader, &spool).map_err(on_input)?;
    pb.finish_and_clear();

    // Second pass: one transaction, fed from the local copy.
    let (projects, avatars) = checked.counts();
    let pb = bar(projects + avatars, "records", terminal);
    pb.set_message("importing");
    let written = if is_url(db) || db.exists() {
        import_into_existing(db, &checked, &pb)
    } else {
        match import_into_new(db, &checked, &pb) {
            Ok(Some(counts)) => Ok(counts),
            // Created by another process meanwhile: theirs now, imported into like any other.
            Ok(None) => import_into_existing(db, &checked, &pb),
            Err(e) => Err(e),
        }
    };
    pb.finish_and_clear();
    let (projects, avatars) = written.map_err(|e| on_database(e, db))?;

    let human = format!("imported {projects} projects and {avatars} avatars from {from} into {}\n", shown(db));
    Ok(Report::ok(
        human,
        json!({
            "database": path_json(db),
            "file": lossy(file),
            "userId": scope.user_id(),
            "allUsers": scope == Scope::AllUsers,
            "projects": projects,
            "avatars": avatars,
        }),
    ))
}

#[cfg(test)]
mod test {
    use super::*;

    /// Another process creates the database while the import builds its
    /// own: the import's copy never replaces it, and nothing is left behind.
    #[test]
    fn a_new_database_never_replaces_one_created_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("app.db");
        let scope = Scope::User(crate::demo::USER);
        let reader = Reader::new(crate::demo::DATA.as_bytes(), scope).unwrap();
        let checked = Checked::read(reader, dir.path()).unwrap();

        std::fs::write(&db, b"theirs").unwrap();
        assert_eq!(import_into_new(&db, &checked, &ProgressBar::hidden()).unwrap(), None);
        assert_eq!(std::fs::read(&db).unwrap(), b"theirs");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["app.db"]);

        // Without a competitor the new database is put in place, whole.
        std::fs::remove_file(&db).unwrap();
        let counts = import_into_new(&db, &checked, &ProgressBar::hidden()).unwrap().unwrap();
        assert_eq!(counts, checked.counts());
        assert_eq!(counts.0, 3);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["app.db"], "no log or temporary file beside the new database");
        assert_eq!(Store::open(&db).unwrap().count(crate::demo::USER).unwrap(), counts);
    }
}
