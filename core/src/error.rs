//! The one error type of the crate, with a stable machine-readable code per
//! variant that the Python and Node bindings expose unchanged.

use crate::schema::SchemaReport;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in avatar-store.
///
/// Match on [`Error::code`] when crossing a process or language boundary: the
/// codes are stable, the messages are for people.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The record does not exist, or belongs to another user.
    #[error("{entity} {id} not found")]
    NotFound {
        /// `"project"` or `"avatar"`.
        entity: &'static str,
        /// The id that was looked up.
        id: String,
    },
    /// Input failed validation; nothing was written.
    #[error("invalid {field}: {message}")]
    Validation {
        /// The offending field, in the camelCase spelling of the data model.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The write collides with an existing record (for example a duplicate
    /// id, or an id owned by another user), refers to a record that does not
    /// exist, or would push a counter past its bound.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The live schema differs from the one this build expects.
    #[error("the database schema has drifted from the expected one:\n{0}")]
    SchemaDrift(Box<SchemaReport>),
    /// A migration could not be applied, or an applied one was changed.
    #[error("migration error{}: {message}", version.map(|v| format!(" at V{v}")).unwrap_or_default())]
    Migration {
        /// The migration concerned, when one is.
        version: Option<i32>,
        /// What went wrong.
        message: String,
    },
    /// The database holds avatar-store's tables but no migration history:
    /// another tool made it (Prisma Migrate, a hand-written script), so this
    /// build cannot tell which of its migrations the tables already reflect.
    /// Nothing was written. `avatar-store doctor` compares it with every
    /// known version; [`crate::Store::adopt`] (`avatar-store migrate
    /// --adopt`) records the history when it matches one exactly. Code
    /// `MIGRATION`.
    #[error(
        "the database has avatar-store's tables ({}) but no migration history ({}): it was not created by \
         avatar-store, so no migration was applied and nothing was changed; run `avatar-store doctor` to \
         compare it with the schema of each version, then `avatar-store migrate --adopt` to record the \
         version it matches",
        tables.join(", "),
        crate::migrate::HISTORY_TABLE
    )]
    NotAdopted {
        /// avatar-store's tables found in the database.
        tables: Vec<String>,
    },
    /// The database was written by a newer build; it was left untouched.
    #[error(
        "the database was written by schema V{found}, this build knows up to V{known}; \
         upgrade avatar-store to open it (the file was not modified)"
    )]
    NewerSchema {
        /// Highest migration version recorded in the database.
        found: i32,
        /// Highest migration version embedded in this build.
        known: i32,
    },
    /// The database stayed locked by another connection past the busy
    /// timeout, or no reader connection became free within it.
    #[error("database is busy: {0}")]
    Busy(String),
    /// A file could not be read or written.
    #[error("I/O error{}: {message}", if path.is_empty() { String::new() } else { format!(" on {path}") })]
    Io {
        /// The file concerned.
        path: String,
        /// The operating system's explanation.
        message: String,
    },
    /// A bug or an unexpected SQLite failure (a NOT NULL constraint on a
    /// column this build does not know included: schema drift). Its text is
    /// for operators; show end users [`Error::public_message`].
    #[error("internal error: {0}")]
    Internal(String),
    /// An error about one line of an export file being read (see
    /// [`crate::transfer`]): `error` says what went wrong and gives this
    /// error its code and field, so a malformed line or a bad field is still
    /// `VALIDATION` and an id of another user still `CONFLICT`. Never nested.
    #[error("line {line}: {error}")]
    AtLine {
        /// The line of the file, counting from 1 (the header).
        line: u64,
        /// What is wrong with it.
        error: Box<Error>,
    },
}

impl Error {
    /// The stable code of this error: `NOT_FOUND`, `VALIDATION`, `CONFLICT`,
    /// `SCHEMA_DRIFT`, `MIGRATION`, `NEWER_SCHEMA`, `BUSY`, `IO` or `INTERNAL`.
    ///
    /// ```
    /// use avatar_store::Error;
    /// let e = Error::NotFound { entity: "avatar", id: "x".into() };
    /// assert_eq!(e.code(), "NOT_FOUND");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "NOT_FOUND",
            Error::Validation { .. } => "VALIDATION",
            Error::Conflict(_) => "CONFLICT",
            Error::SchemaDrift(_) => "SCHEMA_DRIFT",
            Error::Migration { .. } | Error::NotAdopted { .. } => "MIGRATION",
            Error::NewerSchema { .. } => "NEWER_SCHEMA",
            Error::Busy(_) => "BUSY",
            Error::Io { .. } => "IO",
            Error::Internal(_) => "INTERNAL",
            Error::AtLine { error, .. } => error.code(),
        }
    }

    /// A summary of this error that is safe to show to the end users of an
    /// application (in an HTTP response, say): it names no file, no path and
    /// no SQLite internals. For `NOT_FOUND`, `VALIDATION`, `CONFLICT` and
    /// `NEWER_SCHEMA` it is the full message, which holds only what the
    /// caller sent and version numbers; for the other codes it says what
    /// failed and leaves the detail (the [`Display`](std::fmt::Display) text)
    /// for the operator's logs.
    ///
    /// ```
    /// use avatar_store::Error;
    /// let e = Error::Internal("no such table: avatars in /srv/app/data/prod.db".into());
    /// assert!(!e.public_message().contains("/srv"));
    /// assert!(e.to_string().contains("/srv")); // the detail, for logs
    /// ```
    pub fn public_message(&self) -> String {
        match self {
            Error::NotFound { .. } | Error::Validation { .. } | Error::Conflict(_) | Error::NewerSchema { .. } => {
                self.to_string()
            }
            Error::Busy(_) => "the database is busy; try again later".into(),
            Error::SchemaDrift(_) => "the database schema does not match this version of avatar-store".into(),
            Error::Migration { .. } => "a database migration failed".into(),
            Error::NotAdopted { .. } => "the database was not created by avatar-store and is not adopted yet".into(),
            Error::Io { .. } => "a database file could not be read or written".into(),
            Error::Internal(_) => "internal error in avatar-store".into(),
            Error::AtLine { line, error } => format!("line {line}: {}", error.public_message()),
        }
    }

    /// The field a [`Error::Validation`] names, if this is one (at a line
    /// of an export file or not).
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Validation { field, .. } => Some(field),
            Error::AtLine { error, .. } => error.field(),
            _ => None,
        }
    }

    /// The line of an export file an [`Error::AtLine`] is about.
    ///
    /// ```
    /// use avatar_store::Error;
    /// let e = Error::Validation { field: "personaAge".into(), message: "too old".into() }.at_line(7);
    /// assert_eq!((e.code(), e.line(), e.field()), ("VALIDATION", Some(7), Some("personaAge")));
    /// assert_eq!(e.to_string(), "line 7: invalid personaAge: too old");
    /// ```
    pub fn line(&self) -> Option<u64> {
        match self {
            Error::AtLine { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// This error without its line: the inner error of an [`Error::AtLine`],
    /// else itself. For front ends that map the details of each kind.
    pub fn without_line(&self) -> &Error {
        match self {
            Error::AtLine { error, .. } => error,
            e => e,
        }
    }

    /// This error at `line` of an export file (an error already at a line keeps its own).
    pub fn at_line(self, line: u64) -> Error {
        match self {
            e @ Error::AtLine { .. } => e,
            e => Error::AtLine { line, error: Box::new(e) },
        }
    }

    /// The schema report a [`Error::SchemaDrift`] carries, if this is one.
    pub fn schema_report(&self) -> Option<&SchemaReport> {
        match self {
            Error::SchemaDrift(r) => Some(r),
            Error::AtLine { error, .. } => error.schema_report(),
            _ => None,
        }
    }

    pub(crate) fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation { field: field.into(), message: message.into() }
    }

    /// An I/O error on `path`. A PostgreSQL URL given where a file was
    /// expected (`inspect(url)`, `restore(url, ..)`) is named without its
    /// password, like every other message that names a server.
    pub(crate) fn io(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        Error::Io { path: crate::postgres::display_database(path), message: e.to_string() }
    }

    /// A SQLite failure on the database file at `path`: waiting too long for
    /// another connection's lock is [`Error::Busy`], anything else an I/O
    /// error naming the file.
    pub(crate) fn file(path: &std::path::Path, e: rusqlite::Error) -> Self {
        if is_lock_error(&e) {
            Error::Busy(format!("{}: {e}", crate::postgres::display_database(path)))
        } else {
            Error::io(path, e)
        }
    }

    /// Names `path` in an I/O error that SQLite reported without one (the
    /// conversion from rusqlite's errors cannot know the file).
    pub(crate) fn at_path(self, path: &std::path::Path) -> Self {
        match self {
            Error::Io { path: p, message } if p.is_empty() => Error::io(path, message),
            e => e,
        }
    }
}

/// True for SQLite's "database is busy" and "database is locked".
pub(crate) fn is_lock_error(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode as C;
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if matches!(f.code, C::DatabaseBusy | C::DatabaseLocked))
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            match f.code {
                C::DatabaseBusy | C::DatabaseLocked => return Error::Busy(e.to_string()),
                C::ConstraintViolation => return constraint_error(f.extended_code, e.to_string()),
                C::CannotOpen | C::ReadOnly | C::DiskFull | C::SystemIoFailure | C::NotADatabase => {
                    return Error::Io { path: String::new(), message: e.to_string() };
                }
                _ => {}
            }
        }
        Error::Internal(e.to_string())
    }
}

/// A constraint violation by its kind: validation runs before every write,
/// so most kinds mean something other than a duplicate.
fn constraint_error(extended_code: std::ffi::c_int, text: String) -> Error {
    use rusqlite::ffi;
    match extended_code {
        ffi::SQLITE_CONSTRAINT_PRIMARYKEY | ffi::SQLITE_CONSTRAINT_UNIQUE => {
            Error::Conflict(format!("a record with the same key already exists ({text})"))
        }
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Error::Conflict(format!(
            "the write refers to a record that does not exist, or removes one that others refer to ({text})"
        )),
        // Every NOT NULL column this build knows is filled before the write,
        // so the column is one it does not know: the schema has drifted.
        ffi::SQLITE_CONSTRAINT_NOTNULL => Error::Internal(format!(
            "{text}: the database has a NOT NULL column this version of avatar-store does not fill; \
             its schema has drifted (run `avatar-store doctor`)"
        )),
        ffi::SQLITE_CONSTRAINT_CHECK => {
            let field = crate::model::field_names()
                .find(|f| text.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w == *f))
                .unwrap_or("record");
            Error::validation(field, format!("refused by a CHECK constraint of the database ({text})"))
        }
        _ => Error::Conflict(text),
    }
}

impl From<r2d2::Error> for Error {
    /// r2d2 reports only a timeout, carrying the last error of opening a
    /// connection when there was one: without one, every reader was busy
    /// (`BUSY`); with one, no reader could be opened at all, which waiting
    /// does not fix (`IO`, with the cause, unless the cause is a lock).
    fn from(e: r2d2::Error) -> Self {
        let text = e.to_string();
        let cause = text.split_once(": ").map(|(_, cause)| cause.to_owned());
        match cause {
            None => Error::Busy(format!("no reader connection became free in time: {text}")),
            Some(cause) if cause.contains("database is locked") || cause.contains("database is busy") => {
                Error::Busy(format!("could not open a reader connection: {cause}"))
            }
            Some(cause) => {
                Error::Io { path: String::new(), message: format!("could not open a reader connection: {cause}") }
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_io_error_on_a_url_never_shows_its_password() {
        let url = std::path::Path::new("postgresql://app:hunter2@db.example:5432/avatars");
        let e = Error::io(url, "no such file");
        assert_eq!(e.to_string(), "I/O error on postgresql://app@db.example:5432/avatars: no such file");
        let file = std::path::Path::new("data/app.db");
        assert_eq!(Error::io(file, "no such file").to_string(), "I/O error on data/app.db: no such file");
    }

    fn sqlite_error(setup: &str, statement: &str) -> Error {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(setup).unwrap();
        Error::from(conn.execute_batch(statement).unwrap_err())
    }

    #[test]
    fn constraint_violations_map_by_kind() {
        let setup = "PRAGMA foreign_keys = ON;
            CREATE TABLE projects (id TEXT PRIMARY KEY NOT NULL, slug TEXT UNIQUE);
            CREATE TABLE avatars (id TEXT PRIMARY KEY NOT NULL,
                projectId TEXT REFERENCES projects(id), extra TEXT NOT NULL DEFAULT 'x',
                personaAge INTEGER CHECK (personaAge >= 0));
            INSERT INTO projects VALUES ('p', 's');";
        let dup = sqlite_error(setup, "INSERT INTO projects VALUES ('p', 't')");
        assert_eq!(dup.code(), "CONFLICT", "{dup}");
        let unique = sqlite_error(setup, "INSERT INTO projects VALUES ('q', 's')");
        assert_eq!(unique.code(), "CONFLICT", "{unique}");
        let fk = sqlite_error(setup, "INSERT INTO avatars (id, projectId) VALUES ('a', 'nope')");
        assert_eq!(fk.code(), "CONFLICT", "{fk}");
        let not_null = sqlite_error(setup, "INSERT INTO avatars (id, extra) VALUES ('a', NULL)");
        assert_eq!(not_null.code(), "INTERNAL", "{not_null}");
        assert!(not_null.to_string().contains("drifted"), "{not_null}");
        let check = sqlite_error(setup, "INSERT INTO avatars (id, personaAge) VALUES ('a', -1)");
        assert_eq!((check.code(), check.field()), ("VALIDATION", Some("personaAge")), "{check}");
        let misuse = sqlite_error("", "BEGIN; BEGIN");
        assert_eq!(misuse.code(), "INTERNAL", "{misuse}");
    }

    #[test]
    fn reader_pool_errors_map_by_cause() {
        let pool = r2d2::Pool::builder()
            .max_size(1)
            .connection_timeout(Duration::from_millis(50))
            .build(r2d2_sqlite::SqliteConnectionManager::memory())
            .unwrap();
        let _held = pool.get().unwrap();
        let timeout = Error::from(pool.get().unwrap_err());
        assert_eq!(timeout.code(), "BUSY", "{timeout}");

        let dir = tempfile::tempdir().unwrap();
        let manager = r2d2_sqlite::SqliteConnectionManager::file(dir.path().join("absent.db"))
            .with_flags(rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY);
        let pool = r2d2::Pool::builder()
            .min_idle(Some(0))
            .connection_timeout(Duration::from_millis(50))
            .build(manager)
            .unwrap();
        let cannot_open = Error::from(pool.get().unwrap_err());
        assert_eq!(cannot_open.code(), "IO", "{cannot_open}");
        assert!(cannot_open.to_string().contains("could not open a reader"), "{cannot_open}");
        assert!(cannot_open.to_string().contains("unable to open"), "the cause is kept: {cannot_open}");
    }

    #[test]
    fn public_messages_name_no_path_and_no_sqlite_text() {
        let secret = "/srv/app/data/prod.db: disk I/O error (SQLITE_IOERR_WRITE)";
        for e in [
            Error::Internal(secret.into()),
            Error::Io { path: "/srv/app/data/prod.db".into(), message: secret.into() },
            Error::Busy(secret.into()),
            Error::Migration { version: Some(3), message: secret.into() },
        ] {
            assert!(e.to_string().contains("/srv/app"), "the detail stays for operators: {e}");
            let public = e.public_message();
            assert!(!public.contains("/srv") && !public.contains("SQLITE"), "{public}");
            assert!(!public.is_empty());
        }
        let v = Error::validation("personaAge", "must be between 0 and 150, got 151");
        assert_eq!(v.public_message(), v.to_string());
    }
}
