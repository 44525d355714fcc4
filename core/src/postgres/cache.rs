//! Prepared statements cached per pooled connection.
//!
//! rust-postgres prepares a statement for every `query(&str, ..)` and closes
//! it afterwards: two extra round trips (parse/describe, close) on every call,
//! and a fresh plan each time. [`Caching`] wraps any r2d2 manager of
//! `postgres::Client`s (whatever its TLS), so that each connection carries
//! the statements prepared on it, and they live and die with it: a new or
//! replaced connection starts empty, as its server session has none.
//!
//! A cached statement can go stale when the schema changes under it: the
//! server refuses it with "cached plan must not change result type" (a
//! column's type changed), or no longer knows it ("prepared statement ...
//! does not exist", after a `DEALLOCATE ALL`). [`Session`] clears the
//! connection's cache on either and marks the error, so that the store runs
//! the operation again with freshly prepared statements instead of showing
//! it to the caller; [`Epoch::invalidate`] clears every connection's cache
//! after the store itself changed the schema (migrate, repair).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{GenericClient, Row, Statement};

use crate::error::{Error, Result};

/// More distinct statements than this on one connection (list queries are
/// built per filter combination) and the cache starts over, so that it
/// cannot grow without bound on the server either.
const CAPACITY: usize = 256;

/// How recently a connection must have been used to be handed out again
/// without a round trip to check it (see [`Caching::is_valid`]).
const RECENTLY_USED: Duration = Duration::from_millis(100);

/// An r2d2 manager whose connections cache their prepared statements.
#[derive(Debug)]
pub(crate) struct Caching<M> {
    inner: M,
    /// Bumped by [`Epoch::invalidate`]; a connection that saw an older
    /// value drops its statements before its next use.
    epoch: Arc<AtomicU64>,
}

impl<M> Caching<M> {
    pub(crate) fn new(inner: M) -> Self {
        Caching { inner, epoch: Arc::new(AtomicU64::new(0)) }
    }

    /// A handle that invalidates this manager's caches, for the store
    /// (the pool does not hand its manager back).
    pub(crate) fn epoch(&self) -> Epoch {
        Epoch(Arc::clone(&self.epoch))
    }
}

/// Invalidates the statement caches of one pool's connections.
#[derive(Debug, Clone)]
pub(crate) struct Epoch(Arc<AtomicU64>);

impl Epoch {
    /// Forgets the statements of every connection, idle or in use (each
    /// before its next [`Cached::parts`]).
    pub(crate) fn invalidate(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

impl<M> r2d2::ManageConnection for Caching<M>
where
    M: r2d2::ManageConnection<Connection = postgres::Client>,
{
    type Connection = Cached;
    type Error = M::Error;

    fn connect(&self) -> std::result::Result<Cached, M::Error> {
        let client = self.inner.connect()?;
        let seen = self.epoch.load(Ordering::Acquire);
        Ok(Cached {
            client,
            stmts: Statements::default(),
            epoch: Arc::clone(&self.epoch),
            seen,
            last_used: Instant::now(),
        })
    }

    /// r2d2 checks every connection it hands out, and the inner manager's
    /// check is a round trip to the server: on a busy store that doubles the
    /// round trips of every call. A connection used moments ago is taken as
    /// alive without it (HikariCP's "alive bypass window" does the same);
    /// if it died meanwhile, the call fails cleanly with `IO` and the broken
    /// connection is dropped, as when it dies during a call.
    fn is_valid(&self, c: &mut Cached) -> std::result::Result<(), M::Error> {
        if c.last_used.elapsed() < RECENTLY_USED && !c.client.is_closed() {
            return Ok(());
        }
        self.inner.is_valid(&mut c.client)
    }

    fn has_broken(&self, c: &mut Cached) -> bool {
        self.inner.has_broken(&mut c.client)
    }
}

/// A pooled connection and the statements prepared on it.
pub(crate) struct Cached {
    client: postgres::Client,
    stmts: Statements,
    epoch: Arc<AtomicU64>,
    seen: u64,
    /// When the store last started using it.
    last_used: Instant,
}

impl std::fmt::Debug for Cached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cached").field("statements", &self.stmts.map.len()).finish_non_exhaustive()
    }
}

/// The client itself, for what runs outside the cache (migrations, schema
/// reads: once per store, not worth a statement each).
impl std::ops::Deref for Cached {
    type Target = postgres::Client;
    fn deref(&self) -> &postgres::Client {
        &self.client
    }
}

impl std::ops::DerefMut for Cached {
    fn deref_mut(&mut self) -> &mut postgres::Client {
        &mut self.client
    }
}

impl Cached {
    /// The client and its statement cache, borrowed apart, so that a
    /// transaction on the client can still use (and fill) the cache.
    pub(crate) fn parts(&mut self) -> (&mut postgres::Client, &mut Statements) {
        self.last_used = Instant::now();
        let now = self.epoch.load(Ordering::Acquire);
        if now != self.seen {
            self.stmts.clear();
            self.seen = now;
        }
        (&mut self.client, &mut self.stmts)
    }

    /// A session on the client itself (outside any transaction).
    pub(crate) fn session(&mut self) -> Session<'_, postgres::Client> {
        let (c, stmts) = self.parts();
        Session::new(c, stmts)
    }

    /// Takes the mark [`Session`] left when a cached statement went stale.
    pub(crate) fn take_stale(&mut self) -> bool {
        std::mem::take(&mut self.stmts.stale)
    }

    #[cfg(test)]
    pub(crate) fn stats(&self) -> (u64, u64) {
        (self.stmts.prepared, self.stmts.executed)
    }
}

/// The statements one connection has prepared, by SQL text.
#[derive(Default)]
pub(crate) struct Statements {
    map: HashMap<String, Statement>,
    stale: bool,
    /// Statements prepared, and statements run, on this connection: what
    /// the tests count.
    prepared: u64,
    executed: u64,
}

impl Statements {
    /// Dropping a `Statement` queues its Close for the next request.
    fn clear(&mut self) {
        self.map.clear();
    }
}

/// Runs SQL on `C` (a client or one of its transactions) through the
/// connection's statement cache. The repository goes through this only, so
/// the statements it runs are the ones counted.
pub(crate) struct Session<'a, C> {
    c: &'a mut C,
    stmts: &'a mut Statements,
}

impl<'a, C: GenericClient> Session<'a, C> {
    pub(crate) fn new(c: &'a mut C, stmts: &'a mut Statements) -> Self {
        Session { c, stmts }
    }

    /// The statement for `sql`, prepared on first use.
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.stmts.map.get(sql) {
            return Ok(s.clone());
        }
        let s = self.c.prepare(sql).map_err(|e| self.failed(e))?;
        if self.stmts.map.len() >= CAPACITY {
            self.stmts.clear();
        }
        self.stmts.prepared += 1;
        self.stmts.map.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    /// Converts `e`; a stale statement clears the cache and marks it.
    fn failed(&mut self, e: postgres::Error) -> Error {
        if is_stale(&e) {
            self.stmts.clear();
            self.stmts.stale = true;
        }
        e.into()
    }

    pub(crate) fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let s = self.statement(sql)?;
        self.stmts.executed += 1;
        self.c.query(&s, params).map_err(|e| self.failed(e))
    }

    pub(crate) fn query_opt(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>> {
        let s = self.statement(sql)?;
        self.stmts.executed += 1;
        self.c.query_opt(&s, params).map_err(|e| self.failed(e))
    }

    pub(crate) fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row> {
        let s = self.statement(sql)?;
        self.stmts.executed += 1;
        self.c.query_one(&s, params).map_err(|e| self.failed(e))
    }

    pub(crate) fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let s = self.statement(sql)?;
        self.stmts.executed += 1;
        self.c.execute(&s, params).map_err(|e| self.failed(e))
    }
}

/// A cached statement the server can no longer run as prepared.
fn is_stale(e: &postgres::Error) -> bool {
    match e.as_db_error() {
        Some(d) if *d.code() == SqlState::FEATURE_NOT_SUPPORTED => {
            d.message().contains("cached plan must not change result type")
        }
        Some(d) => *d.code() == SqlState::INVALID_SQL_STATEMENT_NAME,
        None => false,
    }
}
