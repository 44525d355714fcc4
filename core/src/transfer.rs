//! The export format: versioned JSON Lines, written and read as streams.
//!
//! ```text
//! {"format":"avatar-store-export","version":1,"exportedAt":"...","schemaVersion":5,"userId":"user-1"}
//! {"type":"project","id":"...","userId":"user-1","name":"...",...}
//! {"type":"avatar","id":"...","projectId":"...",...}
//! {"type":"end","projects":1,"avatars":1}
//! ```
//!
//! Line 1 is the header: the format, its version, when and from which schema
//! version the export was made, and the user it was made for (`null` for an
//! export of every user). Then every project, then every avatar, in creation
//! order, one per line. The end line's counts tell a complete file from a
//! truncated one. Blank lines are ignored; no line may be longer than
//! [`MAX_LINE`] bytes.
//!
//! Reading reports every problem as an [`Error::AtLine`] (see
//! [`Error::line`]) whose inner error keeps the usual code: `VALIDATION` for
//! a line that is not the format, naming the record field at fault (`name`,
//! `personaAge`, ...) or, for what is not a record field, the part of the
//! format: `format` and `version` (the header), `userId` (an export of
//! another user), `type` (an unknown record type), `end` (a missing end line,
//! counts that do not match) or `line` (a line that is not JSON, too long,
//! not UTF-8, or after the end line). Importing adds `CONFLICT` at the line
//! of a record whose id belongs to another user. Nothing is written unless
//! the whole file is valid.
//!
//! [`export_to`] and [`import_from`] do the whole job; [`Writer`],
//! [`Reader`] and [`Checked`] are the steps, for front ends that show
//! progress or choose where the data goes (the command-line tool).

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, Write};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Avatar, Project};
use crate::store::{Record, Scope, Store};

/// The `format` of the header line.
pub const FORMAT: &str = "avatar-store-export";
/// The format version this build writes and reads.
pub const VERSION: u64 = 1;
/// Longest accepted line, in bytes. A record at every length limit of the
/// core is far below it; the bound keeps a corrupt file from exhausting memory.
pub const MAX_LINE: usize = 1 << 20;

/// Buffer size of the readers and writers this module creates.
const BUFFER: usize = 256 * 1024;

/// The first line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`] when written by this build.
    pub version: u64,
    /// When the export was made (RFC 3339, milliseconds, UTC).
    pub exported_at: String,
    /// The schema version of the database it was made from.
    pub schema_version: i32,
    /// The user it was made for; `None` (`null`) for an export of every user.
    pub user_id: Option<String>,
}

impl Header {
    /// The header of an export of `scope` from `store`, made now.
    pub fn new(store: &Store, scope: Scope<'_>) -> Result<Header> {
        Ok(Header {
            format: FORMAT.into(),
            version: VERSION,
            exported_at: crate::model::format_timestamp(&chrono::Utc::now()),
            schema_version: store.migration_status()?.current_version,
            user_id: scope.user_id().map(str::to_owned),
        })
    }
}

/// The header as read: every field optional, so a wrong file gets a precise message.
#[derive(Debug, Deserialize)]
struct HeaderIn {
    format: Option<String>,
    version: Option<serde_json::Value>,
    #[serde(rename = "userId")]
    user_id: Option<serde_json::Value>,
}

/// The last line.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename = "end")]
struct End {
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

/// An error of the stream the caller handed over; the caller knows its name.
fn stream_error(e: impl std::fmt::Display) -> Error {
    Error::Io { path: String::new(), message: e.to_string() }
}

fn bad(line: u64, field: &str, message: impl Into<String>) -> Error {
    Error::validation(field, message).at_line(line)
}

fn write_line<W: Write, T: Serialize>(w: &mut W, value: &T) -> Result<()> {
    serde_json::to_writer(&mut *w, value).map_err(stream_error)?;
    w.write_all(b"\n").map_err(stream_error)
}

// ------------------------------------------------------------------ write

/// Writes an export: the header when created, one line per record, the end
/// line with the counts on [`Writer::finish`]. Buffer `out` (a
/// [`BufWriter`]) unless it buffers itself. I/O errors are [`Error::Io`]
/// with an empty `path`: the caller knows what it writes to.
pub struct Writer<W: Write> {
    out: W,
    projects: u64,
    avatars: u64,
}

impl<W: Write> Writer<W> {
    /// Writes `header` to `out`.
    pub fn new(mut out: W, header: &Header) -> Result<Self> {
        write_line(&mut out, header)?;
        Ok(Writer { out, projects: 0, avatars: 0 })
    }

    /// Writes one record.
    pub fn record(&mut self, r: &Record) -> Result<()> {
        write_line(&mut self.out, r)?;
        match r {
            Record::Project(_) => self.projects += 1,
            Record::Avatar(_) => self.avatars += 1,
        }
        Ok(())
    }

    /// Projects and avatars written so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.projects, self.avatars)
    }

    /// The output, for example to take what a `Vec<u8>` holds so far.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Writes the end line, flushes, and gives back the counts and `out`.
    pub fn finish(mut self) -> Result<((u64, u64), W)> {
        write_line(&mut self.out, &End { projects: self.projects, avatars: self.avatars })?;
        self.out.flush().map_err(stream_error)?;
        Ok(((self.projects, self.avatars), self.out))
    }
}

/// The records of an export, from one read snapshot: every project, then
/// every avatar, in creation order. Made by [`Store::export_iter`].
///
/// A file database is read on a reader connection of the store's pool,
/// held (with its read transaction) by a thread of the iterator that runs
/// at most a few hundred records ahead of the consumer; dropping the
/// iterator stops it and gives the connection back. While it lives, the
/// write-ahead log cannot be checkpointed past its snapshot: consume it
/// promptly. A store without a reader pool (in memory, or opened
/// read-only) has no connection to lend: its records are copied when the
/// iterator is made, so export a large read-only store with
/// [`Store::export_in`] or [`export_to`], which stream.
pub struct ExportIter {
    source: Source,
}

enum Source {
    Thread { records: Option<Receiver<Result<Record>>>, thread: Option<JoinHandle<()>> },
    Buffered(std::vec::IntoIter<Record>),
}

/// Records the export thread may read ahead of its consumer.
const READ_AHEAD: usize = 256;

impl ExportIter {
    pub(crate) fn spawn(conn: r2d2::PooledConnection<crate::store::Counted>, user: Option<String>) -> Result<Self> {
        let (tx, rx): (SyncSender<Result<Record>>, _) = sync_channel(READ_AHEAD);
        let thread = std::thread::Builder::new()
            .name("avatar-store-export".into())
            .spawn(move || {
                // The send fails once the consumer is gone: stop reading.
                let sent = crate::repo::export(&conn, user.as_deref(), |r| {
                    tx.send(Ok(r)).map_err(|_| Error::Internal("export abandoned".into()))
                });
                if let Err(e) = sent {
                    // After the records already queued; fails only if the consumer is gone.
                    let _ = tx.send(Err(e));
                }
            })
            .map_err(|e| Error::Internal(format!("cannot start the export thread: {e}")))?;
        Ok(ExportIter { source: Source::Thread { records: Some(rx), thread: Some(thread) } })
    }

    /// Runs `export` to its end first, then hands its records out: for a
    /// store whose one connection cannot be lent to a thread.
    pub(crate) fn buffered(export: impl FnOnce(&mut dyn FnMut(Record) -> Result<()>) -> Result<()>) -> Result<Self> {
        let mut records = Vec::new();
        export(&mut |r| {
            records.push(r);
            Ok(())
        })?;
        Ok(ExportIter { source: Source::Buffered(records.into_iter()) })
    }
}

impl Iterator for ExportIter {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        match &mut self.source {
            Source::Buffered(it) => it.next().map(Ok),
            Source::Thread { records, thread } => {
                let rx = records.as_ref()?;
                match rx.recv() {
                    Ok(Err(e)) => {
                        *records = None;
                        Some(Err(e))
                    }
                    Ok(item) => Some(item),
                    // The thread ended: done, unless it panicked.
                    Err(_) => {
                        *records = None;
                        match thread.take().map(JoinHandle::join) {
                            Some(Err(_)) => Some(Err(Error::Internal("the export thread panicked".into()))),
                            _ => None,
                        }
                    }
                }
            }
        }
    }
}

impl Drop for ExportIter {
    fn drop(&mut self) {
        if let Source::Thread { records, thread } = &mut self.source {
            // Closing the channel first makes the thread's next send fail;
            // joining then returns its connection to the pool before the
            // store can be closed.
            records.take();
            if let Some(t) = thread.take() {
                let _ = t.join();
            }
        }
    }
}

impl std::fmt::Debug for ExportIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportIter").finish_non_exhaustive()
    }
}

/// Writes the export of `scope` (header, records from one snapshot, end
/// line) to `out`, buffered here; returns the numbers of projects and
/// avatars written.
///
/// ```
/// use avatar_store::{NewProject, Scope, Store, transfer};
/// let store = Store::open_in_memory().unwrap();
/// store.create_project("alice", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
/// let mut file = Vec::new();
/// assert_eq!(transfer::export_to(&store, Scope::User("alice"), &mut file).unwrap(), (1, 0));
///
/// let copy = Store::open_in_memory().unwrap();
/// assert_eq!(transfer::import_from(&copy, Scope::User("alice"), &file[..]).unwrap(), (1, 0));
/// // Alice's export is not bob's to import.
/// let e = transfer::import_from(&copy, Scope::User("bob"), &file[..]).unwrap_err();
/// assert_eq!((e.code(), e.line(), e.field()), ("VALIDATION", Some(1), Some("userId")));
/// ```
pub fn export_to(store: &Store, scope: Scope<'_>, out: impl Write) -> Result<(u64, u64)> {
    let mut w = Writer::new(BufWriter::with_capacity(BUFFER, out), &Header::new(store, scope)?)?;
    // An error of `out` is kept aside: passed through the store, it would
    // be taken for the database's and named after its file.
    let mut failed = None;
    let exported = store.export_in(scope, |r| {
        w.record(&r).map_err(|e| {
            failed = Some(e);
            Error::Internal("the export's output failed".into())
        })
    });
    if let Some(e) = failed {
        return Err(e);
    }
    exported?;
    Ok(w.finish()?.0)
}

/// [`export_to`] a new file at `path`, which must not exist
/// ([`Error::Conflict`] if it does). The file appears complete or not at all:
/// it is written under a temporary name beside `path` and renamed at the end.
pub fn export_to_path(store: &Store, scope: Scope<'_>, path: impl AsRef<Path>) -> Result<(u64, u64)> {
    let path = path.as_ref();
    let io = |e: io::Error| Error::io(path, e);
    let exists = || Error::Conflict(format!("the output file {} already exists", path.display()));
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(exists());
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    let counts = export_to(store, scope, temp.as_file_mut()).map_err(|e| named(e, path))?;
    temp.as_file().sync_all().map_err(io)?;
    temp.persist_noclobber(path).map_err(|e| match e.error.kind() {
        io::ErrorKind::AlreadyExists => exists(),
        _ => io(e.error),
    })?;
    Ok(counts)
}

/// Names `path` in an I/O error of a stream (one with an empty path).
fn named(e: Error, path: &Path) -> Error {
    match e {
        Error::Io { path: p, message } if p.is_empty() => Error::io(path, message),
        Error::AtLine { line, error } => named(*error, path).at_line(line),
        e => e,
    }
}

// ------------------------------------------------------------------ read

/// Reads an export line by line: the header when created, then one record
/// per [`Iterator::next`], each checked ([`Record::validate`]: its fields,
/// and its owner against the scope) but not written anywhere. Every error is
/// an [`Error::AtLine`]; the iterator ends after the first one, or after the
/// end line once its counts match what was read.
pub struct Reader<R: BufRead> {
    input: R,
    user: Option<String>,
    file_user: Option<String>,
    line: u64,
    buf: String,
    projects: u64,
    avatars: u64,
    done: bool,
}

impl<R: BufRead> Reader<R> {
    /// Reads and checks line 1: the format and its version and, for
    /// [`Scope::User`], that the file is not an export of another user (an
    /// export of every user may still hold only this user's records: each
    /// record is checked on its own line).
    pub fn new(input: R, scope: Scope<'_>) -> Result<Self> {
        let mut r = Reader {
            input,
            user: scope.user_id().map(str::to_owned),
            file_user: None,
            line: 1,
            buf: String::new(),
            projects: 0,
            avatars: 0,
            done: false,
        };
        if let Scope::User(u) = scope {
            crate::model::validate_user_id(u)?;
        }
        r.read_line()?;
        let text = r.buf.trim_end_matches(['\n', '\r']);
        r.file_user = check_header(text, scope)?;
        Ok(r)
    }

    /// The user the file was exported for; `None` for an export of every user.
    pub fn file_user_id(&self) -> Option<&str> {
        self.file_user.as_deref()
    }

    /// The scope the records are checked against.
    pub fn scope(&self) -> Scope<'_> {
        match &self.user {
            Some(u) => Scope::User(u),
            None => Scope::AllUsers,
        }
    }

    /// Projects and avatars read so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.projects, self.avatars)
    }

    /// Reads line `self.line` into `buf`; `Ok(false)` at the end of the input.
    fn read_line(&mut self) -> Result<bool> {
        self.buf.clear();
        let line = self.line;
        let n = self.input.by_ref().take(MAX_LINE as u64 + 1).read_line(&mut self.buf).map_err(|e| match e.kind() {
            io::ErrorKind::InvalidData => bad(line, "line", "not valid UTF-8 text"),
            _ => stream_error(format!("cannot read the file: {e}")).at_line(line),
        })?;
        if n > MAX_LINE {
            return Err(bad(line, "line", format!("longer than {MAX_LINE} bytes; not an export line")));
        }
        if n == 0 && line == 1 {
            return Err(bad(1, "format", "the file is empty; expected the export header"));
        }
        Ok(n > 0)
    }

    fn next_record(&mut self) -> Result<Option<(u64, Record)>> {
        loop {
            self.line += 1;
            let line = self.line;
            if !self.read_line()? {
                return Err(bad(
                    line,
                    "end",
                    format!(
                        "the file ends after line {} without the end line {{\"type\":\"end\",...}}: it is truncated",
                        line - 1
                    ),
                ));
            }
            let text = self.buf.trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() {
                continue;
            }
            let probe: Probe = serde_json::from_str(text).map_err(|e| json_error(line, &e, None))?;
            let record = match probe.kind.as_deref() {
                Some("project") => Record::Project(parse::<Project>(line, text)?),
                Some("avatar") => Record::Avatar(parse::<Avatar>(line, text)?),
                Some("end") => {
                    let end: End = parse(line, text)?;
                    let (projects, avatars) = (self.projects, self.avatars);
                    if end != (End { projects, avatars }) {
                        return Err(bad(
                            line,
                            "end",
                            format!(
                                "the end line counts {} projects and {} avatars but the file holds {projects} and \
                                 {avatars}: the file is damaged",
                                end.projects, end.avatars
                            ),
                        ));
                    }
                    loop {
                        self.line += 1;
                        if !self.read_line()? {
                            return Ok(None);
                        }
                        if !self.buf.trim().is_empty() {
                            return Err(bad(self.line, "line", "data after the end line"));
                        }
                    }
                }
                Some(other) => {
                    return Err(bad(
                        line,
                        "type",
                        format!("unknown record type {other:?}; expected \"project\", \"avatar\" or \"end\""),
                    ));
                }
                None => {
                    return Err(bad(
                        line,
                        "type",
                        "missing; every record line has \"type\": \"project\", \"avatar\" or \"end\"",
                    ));
                }
            };
            record.validate(self.scope()).map_err(|e| e.at_line(line))?;
            match record {
                Record::Project(_) => self.projects += 1,
                Record::Avatar(_) => self.avatars += 1,
            }
            return Ok(Some((line, record)));
        }
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    /// A record with its line number.
    type Item = Result<(u64, Record)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.next_record().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

/// A serde_json error as a message about the line, without serde's own
/// "line 1" (each line is parsed on its own) but with the column.
fn json_error(line: u64, e: &serde_json::Error, path: Option<String>) -> Error {
    let text = e.to_string();
    let text = match text.rsplit_once(" at line ") {
        Some((msg, _)) if e.line() > 0 => format!("{msg} (column {})", e.column()),
        _ => text,
    };
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => bad(
            line,
            "line",
            format!("malformed JSON: the line ends in the middle of a value, the file may be truncated: {text}"),
        ),
        Category::Syntax | Category::Io => bad(line, "line", format!("malformed JSON: {text}")),
        Category::Data => {
            // A missing field has no path yet: serde names it in the message.
            let missing =
                text.strip_prefix("missing field `").and_then(|t| t.split_once('`')).map(|(f, _)| f.to_owned());
            let field = path.filter(|p| p != ".").or(missing).unwrap_or_else(|| "line".into());
            bad(line, &field, text)
        }
    }
}

fn parse<'a, T: Deserialize<'a>>(line: u64, text: &'a str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        json_error(line, e.inner(), Some(path))
    })
}

/// Checks line 1; returns the user the file was exported for.
fn check_header(text: &str, scope: Scope<'_>) -> Result<Option<String>> {
    let h: HeaderIn = serde_json::from_str(text).map_err(|e| json_error(1, &e, None))?;
    if h.format.as_deref() != Some(FORMAT) {
        return Err(bad(
            1,
            "format",
            format!(
                "not an avatar-store export: the first line must be the header \
                 {{\"format\":\"{FORMAT}\",\"version\":{VERSION},...}}"
            ),
        ));
    }
    if h.version.as_ref().and_then(|v| v.as_u64()) != Some(VERSION) {
        return Err(bad(
            1,
            "version",
            format!(
                "unsupported export format version {}; this build reads version {VERSION}",
                h.version.map(|v| v.to_string()).unwrap_or_else(|| "(missing)".into())
            ),
        ));
    }
    use serde_json::Value;
    match (h.user_id, scope) {
        (None | Some(Value::Null), _) => Ok(None),
        (Some(Value::String(file_user)), Scope::User(user)) if file_user != user => Err(bad(
            1,
            "userId",
            format!(
                "the file is an export of user {:?}; this import is for user {user:?} only",
                file_user.chars().take(40).collect::<String>()
            ),
        )),
        (Some(Value::String(file_user)), _) => Ok(Some(file_user)),
        (Some(other), _) => Err(bad(1, "userId", format!("must be a string or null, got {other}"))),
    }
}

// ---------------------------------------------------------------- import

/// A whole export read and checked, its records kept in an unnamed
/// temporary file (gone when dropped, even after a crash): the first of the
/// two passes of an import. The second, [`Checked::import_into`], writes
/// them in one short transaction, so an import never holds the database's
/// write lock while it waits for its input. Memory stays bounded by the
/// longest line in both.
pub struct Checked {
    file: File,
    user: Option<String>,
    counts: (u64, u64),
}

impl Checked {
    /// Reads every record of `reader` into a temporary file in `dir`
    /// (best beside the database: it is about as big as the data the
    /// database is about to take, on the disk that must hold it anyway).
    /// Fails at the first invalid line, touching no database.
    pub fn read<R: BufRead>(mut reader: Reader<R>, dir: &Path) -> Result<Checked> {
        let spool_error = |e: io::Error| Error::io(dir, format!("cannot keep a temporary copy of the input: {e}"));
        let file = tempfile::tempfile_in(dir).map_err(spool_error)?;
        let mut w = BufWriter::with_capacity(BUFFER, file.try_clone().map_err(spool_error)?);
        for item in reader.by_ref() {
            let (line, record) = item?;
            write!(w, "{line}\t").map_err(spool_error)?;
            serde_json::to_writer(&mut w, &record).map_err(|e| spool_error(e.into()))?;
            w.write_all(b"\n").map_err(spool_error)?;
        }
        w.flush().map_err(spool_error)?;
        Ok(Checked { file, user: reader.user, counts: (reader.projects, reader.avatars) })
    }

    /// Projects and avatars read.
    pub fn counts(&self) -> (u64, u64) {
        self.counts
    }

    /// Writes the records in one transaction of `store`, calling
    /// `progress` after each; all or nothing. A record the database refuses
    /// (an id of another user: `CONFLICT`; an avatar whose project is not
    /// there: `VALIDATION` naming `projectId`) is an [`Error::AtLine`]; a
    /// lock, a full disk or a read-only file is the database's, at no line.
    pub fn import_into(&self, store: &Store, mut progress: impl FnMut()) -> Result<(u64, u64)> {
        let scope = match &self.user {
            Some(u) => Scope::User(u),
            None => Scope::AllUsers,
        };
        let mut file = &self.file;
        let unreadable = |e: &dyn std::fmt::Display| {
            Error::Internal(format!("the temporary copy of the input does not read back: {e}"))
        };
        file.rewind().map_err(|e| unreadable(&e))?;
        store.import_in(scope, |imp| {
            for l in BufReader::with_capacity(BUFFER, file).lines() {
                let l = l.map_err(|e| unreadable(&e))?;
                let (line, json) = l.split_once('\t').ok_or_else(|| unreadable(&"no line number"))?;
                let line: u64 = line.parse().map_err(|e| unreadable(&e))?;
                let record: Record = serde_json::from_str(json).map_err(|e| unreadable(&e))?;
                imp.record(&record).map_err(|e| match e {
                    e @ (Error::Validation { .. } | Error::Conflict(_) | Error::NotFound { .. }) => e.at_line(line),
                    e => e,
                })?;
                progress();
            }
            Ok(imp.counts())
        })
    }
}

/// The directory for [`Checked`]'s temporary file: the database's, or the
/// system's for an in-memory one.
fn spool_dir(store: &Store) -> std::path::PathBuf {
    match store.path().and_then(Path::parent) {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        Some(_) => ".".into(),
        None => std::env::temp_dir(),
    }
}

/// Imports an export read from `input` (header, records, end line) into
/// `store`, for `scope`, in two passes ([`Checked`]); all or nothing.
/// Returns the numbers of projects and avatars written. Records are
/// inserted or updated by id, so importing the same file twice leaves one
/// copy.
pub fn import_from(store: &Store, scope: Scope<'_>, input: impl Read) -> Result<(u64, u64)> {
    let reader = Reader::new(BufReader::with_capacity(BUFFER, input), scope)?;
    Checked::read(reader, &spool_dir(store))?.import_into(store, || ())
}

/// [`import_from`] the file at `path`; an I/O error names it.
pub fn import_from_path(store: &Store, scope: Scope<'_>, path: impl AsRef<Path>) -> Result<(u64, u64)> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    import_from(store, scope, file).map_err(|e| match e.without_line() {
        // Only the input's errors name no file: the database's are named by the core.
        Error::Io { path: p, .. } if p.is_empty() && e.line().is_some() => named(e, path),
        _ => e,
    })
}

#[cfg(test)]
mod test {
    use super::*;

    fn read_all(text: &str, scope: Scope<'_>) -> Result<Vec<(u64, Record)>> {
        Reader::new(text.as_bytes(), scope)?.collect()
    }

    #[test]
    fn headers_of_other_files_versions_and_users_are_refused() {
        let all = Scope::AllUsers;
        let h = |rest: &str| {
            format!("{{\"format\":\"{FORMAT}\",{rest}}}\n{{\"type\":\"end\",\"projects\":0,\"avatars\":0}}\n")
        };
        assert!(read_all(&h("\"version\":1"), all).unwrap().is_empty());
        let e = read_all(&h("\"version\":2"), all).unwrap_err();
        assert_eq!((e.line(), e.field()), (Some(1), Some("version")), "{e}");
        assert!(e.to_string().contains("version 2"), "{e}");
        let e = read_all("{\"type\":\"project\"}\n", all).unwrap_err();
        assert!(e.to_string().contains("not an avatar-store export"), "{e}");
        let e = read_all("{\"format\":", all).unwrap_err();
        assert!(e.to_string().starts_with("line 1: invalid line: malformed JSON"), "{e}");
        let e = read_all("", all).unwrap_err();
        assert_eq!((e.line(), e.field()), (Some(1), Some("format")), "{e}");

        let bob = Scope::User("bob");
        read_all(&h("\"version\":1,\"userId\":\"bob\""), bob).unwrap();
        read_all(&h("\"version\":1,\"userId\":null"), bob).unwrap();
        read_all(&h("\"version\":1,\"userId\":\"alice\""), all).unwrap();
        for (user, phrase) in [("\"alice\"", "export of user \"alice\""), ("7", "string or null")] {
            let e = read_all(&h(&format!("\"version\":1,\"userId\":{user}")), bob).unwrap_err();
            assert_eq!((e.code(), e.line(), e.field()), ("VALIDATION", Some(1), Some("userId")), "{e}");
            assert!(e.to_string().contains(phrase), "{e}");
        }
    }

    #[test]
    fn a_bad_field_is_named_with_its_line_and_column() {
        let text =
            format!("{{\"format\":\"{FORMAT}\",\"version\":1}}\n\n{{\"type\":\"avatar\",\"personaAge\":\"old\"}}\n");
        let e = read_all(&text, Scope::AllUsers).unwrap_err();
        assert_eq!((e.code(), e.line(), e.field()), ("VALIDATION", Some(3), Some("personaAge")), "{e}");
        assert!(e.to_string().contains("column"), "{e}");
        let e = read_all(&text.replace("\"personaAge\":\"old\"", "\"id\":\"x\""), Scope::AllUsers).unwrap_err();
        assert_eq!(e.line(), Some(3), "{e}");
        let e = read_all(&text.replace(",\"personaAge\":\"old\"", ""), Scope::AllUsers).unwrap_err();
        assert_eq!((e.line(), e.field()), (Some(3), Some("id")), "a missing field is named: {e}");
    }

    #[test]
    fn overlong_lines_are_refused_without_reading_them_whole() {
        let text = format!("{{\"format\":\"{FORMAT}\",\"version\":1}}\n{}\n", "x".repeat(MAX_LINE + 10));
        let mut r = Reader::new(text.as_bytes(), Scope::AllUsers).unwrap();
        let e = r.next().unwrap().unwrap_err();
        assert!(e.to_string().starts_with("line 2: invalid line: longer than"), "{e}");
        assert!(r.buf.len() <= MAX_LINE + 1);
        assert!(r.next().is_none(), "the reader stops at its first error");
    }

    #[test]
    fn an_export_iterator_dropped_early_gives_its_connection_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::options().readers(1).open(dir.path().join("a.db")).unwrap();
        for i in 0..(READ_AHEAD * 3) {
            store.create_project("u", &crate::NewProject { name: format!("p{i}"), ..Default::default() }).unwrap();
        }
        let mut it = store.export_iter("u").unwrap();
        assert!(matches!(it.next(), Some(Ok(Record::Project(_)))));
        drop(it);
        // With one reader, this waits for ever (then fails BUSY) unless the iterator's thread let go of it.
        assert_eq!(store.export_iter("u").unwrap().count(), READ_AHEAD * 3);
        assert_eq!(store.count("u").unwrap(), (READ_AHEAD as u64 * 3, 0));
    }
}
