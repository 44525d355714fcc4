//! Backup and restore of a PostgreSQL store with PostgreSQL's own tools:
//! `pg_dump -Fc` writes an archive of the store's schema, `pg_restore`
//! replays one in a single transaction.
//!
//! The tools reach the server through libpq's environment variables
//! (`PGHOST`, `PGUSER`, ...), the password through `PGPASSWORD` only: a
//! command line is visible to every user of the machine (`ps`), the
//! environment of a process only to its owner. Inherited `PG*` variables are
//! removed first, so the tools connect exactly where the store does.

use std::ffi::OsString;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use postgres::Config;
use postgres::config::{Host, SslMode, TargetSessionAttrs};

use super::{PgStore, quote};
use crate::backup::{RestoreOutcome, sibling_path};
use crate::error::{Error, Result};
use crate::migrate::{AppliedMigration, HISTORY_TABLE, check_compatible, embedded_postgres_migrations, status_of};
use crate::store::OpenOptions;

/// The variable naming the folder that holds `pg_dump` and `pg_restore`,
/// searched instead of `PATH` and the usual install folders.
pub const PG_BIN_VAR: &str = "AVATAR_STORE_PG_BIN";

/// Where PostgreSQL's packages put the client tools, searched after `PATH`.
const INSTALL_DIRS: &[&str] =
    &["/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/opt/homebrew/opt/libpq/bin", "/usr/local/opt/libpq/bin"];

/// Finds `tool` (`pg_dump`, `pg_restore`): in `$AVATAR_STORE_PG_BIN` when
/// set, else on `PATH`, else in the install folders, newest version first.
pub(crate) fn find(tool: &str) -> Result<PathBuf> {
    let dirs: Vec<PathBuf> = match std::env::var_os(PG_BIN_VAR) {
        Some(d) if !d.is_empty() => vec![PathBuf::from(d)],
        _ => {
            let mut dirs: Vec<PathBuf> =
                std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
            for pattern in INSTALL_DIRS {
                dirs.extend(glob_versions(pattern));
            }
            dirs
        }
    };
    let file = if cfg!(windows) { format!("{tool}.exe") } else { tool.to_owned() };
    dirs.iter().map(|d| d.join(&file)).find(|p| is_executable(p)).ok_or_else(|| missing(tool))
}

/// The error naming what to install.
fn missing(tool: &str) -> Error {
    let looked = match std::env::var_os(PG_BIN_VAR) {
        Some(d) if !d.is_empty() => format!("{PG_BIN_VAR} ({})", Path::new(&d).display()),
        _ => format!("PATH, {}", INSTALL_DIRS.join(", ")),
    };
    Error::Io {
        path: tool.to_owned(),
        message: format!(
            "{tool} was not found (looked in {looked}). Backup and restore of a PostgreSQL database run \
             PostgreSQL's {tool}: install the PostgreSQL client tools, of the server's major version or newer \
             (Debian/Ubuntu: apt-get install postgresql-client; Fedora/RHEL: dnf install postgresql; \
             macOS: brew install libpq), or set {PG_BIN_VAR} to the folder holding pg_dump and pg_restore"
        ),
    }
}

/// The folders matching `pattern` (one `*`), highest version first.
fn glob_versions(pattern: &str) -> Vec<PathBuf> {
    let Some((head, tail)) = pattern.split_once('*') else { return vec![PathBuf::from(pattern)] };
    let (parent, prefix) = head.rsplit_once('/').unwrap_or((".", head));
    let Ok(entries) = std::fs::read_dir(parent) else { return Vec::new() };
    let mut found: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let version = name.strip_prefix(prefix)?;
            let key = version.split('.').map(|n| n.parse().unwrap_or(0)).collect();
            Some((key, PathBuf::from(format!("{parent}/{name}{tail}"))))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, p)| p).collect()
}

fn is_executable(p: &Path) -> bool {
    let Ok(m) = std::fs::metadata(p) else { return false };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        m.is_file() && m.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        m.is_file()
    }
}

/// How the PostgreSQL tools reach the store's server.
#[derive(Clone)]
pub(crate) struct Tools {
    vars: Vec<(&'static str, String)>,
    password: Option<String>,
    dbname: String,
    target: String,
}

impl fmt::Debug for Tools {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tools").field("target", &self.target).finish_non_exhaustive()
    }
}

/// The URL's own query parameters that libpq knows and rust-postgres does
/// not parse (or parses into less than libpq's set: `verify-full`), by the
/// variable libpq reads them from.
const SSL_PARAMS: &[(&str, &str)] = &[
    ("sslmode", "PGSSLMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("sslcert", "PGSSLCERT"),
    ("sslkey", "PGSSLKEY"),
    ("sslcrl", "PGSSLCRL"),
];

impl Tools {
    pub(crate) fn new(url: &str, c: &Config) -> Tools {
        let mut vars: Vec<(&'static str, String)> = Vec::new();
        let hosts: Vec<String> = c
            .get_hosts()
            .iter()
            .map(|h| match h {
                Host::Tcp(name) => name.clone(),
                Host::Unix(dir) => dir.display().to_string(),
            })
            .collect();
        if !hosts.is_empty() {
            vars.push(("PGHOST", hosts.join(",")));
        }
        if !c.get_hostaddrs().is_empty() {
            vars.push(("PGHOSTADDR", c.get_hostaddrs().iter().map(|a| a.to_string()).collect::<Vec<_>>().join(",")));
        }
        if !c.get_ports().is_empty() {
            vars.push(("PGPORT", c.get_ports().iter().map(|p| p.to_string()).collect::<Vec<_>>().join(",")));
        }
        if let Some(u) = c.get_user() {
            vars.push(("PGUSER", u.to_owned()));
        }
        // Without a database name both clients use the user's name.
        let dbname = c.get_dbname().or(c.get_user()).unwrap_or("postgres").to_owned();
        vars.push(("PGDATABASE", dbname.clone()));
        if let Some(o) = c.get_options() {
            vars.push(("PGOPTIONS", o.to_owned()));
        }
        if let Some(a) = c.get_application_name() {
            vars.push(("PGAPPNAME", a.to_owned()));
        }
        if let Some(t) = c.get_connect_timeout() {
            vars.push(("PGCONNECT_TIMEOUT", t.as_secs().max(2).to_string()));
        }
        if let TargetSessionAttrs::ReadWrite = c.get_target_session_attrs() {
            vars.push(("PGTARGETSESSIONATTRS", "read-write".into()));
        }
        let query: Vec<(String, String)> = url
            .split_once('?')
            .map(|(_, q)| {
                q.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect()
            })
            .unwrap_or_default();
        for (param, var) in SSL_PARAMS {
            if let Some((_, v)) = query.iter().rev().find(|(k, _)| k == param) {
                vars.push((var, v.clone()));
            }
        }
        if !vars.iter().any(|(k, _)| *k == "PGSSLMODE") {
            let mode = match c.get_ssl_mode() {
                SslMode::Disable => Some("disable"),
                SslMode::Prefer => Some("prefer"),
                SslMode::Require => Some("require"),
                _ => None,
            };
            if let Some(m) = mode {
                vars.push(("PGSSLMODE", m.into()));
            }
        }
        let password = c.get_password().map(|p| String::from_utf8_lossy(p).into_owned());
        Tools { vars, password, dbname, target: super::describe(c) }
    }

    /// `tool`, with the connection in its environment and nothing else of
    /// libpq's inherited.
    fn command(&self, tool: &Path) -> Command {
        let mut cmd = Command::new(tool);
        for (k, _) in std::env::vars_os() {
            if k.to_str().is_some_and(|k| k.starts_with("PG")) {
                cmd.env_remove(k);
            }
        }
        cmd.envs(self.vars.iter().map(|(k, v)| (OsString::from(k), OsString::from(v))));
        if let Some(p) = &self.password {
            cmd.env("PGPASSWORD", p);
        }
        // Never a prompt: a script would hang on it.
        cmd.arg("--no-password");
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Runs `cmd`; its standard output on success, an error quoting its
    /// standard error (without the password) otherwise.
    fn run(&self, mut cmd: Command, tool: &Path, what: &str, path: &Path) -> Result<Vec<u8>> {
        let out: Output = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| Error::Io { path: tool.display().to_string(), message: format!("cannot run it: {e}") })?;
        if out.status.success() {
            return Ok(out.stdout);
        }
        let mut text = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        if let Some(p) = self.password.as_deref().filter(|p| !p.is_empty()) {
            text = text.replace(p, "***");
        }
        Err(Error::io(path, format!("{what} ({}, {}): {text}", tool.display(), out.status)))
    }

    /// Writes a `pg_dump -Fc` archive of `schema` to `dest`, which must not
    /// exist. The archive is written beside it under a temporary name,
    /// readable by its owner only, and appears at `dest` only once complete.
    pub(crate) fn backup(&self, schema: &str, dest: &Path) -> Result<()> {
        if std::fs::symlink_metadata(dest).is_ok() {
            return Err(Error::io(dest, "already exists; not overwriting it"));
        }
        let pg_dump = find("pg_dump")?;
        let dir = dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let temp = tempfile::Builder::new()
            .prefix(".avatar-store-dump-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| Error::io(dest, e))?
            .into_temp_path();
        let mut cmd = self.command(&pg_dump);
        // A quoted pattern is taken literally; --strict-names makes a missing
        // schema an error instead of an empty archive.
        cmd.arg("--format=custom")
            .arg("--strict-names")
            .arg(format!("--schema={}", quote(schema)))
            .arg("--file")
            .arg(&*temp);
        self.run(cmd, &pg_dump, "pg_dump failed", dest)?;
        temp.persist_noclobber(dest).map_err(|e| Error::io(dest, e.error))
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// An entry of `pg_restore --list`: `id; table-oid oid KIND [schema] name owner`.
fn entry(line: &str) -> Option<Vec<&str>> {
    let line = line.trim();
    if line.starts_with(';') || line.is_empty() {
        return None;
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    (words.len() > 3 && words[0].ends_with(';')).then_some(words)
}

/// The schema of the store archived in `list`: the one holding its history table.
fn archived_schema(list: &str) -> Option<String> {
    list.lines().filter_map(entry).find_map(|w| {
        (w.len() > 6 && w[3] == "TABLE" && w[4] == "DATA" && w[6] == HISTORY_TABLE).then(|| w[5].to_owned())
    })
}

/// `list` with the schema's own entries commented out: restoring into a
/// schema that exists (`public` always does), `CREATE SCHEMA` would fail.
fn without_schema_entries(list: &str) -> String {
    list.lines()
        .map(|l| match entry(l) {
            Some(w) if w[3] == "SCHEMA" || ((w[3] == "COMMENT" || w[3] == "ACL") && w.get(5) == Some(&"SCHEMA")) => {
                format!(";{l}\n")
            }
            _ => format!("{l}\n"),
        })
        .collect()
}

/// One field of a `COPY ... FROM stdin` text row; `None` for `\N`.
fn copy_field(f: &str) -> Option<String> {
    if f == "\\N" {
        return None;
    }
    let mut out = String::with_capacity(f.len());
    let mut chars = f.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(o) => out.push(o),
            None => {}
        }
    }
    Some(out)
}

/// The history rows of a `pg_restore --data-only` script of the history table.
fn history_rows(script: &str) -> Result<Vec<AppliedMigration>> {
    let mut lines = script.lines();
    let Some(header) = lines.by_ref().find(|l| l.starts_with("COPY ") && l.contains(HISTORY_TABLE)) else {
        return Ok(Vec::new());
    };
    let columns: Vec<&str> = header
        .split_once('(')
        .and_then(|(_, r)| r.split_once(')'))
        .map(|(c, _)| c.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let at = |name: &str| columns.iter().position(|c| *c == name);
    let (Some(v), Some(n), Some(a), Some(c)) = (at("version"), at("name"), at("applied_on"), at("checksum")) else {
        return Err(Error::Internal(format!("unexpected history columns in the archive: {header}")));
    };
    let mut rows = Vec::new();
    for line in lines.take_while(|l| *l != "\\.") {
        let f: Vec<Option<String>> = line.split('\t').map(copy_field).collect();
        let get = |i: usize| f.get(i).cloned().flatten().unwrap_or_default();
        let version = get(v).parse().map_err(|_| Error::Internal(format!("unexpected history row: {line}")))?;
        rows.push(AppliedMigration { version, name: get(n), applied_on: get(a), checksum: get(c) });
    }
    Ok(rows)
}

/// Replaces the store at `url` with the `pg_dump -Fc` archive `backup`.
///
/// The archive is checked first: a custom-format archive holding an
/// avatar-store history this build can open. It is restored into the schema
/// it was taken from, which must hold no table, view or sequence unless
/// `force` is given; then those objects are first dumped next to the archive
/// (`<database>.replaced-<time>.bak`) and replaced. Everything is restored
/// in one transaction (`pg_restore --single-transaction --exit-on-error`):
/// an error leaves the database as it was. Ownership and grants are not
/// restored: the objects belong to the restoring role.
pub(crate) fn restore(url: &str, backup: &Path, force: bool) -> Result<RestoreOutcome> {
    let config: Config = url.parse().map_err(|_| Error::validation("url", "not a valid PostgreSQL URL"))?;
    let tools = Tools::new(url, &config);
    if std::fs::metadata(backup).is_err() {
        return Err(Error::io(backup, "no such backup file"));
    }
    let pg_restore = find("pg_restore")?;

    let mut cmd = tools.command(&pg_restore);
    cmd.arg("--list").arg(backup);
    let list = tools.run(cmd, &pg_restore, "not a pg_dump custom-format archive", backup)?;
    let list = String::from_utf8_lossy(&list).into_owned();
    let not_ours = || Error::io(backup, "holds no avatar-store migration history; not a backup of this store");
    let schema = archived_schema(&list).ok_or_else(not_ours)?;
    let mut cmd = tools.command(&pg_restore);
    cmd.args(["--data-only", "--file=-"])
        .arg(format!("--schema={schema}"))
        .arg(format!("--table={HISTORY_TABLE}"))
        .arg(backup);
    let script = tools.run(cmd, &pg_restore, "cannot read the archive's migration history", backup)?;
    let st = status_of(history_rows(&String::from_utf8_lossy(&script))?, embedded_postgres_migrations());
    check_compatible(&st)?;
    if st.applied.is_empty() {
        return Err(not_ours());
    }
    let version = st.current_version;

    // What the archive would replace: looked at read-only, newer or not.
    let live = PgStore::open(url, &OpenOptions::default().inspecting().schema(schema.clone()))?;
    let (occupied, schema_exists) = (live.relations()?, live.schema_exists()?);
    drop(live);
    let mut replaced_copy = None;
    if !occupied.is_empty() {
        if !force {
            return Err(Error::Conflict(format!(
                "{}: schema {schema} already holds {}; pass force to replace them (a pg_dump of them is kept)",
                tools.target,
                occupied.join(", ")
            )));
        }
        let dir = backup.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let kept = sibling_path(&dir.join(&tools.dbname), "replaced");
        tools.backup(&schema, &kept)?;
        replaced_copy = Some(kept);
    }

    let mut list_file = tempfile::NamedTempFile::new().map_err(|e| Error::io(backup, e))?;
    let list = if schema_exists { without_schema_entries(&list) } else { list };
    list_file.write_all(list.as_bytes()).map_err(|e| Error::io(list_file.path(), e))?;
    let mut cmd = tools.command(&pg_restore);
    cmd.args(["--single-transaction", "--exit-on-error", "--no-owner", "--no-acl"]);
    if !occupied.is_empty() {
        cmd.args(["--clean", "--if-exists"]);
    }
    // A conninfo string naming only the database: the rest is in the environment.
    let dbname = format!("dbname='{}'", tools.dbname.replace('\\', "\\\\").replace('\'', "\\'"));
    cmd.arg("--use-list").arg(list_file.path()).arg("--dbname").arg(dbname).arg(backup);
    let target = PathBuf::from(&tools.target);
    tools.run(cmd, &pg_restore, "pg_restore failed, nothing was changed", &target)?;
    Ok(RestoreOutcome { version, replaced_copy })
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn the_password_goes_to_the_environment_only() {
        let url = "postgresql://app:s3cr%3At@db.example:6543/avatars?sslmode=require&application_name=x";
        let t = Tools::new(url, &url.parse().unwrap());
        assert_eq!(t.password.as_deref(), Some("s3cr:t"));
        assert!(!t.vars.iter().any(|(_, v)| v.contains("s3cr")), "{:?}", t.vars);
        assert!(t.vars.contains(&("PGHOST", "db.example".into())));
        assert!(t.vars.contains(&("PGPORT", "6543".into())));
        assert!(t.vars.contains(&("PGDATABASE", "avatars".into())));
        assert!(t.vars.contains(&("PGSSLMODE", "require".into())));
        assert!(!format!("{t:?}").contains("s3cr"));
        let cmd = t.command(Path::new("pg_dump"));
        assert!(!cmd.get_args().any(|a| a.to_string_lossy().contains("s3cr")));
        let env: Vec<_> =
            cmd.get_envs().filter_map(|(k, v)| Some((k.to_str()?.to_owned(), v?.to_str()?.to_owned()))).collect();
        assert!(env.contains(&("PGPASSWORD".into(), "s3cr:t".into())));
    }

    #[test]
    fn a_socket_url_names_its_folder() {
        let url = "postgresql://postgres@/postgres?host=/tmp/pg%20dir";
        let t = Tools::new(url, &url.parse().unwrap());
        assert!(t.vars.contains(&("PGHOST", "/tmp/pg dir".into())), "{:?}", t.vars);
        assert_eq!(t.password, None);
    }

    #[test]
    fn the_history_is_read_from_the_archive_script() {
        let script = "SET x = 1;\nCOPY public.refinery_schema_history (version, name, applied_on, checksum) FROM stdin;\n\
                      1\tcreate\\tit\t2025\t123\n2\t\\N\t2025\t456\n\\.\n";
        let rows = history_rows(script).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].version, rows[0].name.as_str(), rows[0].checksum.as_str()), (1, "create\tit", "123"));
        assert_eq!(rows[1].name, "");
    }

    #[test]
    fn only_the_schema_entries_are_left_out() {
        let list = ";\n; Archive\n4; 2615 2200 SCHEMA - public pg_database_owner\n\
                    3368; 0 0 COMMENT - SCHEMA public pg_database_owner\n\
                    215; 1259 16419 TABLE public avatars postgres\n\
                    3361; 0 16437 TABLE DATA public refinery_schema_history postgres\n";
        assert_eq!(archived_schema(list).as_deref(), Some("public"));
        let edited = without_schema_entries(list);
        assert!(edited.contains(";4; 2615 2200 SCHEMA"));
        assert!(edited.contains(";3368; 0 0 COMMENT - SCHEMA"));
        assert!(edited.contains("\n215; 1259 16419 TABLE public avatars"));
    }
}
