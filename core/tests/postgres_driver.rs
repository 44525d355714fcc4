//! The PostgreSQL driver under the store: TLS as the URL's `sslmode` asks,
//! the schema from the URL's `search_path`, pool size and timeouts as open
//! options, serialization failures and deadlocks retried, and a store that
//! outlives a server restart. Against the real test server (common/pg.rs);
//! without one they skip, under CI=true they fail.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use avatar_store::{NewProject, Store};
use common::pg::{self, TestDb, param, someone_waits_on_a_lock, tables, wait_until, with_param};

fn project(name: &str) -> NewProject {
    NewProject { name: name.into(), ..Default::default() }
}

/// The TLS URL of the test server, on the database of `db`.
fn tls_url(db: &TestDb) -> Option<String> {
    Some(pg::with_database(&pg::tls_server_url()?, &db.name))
}

/// Whether every connection of `application_name` to the server is
/// encrypted (and there is at least one).
fn all_encrypted(admin: &mut postgres::Client, application_name: &str) -> bool {
    let rows = admin
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1",
            &[&application_name],
        )
        .unwrap();
    !rows.is_empty() && rows.iter().all(|r| r.get::<_, bool>(0))
}

fn password_of(url: &str) -> String {
    let auth = url.split("://").nth(1).unwrap().split('@').next().unwrap();
    auth.split_once(':').expect("the TLS URL has a password").1.to_owned()
}

/// Fails soon on a server that refuses: a TLS or authentication failure is
/// retried by the pool until the connect timeout, like any failed connect
/// (long enough for one handshake on a loaded machine, so the error names
/// its cause).
fn quick() -> avatar_store::OpenOptions {
    Store::options().busy_timeout(Duration::from_secs(2)).connect_timeout(Duration::from_secs(2))
}

#[test]
fn sslmode_require_and_prefer_encrypt_the_stores_connections() {
    let Some(db) = TestDb::create() else { return };
    let Some(url) = tls_url(&db) else { return };
    let mut admin = db.client();
    for (mode, app) in [(Some("require"), "avatar_store_tls_require"), (None, "avatar_store_tls_prefer")] {
        // No CA: require and prefer encrypt without checking the certificate, as libpq does.
        let url = with_param(
            &with_param(&with_param(&url, "sslrootcert", None), "sslmode", mode),
            "application_name",
            Some(app),
        );
        let store = Store::open(&url).unwrap();
        store.create_project("u1", &project("over TLS")).unwrap();
        assert!(
            all_encrypted(&mut admin, app),
            "sslmode={mode:?}: pg_stat_ssl says the store's connection is not encrypted"
        );
    }
}

#[test]
fn verify_full_and_verify_ca_with_the_right_ca_connect() {
    let Some(db) = TestDb::create() else { return };
    let Some(url) = tls_url(&db) else { return };
    assert_eq!(param(&url, "sslmode").as_deref(), Some("verify-full"));
    let mut admin = db.client();
    let full = with_param(&url, "application_name", Some("avatar_store_verify_full"));
    let store = Store::open(&full).unwrap();
    assert_eq!(store.list_projects("u1", &Default::default()).unwrap().items.len(), 0);
    assert!(all_encrypted(&mut admin, "avatar_store_verify_full"));
    // The certificate names localhost and 127.0.0.1: both verify.
    Store::open(full.replacen("@localhost:", "@127.0.0.1:", 1)).unwrap();
    // verify-ca checks the chain only: a host name the certificate does not
    // carry still connects (hostaddr says where the server is).
    let other_name = with_param(
        &with_param(&url.replacen("@localhost:", "@db.other.invalid:", 1), "sslmode", Some("verify-ca")),
        "hostaddr",
        Some("127.0.0.1"),
    );
    Store::open(&other_name).unwrap();
}

#[test]
fn verify_full_refuses_a_wrong_host_name_or_an_unknown_ca_without_showing_the_password() {
    let Some(db) = TestDb::create() else { return };
    let Some(url) = tls_url(&db) else { return };
    let password = password_of(&url);

    let wrong_host = with_param(&url.replacen("@localhost:", "@wrong-host.invalid:", 1), "hostaddr", Some("127.0.0.1"));
    let err = quick().open(&wrong_host).unwrap_err();
    assert_eq!(err.code(), "IO", "{err}");
    let text = format!("{err} {err:?}");
    assert!(text.contains("wrong-host.invalid"), "names the host: {text}");
    assert!(text.contains("certificate") && text.contains("verify-full"), "says why: {text}");
    assert!(!text.contains(&password), "{text}");

    let no_ca = with_param(&url, "sslrootcert", None);
    let err = quick().open(&no_ca).unwrap_err();
    assert_eq!(err.code(), "IO", "{err}");
    let text = format!("{err} {err:?}");
    assert!(text.contains("localhost:"), "names the host: {text}");
    assert!(text.contains("certificate"), "says why: {text}");
    assert!(!text.contains(&password), "{text}");
}

#[test]
fn sslmode_disable_is_refused_by_a_server_that_requires_tls() {
    let Some(db) = TestDb::create() else { return };
    let Some(url) = tls_url(&db) else { return };
    let password = password_of(&url);
    // The test server's TCP port has only `hostssl` lines in pg_hba.conf.
    let plain = with_param(&with_param(&url, "sslrootcert", None), "sslmode", Some("disable"));
    let err = quick().open(&plain).unwrap_err();
    assert_eq!(err.code(), "IO", "{err}");
    let text = format!("{err} {err:?}");
    assert!(text.contains("localhost:") && text.contains("no encryption"), "{text}");
    assert!(!text.contains(&password), "{text}");
}

#[test]
fn the_urls_search_path_names_the_stores_schema() {
    let Some(db) = TestDb::create() else { return };
    let mut admin = db.client();
    // A table of another schema the store must leave alone.
    admin
        .batch_execute(
            "CREATE TABLE public.avatars (id TEXT, note TEXT); INSERT INTO public.avatars VALUES ('x', 'mine')",
        )
        .unwrap();
    // libpq's spelling; unquoted names fold to lower case, as the server reads them.
    let url = with_param(&db.url, "options", Some("-csearch_path%3DTenant_U,public"));
    let store = Store::open(&url).unwrap();
    assert_eq!(store.migration_outcome().applied, (1..=avatar_store::latest_version()).collect::<Vec<_>>());
    assert!(tables(&mut admin, "tenant_u").contains(&"avatars".to_owned()));
    assert_eq!(tables(&mut admin, "public"), ["avatars"], "nothing created in public");
    let report = store.check_schema().unwrap();
    assert!(report.is_ok() && report.warnings.is_empty(), "public's tables are not the store's: {report}");
    let p = store.create_project("u1", &project("in tenant_u")).unwrap();
    let a = store.create_avatar("u1", &common::full_avatar(p.id, "A")).unwrap();

    // The same schema named by the option: the same data.
    let by_option = Store::options().schema("tenant_u").open(&db.url).unwrap();
    assert_eq!(by_option.get_avatar("u1", &a.id).unwrap().name, "A");
    // And by both, when they agree.
    Store::options().schema("tenant_u").open(&url).unwrap();
    let n: i64 = admin.query_one("SELECT count(*) FROM tenant_u.avatars", &[]).unwrap().get(0);
    assert_eq!(n, 1);
    let note: String = admin.query_one("SELECT note FROM public.avatars", &[]).unwrap().get(0);
    assert_eq!(note, "mine", "public.avatars untouched");

    let clash = Store::options().schema("other").open(&url).unwrap_err();
    assert_eq!(clash.field(), Some("schema"), "{clash}");
    assert!(clash.to_string().contains("tenant_u") && clash.to_string().contains("other"), "{clash}");
    assert!(!tables(&mut admin, "other").iter().any(|t| t == "avatars"), "a refused open creates nothing");
}

#[test]
fn pool_size_and_timeouts_are_validated_naming_the_option() {
    let open = |o: avatar_store::OpenOptions| o.open_in_memory().unwrap_err();
    let cases = [
        (Store::options().pool_size(0), "poolSize"),
        (Store::options().pool_size(avatar_store::MAX_POOL_SIZE + 1), "poolSize"),
        (Store::options().connect_timeout(Duration::ZERO), "connectTimeout"),
        (Store::options().connect_timeout(Duration::from_micros(500)), "connectTimeout"),
        (
            Store::options().connect_timeout(avatar_store::MAX_CONNECT_TIMEOUT + Duration::from_secs(1)),
            "connectTimeout",
        ),
        (Store::options().statement_timeout(Duration::ZERO), "statementTimeout"),
        (Store::options().statement_timeout(Duration::from_micros(999)), "statementTimeout"),
        (
            Store::options().statement_timeout(avatar_store::MAX_STATEMENT_TIMEOUT + Duration::from_millis(1)),
            "statementTimeout",
        ),
    ];
    for (options, field) in cases {
        let err = open(options);
        assert_eq!((err.code(), err.field()), ("VALIDATION", Some(field)), "{err}");
    }
    // Within bounds, they open (and do nothing on SQLite).
    Store::options()
        .pool_size(avatar_store::MAX_POOL_SIZE)
        .connect_timeout(Duration::from_millis(1))
        .statement_timeout(avatar_store::MAX_STATEMENT_TIMEOUT)
        .open_in_memory()
        .unwrap();
}

#[test]
fn pool_size_bounds_the_connections_a_store_holds() {
    let Some(db) = TestDb::create() else { return };
    for (size, free) in [(1, false), (2, true)] {
        let store = Store::options().pool_size(size).busy_timeout(Duration::from_millis(300)).open(&db.url).unwrap();
        let p = store.create_project("u1", &project("P")).unwrap();
        // An import holds one connection for its transaction; a call made
        // meanwhile needs a second one.
        let inner = store.import("u1", |_| Ok(store.get_project("u1", &p.id))).unwrap();
        match inner {
            Ok(got) => assert!(free, "pool_size({size}) let a second connection open: {got:?}"),
            Err(e) => {
                assert!(!free, "pool_size({size}): {e}");
                assert_eq!(e.code(), "BUSY", "{e}");
                assert!(e.to_string().contains("became free"), "{e}");
            }
        }
    }
}

#[test]
fn a_statement_past_the_statement_timeout_is_busy_and_leaves_nothing_behind() {
    let Some(db) = TestDb::create() else { return };
    // The lock wait would last 60 s; the statement timeout ends it first.
    let store = Store::options()
        .busy_timeout(Duration::from_secs(60))
        .statement_timeout(Duration::from_millis(200))
        .open(&db.url)
        .unwrap();
    let p = store.create_project("u1", &project("P")).unwrap();
    let a = store.create_avatar("u1", &common::full_avatar(p.id, "A")).unwrap();
    let mut holder = db.client();
    let mut tx = holder.transaction().unwrap();
    tx.execute("SELECT 1 FROM avatars WHERE id = $1 FOR UPDATE", &[&a.id.to_string()]).unwrap();
    let err = store.record_usage("u1", &a.id).unwrap_err();
    assert_eq!(err.code(), "BUSY", "{err}");
    assert!(err.to_string().contains("statement timeout"), "the statement timeout, not the lock timeout: {err}");
    tx.rollback().unwrap();
    assert_eq!(store.record_usage("u1", &a.id).unwrap().usage_count, 1, "nothing half-written");
}

#[test]
fn a_deadlock_is_retried_and_the_batch_commits_once() {
    let Some(db) = TestDb::create() else { return };
    let store = Store::open(&db.url).unwrap();
    let p1 = store.create_project("u1", &project("P1")).unwrap();
    let p2 = store.create_project("u1", &project("P2")).unwrap();
    let mut holder = db.client();
    let mut admin = db.client();
    // The holder never detects the deadlock itself (60 s), so the store's
    // backend (1 s, the server's default) is the one PostgreSQL aborts.
    holder.batch_execute("SET deadlock_timeout = '60s'; BEGIN").unwrap();
    holder.execute("SELECT 1 FROM projects WHERE id = $1 FOR UPDATE", &[&p2.id.to_string()]).unwrap();
    let batch = [common::full_avatar(p1.id, "in P1"), common::full_avatar(p2.id, "in P2")];
    std::thread::scope(|s| {
        // Inserting into P1 key-share-locks P1, then waits for P2.
        let created = s.spawn(|| store.create_avatars("u1", &batch));
        wait_until("the batch waits for P2", || someone_waits_on_a_lock(&mut admin, &db.name));
        // Now the holder waits for P1: a cycle. This returns only once the
        // store's transaction was rolled back by the deadlock detector
        // (with no retry the batch would fail with BUSY below).
        holder.execute("SELECT 1 FROM projects WHERE id = $1 FOR UPDATE", &[&p1.id.to_string()]).unwrap();
        holder.batch_execute("COMMIT").unwrap();
        let created = created.join().unwrap().unwrap_or_else(|e| panic!("the deadlock was not retried: {e}"));
        assert_eq!(created.len(), 2);
    });
    let n: i64 = admin.query_one("SELECT count(*) FROM avatars", &[]).unwrap().get(0);
    assert_eq!(n, 2, "the retried batch committed once");
}

#[test]
fn an_import_that_deadlocks_is_busy_and_not_run_again() {
    let Some(db) = TestDb::create() else { return };
    let store = Store::open(&db.url).unwrap();
    let p = store.create_project("u1", &project("P")).unwrap();
    let a1 = store.create_avatar("u1", &common::full_avatar(p.id, "A1")).unwrap();
    let a2 = store.create_avatar("u1", &common::full_avatar(p.id, "A2")).unwrap();
    let renamed = |a: &avatar_store::Avatar| {
        avatar_store::Record::Avatar(avatar_store::Avatar { name: "renamed".into(), ..a.clone() })
    };
    let mut holder = db.client();
    let mut admin = db.client();
    holder.batch_execute("SET deadlock_timeout = '60s'; BEGIN").unwrap();
    holder.execute("SELECT 1 FROM avatars WHERE id = $1 FOR UPDATE", &[&a2.id.to_string()]).unwrap();
    let runs = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        // The caller's closure reads its input once: the store must not run it again.
        let import = s.spawn(|| {
            store.import("u1", |im| {
                runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                im.record(&renamed(&a1))?;
                im.record(&renamed(&a2))
            })
        });
        wait_until("the import waits for A2", || someone_waits_on_a_lock(&mut admin, &db.name));
        holder.execute("SELECT 1 FROM avatars WHERE id = $1 FOR UPDATE", &[&a1.id.to_string()]).unwrap();
        holder.batch_execute("COMMIT").unwrap();
        let err = import.join().unwrap().unwrap_err();
        assert_eq!(err.code(), "BUSY", "{err}");
        assert!(err.to_string().contains("deadlock") && err.to_string().contains("40P01"), "{err}");
    });
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(store.get_avatar("u1", &a1.id).unwrap().name, "A1", "rolled back whole");
    assert_eq!(store.get_avatar("u1", &a2.id).unwrap().name, "A2");
}

#[test]
fn a_serialization_failure_is_retried_on_a_fresh_snapshot() {
    let Some(db) = TestDb::create() else { return };
    // Under REPEATABLE READ (as a server or role may be set up), a row
    // changed by a transaction that commits meanwhile fails with 40001.
    let url = with_param(&db.url, "options", Some("-cdefault_transaction_isolation%3Drepeatable%5C%20read"));
    let store = Store::open(&url).unwrap();
    let p = store.create_project("u1", &project("P")).unwrap();
    let a = store.create_avatar("u1", &common::full_avatar(p.id, "A")).unwrap();
    let mut holder = db.client();
    let mut admin = db.client();
    for op in ["update_avatar", "record_usage"] {
        holder.batch_execute("BEGIN").unwrap();
        holder
            .execute("UPDATE avatars SET \"usageCount\" = \"usageCount\" + 10 WHERE id = $1", &[&a.id.to_string()])
            .unwrap();
        std::thread::scope(|s| {
            let call = s.spawn(|| match op {
                "update_avatar" => store.update_avatar(
                    "u1",
                    &a.id,
                    &avatar_store::AvatarPatch { name: Some("renamed".into()), ..Default::default() },
                ),
                _ => store.record_usage("u1", &a.id),
            });
            wait_until("the store waits for the row", || someone_waits_on_a_lock(&mut admin, &db.name));
            holder.batch_execute("COMMIT").unwrap();
            call.join().unwrap().unwrap_or_else(|e| panic!("{op}: the serialization failure was not retried: {e}"));
        });
    }
    let now = store.get_avatar("u1", &a.id).unwrap();
    assert_eq!(now.name, "renamed");
    assert_eq!(now.usage_count, 21, "both holders' increments and the store's: none lost");
}

#[test]
fn an_update_waits_for_a_concurrent_increment_instead_of_losing_it() {
    let Some(db) = TestDb::create() else { return };
    let store = Store::open(&db.url).unwrap();
    let p = store.create_project("u1", &project("P")).unwrap();
    let a = store.create_avatar("u1", &common::full_avatar(p.id, "A")).unwrap();
    let mut holder = db.client();
    let mut admin = db.client();
    // An increment in flight (record_usage from another process, say).
    holder.batch_execute("BEGIN").unwrap();
    holder
        .execute("UPDATE avatars SET \"usageCount\" = \"usageCount\" + 1 WHERE id = $1", &[&a.id.to_string()])
        .unwrap();
    let rename = avatar_store::AvatarPatch { name: Some("renamed".into()), ..Default::default() };
    std::thread::scope(|s| {
        let update = s.spawn(|| store.update_avatar("u1", &a.id, &rename));
        wait_until("the update waits for the row", || someone_waits_on_a_lock(&mut admin, &db.name));
        holder.batch_execute("COMMIT").unwrap();
        // Had the update read the row before waiting, it would write the old count back.
        assert_eq!(update.join().unwrap().unwrap().usage_count, 1);
    });
    let now = store.get_avatar("u1", &a.id).unwrap();
    assert_eq!((now.name.as_str(), now.usage_count), ("renamed", 1));
}

/// A PostgreSQL cluster of one test's own (scripts/pg.sh in a temporary
/// folder), for tests that stop or restart their server; stopped on drop.
struct PrivateServer {
    dir: PathBuf,
    url: String,
    tls_url: String,
}

fn pg_sh(args: &[&str], dir: &Path) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg.sh");
    let out = Command::new("bash").arg(script).args(args).arg(dir).output().unwrap();
    assert!(out.status.success(), "pg.sh {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

impl PrivateServer {
    /// None (the test skips) where the PostgreSQL tests skip.
    fn start() -> Option<PrivateServer> {
        pg::server_url()?;
        let dir = tempfile::Builder::new().prefix("avatar-store-pg-").tempdir().unwrap().keep();
        let url = pg_sh(&["start"], &dir);
        let tls_url = pg_sh(&["tls-url"], &dir);
        Some(PrivateServer { dir, url, tls_url })
    }

    fn run(&self, command: &str) {
        pg_sh(&[command], &self.dir);
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| pg_sh(&["stop"], &self.dir));
    }
}

#[test]
fn a_store_outlives_a_server_restart() {
    let Some(server) = PrivateServer::start() else { return };
    assert!(server.url.contains("host="), "{}", server.url);
    let password = password_of(&server.tls_url);
    // Each call while the server is down waits this long for a connection;
    // once it is back, the pool's next try (at most half of it later) must
    // connect within it, on a loaded machine too.
    let store = Store::options()
        .busy_timeout(Duration::from_secs(3))
        .connect_timeout(Duration::from_secs(3))
        .open(&server.tls_url)
        .unwrap();
    let p = store.create_project("u1", &project("before")).unwrap();

    // A restart closes every pooled connection; the next call gets a fresh one.
    server.run("restart");
    assert_eq!(store.get_project("u1", &p.id).unwrap().name, "before");

    server.run("down");
    for call in [store.get_project("u1", &p.id).map(drop), store.create_project("u1", &project("while down")).map(drop)]
    {
        let err = call.unwrap_err();
        assert_eq!(err.code(), "IO", "{err}");
        let text = format!("{err} {err:?}");
        assert!(text.contains("localhost:"), "names the server: {text}");
        assert!(!text.contains(&password), "{text}");
    }

    server.run("up");
    assert_eq!(store.get_project("u1", &p.id).unwrap().name, "before");
    store.create_project("u1", &project("after")).unwrap();
    assert_eq!(store.list_projects("u1", &Default::default()).unwrap().items.len(), 2, "nothing written while down");
}
