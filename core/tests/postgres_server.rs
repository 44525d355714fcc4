//! The PostgreSQL server the tests run against is there and usable: without
//! it every PostgreSQL test would skip, so this one says so first.

mod common;

use common::pg::{self, TestDb};

#[test]
fn test_server_answers_and_gives_each_test_its_own_database() {
    let Some(db) = TestDb::create() else { return };
    let mut c = db.client();
    let row = c.query_one("SELECT current_database(), current_setting('server_version_num')::int", &[]).unwrap();
    let (name, version): (String, i32) = (row.get(0), row.get(1));
    assert_eq!(name, db.name);
    assert!(version >= 150000, "PostgreSQL 15 or newer expected, found {version}");
    let server = pg::server_url().unwrap();
    let name = db.name.clone();
    drop(c);
    drop(db);
    let gone: i64 =
        pg::connect(&server).query_one("SELECT count(*) FROM pg_database WHERE datname = $1", &[&name]).unwrap().get(0);
    assert_eq!(gone, 0, "the test database is dropped at the end");
}

#[test]
fn with_database_replaces_only_the_name() {
    assert_eq!(pg::with_database("postgresql://u@/postgres?host=/tmp/x", "t1"), "postgresql://u@/t1?host=/tmp/x");
    assert_eq!(pg::with_database("postgres://u:p@h:5/db", "t1"), "postgres://u:p@h:5/t1");
    assert_eq!(pg::with_database("postgres://h", "t1"), "postgres://h/t1");
}
