//! The export format (versioned JSON Lines) and the export and import
//! commands. Both stream: export writes records as the core reads them from
//! one snapshot, import feeds each line to the core's importer inside its one
//! transaction, so memory stays bounded by the longest line, not the file.
//!
//! ```text
//! {"format":"avatar-store-export","version":1,"exportedAt":"...","schemaVersion":5,"userId":null}
//! {"type":"project","id":"...","userId":"...","name":"...",...}
//! {"type":"avatar","id":"...","projectId":"...",...}
//! {"type":"end","projects":1,"avatars":1}
//! ```

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::Path;

use avatar_store::{Avatar, Importer, Project, Record, Store};
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
    user_id: Option<&'a str>,
}

/// The header as read: every field optional, so a wrong file gets a precise message.
#[derive(Debug, Deserialize)]
struct HeaderIn {
    format: Option<String>,
    version: Option<serde_json::Value>,
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

pub fn export(db: &Path, user: Option<&str>, output: Option<&Path>, json: bool) -> Result<Report, CliError> {
    if let Some(u) = user {
        avatar_store::validate_user_id(u)?;
    }
    require_existing(db)?;
    // Exporting never changes the file: an old or drifted schema is reported, not migrated.
    let store = Store::options().migrate(false).backup(false).open(db).map_err(|e| {
        let hint = "export reads a database at the current schema; run `avatar-store migrate` or `doctor --fix` first";
        CliError::from(e).with_hint(hint)
    })?;
    let schema_version = store.migration_status()?.current_version;
    let (projects_total, avatars_total) = store.count(user)?;

    // Into a temporary file renamed at the end, so FILE is complete or absent.
    let mut temp = match output {
        Some(path) => {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            Some(tempfile::NamedTempFile::new_in(dir).map_err(|e| CliError::io(path, e))?)
        }
        None => None,
    };
    let sink: Box<dyn Write> = match temp.as_mut() {
        Some(t) => Box::new(t.as_file_mut()),
        None => Box::new(io::stdout().lock()),
    };
    let target = output.map(|p| p.display().to_string()).unwrap_or_else(|| "standard output".into());
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
        user_id: user,
    };
    write_line(&mut w, &header).map_err(io_err)?;
    let (mut projects, mut avatars) = (0u64, 0u64);
    store.export(user, |record| {
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
        t.persist(path).map_err(|e| CliError::io(path, e.error))?;
    }

    let human = format!("exported {projects} projects and {avatars} avatars to {target}\n");
    let summary = json!({ "database": db, "output": output, "userId": user, "projects": projects, "avatars": avatars });
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

fn check_header(text: &str) -> Result<(), CliError> {
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
        Some(VERSION) => Ok(()),
        _ => Err(CliError::Input {
            line: 1,
            field: Some("version".into()),
            message: format!(
                "unsupported export format version {}; this build reads version {VERSION}",
                h.version.map(|v| v.to_string()).unwrap_or_else(|| "(missing)".into())
            ),
        }),
    }
}

/// Feeds the records after the header to `imp`; returns the counts of the
/// end line, which must match what was read.
fn import_records(
    imp: &mut Importer<'_>,
    r: &mut impl BufRead,
    pb: &ProgressBar,
    consumed: impl Fn() -> u64,
) -> Result<(u64, u64), CliError> {
    let mut buf = String::new();
    let mut line = 1u64;
    let (mut projects, mut avatars) = (0u64, 0u64);
    let at = |line: u64| {
        move |e: avatar_store::Error| match e {
            avatar_store::Error::Validation { field, message } => CliError::Input { line, field: Some(field), message },
            error => CliError::Store { error, line: Some(line), hint: None },
        }
    };
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
        match probe.kind.as_deref() {
            Some("project") => {
                let p: Project = parse(line, text)?;
                imp.record(&Record::Project(p)).map_err(at(line))?;
                projects += 1;
            }
            Some("avatar") => {
                let a: Avatar = parse(line, text)?;
                imp.record(&Record::Avatar(a)).map_err(at(line))?;
                avatars += 1;
            }
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
        }
        if (projects + avatars) % 1024 == 0 {
            pb.set_position(consumed());
        }
    }
}

/// Imports the records that follow the header, in one transaction of the core.
fn import_records_into(
    store: &Store,
    r: &mut impl BufRead,
    pb: &ProgressBar,
    consumed: impl Fn() -> u64,
) -> Result<(u64, u64), CliError> {
    // The importer's closure must return the core's error type; the precise
    // CLI error (with its line) is kept aside and reported instead.
    let mut failure = None;
    let result = store.import(|imp| match import_records(imp, r, pb, consumed) {
        Ok(counts) => Ok(counts),
        Err(e) => {
            let rollback = avatar_store::Error::Validation { field: "file".into(), message: e.to_string() };
            failure = Some(e);
            Err(rollback)
        }
    });
    match (result, failure) {
        (Ok(counts), _) => Ok(counts),
        (Err(_), Some(e)) => Err(e),
        (Err(e), None) => Err(CliError::from(e)),
    }
}

/// Imports a whole export (header, records, end line) from `r` into `store`.
pub fn import_from(store: &Store, r: &mut impl BufRead) -> Result<(u64, u64), CliError> {
    let mut buf = String::new();
    read_line(r, &mut buf, 1)?;
    check_header(buf.trim_end_matches(['\n', '\r']))?;
    import_records_into(store, r, &ProgressBar::hidden(), || 0)
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

pub fn import(db: &Path, file: &Path, _json: bool) -> Result<Report, CliError> {
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

    // The header is checked before the database is touched: a wrong file
    // should not even create one.
    let mut buf = String::new();
    read_line(&mut r, &mut buf, 1)?;
    check_header(buf.trim_end_matches(['\n', '\r']))?;

    let existed = db.exists();
    let result = Store::open(db).map_err(CliError::from).and_then(|store| {
        let pb = bar(size.unwrap_or(0), "bytes", io::stderr().is_terminal() && size.is_some());
        pb.set_message("importing");
        let result = import_records_into(&store, &mut r, &pb, || count.get());
        pb.finish_and_clear();
        result
    });
    let (projects, avatars) = match result {
        Ok(c) => c,
        Err(e) => {
            if !existed {
                // Nothing was imported: leave no empty database behind either.
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = db.as_os_str().to_owned();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            return Err(e);
        }
    };
    let from = if stdin { "standard input".to_string() } else { file.display().to_string() };
    let human = format!("imported {projects} projects and {avatars} avatars from {from} into {}\n", db.display());
    Ok(Report::ok(human, json!({ "database": db, "file": file, "projects": projects, "avatars": avatars })))
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
        check_header(&format!(r#"{{"format":"{FORMAT}","version":1}}"#)).unwrap();
        let e = check_header(&format!(r#"{{"format":"{FORMAT}","version":2}}"#)).unwrap_err();
        assert!(e.to_string().contains("version 2"), "{e}");
        let e = check_header(r#"{"type":"project"}"#).unwrap_err();
        assert!(e.to_string().contains("not an avatar-store export"), "{e}");
        let e = check_header("{\"format\":").unwrap_err();
        assert!(e.to_string().contains("malformed JSON"), "{e}");
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
