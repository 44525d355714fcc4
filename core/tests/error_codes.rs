//! Input that used to panic or fail with the wrong code (issue 9, items 10
//! and 19): each answers with the code and field a caller can act on.

mod common;

use std::time::Duration;

use avatar_store::{
    AvatarQuery, MAX_BUSY_TIMEOUT, MAX_NAME_CONTAINS_LEN, MAX_USAGE_COUNT, NewAvatar, NewProject, ProjectQuery, Store,
};
use common::*;

#[test]
fn a_busy_timeout_sqlite_cannot_take_is_a_validation_error_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let too_long = MAX_BUSY_TIMEOUT + Duration::from_millis(1);
    for result in [
        Store::options().busy_timeout(too_long).open(&path),
        Store::options().busy_timeout(Duration::from_secs(u64::MAX)).open(&path),
        Store::options().busy_timeout(too_long).open_in_memory(),
    ] {
        let err = result.unwrap_err();
        assert_eq!((err.code(), err.field()), ("VALIDATION", Some("busyTimeout")), "{err}");
    }
    assert!(!path.exists(), "a refused open creates no file");
    let err = Store::options().readers(0).open(&path).unwrap_err();
    assert_eq!((err.code(), err.field()), ("VALIDATION", Some("readers")), "{err}");
    Store::options().busy_timeout(MAX_BUSY_TIMEOUT).open(&path).unwrap();
}

fn abc_and_zzz() -> (Store, NewAvatar) {
    let s = common::pg::store();
    let p = project(&s, "u1", "P");
    for name in ["abc", "zzz"] {
        s.create_avatar("u1", &NewAvatar { project_id: p.id, name: name.into(), ..Default::default() }).unwrap();
    }
    (s, NewAvatar { project_id: p.id, ..Default::default() })
}

// On both backends (common/pg.rs).
crate::on_both_backends! {
fn name_contains_refuses_nul_and_is_bounded() {
    let (s, _) = abc_and_zzz();
    let query = |text: String| AvatarQuery { name_contains: Some(text), ..Default::default() };
    for text in ["\0abc".to_owned(), "ab\0".to_owned(), "x".repeat(50_001), "é".repeat(MAX_NAME_CONTAINS_LEN + 1)] {
        let err = s.list_avatars("u1", &query(text)).unwrap_err();
        assert_eq!((err.code(), err.field()), ("VALIDATION", Some("nameContains")), "{err}");
    }
    let err =
        s.list_avatars("u1", &AvatarQuery { hair_color: Some("red\0".into()), ..Default::default() }).unwrap_err();
    assert_eq!((err.code(), err.field()), ("VALIDATION", Some("hairColor")), "{err}");
    // At the bound, and with LIKE's own characters, the filter still works.
    assert!(s.list_avatars("u1", &query("%".repeat(MAX_NAME_CONTAINS_LEN))).unwrap().items.is_empty());
    let found = s.list_avatars("u1", &query("AB".into())).unwrap();
    assert_eq!(found.items.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["abc"]);
}
}

#[test]
fn record_usage_at_the_highest_count_is_a_conflict_not_an_internal_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let s = Store::open(&path).unwrap();
    let p = project(&s, "u1", "P");
    let a = s.create_avatar("u1", &full_avatar(p.id, "A")).unwrap();
    let set_count = |n: i64| {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute("UPDATE avatars SET usageCount = ?1 WHERE id = ?2", rusqlite::params![n, a.id.to_string()]).unwrap();
    };

    set_count(MAX_USAGE_COUNT - 1);
    assert_eq!(s.record_usage("u1", &a.id).unwrap().usage_count, MAX_USAGE_COUNT);
    for stored in [MAX_USAGE_COUNT, i64::MAX] {
        set_count(stored);
        let err = s.record_usage("u1", &a.id).unwrap_err();
        assert_eq!(err.code(), "CONFLICT", "{err}");
        assert!(err.to_string().contains("highest usage count"), "{err}");
        assert_eq!(s.get_avatar("u1", &a.id).unwrap().usage_count, stored, "left unchanged");
    }
    // Another user's avatar is still not found, whatever its count.
    assert_eq!(s.record_usage("u2", &a.id).unwrap_err().code(), "NOT_FOUND");
}

#[test]
fn an_imported_usage_count_past_the_bound_is_refused() {
    let s = Store::open_in_memory().unwrap();
    let p = project(&s, "u1", "P");
    let mut a = s.create_avatar("u1", &full_avatar(p.id, "A")).unwrap();
    a.usage_count = i64::MAX;
    let err = a.validate_imported().unwrap_err();
    assert_eq!((err.code(), err.field()), ("VALIDATION", Some("usageCount")), "{err}");
    a.usage_count = MAX_USAGE_COUNT;
    a.validate_imported().unwrap();
}

#[test]
fn a_reader_that_cannot_be_opened_is_io_not_busy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let s = Store::options().busy_timeout(Duration::from_millis(100)).open(&path).unwrap();
    s.create_project("u1", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
    // The writer keeps its handle; a new read-only connection finds no file.
    let aside = dir.path().join("moved");
    std::fs::create_dir(&aside).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let from = dir.path().join(format!("a.db{suffix}"));
        if from.exists() {
            std::fs::rename(&from, aside.join(format!("a.db{suffix}"))).unwrap();
        }
    }
    let err = s.list_projects("u1", &ProjectQuery::default()).unwrap_err();
    assert_eq!(err.code(), "IO", "{err}");
    assert!(err.to_string().contains("could not open a reader"), "{err}");
}

// On both backends (common/pg.rs).
crate::on_both_backends! {
fn every_user_scoped_call_refuses_an_empty_user_id() {
    let (s, template) = abc_and_zzz();
    let id = template.project_id;
    let calls: Vec<(&str, avatar_store::Result<()>)> = vec![
        ("create_project", s.create_project("", &NewProject { name: "x".into(), ..Default::default() }).map(drop)),
        ("get_project", s.get_project("", &id).map(drop)),
        ("list_projects", s.list_projects(" ", &ProjectQuery::default()).map(drop)),
        ("list_projects_with_avatars", s.list_projects_with_avatars("", &ProjectQuery::default()).map(drop)),
        ("update_project", s.update_project("", &id, &Default::default()).map(drop)),
        ("delete_project", s.delete_project("", &id)),
        ("create_avatar", s.create_avatar("", &NewAvatar { name: "x".into(), ..template.clone() }).map(drop)),
        ("create_avatars", s.create_avatars("", &[]).map(drop)),
        ("get_avatar", s.get_avatar("", &id).map(drop)),
        ("list_avatars", s.list_avatars("", &AvatarQuery::default()).map(drop)),
        ("update_avatar", s.update_avatar("", &id, &Default::default()).map(drop)),
        ("delete_avatar", s.delete_avatar("", &id)),
        ("record_usage", s.record_usage("", &id).map(drop)),
    ];
    for (name, result) in calls {
        let err = result.unwrap_err();
        assert_eq!((err.code(), err.field()), ("VALIDATION", Some("userId")), "{name}: {err}");
    }
}
}

#[test]
fn sort_keys_parse_in_either_spelling_and_display_as_field_names() {
    use avatar_store::{AvatarSort, SortOrder};
    for k in AvatarSort::ALL {
        assert_eq!(k.to_string().parse::<AvatarSort>().unwrap(), k);
        assert_eq!(k.snake_case().parse::<AvatarSort>().unwrap(), k);
    }
    assert_eq!(AvatarSort::UsageCount.to_string(), "usageCount");
    assert_eq!("usage_count".parse::<AvatarSort>().unwrap(), AvatarSort::UsageCount);
    for o in [SortOrder::Asc, SortOrder::Desc] {
        assert_eq!(o.to_string().parse::<SortOrder>().unwrap(), o);
    }
}

/// The messages both bindings show: they come from here, not from a copy.
#[test]
fn a_bad_sort_order_or_limit_is_validation_naming_it_and_listing_the_choices() {
    use avatar_store::{AvatarSort, SortOrder};
    let e = "name".parse::<AvatarSort>().unwrap_err();
    assert_eq!((e.code(), e.field()), ("VALIDATION", Some("sort")));
    assert_eq!(
        e.to_string(),
        "invalid sort: must be one of createdAt, usageCount, lastUsedAt \
         (or created_at, usage_count, last_used_at), got \"name\""
    );
    let e = "DESC".parse::<SortOrder>().unwrap_err();
    assert_eq!((e.code(), e.field()), ("VALIDATION", Some("order")));
    assert_eq!(e.to_string(), "invalid order: must be asc or desc, got \"DESC\"");
    // A long value is cut in the message.
    let e = "x".repeat(10_000).parse::<SortOrder>().unwrap_err();
    assert!(e.to_string().len() < 120, "{e}");
    for n in [0, -1, 1_001, i128::from(u32::MAX) + 1] {
        let e = avatar_store::check_limit(n).unwrap_err();
        assert_eq!((e.code(), e.field()), ("VALIDATION", Some("limit")));
        assert_eq!(e.to_string(), format!("invalid limit: must be between 1 and 1000, got {n}"));
    }
    assert_eq!(avatar_store::check_limit(1_000).unwrap(), 1_000);
    // The same message through a query.
    let s = avatar_store::Store::open_in_memory().unwrap();
    let q = avatar_store::AvatarQuery { limit: Some(0), ..Default::default() };
    assert_eq!(
        s.list_avatars("u1", &q).unwrap_err().to_string(),
        avatar_store::check_limit(0).unwrap_err().to_string()
    );
}
