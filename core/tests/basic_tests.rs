//! The repository API: every operation, tenant isolation, validation.

mod common;

use avatar_store::{
    AvatarPatch, AvatarQuery, AvatarSort, NewAvatar, NewProject, ProjectPatch, ProjectQuery, SortOrder, Store, Uuid,
    Write, Written,
};
use common::*;

use common::pg::store;

// Every test here runs on SQLite and on PostgreSQL (common/pg.rs).
crate::on_both_backends! {
fn projects_round_trip_update_and_cascade() {
    let s = store();
    let p = s.create_project("u1", &NewProject { name: "P".into(), description: Some("d".into()) }).unwrap();
    assert_eq!(p.id.get_version_num(), 7);
    let a = s.create_avatar("u1", &full_avatar(p.id, "A")).unwrap();
    let p2 = s.update_project("u1", &p.id, &ProjectPatch { name: Some("Q".into()), description: Some(None) }).unwrap();
    assert_eq!((p2.name.as_str(), p2.description.as_deref()), ("Q", None));
    assert!(p2.updated_at >= p.updated_at);
    assert_eq!(s.get_project("u1", &p.id).unwrap(), p2);
    s.delete_project("u1", &p.id).unwrap();
    assert_eq!(s.get_avatar("u1", &a.id).unwrap_err().code(), "NOT_FOUND", "avatars go with their project");
    assert_eq!(s.delete_project("u1", &p.id).unwrap_err().code(), "NOT_FOUND");
}

fn avatars_round_trip_patch_and_clear() {
    let s = store();
    let p = project(&s, "u1", "P");
    let a = s.create_avatar("u1", &full_avatar(p.id, "A")).unwrap();
    assert_eq!(s.get_avatar("u1", &a.id).unwrap(), a);
    let patch = AvatarPatch {
        name: Some("B".into()),
        hair_color: Some(None),
        persona_age: Some(Some(40)),
        seed_used: Some(Some(i64::MIN)),
        ..Default::default()
    };
    let b = s.update_avatar("u1", &a.id, &patch).unwrap();
    assert_eq!(b.hair_color, None);
    assert_eq!(b.persona_age, Some(40));
    assert_eq!(b.seed_used, Some(i64::MIN));
    assert_eq!(b.eye_color, a.eye_color, "untouched fields stay");
    assert_eq!(s.get_avatar("u1", &a.id).unwrap(), b);
    let json = serde_json::to_value(&b).unwrap();
    assert!(json.get("hairColor").is_some() && json.get("personaAge").is_some() && json.get("usageCount").is_some());
    s.delete_avatar("u1", &a.id).unwrap();
    assert_eq!(s.get_avatar("u1", &a.id).unwrap_err().code(), "NOT_FOUND");
}

fn another_users_records_are_not_found_for_every_operation() {
    let s = store();
    let p = project(&s, "owner", "P");
    let a = s.create_avatar("owner", &full_avatar(p.id, "A")).unwrap();
    let nf = |r: avatar_store::Error| assert_eq!(r.code(), "NOT_FOUND", "{r}");
    nf(s.get_project("intruder", &p.id).unwrap_err());
    nf(s.update_project("intruder", &p.id, &ProjectPatch { name: Some("x".into()), ..Default::default() })
        .unwrap_err());
    nf(s.delete_project("intruder", &p.id).unwrap_err());
    nf(s.create_avatar("intruder", &full_avatar(p.id, "X")).unwrap_err());
    nf(s.create_avatars("intruder", &[full_avatar(p.id, "X")]).unwrap_err());
    nf(s.get_avatar("intruder", &a.id).unwrap_err());
    nf(s.update_avatar("intruder", &a.id, &AvatarPatch { name: Some("x".into()), ..Default::default() }).unwrap_err());
    nf(s.delete_avatar("intruder", &a.id).unwrap_err());
    nf(s.record_usage("intruder", &a.id).unwrap_err());
    assert!(s.list_projects("intruder", &ProjectQuery::default()).unwrap().items.is_empty());
    assert!(s.list_projects_with_avatars("intruder", &ProjectQuery::default()).unwrap().items.is_empty());
    let q = AvatarQuery { project_id: Some(p.id), ..Default::default() };
    assert!(s.list_avatars("intruder", &q).unwrap().items.is_empty());
    // Nothing changed for the owner.
    assert_eq!(s.get_project("owner", &p.id).unwrap(), p);
    assert_eq!(s.get_avatar("owner", &a.id).unwrap(), a);
    assert_eq!(s.count_all_users().unwrap(), (1, 1));
}

fn every_invalid_field_is_named_and_nothing_is_written() {
    let s = store();
    let p = project(&s, "u1", "P");
    let long = |n: usize| "x".repeat(n + 1);
    let cases: Vec<(&str, NewAvatar)> = vec![
        ("name", NewAvatar { name: " \t".into(), ..full_avatar(p.id, "") }),
        ("name", NewAvatar { name: long(avatar_store::MAX_NAME_LEN), ..full_avatar(p.id, "") }),
        ("imageUrl", NewAvatar { image_url: Some("ftp://x/y".into()), ..full_avatar(p.id, "A") }),
        ("thumbnailUrl", NewAvatar { thumbnail_url: Some("not a url".into()), ..full_avatar(p.id, "A") }),
        ("personaName", NewAvatar { persona_name: Some("a\0b".into()), ..full_avatar(p.id, "A") }),
        ("personaAge", NewAvatar { persona_age: Some(151), ..full_avatar(p.id, "A") }),
        ("personaPersonality", NewAvatar { persona_personality: Some(long(5000)), ..full_avatar(p.id, "A") }),
        ("personaBackground", NewAvatar { persona_background: Some(long(5000)), ..full_avatar(p.id, "A") }),
        ("gender", NewAvatar { gender: Some(long(100)), ..full_avatar(p.id, "A") }),
        ("ageRange", NewAvatar { age_range: Some(long(100)), ..full_avatar(p.id, "A") }),
        ("ethnicity", NewAvatar { ethnicity: Some(long(100)), ..full_avatar(p.id, "A") }),
        ("bodyType", NewAvatar { body_type: Some(long(100)), ..full_avatar(p.id, "A") }),
        ("hairStyle", NewAvatar { hair_style: Some(long(100)), ..full_avatar(p.id, "A") }),
        ("hairColor", NewAvatar { hair_color: Some(long(100)), ..full_avatar(p.id, "A") }),
        ("eyeColor", NewAvatar { eye_color: Some(long(100)), ..full_avatar(p.id, "A") }),
        ("skinTone", NewAvatar { skin_tone: Some(long(100)), ..full_avatar(p.id, "A") }),
        ("style", NewAvatar { style: Some(long(100)), ..full_avatar(p.id, "A") }),
        ("sourceType", NewAvatar { source_type: Some("scraped".into()), ..full_avatar(p.id, "A") }),
        ("generationPrompt", NewAvatar { generation_prompt: Some(long(4000)), ..full_avatar(p.id, "A") }),
    ];
    for (field, bad) in &cases {
        let err = s.create_avatar("u1", bad).unwrap_err();
        assert_eq!(err.field(), Some(*field), "{err}");
        let err = s.create_avatars("u1", &[full_avatar(p.id, "ok"), bad.clone()]).unwrap_err();
        assert_eq!(err.field(), Some(*field), "{err}");
        assert!(err.to_string().contains("item 1"), "{err}");
    }
    let a = s.create_avatar("u1", &full_avatar(p.id, "A")).unwrap();
    let err =
        s.update_avatar("u1", &a.id, &AvatarPatch { persona_age: Some(Some(-1)), ..Default::default() }).unwrap_err();
    assert_eq!(err.field(), Some("personaAge"));
    let err = s.update_avatar("u1", &a.id, &AvatarPatch { name: Some("".into()), ..Default::default() }).unwrap_err();
    assert_eq!(err.field(), Some("name"));
    assert_eq!(s.get_avatar("u1", &a.id).unwrap(), a);
    assert_eq!(
        s.create_project("", &NewProject { name: "x".into(), ..Default::default() }).unwrap_err().field(),
        Some("userId")
    );
    let err = s.create_project("u1", &NewProject { name: "x".into(), description: Some(long(2000)) }).unwrap_err();
    assert_eq!(err.field(), Some("description"));
    assert_eq!(s.count_all_users().unwrap(), (1, 1), "only the valid avatar was written");
}

fn sql_looking_and_unicode_strings_are_stored_verbatim() {
    let s = store();
    let name = "Robert'); DROP TABLE avatars;-- 🚀 ñ 中文";
    let p = s.create_project("u'1", &NewProject { name: name.into(), description: Some("%_\\".into()) }).unwrap();
    let a = s.create_avatar("u'1", &NewAvatar { name: name.into(), ..full_avatar(p.id, "") }).unwrap();
    assert_eq!(s.get_avatar("u'1", &a.id).unwrap().name, name);
    let q = AvatarQuery { name_contains: Some("%".into()), ..Default::default() };
    assert!(s.list_avatars("u'1", &q).unwrap().items.is_empty(), "LIKE wildcards are escaped");
    let q = AvatarQuery { name_contains: Some("drop table".into()), ..Default::default() };
    assert_eq!(s.list_avatars("u'1", &q).unwrap().items.len(), 1);
}

fn batch_creation_is_all_or_nothing() {
    let s = store();
    let p = project(&s, "u1", "P");
    let other = project(&s, "u2", "Q");
    let err = s.create_avatars("u1", &[full_avatar(p.id, "a"), full_avatar(other.id, "b")]).unwrap_err();
    assert_eq!(err.code(), "NOT_FOUND");
    assert_eq!(s.count("u1").unwrap(), (1, 0));
    let made =
        s.create_avatars("u1", &(0..100).map(|i| full_avatar(p.id, &format!("a{i}"))).collect::<Vec<_>>()).unwrap();
    assert_eq!(made.len(), 100);
    assert_eq!(s.count("u1").unwrap(), (1, 100));
}

fn a_batch_of_several_insert_chunks_reads_back_exactly_and_in_order() {
    // SQLite inserts a batch 16 rows to a statement and the rest one by one:
    // 37 avatars are two full chunks and five more, and every row must land
    // with the values the call returned, in the order given.
    let s = store();
    let p = project(&s, "u1", "P");
    let q = project(&s, "u1", "Q");
    let input: Vec<_> = (0..37)
        .map(|i| {
            let bare = NewAvatar { project_id: p.id, name: format!("bare {i}"), ..Default::default() };
            if i % 3 == 0 { bare } else { full_avatar(if i % 2 == 0 { q.id } else { p.id }, &format!("a{i}")) }
        })
        .collect();
    let made = s.create_avatars("u1", &input).unwrap();
    assert_eq!(made.len(), 37);
    for (given, a) in input.iter().zip(&made) {
        assert_eq!((a.name.as_str(), a.project_id), (given.name.as_str(), given.project_id));
        assert_eq!(&s.get_avatar("u1", &a.id).unwrap(), a, "{} reads back as created", a.name);
    }
    let q = AvatarQuery { limit: Some(100), ..Default::default() };
    let listed = s.list_avatars("u1", &q).unwrap().items;
    assert_eq!(listed, made, "oldest first, in the order given");
}

fn a_failure_in_a_later_insert_chunk_leaves_nothing() {
    let s = store();
    let p = project(&s, "u1", "P");
    let other = project(&s, "u2", "Q");
    // Item 20 sits in the second chunk of 16, after a whole chunk went in.
    let mut input: Vec<_> = (0..40).map(|i| full_avatar(p.id, &format!("a{i}"))).collect();
    input[20].project_id = other.id;
    let err = s.create_avatars("u1", &input).unwrap_err();
    assert_eq!(err.code(), "NOT_FOUND", "{err}");
    assert!(err.to_string().contains(&other.id.to_string()), "{err}");
    assert_eq!(s.count("u1").unwrap(), (1, 0));
    // A bad item late in a large batch is named, and nothing is written either.
    input[20].project_id = p.id;
    input[33].image_url = Some("ftp://x".into());
    let err = s.create_avatars("u1", &input).unwrap_err();
    assert_eq!(err.field(), Some("imageUrl"), "{err}");
    assert!(err.to_string().contains("item 33"), "{err}");
    assert_eq!(s.count("u1").unwrap(), (1, 0));
}

fn avatar_listing_pages_filters_and_sorts() {
    let s = store();
    let p = project(&s, "u1", "P");
    let q2 = project(&s, "u1", "Q");
    let mut ids = Vec::new();
    for i in 0..23 {
        let hair = if i % 2 == 0 { "red" } else { "black" };
        let source = if i % 3 == 0 { "uploaded" } else { "generated" };
        let a = s
            .create_avatar(
                "u1",
                &NewAvatar {
                    hair_color: Some(hair.into()),
                    source_type: Some(source.into()),
                    ..full_avatar(p.id, &format!("Avatar {i:02}"))
                },
            )
            .unwrap();
        for _ in 0..(i % 5) {
            s.record_usage("u1", &a.id).unwrap();
        }
        ids.push(a.id);
    }
    s.create_avatar("u1", &full_avatar(q2.id, "elsewhere")).unwrap();

    let collect = |q: AvatarQuery| {
        let mut out = Vec::new();
        let mut q = AvatarQuery { limit: Some(5), ..q };
        loop {
            let page = s.list_avatars("u1", &q).unwrap();
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => return out,
            }
        }
    };
    let all = collect(AvatarQuery { project_id: Some(p.id), ..Default::default() });
    assert_eq!(all.iter().map(|a| a.id).collect::<Vec<_>>(), ids, "creation order");
    let desc = collect(AvatarQuery { project_id: Some(p.id), order: SortOrder::Desc, ..Default::default() });
    assert_eq!(desc.iter().rev().map(|a| a.id).collect::<Vec<_>>(), ids);

    let red = collect(AvatarQuery {
        hair_color: Some("red".into()),
        source_type: Some("uploaded".into()),
        ..Default::default()
    });
    assert_eq!(red.len(), 4); // i in {0, 6, 12, 18}
    assert!(red.iter().all(|a| a.hair_color.as_deref() == Some("red") && a.source_type.as_deref() == Some("uploaded")));

    let by_use = collect(AvatarQuery { sort: AvatarSort::UsageCount, order: SortOrder::Desc, ..Default::default() });
    assert_eq!(by_use.len(), 24);
    assert!(by_use.windows(2).all(|w| (w[0].usage_count, w[0].id) > (w[1].usage_count, w[1].id)));
    let by_last = collect(AvatarQuery { sort: AvatarSort::LastUsedAt, order: SortOrder::Desc, ..Default::default() });
    assert_eq!(by_last.len(), 24);
    assert!(by_last.windows(2).all(|w| w[0].last_used_at >= w[1].last_used_at));
    assert!(by_last.last().unwrap().last_used_at.is_none(), "never used sorts last in descending order");

    let named = collect(AvatarQuery { name_contains: Some("avatar 1".into()), ..Default::default() });
    assert_eq!(named.len(), 10);

    // A cursor belongs to its sort; garbage and wrong limits are named errors.
    let first = s.list_avatars("u1", &AvatarQuery { limit: Some(2), ..Default::default() }).unwrap();
    let wrong = AvatarQuery { sort: AvatarSort::UsageCount, cursor: first.next_cursor, ..Default::default() };
    assert_eq!(s.list_avatars("u1", &wrong).unwrap_err().field(), Some("cursor"));
    let junk = AvatarQuery { cursor: Some("!!".into()), ..Default::default() };
    assert_eq!(s.list_avatars("u1", &junk).unwrap_err().field(), Some("cursor"));
    for limit in [0, avatar_store::MAX_PAGE_SIZE + 1] {
        let q = AvatarQuery { limit: Some(limit), ..Default::default() };
        assert_eq!(s.list_avatars("u1", &q).unwrap_err().field(), Some("limit"));
    }
}

fn projects_with_avatars_newest_first_and_paged() {
    let s = store();
    let mut made = Vec::new();
    for i in 0..7 {
        let p = project(&s, "u1", &format!("p{i}"));
        let avatars =
            s.create_avatars("u1", &(0..i).map(|j| full_avatar(p.id, &format!("a{j}"))).collect::<Vec<_>>()).unwrap();
        made.push((p, avatars));
    }
    let mut seen = Vec::new();
    let mut q = ProjectQuery { limit: Some(3), cursor: None };
    loop {
        let page = s.list_projects_with_avatars("u1", &q).unwrap();
        seen.extend(page.items);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    made.reverse();
    assert_eq!(seen.len(), 7);
    for (got, (p, avatars)) in seen.iter().zip(&made) {
        assert_eq!(&got.project, p);
        assert_eq!(&got.avatars, avatars);
    }
    let json = serde_json::to_value(&seen[0]).unwrap();
    assert!(json["avatars"].is_array() && json["name"] == "p6", "{json}");
    assert_eq!(s.get_project("u1", &Uuid::now_v7()).unwrap_err().code(), "NOT_FOUND");
}

fn export_then_import_is_idempotent_and_guards_owners() {
    let s = store();
    let p = project(&s, "u1", "P");
    let a = s.create_avatar("u1", &full_avatar(p.id, "A")).unwrap();
    s.record_usage("u1", &a.id).unwrap();
    let mut records = Vec::new();
    s.export("u1", |r| {
        records.push(r);
        Ok(())
    })
    .unwrap();
    assert_eq!(records.len(), 2);
    let t = store();
    for _ in 0..2 {
        t.import("u1", |im| records.iter().try_for_each(|r| im.record(r))).unwrap();
    }
    assert_eq!(t.count_all_users().unwrap(), (1, 1));
    assert_eq!(t.get_avatar("u1", &a.id).unwrap(), s.get_avatar("u1", &a.id).unwrap());
    // The same ids under another owner are refused, and nothing of the batch stays.
    let stolen: Vec<_> = records
        .iter()
        .map(|r| match r.clone() {
            avatar_store::Record::Project(mut p) => {
                p.user_id = "u2".into();
                avatar_store::Record::Project(p)
            }
            avatar_store::Record::Avatar(mut a) => {
                a.user_id = "u2".into();
                avatar_store::Record::Avatar(a)
            }
        })
        .collect();
    let err = t.import("u2", |im| stolen.iter().try_for_each(|r| im.record(r))).unwrap_err();
    assert_eq!(err.code(), "CONFLICT");
    assert_eq!(t.count("u2").unwrap(), (0, 0));
}
}

#[test]
fn a_row_failing_inside_a_multi_row_insert_undoes_the_whole_batch() {
    // The owner check comes before SQLite sees a chunk; a failure inside the
    // statement itself (here a trigger stands for any constraint) must still
    // undo the earlier chunks and the rows before it in its own chunk.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.db");
    let s = Store::open(&path).unwrap();
    let p = project(&s, "u1", "P");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER no_boom BEFORE INSERT ON avatars WHEN NEW.name = 'boom' \
             BEGIN SELECT RAISE(ABORT, 'boom refused'); END",
        )
        .unwrap();
    for at in [0, 21, 31, 35] {
        let mut input: Vec<_> = (0..36).map(|i| full_avatar(p.id, &format!("a{i}"))).collect();
        input[at].name = "boom".into();
        let err = s.create_avatars("u1", &input).unwrap_err();
        assert!(err.to_string().contains("boom refused"), "{err}");
        assert_eq!(s.count("u1").unwrap(), (1, 0), "item {at}");
    }
    // The store goes on writing after the rolled-back batches.
    let input: Vec<_> = (0..36).map(|i| full_avatar(p.id, &format!("a{i}"))).collect();
    assert_eq!(s.create_avatars("u1", &input).unwrap().len(), 36);
    assert_eq!(s.count("u1").unwrap(), (1, 36));
}

#[test]
fn the_write_ahead_log_stays_bounded_and_goes_on_close() {
    // Checkpoints run off the write path (src/checkpoint.rs); the log must
    // still start over instead of growing with every write, and no write may
    // be lost on the way into the database file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.db");
    let wal = dir.path().join("busy.db-wal");
    let s = Store::open(&path).unwrap();
    let p = project(&s, "u1", "P");
    let mut ids = Vec::new();
    let mut largest = 0;
    for i in 0..4_000 {
        ids.push(s.create_avatar("u1", &full_avatar(p.id, &format!("A{i}"))).unwrap().id);
        if i % 500 == 0 {
            largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
        }
    }
    for id in ids.iter().step_by(3) {
        s.record_usage("u1", id).unwrap();
    }
    largest = largest.max(std::fs::metadata(&wal).unwrap().len());
    // Unchecked, 4 000 avatars and 1 334 usages write well over 100 MB of log.
    assert!(largest < 50_000_000, "the log grew to {largest} bytes");
    drop(s);
    // Guaranteed, not tidiness: dropping a store closes its checkpoint
    // connection and waits for every reader (even one r2d2's thread is still
    // opening) before the writer closes, so the writer is the last connection
    // and SQLite removes the log (store.rs, `impl Drop for Store`).
    assert!(!wal.exists(), "the last connection to close removes the log");
    let s = Store::open(&path).unwrap();
    assert_eq!(s.count("u1").unwrap(), (1, 4_000));
    let used = s.list_avatars(
        "u1",
        &AvatarQuery { sort: AvatarSort::UsageCount, order: SortOrder::Desc, limit: Some(1), ..Default::default() },
    );
    assert_eq!(used.unwrap().items[0].usage_count, 1);
}

crate::on_both_backends! {
    /// Every sort and order pages through the same sequence as one big page,
    /// with never-used avatars first by last use, and ties broken by id; the
    /// user's avatars are spread over projects created in turns (a user's
    /// listing reads each project's index and merges them), and another
    /// user's never show.
    fn every_sort_pages_like_one_big_page() {
        let s = store();
        let projects = [project(&s, "u1", "P1"), project(&s, "u1", "P2"), project(&s, "u1", "P3")];
        let theirs = project(&s, "u2", "Theirs");
        let ids: Vec<Uuid> = (0..7)
            .map(|i| {
                let new = NewAvatar { project_id: projects[i % 3].id, name: format!("a{i}"), ..Default::default() };
                let theirs = NewAvatar { project_id: theirs.id, name: format!("b{i}"), ..Default::default() };
                s.create_avatar("u2", &theirs).unwrap();
                s.create_avatar("u1", &new).unwrap().id
            })
            .collect();
        for (i, id) in ids.iter().enumerate().filter(|(i, _)| i % 2 == 1) {
            for _ in 0..(i % 3 + 1) {
                s.record_usage("u1", id).unwrap();
            }
        }
        for sort in AvatarSort::ALL {
            for order in [SortOrder::Asc, SortOrder::Desc] {
                let q = AvatarQuery { sort, order, limit: Some(1000), ..Default::default() };
                let all: Vec<Uuid> = s.list_avatars("u1", &q).unwrap().items.iter().map(|a| a.id).collect();
                assert_eq!(all.len(), 7);
                let mut paged = Vec::new();
                let mut cursor = None;
                loop {
                    let page = s.list_avatars("u1", &AvatarQuery { limit: Some(2), cursor, ..q.clone() }).unwrap();
                    paged.extend(page.items.iter().map(|a| a.id));
                    match page.next_cursor {
                        Some(c) => cursor = Some(c),
                        None => break,
                    }
                }
                assert_eq!(paged, all, "{sort} {order}");
                if (sort, order) == (AvatarSort::CreatedAt, SortOrder::Asc) {
                    assert_eq!(all, ids, "creation order across the projects");
                }
                if (sort, order) == (AvatarSort::LastUsedAt, SortOrder::Asc) {
                    let unused: Vec<Uuid> = ids.iter().step_by(2).copied().collect();
                    assert_eq!(all[..4], unused[..], "never-used avatars first, in id order");
                }
            }
        }
    }
}

crate::on_both_backends! {
    /// Writes run together give each the result it has alone, in order: a
    /// failing one is undone alone, and the others are all kept.
    fn writes_together_succeed_and_fail_one_by_one() {
        let s = store();
        let p = project(&s, "u1", "P");
        let gone = project(&s, "u1", "Gone");
        let theirs = project(&s, "u2", "Theirs");
        let a = s.create_avatar("u1", &full_avatar(p.id, "A")).unwrap();
        let in_gone = s.create_avatar("u1", &full_avatar(gone.id, "G")).unwrap();
        let bad_url = NewAvatar { image_url: Some("ftp://x".into()), ..full_avatar(p.id, "Bad") };
        let u1 = || "u1".to_string();
        let writes = [
            Write::RecordUsage { user_id: u1(), id: a.id },
            Write::CreateAvatar { user_id: u1(), avatar: full_avatar(p.id, "B") },
            Write::CreateAvatar { user_id: u1(), avatar: bad_url },
            Write::CreateAvatar { user_id: u1(), avatar: full_avatar(theirs.id, "Not mine") },
            Write::UpdateAvatar { user_id: u1(), id: a.id, patch: AvatarPatch { name: Some("A2".into()), ..Default::default() } },
            Write::RecordUsage { user_id: "u2".into(), id: a.id },
            Write::DeleteProject { user_id: u1(), id: gone.id },
            Write::CreateProject { user_id: u1(), project: NewProject { name: "New".into(), description: None } },
            Write::UpdateProject { user_id: u1(), id: p.id, patch: ProjectPatch { name: Some("P2".into()), description: None } },
            Write::DeleteAvatar { user_id: u1(), id: in_gone.id },
            Write::RecordUsage { user_id: u1(), id: a.id },
        ];
        let results = s.write_together(&writes);
        let codes: Vec<&str> = results.iter().map(|r| r.as_ref().map_or_else(|e| e.code(), |_| "ok")).collect();
        assert_eq!(
            codes,
            ["ok", "ok", "VALIDATION", "NOT_FOUND", "ok", "NOT_FOUND", "ok", "ok", "ok", "NOT_FOUND", "ok"],
            "the avatar in the deleted project went with it"
        );
        assert_eq!(results[2].as_ref().unwrap_err().field(), Some("imageUrl"));
        let Ok(Written::Avatar(used)) = &results[10] else { panic!("{:?}", results[10]) };
        assert_eq!((used.usage_count, used.name.as_str()), (2, "A2"), "later writes see earlier ones");
        assert_eq!(s.get_avatar("u1", &a.id).unwrap(), *used);
        let Ok(Written::Avatar(b)) = &results[1] else { panic!() };
        assert_eq!(s.get_avatar("u1", &b.id).unwrap(), *b);
        let Ok(Written::Project(new)) = &results[7] else { panic!() };
        assert_eq!(s.get_project("u1", &new.id).unwrap(), *new);
        assert_eq!(s.get_project("u1", &p.id).unwrap().name, "P2");
        assert_eq!(results[6].as_ref().unwrap(), &Written::Deleted);
        assert_eq!(s.get_project("u1", &gone.id).unwrap_err().code(), "NOT_FOUND");
        // P, New; A and B: nothing of the failed writes.
        assert_eq!(s.count("u1").unwrap(), (2, 2));
        assert_eq!(s.count("u2").unwrap(), (1, 0));
        // One write, and none, are what they are alone.
        let one = s.write_together(&writes[..1]);
        assert!(matches!(&one[..], [Ok(Written::Avatar(x))] if x.usage_count == 3));
        assert!(s.write_together(&[]).is_empty());
    }
}

/// A group that cannot begin (another connection holds the write lock past
/// the busy timeout) fails every write with that error, and writes nothing.
#[test]
fn writes_together_that_cannot_begin_all_fail_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let s =
        avatar_store::OpenOptions::default().busy_timeout(std::time::Duration::from_millis(50)).open(&path).unwrap();
    let p = project(&s, "u1", "P");
    let a = s.create_avatar("u1", &full_avatar(p.id, "A")).unwrap();
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let writes = [
        Write::RecordUsage { user_id: "u1".into(), id: a.id },
        Write::CreateAvatar { user_id: "u1".into(), avatar: full_avatar(p.id, "B") },
    ];
    let results = s.write_together(&writes);
    assert!(results.iter().all(|r| r.as_ref().is_err_and(|e| e.code() == "BUSY")), "{results:?}");
    other.execute_batch("ROLLBACK").unwrap();
    assert_eq!(s.count("u1").unwrap(), (1, 1));
    assert_eq!(s.get_avatar("u1", &a.id).unwrap().usage_count, 0);
    // Once the lock is gone, the same writes go through.
    assert!(s.write_together(&writes).iter().all(Result::is_ok));
    assert_eq!(s.get_avatar("u1", &a.id).unwrap().usage_count, 1);
}

/// Writes run together share one commit: ten usages of one avatar add its
/// page to the write-ahead log once, where ten commits add it ten times.
#[test]
fn writes_together_commit_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let s = Store::open(&path).unwrap();
    let p = project(&s, "u1", "P");
    let a = s.create_avatar("u1", &full_avatar(p.id, "A")).unwrap();
    let ten: Vec<Write> = (0..10).map(|_| Write::RecordUsage { user_id: "u1".into(), id: a.id }).collect();
    let wal = dir.path().join("c.db-wal");
    let frames_added = |f: &dyn Fn()| {
        let before = std::fs::metadata(&wal).unwrap().len();
        f();
        (std::fs::metadata(&wal).unwrap().len() - before) / (4096 + 24)
    };
    let alone = frames_added(&|| ten.iter().for_each(|w| drop(s.write(w).unwrap())));
    let together = frames_added(&|| assert!(s.write_together(&ten).iter().all(Result::is_ok)));
    assert_eq!(alone, 10, "one frame per commit");
    assert_eq!(together, 1, "one commit for the ten");
    assert_eq!(s.get_avatar("u1", &a.id).unwrap().usage_count, 20);
}
