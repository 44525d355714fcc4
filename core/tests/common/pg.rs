//! The PostgreSQL server of the tests. `scripts/test.sh` starts a throwaway
//! one (scripts/pg.sh) and exports its URL in `AVATAR_STORE_TEST_PG_URL`; set
//! that variable yourself to run against your own server. Every test gets a
//! database of its own, dropped when the test ends, so tests run in parallel
//! and leave nothing behind on a server that is not throwaway.

/// The variable holding the server's URL (any database on it; the tests
/// create their own).
pub const URL_VAR: &str = "AVATAR_STORE_TEST_PG_URL";

/// The server's URL, or None (with the reason printed) when no server was
/// given. Under `CI=true` a missing server fails the test instead: CI must
/// never pass by skipping.
pub fn server_url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true but {URL_VAR} is not set: the PostgreSQL tests cannot be skipped in CI");
            }
            eprintln!(
                "skipped: {URL_VAR} is not set (scripts/test.sh starts a throwaway PostgreSQL; \
                 see README, \"Testing against PostgreSQL\")"
            );
            None
        }
    }
}

/// `url` with its database name replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let auth_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[auth_start..].find('/') {
        Some(i) => &base[..auth_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    }
}

/// The columns of `public.avatars` as the incident report's own
/// verification query lists them.
pub fn listed_avatar_columns(c: &mut postgres::Client) -> Vec<String> {
    c.query(
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name = 'avatars'",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

pub fn connect(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap_or_else(|e| panic!("cannot connect to the test server: {e}"))
}

/// A fresh, empty database on the test server, dropped on drop.
pub struct TestDb {
    server: String,
    /// The database's name.
    pub name: String,
    /// Its URL, for `Store::open`.
    pub url: String,
}

impl TestDb {
    /// None when there is no server (see [`server_url`]).
    pub fn create() -> Option<TestDb> {
        let server = server_url()?;
        let name = format!("avatar_store_test_{}", uuid::Uuid::new_v4().simple());
        connect(&server).batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let url = with_database(&server, &name);
        Some(TestDb { server, name, url })
    }

    /// A plain client on this database, for fixtures and checks.
    pub fn client(&self) -> postgres::Client {
        connect(&self.url)
    }
}

impl TestDb {
    /// The URL of a role that may read this database's `public` schema and
    /// nothing more: no CREATE anywhere, no temporary tables, SELECT only.
    /// Grants cover the tables that exist when it is called.
    pub fn reader_url(&self) -> String {
        let role = self.reader_role();
        let mut c = connect(&self.server);
        c.batch_execute(&format!(
            "DO $$ BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        ))
        .unwrap();
        self.client()
            .batch_execute(&format!(
                "REVOKE ALL ON DATABASE {db} FROM PUBLIC; GRANT CONNECT ON DATABASE {db} TO {role}; \
                 REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT USAGE ON SCHEMA public TO {role}; \
                 GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
                db = self.name
            ))
            .unwrap();
        let url = self.url.replacen("postgresql://postgres@", &format!("postgresql://{role}@"), 1);
        assert_ne!(url, self.url, "the test server's URL names the postgres user");
        url
    }

    fn reader_role(&self) -> String {
        format!("{}_reader", self.name)
    }

    /// Everything a write to this database could change, as text: its
    /// schemas, the columns, indexes and constraints of `public`, and every
    /// row of every table there (the migration history included).
    pub fn fingerprint(&self) -> String {
        let mut c = self.client();
        let mut out = String::new();
        for q in [
            "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace",
            "SELECT string_agg(table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' \
                    || coalesce(column_default, ''), ', ' ORDER BY table_name, ordinal_position) \
             FROM information_schema.columns WHERE table_schema = 'public'",
            "SELECT string_agg(indexdef, ', ' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public'",
            "SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), ', ' ORDER BY conname) \
             FROM pg_constraint WHERE connamespace = 'public'::regnamespace",
        ] {
            let v: Option<String> = c.query_one(q, &[]).unwrap().get(0);
            out += &format!("{}\n", v.unwrap_or_default());
        }
        let tables: Vec<String> = c
            .query("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        for t in tables {
            let rows: Option<String> = c
                .query_one(&format!("SELECT string_agg(t::text, '|' ORDER BY t::text) FROM public.\"{t}\" t"), &[])
                .unwrap()
                .get(0);
            out += &format!("{t}: {}\n", rows.unwrap_or_default());
        }
        out
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // FORCE ends the connections a store's pool still holds.
        if let Ok(mut c) = postgres::Client::connect(&self.server, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
            let _ = c.batch_execute(&format!("DROP ROLE IF EXISTS {}", self.reader_role()));
        }
    }
}

thread_local! {
    /// The backend [`store`] opens on this test thread.
    static POSTGRES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Databases of this test thread's PostgreSQL stores, dropped when the
    /// thread (the test) ends.
    static DATABASES: std::cell::RefCell<Vec<TestDb>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A fresh, migrated store on this test's backend: in memory for SQLite, a
/// database of its own on the test server for PostgreSQL.
pub fn store() -> avatar_store::Store {
    if POSTGRES.get() {
        let db = TestDb::create().expect("the PostgreSQL variant runs only with a server");
        let s = avatar_store::Store::open(&db.url).unwrap();
        DATABASES.with(|d| d.borrow_mut().push(db));
        s
    } else {
        avatar_store::Store::open_in_memory().unwrap()
    }
}

/// True when this test thread runs the PostgreSQL variant (see [`use_postgres`]).
pub fn on_postgres() -> bool {
    POSTGRES.get()
}

/// One database on this test's backend that several stores (threads, or
/// separate opens) share: a file in a temporary folder for SQLite, since an
/// in-memory database is private to its store; a database of its own on the
/// test server for PostgreSQL. Removed or dropped with the value.
pub struct SharedDb {
    target: String,
    _dir: Option<tempfile::TempDir>,
    _db: Option<TestDb>,
}

impl SharedDb {
    /// Its path or URL, for `Store::open` and `Store::options().open`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// A new store on it, migrated.
    pub fn open(&self) -> avatar_store::Store {
        avatar_store::Store::open(&self.target).unwrap()
    }
}

/// A fresh, empty [`SharedDb`] on this test's backend.
pub fn shared_database() -> SharedDb {
    if POSTGRES.get() {
        let db = TestDb::create().expect("the PostgreSQL variant runs only with a server");
        SharedDb { target: db.url.clone(), _dir: None, _db: Some(db) }
    } else {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("db").to_str().expect("a UTF-8 temporary path").to_owned();
        SharedDb { target, _dir: Some(dir), _db: None }
    }
}

/// Switches this test thread to PostgreSQL; false (the test should return)
/// when there is no server.
pub fn use_postgres() -> bool {
    if server_url().is_none() {
        return false;
    }
    POSTGRES.set(true);
    true
}

/// Runs each test on both backends, as `name::sqlite` and `name::postgres`,
/// the same body against [`store`].
#[macro_export]
macro_rules! on_both_backends {
    ($($(#[doc = $doc:literal])* fn $name:ident() $body:block)*) => {$(
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn body() $body

            #[test]
            fn sqlite() {
                body()
            }

            #[test]
            fn postgres() {
                if $crate::common::pg::use_postgres() {
                    body()
                }
            }
        }
    )*};
}

/// The variable holding a TLS URL of the test server: TCP, a password,
/// `sslmode=verify-full` and `sslrootcert` naming the CA that signed the
/// server's certificate (`scripts/pg.sh tls-url` prints one).
pub const TLS_URL_VAR: &str = "AVATAR_STORE_TEST_PG_TLS_URL";

/// The server's TLS URL, or None (with the reason printed) when none was
/// given; under `CI=true` a missing one fails the test instead.
pub fn tls_server_url() -> Option<String> {
    match std::env::var(TLS_URL_VAR) {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true but {TLS_URL_VAR} is not set: the TLS tests cannot be skipped in CI");
            }
            eprintln!("skipped: {TLS_URL_VAR} is not set (scripts/test.sh sets it from `scripts/pg.sh tls-url`)");
            None
        }
    }
}

/// `url` with the query parameter `key` removed, then set to `value` if given.
pub fn with_param(url: &str, key: &str, value: Option<&str>) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut params: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split_once('=').map_or(*p, |(k, _)| k) != key)
        .map(str::to_owned)
        .collect();
    if let Some(v) = value {
        params.push(format!("{key}={v}"));
    }
    if params.is_empty() { base.to_owned() } else { format!("{base}?{}", params.join("&")) }
}

/// The value of the query parameter `key` of `url`, as written.
pub fn param(url: &str, key: &str) -> Option<String> {
    url.split_once('?')?.1.split('&').find_map(|p| p.strip_prefix(key)?.strip_prefix('=').map(str::to_owned))
}

/// Polls `cond` until it holds; panics after 60 s. For waiting on another
/// connection's state (a backend waiting on a lock), not on time.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// True once a backend of the database `db` other than `except` waits on a lock.
pub fn someone_waits_on_a_lock(admin: &mut postgres::Client, db: &str) -> bool {
    admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' \
             AND pid <> pg_backend_pid()",
            &[&db],
        )
        .unwrap()
        .get::<_, i64>(0)
        > 0
}

/// The tables of `schema`, by name.
pub fn tables(c: &mut postgres::Client, schema: &str) -> Vec<String> {
    c.query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", &[&schema])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Records migrations 1..=`up_to` as applied in `schema`'s history table,
/// as refinery does, without running them.
pub fn record_history(c: &mut postgres::Client, schema: &str, up_to: i32) {
    let history = avatar_store::HISTORY_TABLE;
    c.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {schema}.{history} (version INT4 PRIMARY KEY, name VARCHAR(255), \
         applied_on VARCHAR(255), checksum VARCHAR(255))"
    ))
    .unwrap();
    for m in avatar_store::embedded_postgres_migrations().iter().filter(|m| m.version <= up_to) {
        c.execute(
            &format!("INSERT INTO {schema}.{history} VALUES ($1, $2, '2025-10-01T00:00:00Z', $3)"),
            &[&m.version, &m.name, &m.checksum],
        )
        .unwrap();
    }
}

/// The incident in `public`: the history says head, but the `missing`
/// columns never arrived, nor the indexes that need them.
pub fn incident_database(c: &mut postgres::Client, missing: &[&str]) {
    let all = avatar_store::embedded_postgres_migrations();
    c.batch_execute(&all[0].sql).unwrap();
    for m in &all[1..] {
        for stmt in m.sql.split(';').map(|s| {
            s.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n").trim().to_owned()
        }) {
            if stmt.starts_with("CREATE INDEX") && !missing.iter().any(|col| stmt.contains(col)) {
                c.batch_execute(&stmt).unwrap();
            }
        }
    }
    record_history(c, "public", avatar_store::latest_version());
}
