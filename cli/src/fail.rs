//! The CLI's errors and the exit codes they map to. Storage errors come from
//! the core unchanged (an import file's line included: the core's
//! `Error::AtLine`); the CLI only adds a hint for the operator.

use std::fmt;

use serde_json::json;

/// Everything went as asked.
pub const OK: u8 = 0;
/// The command ran, and found a problem it reports (drift, an unrepaired difference).
pub const PROBLEM: u8 = 1;
/// Bad command line (clap uses 2 as well), or no database given.
pub const USAGE: u8 = 2;

/// The documented exit code of every failure, by its stable code. Kept in one
/// table so the README, `--help` and the process agree.
pub const EXIT_CODES: &[(u8, &str, &str)] = &[
    (OK, "", "success"),
    (PROBLEM, "", "a problem was found and reported (schema drift)"),
    (USAGE, "", "usage error: bad arguments, no database given"),
    (3, "VALIDATION", "invalid field value or import file (with its line)"),
    (4, "NOT_FOUND", "a record was not found"),
    (5, "CONFLICT", "target exists (restore, export -o), not a demo db, id of another user"),
    (6, "SCHEMA_DRIFT", "the schema differs from the expected one"),
    (7, "MIGRATION", "a migration failed, or one was edited"),
    (8, "NEWER_SCHEMA", "written by a newer avatar-store; untouched"),
    (9, "BUSY", "the database stayed locked by another process"),
    (10, "IO", "a file could not be read or written"),
    (11, "INTERNAL", "internal error (a bug)"),
];

fn exit_code_of(code: &str) -> u8 {
    EXIT_CODES.iter().find(|(_, c, _)| *c == code).map(|(n, _, _)| *n).unwrap_or(11)
}

/// The exit-code table as shown at the end of `--help`.
pub fn exit_codes_help() -> String {
    let mut s = String::from("Exit codes:\n");
    for (n, code, what) in EXIT_CODES {
        s.push_str(&format!("  {n:>2}  {code:<13}{what}\n"));
    }
    s
}

/// A failed command.
#[derive(Debug)]
pub enum CliError {
    /// An error of the core.
    Store { error: avatar_store::Error, hint: Option<String> },
    /// No database path was given (exit 2).
    NoDatabase,
}

impl CliError {
    pub fn io(path: &std::path::Path, message: impl fmt::Display) -> Self {
        avatar_store::Error::Io { path: path.display().to_string(), message: message.to_string() }.into()
    }

    pub fn with_hint(self, hint: impl Into<String>) -> Self {
        match self {
            CliError::Store { error, .. } => CliError::Store { error, hint: Some(hint.into()) },
            e => e,
        }
    }

    /// The stable code, as in the core (`VALIDATION` for a bad import file).
    pub fn code(&self) -> &'static str {
        match self {
            CliError::Store { error, .. } => error.code(),
            CliError::NoDatabase => "USAGE",
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::NoDatabase => USAGE,
            e => exit_code_of(e.code()),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            CliError::Store { hint: Some(h), .. } => Some(h.clone()),
            CliError::Store { error: avatar_store::Error::SchemaDrift(_), .. } => Some(
                "run `avatar-store doctor` to see the report, `avatar-store migrate` for pending migrations, \
                 `avatar-store doctor --fix` to repair missing columns and indexes"
                    .into(),
            ),
            CliError::NoDatabase => Some("pass --db FILE or set AVATAR_STORE_DB".into()),
            _ => None,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        let mut e = json!({ "code": self.code(), "exitCode": self.exit_code(), "message": self.to_string() });
        match self {
            CliError::Store { error, .. } => {
                if let Some(l) = error.line() {
                    e["line"] = json!(l);
                }
                if let Some(f) = error.field() {
                    e["field"] = json!(f);
                }
                if let Some(r) = error.schema_report() {
                    e["report"] = serde_json::to_value(r).unwrap_or_default();
                }
            }
            CliError::NoDatabase => {}
        }
        if let Some(h) = self.hint() {
            e["hint"] = json!(h);
        }
        json!({ "error": e })
    }

    /// The message for people, with the hint on its own line.
    pub fn human(&self) -> String {
        match self.hint() {
            Some(h) => format!("error: {self}\nhint: {h}"),
            None => format!("error: {self}"),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Store { error, .. } => write!(f, "{error}"),
            CliError::NoDatabase => write!(f, "no database given"),
        }
    }
}

impl From<avatar_store::Error> for CliError {
    fn from(error: avatar_store::Error) -> Self {
        CliError::Store { error, hint: None }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn every_core_code_has_its_own_exit_code() {
        let codes = ["VALIDATION", "NOT_FOUND", "CONFLICT", "SCHEMA_DRIFT", "MIGRATION", "NEWER_SCHEMA", "BUSY", "IO"];
        let mut seen: Vec<u8> = codes.iter().map(|c| exit_code_of(c)).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), codes.len());
        assert!(seen.iter().all(|&n| n > USAGE && n != 11));
        assert_eq!(exit_code_of("INTERNAL"), 11);
    }

    #[test]
    fn validation_errors_carry_line_and_field_in_json() {
        let e = CliError::from(
            avatar_store::Error::Validation { field: "personaAge".into(), message: "too old".into() }.at_line(7),
        );
        let j = e.to_json();
        assert_eq!(j["error"]["line"], 7);
        assert_eq!(j["error"]["field"], "personaAge");
        assert_eq!(j["error"]["exitCode"], 3);
        assert_eq!(e.to_string(), "line 7: invalid personaAge: too old");
    }
}
