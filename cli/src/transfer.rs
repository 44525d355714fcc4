//! The export format (versioned JSON Lines) and the export and import
//! commands.
//!
//! Export streams records as the core reads them from one snapshot. Import
//! works in two passes so that it never holds the database's write lock while
//! it waits for its input (standard input can stall for ever): the first reads
//! every line, checks it (format, fields, owner) and copies the record to an
//! unnamed temporary file beside the database, without touching the database;
//! the second writes them from that file in one short transaction. Memory stays
//! bounded by the longest line in both.
//!
//! ```text
//! {"format":"avatar-store-export","version":1,"exportedAt":"...","schemaVersion":5,"userId":"user-1"}
//! {"type":"project","id":"...","userId":"...","name":"...",...}
//! {"type":"avatar","id":"...","projectId":"...",...}
//! {"type":"end","projects":1,"avatars":1}
//! ```
//!
//! The header's `userId` is the user an export was made for, `null` for an
//! export of every user (`--all-users`).

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Read, Seek, Write};
use std::path::{Path, PathBuf};

use avatar_store::{Avatar, Project, Record, Scope, Store};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Report;
use crate::fail::CliError;
use crate::ops::require_existing;

/// The `format` of the header line.
pub const FORMAT: &str = "avatar-store-export";
/// The format version this build writes and reads.
pub const VERSION: u64 = 1;
/// Longest accepted line. A record at every length limit of the core is far
/// below it; the bound keeps a corrupt file from exhausting memory.
pub const MAX_LINE: usize = 1 << 20;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Header<'a> {
    format: &'a str,
    version: u64,
    exported_at: String,
    schema_version: i32,
    /// `None` (null) for an export of every user.
    user_id: Option<&'a str>,
}

/// The header as read: every field optional, so a wrong file gets a precise message.
#[derive(Debug, Deserialize)]
struct HeaderIn {
    format: Option<String>,
    version: Option<serde_json::Value>,
    #[serde(rename = "userId")]
    user_id: Option<serde_json::Value>,
}

/// The last line: its counts tell a complete file from a truncated one.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename = "end")]
struct Trailer {
    projects: u64,
    avatars: u64,
}

/// Reads only the `type` of a line; the rest is parsed into the matching
/// struct, so that an error names the field it is about.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
}

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

fn write_line<W: Write, T: Serialize>(w: &mut W, value: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *w, value).map_err(io::Error::from)?;
    w.write_all(b"\n")
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
    if is_database_file(db, out) {
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
    let schema_version = store.migration_status()?.current_version;
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
    let io_err = |e: io::Error| avatar_store::Error::Io { path: target.clone(), message: e.to_string() };
    let mut w = BufWriter::with_capacity(256 * 1024, sink);

    // The bar would garble records printed on the same terminal.
    let visible = io::stderr().is_terminal() && (output.is_some() || !io::stdout().is_terminal());
    let pb = bar(projects_total + avatars_total, "records", visible);
    pb.set_message("exporting");

    let header = Header {
        format: FORMAT,
        version: VERSION,
        exported_at: avatar_store::format_timestamp(&chrono::Utc::now()),
        schema_version,
        user_id: scope.user_id(),
    };
    write_line(&mut w, &header).map_err(io_err)?;
    let (mut projects, mut avatars) = (0u64, 0u64);
    store.export_in(scope, |record| {
        match &record {
            Record::Project(_) => projects += 1,
            Record::Avatar(_) => avatars += 1,
        }
        write_line(&mut w, &record).map_err(io_err)?;
        pb.inc(1);
        Ok(())
    })?;
    write_line(&mut w, &Trailer { projects, avatars }).map_err(io_err)?;
    w.flush().map_err(io_err)?;
    drop(w);
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
        "database": lossy(db),
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

/// Reads one line of at most [`MAX_LINE`] bytes into `buf` (cleared first);
/// `Ok(false)` at the end of the input.
fn read_line(r: &mut impl BufRead, buf: &mut String, line: u64) -> Result<bool, CliError> {
    buf.clear();
    let n = r.by_ref().take(MAX_LINE as u64 + 1).read_line(buf).map_err(|e| match e.kind() {
        io::ErrorKind::InvalidData => CliError::input(line, "not valid UTF-8 text"),
        _ => CliError::input(line, format!("cannot read the file: {e}")),
    })?;
    if n > MAX_LINE {
        return Err(CliError::input(line, format!("longer than {MAX_LINE} bytes; not an export line")));
    }
    Ok(n > 0)
}

/// A serde_json error as a message about the line, without serde's own
/// "line 1" (each line is parsed on its own) but with the column.
fn json_error(line: u64, e: &serde_json::Error, path: Option<String>) -> CliError {
    let text = e.to_string();
    let text = match text.rsplit_once(" at line ") {
        Some((msg, _)) if e.line() > 0 => format!("{msg} (column {})", e.column()),
        _ => text,
    };
    match e.classify() {
        serde_json::error::Category::Eof => CliError::input(
            line,
            format!("malformed JSON: the line ends in the middle of a value, the file may be truncated: {text}"),
        ),
        serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
            CliError::input(line, format!("malformed JSON: {text}"))
        }
        serde_json::error::Category::Data => CliError::Input { line, field: path.filter(|p| p != "."), message: text },
    }
}

fn parse<'a, T: Deserialize<'a>>(line: u64, text: &'a str) -> Result<T, CliError> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        json_error(line, e.inner(), Some(path))
    })
}

/// Checks line 1: the format and its version, and, for an import of one
/// user, that the file is not an export of another user.
fn check_header(text: &str, scope: Scope<'_>) -> Result<(), CliError> {
    if text.trim().is_empty() {
        return Err(CliError::input(1, "the file is empty; expected the export header"));
    }
    let h: HeaderIn = serde_json::from_str(text).map_err(|e| json_error(1, &e, None))?;
    if h.format.as_deref() != Some(FORMAT) {
        return Err(CliError::input(
            1,
            format!(
                "not an avatar-store export: the first line must be the header {{\"format\":\"{FORMAT}\",\"version\":{VERSION},...}}"
            ),
        ));
    }
    match h.version.as_ref().and_then(|v| v.as_u64()) {
        Some(VERSION) => {}
        _ => {
            return Err(CliError::Input {
                line: 1,
                field: Some("version".into()),
                message: format!(
                    "unsupported export format version {}; this build reads version {VERSION}",
                    h.version.map(|v| v.to_string()).unwrap_or_else(|| "(missing)".into())
                ),
            });
        }
    }
    let header_user = |message: String| CliError::Input { line: 1, field: Some("userId".into()), message };
    match (h.user_id, scope) {
        // An export of every user may still hold only this user's records;
        // each record is checked on its own line.
        (None | Some(serde_json::Value::Null), _) | (Some(serde_json::Value::String(_)), Scope::AllUsers) => Ok(()),
        (Some(serde_json::Value::String(file_user)), Scope::User(user)) if file_user == user => Ok(()),
        (Some(serde_json::Value::String(file_user)), Scope::User(user)) => Err(header_user(format!(
            "the file is an export of user {:?}; this import is for user {user:?} (--user) only",
            file_user.chars().take(40).collect::<String>()
        ))),
        (Some(other), _) => Err(header_user(format!("must be a string or null, got {other}"))),
    }
}

/// Reads the records after the header, checking each (format, fields, owner)
/// and handing it to `sink` with its line number; the end line's counts must
/// match what was read. Touches no database.
fn read_records(
    r: &mut impl BufRead,
    scope: Scope<'_>,
    pb: &ProgressBar,
    consumed: impl Fn() -> u64,
    mut sink: impl FnMut(u64, &Record) -> Result<(), CliError>,
) -> Result<(u64, u64), CliError> {
    let mut buf = String::new();
    let mut line = 1u64;
    let (mut projects, mut avatars) = (0u64, 0u64);
    loop {
        line += 1;
        if !read_line(r, &mut buf, line)? {
            return Err(CliError::input(
                line,
                format!(
                    "the file ends after line {} without the end line {{\"type\":\"end\",...}}: it is truncated",
                    line - 1
                ),
            ));
        }
        let text = buf.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        let probe: Probe = serde_json::from_str(text).map_err(|e| json_error(line, &e, None))?;
        let record = match probe.kind.as_deref() {
            Some("project") => Record::Project(parse::<Project>(line, text)?),
            Some("avatar") => Record::Avatar(parse::<Avatar>(line, text)?),
            Some("end") => {
                let t: Trailer = parse(line, text)?;
                if t != (Trailer { projects, avatars }) {
                    return Err(CliError::input(
                        line,
                        format!(
                            "the end line counts {} projects and {} avatars but the file holds {projects} and {avatars}: \
                             the file is damaged",
                            t.projects, t.avatars
                        ),
                    ));
                }
                loop {
                    line += 1;
                    if !read_line(r, &mut buf, line)? {
                        return Ok((projects, avatars));
                    }
                    if !buf.trim().is_empty() {
                        return Err(CliError::input(line, "data after the end line"));
                    }
                }
            }
            Some(other) => {
                return Err(CliError::Input {
                    line,
                    field: Some("type".into()),
                    message: format!("unknown record type {other:?}; expected \"project\", \"avatar\" or \"end\""),
                });
            }
            None => {
                return Err(CliError::Input {
                    line,
                    field: Some("type".into()),
                    message: "missing; every record line has \"type\": \"project\", \"avatar\" or \"end\"".into(),
                });
            }
        };
        record.validate(scope).map_err(|e| record_error(line, e))?;
        sink(line, &record)?;
        match record {
            Record::Project(_) => projects += 1,
            Record::Avatar(_) => avatars += 1,
        }
        if (projects + avatars) % 1024 == 0 {
            pb.set_position(consumed());
        }
    }
}

/// An error of the core while it handles the record on `line`. A record that
/// is invalid, or collides with what is stored, is that line's fault; a lock,
/// a full disk or a read-only file is not, and is reported as the database's.
fn record_error(line: u64, e: avatar_store::Error) -> CliError {
    use avatar_store::Error as E;
    match e {
        E::Validation { field, message } => CliError::Input { line, field: Some(field), message },
        e @ (E::Conflict(_) | E::NotFound { .. }) => CliError::Store { error: e, line: Some(line), hint: None },
        e => CliError::from(e),
    }
}

/// Names the database in an IO error that names no file.
fn on_database(e: CliError, db: &Path) -> CliError {
    match e {
        CliError::Store { error: avatar_store::Error::Io { path, message }, line, hint } if path.is_empty() => {
            CliError::Store { error: avatar_store::Error::Io { path: lossy(db), message }, line, hint }
        }
        e => e,
    }
}

/// Writes checked records in one transaction of the core.
fn write_records(
    store: &Store,
    scope: Scope<'_>,
    records: impl Iterator<Item = Result<(u64, Record), CliError>>,
    pb: &ProgressBar,
) -> Result<(u64, u64), CliError> {
    // The importer's closure must return the core's error type; the precise
    // CLI error (with its line) is kept aside and reported instead.
    let mut failure = None;
    let result = store.import_in(scope, |imp| {
        for item in records {
            let step = item.and_then(|(line, r)| imp.record(&r).map_err(|e| record_error(line, e)));
            if let Err(e) = step {
                let rollback = avatar_store::Error::Validation { field: "file".into(), message: e.to_string() };
                failure = Some(e);
                return Err(rollback);
            }
            pb.inc(1);
        }
        Ok(imp.counts())
    });
    match (result, failure) {
        (Ok(counts), _) => Ok(counts),
        (Err(_), Some(e)) => Err(e),
        (Err(e), None) => Err(CliError::from(e)),
    }
}

/// Imports a whole export held in memory (header, records, end line) into `store`.
pub fn import_from(store: &Store, scope: Scope<'_>, r: &mut impl BufRead) -> Result<(u64, u64), CliError> {
    let mut buf = String::new();
    read_line(r, &mut buf, 1)?;
    check_header(buf.trim_end_matches(['\n', '\r']), scope)?;
    let mut records = Vec::new();
    read_records(
        r,
        scope,
        &ProgressBar::hidden(),
        || 0,
        |line, record| {
            records.push((line, record.clone()));
            Ok(())
        },
    )?;
    write_records(store, scope, records.into_iter().map(Ok), &ProgressBar::hidden())
}

/// Counts the bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    count: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// The records the first pass checked, in an unnamed temporary file (gone
/// when closed, even after a crash), one `line<TAB>record` per line.
struct Spool {
    file: File,
}

impl Spool {
    fn create(db: &Path) -> Result<(Spool, BufWriter<File>), CliError> {
        // Beside the database, not in /tmp: it is about as big as the data
        // the database is about to take, on the disk that must hold it anyway.
        let file = tempfile::tempfile_in(parent_dir(db)).map_err(|e| spool_error(db, e))?;
        let writer = file.try_clone().map_err(|e| spool_error(db, e))?;
        Ok((Spool { file }, BufWriter::with_capacity(256 * 1024, writer)))
    }

    fn append(w: &mut impl Write, line: u64, r: &Record) -> io::Result<()> {
        write!(w, "{line}\t")?;
        write_line(w, r)
    }

    /// The records again, from the start.
    fn records(&self, db: &Path) -> Result<impl Iterator<Item = Result<(u64, Record), CliError>> + '_, CliError> {
        let mut file = &self.file;
        file.rewind().map_err(|e| spool_error(db, e))?;
        let db = db.to_owned();
        Ok(BufReader::with_capacity(256 * 1024, file).lines().map(move |l| {
            let l = l.map_err(|e| spool_error(&db, e))?;
            let parsed =
                l.split_once('\t').and_then(|(n, json)| Some((n.parse().ok()?, serde_json::from_str(json).ok()?)));
            parsed.ok_or_else(|| spool_error(&db, "the temporary copy of the input does not read back"))
        }))
    }
}

fn spool_error(db: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::io(db, format!("cannot keep a temporary copy of the input beside the database: {e}"))
}

/// Imports into a database that does not exist yet. It is built under a
/// temporary name beside `db` and put in place, only when complete, by a
/// rename that never replaces a file: a failed import leaves no database
/// behind and yet never deletes anything at `db`, so a database another
/// process creates or opens there meanwhile is never touched. `Ok(None)`
/// when one appeared meanwhile: the caller imports into it instead.
fn import_into_new(
    db: &Path,
    scope: Scope<'_>,
    spool: &Spool,
    pb: &ProgressBar,
) -> Result<Option<(u64, u64)>, CliError> {
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
    let counts = match build_new(&temp, db, scope, spool, pb) {
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
fn build_new(
    temp: &Path,
    db: &Path,
    scope: Scope<'_>,
    spool: &Spool,
    pb: &ProgressBar,
) -> Result<(u64, u64), CliError> {
    let counts = {
        let store = Store::open(temp).map_err(|e| on_database(e.into(), db))?;
        write_records(&store, scope, spool.records(db)?, pb).map_err(|e| on_database(e, db))?
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

fn import_into_existing(db: &Path, scope: Scope<'_>, spool: &Spool, pb: &ProgressBar) -> Result<(u64, u64), CliError> {
    let store = Store::open(db)?;
    write_records(&store, scope, spool.records(db)?, pb)
}

pub fn import(db: &Path, scope: Scope<'_>, file: &Path) -> Result<Report, CliError> {
    if let Scope::User(u) = scope {
        avatar_store::validate_user_id(u)?;
    }
    let stdin = file.as_os_str() == "-";
    let (input, size): (Box<dyn Read>, Option<u64>) = if stdin {
        (Box::new(io::stdin().lock()), None)
    } else {
        let f = File::open(file).map_err(|e| CliError::io(file, e))?;
        let size = f.metadata().ok().map(|m| m.len());
        (Box::new(f), size)
    };
    let count = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let mut r = BufReader::with_capacity(256 * 1024, Counting { inner: input, count: count.clone() });

    // First pass: the whole input is read and checked before the database
    // is opened, so a wrong file does not even create one, and a slow or
    // stalled input holds no lock that applications wait on.
    let mut buf = String::new();
    read_line(&mut r, &mut buf, 1)?;
    check_header(buf.trim_end_matches(['\n', '\r']), scope)?;
    let (spool, mut w) = Spool::create(db)?;
    let terminal = io::stderr().is_terminal();
    let pb = bar(size.unwrap_or(0), "bytes", terminal && size.is_some());
    pb.set_message("reading");
    let (projects, avatars) = read_records(
        &mut r,
        scope,
        &pb,
        || count.get(),
        |line, record| Spool::append(&mut w, line, record).map_err(|e| spool_error(db, e)),
    )?;
    w.flush().map_err(|e| spool_error(db, e))?;
    drop(w);
    pb.finish_and_clear();

    // Second pass: one transaction, fed from the local copy.
    let pb = bar(projects + avatars, "records", terminal);
    pb.set_message("importing");
    let written = if db.exists() {
        import_into_existing(db, scope, &spool, &pb)
    } else {
        match import_into_new(db, scope, &spool, &pb) {
            Ok(Some(counts)) => Ok(counts),
            // Created by another process meanwhile: theirs now, imported into like any other.
            Ok(None) => import_into_existing(db, scope, &spool, &pb),
            Err(e) => Err(e),
        }
    };
    pb.finish_and_clear();
    let (projects, avatars) = written.map_err(|e| on_database(e, db))?;

    let from = if stdin { "standard input".to_string() } else { lossy(file) };
    let human = format!("imported {projects} projects and {avatars} avatars from {from} into {}\n", lossy(db));
    Ok(Report::ok(
        human,
        json!({
            "database": lossy(db),
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

    #[test]
    fn records_written_by_export_are_read_back_by_import() {
        let a: Avatar = serde_json::from_str(crate::demo::DATA.lines().nth(4).unwrap()).unwrap();
        let text = serde_json::to_string(&Record::Avatar(a.clone())).unwrap();
        let probe: Probe = serde_json::from_str(&text).unwrap();
        assert_eq!(probe.kind.as_deref(), Some("avatar"));
        assert_eq!(parse::<Avatar>(2, &text).unwrap(), a);
        let end = serde_json::to_string(&Trailer { projects: 1, avatars: 2 }).unwrap();
        assert_eq!(end, r#"{"type":"end","projects":1,"avatars":2}"#);
    }

    #[test]
    fn a_bad_field_is_named_with_its_column() {
        let line = r#"{"type":"avatar","personaAge":"old"}"#;
        match parse::<Avatar>(9, line).unwrap_err() {
            CliError::Input { line, field, message } => {
                assert_eq!(line, 9);
                assert_eq!(field.as_deref(), Some("personaAge"));
                assert!(message.contains("column"), "{message}");
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn headers_of_other_files_and_versions_are_refused() {
        let all = Scope::AllUsers;
        check_header(&format!(r#"{{"format":"{FORMAT}","version":1}}"#), all).unwrap();
        let e = check_header(&format!(r#"{{"format":"{FORMAT}","version":2}}"#), all).unwrap_err();
        assert!(e.to_string().contains("version 2"), "{e}");
        let e = check_header(r#"{"type":"project"}"#, all).unwrap_err();
        assert!(e.to_string().contains("not an avatar-store export"), "{e}");
        let e = check_header("{\"format\":", all).unwrap_err();
        assert!(e.to_string().contains("malformed JSON"), "{e}");
        // An import for one user takes only that user's export, or one of every user.
        let of = |user: &str| format!(r#"{{"format":"{FORMAT}","version":1,"userId":{user}}}"#);
        let bob = Scope::User("bob");
        check_header(&of("\"bob\""), bob).unwrap();
        check_header(&of("null"), bob).unwrap();
        check_header(&of("\"alice\""), all).unwrap();
        for (user, phrase) in [("\"alice\"", "export of user \"alice\""), ("7", "string or null")] {
            match check_header(&of(user), bob).unwrap_err() {
                CliError::Input { line: 1, field: Some(f), message } if f == "userId" => {
                    assert!(message.contains(phrase), "{message}")
                }
                e => panic!("{e:?}"),
            }
        }
    }

    /// Another process creates the database while the import builds its
    /// own: the import's copy never replaces it, and nothing is left behind.
    #[test]
    fn a_new_database_never_replaces_one_created_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("app.db");
        let (spool, mut w) = Spool::create(&db).unwrap();
        let mut records = Vec::new();
        let mut data = crate::demo::DATA.as_bytes();
        import_from_records(&mut data, &mut records);
        for (line, r) in &records {
            Spool::append(&mut w, *line, r).unwrap();
        }
        w.flush().unwrap();
        drop(w);
        let scope = Scope::User(crate::demo::USER);

        std::fs::write(&db, b"theirs").unwrap();
        assert_eq!(import_into_new(&db, scope, &spool, &ProgressBar::hidden()).unwrap(), None);
        assert_eq!(std::fs::read(&db).unwrap(), b"theirs");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["app.db"]);

        // Without a competitor the new database is put in place, whole.
        std::fs::remove_file(&db).unwrap();
        let counts = import_into_new(&db, scope, &spool, &ProgressBar::hidden()).unwrap().unwrap();
        assert_eq!(counts, (3, records.len() as u64 - 3));
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["app.db"], "no log or temporary file beside the new database");
        assert_eq!(Store::open(&db).unwrap().count(crate::demo::USER).unwrap(), counts);
    }

    fn import_from_records(r: &mut impl BufRead, out: &mut Vec<(u64, Record)>) {
        let mut buf = String::new();
        read_line(r, &mut buf, 1).unwrap();
        read_records(
            r,
            Scope::AllUsers,
            &ProgressBar::hidden(),
            || 0,
            |line, record| {
                out.push((line, record.clone()));
                Ok(())
            },
        )
        .unwrap();
    }

    #[test]
    fn overlong_lines_are_refused_without_reading_them_whole() {
        let big = "x".repeat(MAX_LINE + 10);
        let mut r = io::Cursor::new(big.as_bytes());
        let mut buf = String::new();
        let e = read_line(&mut r, &mut buf, 3).unwrap_err();
        assert!(e.to_string().starts_with("line 3: longer than"), "{e}");
        assert!(buf.len() <= MAX_LINE + 1);
    }
}
