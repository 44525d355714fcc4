//! `avatar-store`: the operator's tool for avatar-store databases.
//!
//! A thin layer over the core crate: it parses arguments, formats what the
//! core reports (for people, or as JSON with `--json`) and maps errors to the
//! documented exit codes. Storage behaviour (migrating, verifying, repairing,
//! backing up, validating records) lives in the core.

mod demo;
mod fail;
mod ops;
mod transfer;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::fail::CliError;

const ABOUT: &str = "Operate avatar-store databases: migrate, check and repair the schema, back up and restore, \
                     export and import";

const LONG_ABOUT: &str = "Operate avatar-store databases: migrate, check and repair the schema, back up and \
restore, export and import.

The database is the file or postgres:// URL given with --db, or in the AVATAR_STORE_DB environment variable \
(a URL's password is never printed). Commands print \
for people by default and a JSON object with --json (errors too: {\"error\": {\"code\", \"exitCode\", \
\"message\", ...}} on stderr).";

#[derive(Debug, Parser)]
#[command(name = "avatar-store", version, about = ABOUT, long_about = LONG_ABOUT, after_help = fail::exit_codes_help())]
struct Cli {
    /// The database file, or a PostgreSQL URL (postgres://user:password@host:port/database).
    #[arg(long, global = true, env = "AVATAR_STORE_DB", value_name = "FILE|URL", hide_env_values = true)]
    db: Option<PathBuf>,

    /// Print a JSON object instead of text (for scripts and pipelines).
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply the pending embedded migrations, after a backup of the file.
    ///
    /// Creates the database if it does not exist. Exits 0 when the schema is as
    /// expected afterwards, 1 when drift remains that migrations do not fix
    /// (run `doctor --fix`), 7 when a migration fails (the file is left as it
    /// was), 8 when the file was written by a newer avatar-store. On
    /// PostgreSQL there is no file backup: all pending migrations and their
    /// history rows commit in one transaction, or none does.
    ///
    /// A database with avatar-store's tables but no migration history (made
    /// by Prisma Migrate or by hand) is refused (exit 7) and left as it is:
    /// run `doctor` to compare it with each version, then `migrate --adopt`.
    Migrate {
        /// Only list the migrations that would run; the file is only read, never changed.
        #[arg(long)]
        dry_run: bool,
        /// Adopt a database avatar-store did not create: when its schema is
        /// exactly that of a version of this build, record that version's
        /// history (without running anything), in one transaction; then
        /// `migrate` applies the later versions. Refused (exit 7), writing
        /// nothing, when it matches no version: the differences from the
        /// closest one are listed.
        #[arg(long, conflicts_with = "dry_run")]
        adopt: bool,
    },
    /// Show the schema version, applied and pending migrations with their checksums.
    ///
    /// Reads the file without changing it (no switch to WAL mode, no -wal or -shm
    /// file left beside it), also when it was written by a newer avatar-store.
    /// Exits 0 when the file could be read (10 when not).
    Status,
    /// Compare the live schema with the expected one; exit 1 if anything drifted.
    ///
    /// Names every missing or different table, column and index. A deploy
    /// pipeline can gate on the exit code: 0 means the schema is exactly as this
    /// build expects. With --fix, repairs the additive drift (missing tables,
    /// nullable or defaulted columns, indexes) in one transaction after a
    /// backup, and lists what it changed and what it left alone; exits 0 when
    /// nothing is left, 1 otherwise.
    Doctor {
        /// Repair what can be repaired safely (after a backup).
        #[arg(long)]
        fix: bool,
    },
    /// Write a consistent copy of the database to DEST while others keep using it.
    ///
    /// DEST must not exist (a symbolic link there is refused too). Uses SQLite's
    /// online backup, so it can run while another process writes, and reads the
    /// database without changing it. The copy gets the database file's
    /// permissions and appears at DEST only once complete.
    ///
    /// On a PostgreSQL URL, DEST is a `pg_dump -Fc` archive of the store's
    /// schema (owner-only), made by pg_dump from PATH, AVATAR_STORE_PG_BIN or
    /// /usr/lib/postgresql/*/bin; the password reaches it in PGPASSWORD,
    /// never on its command line.
    Backup {
        /// Where to write the backup.
        dest: PathBuf,
    },
    /// Replace the database with a backup, after verifying the backup.
    ///
    /// The backup must pass SQLite's integrity check and hold a migration
    /// history this build can open. An existing database is replaced only with
    /// --force (exit 5 without it), in one step under one lock while other
    /// processes may keep using it: each of their commits is either in the copy
    /// kept next to it (FILE.replaced-<time>.bak) or waits and lands in the
    /// restored database. A file that is not a SQLite database at all is moved
    /// aside as FILE.damaged-<time>.bak instead.
    ///
    /// On a PostgreSQL URL, BACKUP is a `pg_dump -Fc` archive with an
    /// avatar-store history this build can open, restored by pg_restore in one
    /// transaction into the schema it came from. A schema that holds any
    /// table is replaced only with --force (exit 5 without it), after a
    /// pg_dump of it is kept beside BACKUP as DATABASE.replaced-<time>.bak.
    Restore {
        /// The backup file (or pg_dump archive) to restore.
        backup: PathBuf,
        /// Replace an existing database (a copy of it is kept).
        #[arg(long)]
        force: bool,
    },
    /// Export one user's projects and avatars, or every user's, as JSON Lines (see the README for the format).
    ///
    /// One of --user ID or --all-users is required; the header line records
    /// which (`userId`, null for every user). Streams from one consistent
    /// snapshot with bounded memory. Writes to standard output, or to FILE with
    /// -o (written to a temporary file and renamed, so FILE is never left half
    /// written). An existing FILE is replaced only with --force, and never when
    /// it is the database itself or its -wal, -shm or -journal file (exit 5).
    /// Shows a progress bar when standard error is a terminal.
    Export {
        #[command(flatten)]
        scope: ScopeArgs,
        /// Write to FILE instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace FILE if it exists (never the database or its companion files).
        #[arg(long, requires = "output")]
        force: bool,
    },
    /// Import a JSON Lines export, all or nothing, inserting or updating by id.
    ///
    /// One of --user ID or --all-users is required. With --user, every record
    /// must belong to that user, and the header's userId, when the file names
    /// one, must be that user: anything else is refused with its line number
    /// (exit 3). --all-users is the operator's whole-database transfer. FILE may
    /// be `-` for standard input. The whole file is read and checked first,
    /// without touching the database (so a slow or stalled input holds no
    /// lock), then written in one transaction: a malformed, truncated or
    /// wrong-version file, or an invalid record, is reported with its line
    /// number and nothing is written (exit 3; 5 for an id owned by another
    /// user). Errors of the database itself (a full disk, a read-only file: exit
    /// 10) name the database, not a line. Importing the same file twice leaves
    /// one copy. Creates and migrates the database if needed; a new database
    /// appears only when the import succeeds.
    Import {
        #[command(flatten)]
        scope: ScopeArgs,
        /// The export file to read (`-` for standard input).
        file: PathBuf,
    },
    /// Seed a sample database and print the demo user's projects with their avatars.
    ///
    /// Uses --db / AVATAR_STORE_DB, or ./avatar-store-demo.db when neither is
    /// given. Safe to run again: records are upserted by id, nothing is duplicated.
    /// Writes only into a new (missing or empty) file or a demo database, one
    /// whose every project and avatar belongs to the demo user; any other
    /// database is refused untouched (exit 5).
    Demo,
}

/// Whose records `export` and `import` cover: one of the two is required, so
/// that every user's records are never what a forgotten option gives.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct ScopeArgs {
    /// Only this user's projects and avatars.
    #[arg(long, value_name = "ID")]
    user: Option<String>,
    /// Every user's projects and avatars: the operator's whole-database transfer.
    #[arg(long)]
    all_users: bool,
}

impl ScopeArgs {
    fn scope(&self) -> avatar_store::Scope<'_> {
        match &self.user {
            Some(u) => avatar_store::Scope::User(u),
            None => avatar_store::Scope::AllUsers,
        }
    }
}

/// What a command reports: text for people, a JSON object for machines, and
/// its exit code.
pub struct Report {
    pub human: String,
    pub json: serde_json::Value,
    pub exit: u8,
    /// Print on stderr, because stdout carries the command's data.
    pub to_stderr: bool,
}

impl Report {
    pub fn ok(human: String, json: serde_json::Value) -> Self {
        Report { human, json, exit: fail::OK, to_stderr: false }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(report) => {
            let text =
                if json { serde_json::to_string_pretty(&report.json).unwrap_or_default() + "\n" } else { report.human };
            // A closed pipe (`| head`) is not worth a panic; the exit code stands.
            let _ = if report.to_stderr {
                std::io::stderr().write_all(text.as_bytes())
            } else {
                std::io::stdout().write_all(text.as_bytes())
            };
            ExitCode::from(report.exit)
        }
        Err(CliError::NoDatabase) => {
            Cli::command()
                .error(
                    clap::error::ErrorKind::MissingRequiredArgument,
                    "no database given: pass --db FILE or set AVATAR_STORE_DB",
                )
                .exit();
        }
        Err(e) => {
            let text = if json { serde_json::to_string_pretty(&e.to_json()).unwrap_or_default() } else { e.human() };
            let _ = writeln!(std::io::stderr(), "{text}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<Report, CliError> {
    let json = cli.json;
    if let Command::Demo = cli.command {
        let db = cli.db.unwrap_or_else(|| PathBuf::from(demo::DEFAULT_DB));
        return demo::run(&db);
    }
    let db = cli.db.ok_or(CliError::NoDatabase)?;
    match cli.command {
        Command::Migrate { adopt: true, .. } => ops::adopt(&db),
        Command::Migrate { dry_run, .. } => ops::migrate(&db, dry_run),
        Command::Status => ops::status(&db),
        Command::Doctor { fix } => ops::doctor(&db, fix),
        Command::Backup { dest } => ops::backup(&db, &dest),
        Command::Restore { backup, force } => ops::restore(&backup, &db, force),
        Command::Export { scope, output, force } => {
            transfer::export(&db, scope.scope(), output.as_deref(), force, json)
        }
        Command::Import { scope, file } => transfer::import(&db, scope.scope(), &file),
        Command::Demo => unreachable!("handled above"),
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_lists_every_exit_code() {
        let help = Cli::command().render_long_help().to_string();
        for (n, _, what) in fail::EXIT_CODES {
            assert!(help.contains(&format!("{n:>2}  ")), "exit code {n} missing from --help");
            assert!(help.contains(&what[..what.len().min(20)]), "{what}");
        }
    }
}
