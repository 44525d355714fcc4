//! Import, export and count are scoped to one user unless the operator's
//! all-users form is asked for by name; an import never writes another
//! user's records, and a refused import leaves the database as it was.

mod common;

use avatar_store::{AvatarQuery, Record, Scope, Store};
use common::*;

/// Alice's projects and avatars (with usage), and one project of bob's.
fn seeded(store: &Store) {
    for p in 0..2 {
        let project = project(store, "alice", &format!("alice {p}"));
        for a in 0..3 {
            let avatar = store.create_avatar("alice", &full_avatar(project.id, &format!("A{p}.{a}"))).unwrap();
            store.record_usage("alice", &avatar.id).unwrap();
        }
    }
    project(store, "bob", "bob's own");
}

fn records(store: &Store, user: &str) -> Vec<Record> {
    let mut out = Vec::new();
    store
        .export(user, |r| {
            out.push(r);
            Ok(())
        })
        .unwrap();
    out
}

/// Every row of the database, as exported text.
fn dump(store: &Store) -> String {
    let mut out = String::new();
    store
        .export_all_users(|r| {
            out.push_str(&serde_json::to_string(&r).unwrap());
            out.push('\n');
            Ok(())
        })
        .unwrap();
    out
}

/// The database file's bytes once every committed write is in it (a
/// checkpoint first), so they depend only on what was committed.
fn settled_bytes(path: &std::path::Path) -> Vec<u8> {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    drop(conn);
    std::fs::read(path).unwrap()
}

fn with_owner(records: &[Record], user: &str) -> Vec<Record> {
    records
        .iter()
        .map(|r| match r.clone() {
            Record::Project(mut p) => {
                p.user_id = user.into();
                Record::Project(p)
            }
            Record::Avatar(mut a) => {
                a.user_id = user.into();
                Record::Avatar(a)
            }
        })
        .collect()
}

fn import(store: &Store, scope: Scope<'_>, records: &[Record]) -> avatar_store::Result<(u64, u64)> {
    store.import_in(scope, |imp| {
        records.iter().try_for_each(|r| imp.record(r))?;
        Ok(imp.counts())
    })
}

#[test]
fn another_users_file_is_refused_and_their_rows_stay_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let store = Store::open(&path).unwrap();
    seeded(&store);
    let alices = records(&store, "alice");
    let before = dump(&store);
    drop(store);
    let file_before = settled_bytes(&path);

    let store = Store::open(&path).unwrap();
    // Bob imports alice's own records: refused on the owner, before anything else.
    let e = import(&store, Scope::User("bob"), &alices).unwrap_err();
    assert_eq!((e.code(), e.field()), ("VALIDATION", Some("userId")), "{e}");
    assert!(e.to_string().contains("\"alice\"") && e.to_string().contains("\"bob\""), "{e}");

    // Alice's ids relabelled as bob's: the ids are taken, the rows keep their owner.
    let e = import(&store, Scope::User("bob"), &with_owner(&alices, "bob")).unwrap_err();
    assert_eq!(e.code(), "CONFLICT", "{e}");

    // A new avatar of bob's put into alice's project: to bob that project does not exist.
    let Record::Avatar(mut a) = alices.iter().find(|r| matches!(r, Record::Avatar(_))).unwrap().clone() else {
        unreachable!()
    };
    a.id = avatar_store::Uuid::now_v7();
    a.user_id = "bob".into();
    let e = import(&store, Scope::User("bob"), &[Record::Avatar(a)]).unwrap_err();
    assert_eq!((e.code(), e.field()), ("VALIDATION", Some("projectId")), "{e}");
    assert!(!e.to_string().contains("another user"), "tells bob the project exists: {e}");

    // A file of bob's with one of alice's records at the end: nothing of it stays.
    let mut mixed = records(&store, "bob");
    let Record::Project(mut fresh) = mixed[0].clone() else { unreachable!() };
    fresh.id = avatar_store::Uuid::now_v7();
    mixed[0] = Record::Project(fresh);
    mixed.push(alices[0].clone());
    assert_eq!(import(&store, Scope::User("bob"), &mixed).unwrap_err().field(), Some("userId"));

    assert_eq!(dump(&store), before);
    assert_eq!(store.count("bob").unwrap(), (1, 0));
    drop(store);
    assert!(settled_bytes(&path) == file_before, "the database file changed");
}

#[test]
fn an_import_for_one_user_writes_that_users_records() {
    let (src, dst) = (Store::open_in_memory().unwrap(), Store::open_in_memory().unwrap());
    seeded(&src);
    let alices = records(&src, "alice");
    assert_eq!(import(&dst, Scope::User("alice"), &alices).unwrap(), (2, 6));
    assert_eq!(import(&dst, Scope::User("alice"), &alices).unwrap(), (2, 6), "upserts by id");
    assert_eq!(dst.count("alice").unwrap(), (2, 6));
    assert_eq!(dst.count_all_users().unwrap(), (2, 6));
    let q = AvatarQuery { limit: Some(100), ..Default::default() };
    assert_eq!(dst.list_avatars("alice", &q).unwrap().items, src.list_avatars("alice", &q).unwrap().items);
    // The convenience forms are the scoped ones.
    let mut n = 0;
    dst.import("alice", |imp| {
        alices.iter().try_for_each(|r| imp.record(r))?;
        n = imp.counts().0 + imp.counts().1;
        assert_eq!(imp.scope(), Scope::User("alice"));
        Ok(())
    })
    .unwrap();
    assert_eq!(n, 8);
}

#[test]
fn every_user_is_an_explicit_scope_and_an_empty_user_id_is_refused() {
    let src = Store::open_in_memory().unwrap();
    seeded(&src);
    let mut all = Vec::new();
    src.export_all_users(|r| {
        all.push(r);
        Ok(())
    })
    .unwrap();
    assert_eq!(all.len(), 3 + 6);
    assert_eq!(src.count_all_users().unwrap(), (3, 6));
    assert_eq!(src.count_in(Scope::User("bob")).unwrap(), (1, 0));

    let dst = Store::open_in_memory().unwrap();
    assert_eq!(import(&dst, Scope::AllUsers, &all).unwrap(), (3, 6));
    dst.import_all_users(|imp| all.iter().try_for_each(|r| imp.record(r))).unwrap();
    assert_eq!((dst.count("alice").unwrap(), dst.count("bob").unwrap()), ((2, 6), (1, 0)));

    for user in ["", "  ", "a\0b"] {
        assert_eq!(src.count(user).unwrap_err().field(), Some("userId"), "{user:?}");
        assert_eq!(src.export(user, |_| Ok(())).unwrap_err().field(), Some("userId"), "{user:?}");
        assert_eq!(dst.import(user, |_| Ok(())).unwrap_err().field(), Some("userId"), "{user:?}");
    }
}

#[test]
fn an_operators_import_still_moves_no_row_to_another_owner_or_project() {
    let s = Store::open_in_memory().unwrap();
    seeded(&s);
    let before = dump(&s);
    let alices = records(&s, "alice");
    let e = import(&s, Scope::AllUsers, &with_owner(&alices, "mallory")).unwrap_err();
    assert_eq!(e.code(), "CONFLICT", "{e}");
    // Only alice's avatars: mallory's ids are new but their projects are alice's.
    let mut avatars = with_owner(&alices, "mallory");
    avatars.retain(|r| matches!(r, Record::Avatar(_)));
    for r in &mut avatars {
        if let Record::Avatar(a) = r {
            a.id = avatar_store::Uuid::now_v7();
        }
    }
    let e = import(&s, Scope::AllUsers, &avatars).unwrap_err();
    assert_eq!(e.code(), "CONFLICT", "{e}");
    assert!(e.to_string().contains("another user"), "{e}");
    assert_eq!(dump(&s), before);
    assert_eq!(s.count("mallory").unwrap(), (0, 0));
}

#[test]
fn the_owner_is_checked_before_the_fields() {
    let s = Store::open_in_memory().unwrap();
    seeded(&s);
    let Record::Avatar(mut a) = records(&s, "alice").pop().unwrap() else { unreachable!() };
    a.persona_age = Some(400);
    let r = Record::Avatar(a);
    assert_eq!(r.validate(Scope::User("bob")).unwrap_err().field(), Some("userId"));
    assert_eq!(r.validate(Scope::User("alice")).unwrap_err().field(), Some("personaAge"));
    assert_eq!(r.validate(Scope::AllUsers).unwrap_err().field(), Some("personaAge"));
    assert_eq!(r.user_id(), "alice");
}
