//! The one error type of the crate, with a stable machine-readable code per
//! variant that the Python and Node bindings expose unchanged.

use crate::schema::SchemaReport;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in avatar-store.
///
/// Match on [`Error::code`] when crossing a process or language boundary: the
/// codes are stable, the messages are for people.
#[derive(Debug, thiserror::Error)]
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
    /// The write collides with an existing record (for example a duplicate id).
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
    /// The database stayed locked by another connection past the busy timeout.
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
    /// A bug or an unexpected SQLite failure.
    #[error("internal error: {0}")]
    Internal(String),
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
            Error::Migration { .. } => "MIGRATION",
            Error::NewerSchema { .. } => "NEWER_SCHEMA",
            Error::Busy(_) => "BUSY",
            Error::Io { .. } => "IO",
            Error::Internal(_) => "INTERNAL",
        }
    }

    /// The field a [`Error::Validation`] names, if this is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Validation { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The schema report a [`Error::SchemaDrift`] carries, if this is one.
    pub fn schema_report(&self) -> Option<&SchemaReport> {
        match self {
            Error::SchemaDrift(r) => Some(r),
            _ => None,
        }
    }

    pub(crate) fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation { field: field.into(), message: message.into() }
    }

    pub(crate) fn io(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        Error::Io { path: path.display().to_string(), message: e.to_string() }
    }

    /// A SQLite failure on the database file at `path`: waiting too long for
    /// another connection's lock is [`Error::Busy`], anything else an I/O
    /// error naming the file.
    pub(crate) fn file(path: &std::path::Path, e: rusqlite::Error) -> Self {
        if is_lock_error(&e) { Error::Busy(format!("{}: {e}", path.display())) } else { Error::io(path, e) }
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
                C::ConstraintViolation => return Error::Conflict(e.to_string()),
                C::CannotOpen | C::ReadOnly | C::DiskFull | C::SystemIoFailure | C::NotADatabase => {
                    return Error::Io { path: String::new(), message: e.to_string() };
                }
                _ => {}
            }
        }
        Error::Internal(e.to_string())
    }
}

impl From<r2d2::Error> for Error {
    fn from(e: r2d2::Error) -> Self {
        Error::Busy(format!("no reader connection available: {e}"))
    }
}
