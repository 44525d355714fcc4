//! Tests of the statement cache and of the round trips the repository
//! makes, which only the inside of a store can see. They run against the
//! test server (see core/tests/common/pg.rs) and skip without one.

use super::PgStore;
use super::repo::GET_AVATAR;
use crate::model::{NewAvatar, NewProject};
use crate::repo::ProjectQuery;
use crate::store::Store;

#[allow(dead_code, unused_imports)]
#[path = "../../tests/common/pg.rs"]
mod pg;

/// A store on a fresh database with a pool of two connections, one of them
/// handed to the caller: every call of the store then runs on the other
/// one, so that what it leaves on its connection can be looked at.
fn one_connection_store(db: &pg::TestDb) -> (PgStore, super::Conn) {
    let options = Store::options().readers(1);
    let store = PgStore::open(&db.url, &options).unwrap();
    let held = store.conn().unwrap();
    (store, held)
}

/// (statements prepared, statements run) on the store's free connection.
fn stats(store: &PgStore) -> (u64, u64) {
    store.conn().unwrap().stats()
}

fn avatar(store: &PgStore, name: &str) -> crate::model::Avatar {
    let p = store.create_project("u1", &NewProject { name: format!("P {name}"), description: None }).unwrap();
    store.create_avatar("u1", &NewAvatar { project_id: p.id, name: name.into(), ..Default::default() }).unwrap()
}

/// `projects` projects of "u1" with `each` avatars, created one at a time.
fn projects_of_avatars(store: &PgStore, projects: usize, each: usize) {
    for i in 0..projects {
        let p = store.create_project("u1", &NewProject { name: format!("P{i}"), description: None }).unwrap();
        for j in 0..each {
            store
                .create_avatar("u1", &NewAvatar { project_id: p.id, name: format!("A{i}.{j}"), ..Default::default() })
                .unwrap();
        }
    }
}

#[test]
fn a_statement_is_prepared_once_per_connection() {
    let Some(db) = pg::TestDb::create() else { return };
    let (store, _held) = one_connection_store(&db);
    let a = avatar(&store, "A");
    store.get_avatar("u1", &a.id).unwrap();
    let (prepared, run) = stats(&store);
    for _ in 0..5 {
        assert_eq!(store.get_avatar("u1", &a.id).unwrap(), a);
    }
    assert_eq!(stats(&store), (prepared, run + 5), "five reads, nothing prepared again");
    // The server agrees: the connection holds the read's statement, once.
    let held = store
        .read(|s| {
            s.query_one("SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", &[&GET_AVATAR.as_str()])
        })
        .unwrap();
    assert_eq!(held.get::<_, i64>(0), 1);
}

#[test]
fn list_projects_with_avatars_runs_two_statements_per_page() {
    let Some(db) = pg::TestDb::create() else { return };
    let (store, _held) = one_connection_store(&db);
    projects_of_avatars(&store, 5, 3);
    let mut q = ProjectQuery { limit: Some(2), cursor: None };
    let mut pages = 0;
    let mut projects = 0;
    loop {
        let (_, before) = stats(&store);
        let page = store.list_projects_with_avatars("u1", &q).unwrap();
        let (_, after) = stats(&store);
        assert_eq!(after - before, 2, "page {pages}: one statement for the projects, one for all their avatars");
        assert!(page.items.iter().all(|p| p.avatars.len() == 3));
        pages += 1;
        projects += page.items.len();
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!((pages, projects), (3, 5));
}

#[test]
fn a_statement_gone_stale_under_a_column_type_change_is_prepared_again() {
    let Some(db) = pg::TestDb::create() else { return };
    let (store, _held) = one_connection_store(&db);
    let a = avatar(&store, "A");
    store.get_avatar("u1", &a.id).unwrap();
    let (prepared, _) = stats(&store);
    // Another client changes a column's type: the cached read's result type
    // changes with it, which the server refuses to run as prepared.
    db.client().batch_execute("ALTER TABLE avatars ALTER COLUMN \"name\" TYPE varchar(200)").unwrap();
    assert_eq!(store.get_avatar("u1", &a.id).unwrap(), a, "read again on a fresh statement, not an error");
    assert!(stats(&store).0 > prepared, "the read was prepared again");
    // Inside a transaction the same happens to its first statement: the
    // transaction is rolled back and run again.
    db.client().batch_execute("ALTER TABLE avatars ALTER COLUMN \"name\" TYPE text").unwrap();
    let patch = crate::model::AvatarPatch { name: Some("B".into()), ..Default::default() };
    assert_eq!(store.update_avatar("u1", &a.id, &patch).unwrap().name, "B");
    assert_eq!(store.get_avatar("u1", &a.id).unwrap().name, "B");
}

#[test]
fn repair_clears_the_statement_cache_and_reads_work_after_it() {
    let Some(db) = pg::TestDb::create() else { return };
    drop(PgStore::open(&db.url, &Store::options()).unwrap());
    // Drift: a nullable column lost, as in the incident.
    db.client().batch_execute("ALTER TABLE avatars DROP COLUMN \"style\"").unwrap();
    let options = Store::options().readers(1).verify(false);
    let store = PgStore::open(&db.url, &options).unwrap();
    let _held = store.conn().unwrap();
    let p = store.create_project("u1", &NewProject { name: "P".into(), description: None }).unwrap();
    assert_eq!(store.list_projects("u1", &ProjectQuery::default()).unwrap().items, vec![p.clone()]);
    let (prepared, _) = stats(&store);
    // A statement that failed to prepare is not cached: the read fails while
    // the column is missing, and works once repair has added it.
    let before = store.create_avatar("u1", &NewAvatar { project_id: p.id, name: "A".into(), ..Default::default() });
    assert_eq!(before.unwrap_err().code(), "INTERNAL");
    let outcome = store.repair().unwrap();
    assert!(outcome.after.is_ok(), "{:?}", outcome.after);
    let a = store
        .create_avatar(
            "u1",
            &NewAvatar { project_id: p.id, name: "A".into(), style: Some("ink".into()), ..Default::default() },
        )
        .unwrap();
    assert_eq!(store.get_avatar("u1", &a.id).unwrap(), a);
    // Repair also made every connection forget its statements: the project
    // listing cached before it was prepared again.
    let (after, _) = stats(&store);
    store.list_projects("u1", &ProjectQuery::default()).unwrap();
    assert!(stats(&store).0 > after, "listing re-prepared after repair");
    assert!(after > prepared);
}

#[test]
fn a_batch_goes_in_by_the_thousand_and_reads_back_as_written() {
    let Some(db) = pg::TestDb::create() else { return };
    let (store, _held) = one_connection_store(&db);
    let p = store.create_project("u1", &NewProject { name: "P".into(), description: None }).unwrap();
    let q = store.create_project("u1", &NewProject { name: "Q".into(), description: None }).unwrap();
    // Every field filled on some avatars, none on others, in two projects.
    let new: Vec<NewAvatar> = (0..2_500)
        .map(|i| {
            let project_id = if i % 2 == 0 { p.id } else { q.id };
            if i % 3 == 0 {
                NewAvatar { project_id, name: format!("bare {i}"), ..Default::default() }
            } else {
                NewAvatar {
                    project_id,
                    name: format!("full {i}"),
                    persona_age: Some(i % 150),
                    seed_used: Some(i64::MAX - i),
                    style: Some("ink".into()),
                    image_url: Some(format!("https://cdn.example/{i}.png")),
                    ..Default::default()
                }
            }
        })
        .collect();
    let (_, before) = stats(&store);
    let made = store.create_avatars("u1", &new).unwrap();
    let (_, after) = stats(&store);
    assert_eq!(after - before, 2 + 3, "one check per project, one insert per 1,000 avatars");
    for a in &made {
        assert_eq!(&store.get_avatar("u1", &a.id).unwrap(), a);
    }
    // A bad project anywhere in the batch writes nothing.
    let mut bad = new[..3].to_vec();
    bad[2].project_id = uuid::Uuid::now_v7();
    assert_eq!(store.create_avatars("u1", &bad).unwrap_err().code(), "NOT_FOUND");
    assert_eq!(store.count_in(crate::store::Scope::User("u1")).unwrap(), (2, 2_500));
}

/// A user's listing in creation order reads at most a page from each of the
/// user's projects, backwards or forwards along the project index, and
/// merges them (two LIMITs in the plan, the per-project one inside the
/// loop), rather than every avatar of the user (V7 keeps no index on the
/// avatars' userId).
#[test]
fn a_users_listing_in_creation_order_reads_a_page_per_project() {
    let Some(db) = pg::TestDb::create() else { return };
    let (store, _held) = one_connection_store(&db);
    projects_of_avatars(&store, 3, 5);
    let first = crate::AvatarQuery { limit: Some(2), ..Default::default() };
    let cursor = store.list_avatars("u1", &first).unwrap().next_cursor;
    let mut c = db.client();
    for q in [first.clone(), crate::AvatarQuery { cursor, ..first.clone() }] {
        let (_, sql, args) = super::repo::listing_sql("u1", &q, 2).unwrap();
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = args.iter().map(|a| a.as_ref() as _).collect();
        let plan: Vec<String> = c.query(&format!("EXPLAIN {sql}"), &params).unwrap().iter().map(|r| r.get(0)).collect();
        let plan = plan.join("\n");
        assert!(plan.contains("Nested Loop"), "{plan}");
        assert!(plan.contains("using idx_avatars_project_created on avatars"), "{plan}");
        assert_eq!(plan.matches("Limit").count(), 2, "a page per project, then the merged page:\n{plan}");
    }
}
