//! Core's field table against the database the migrations build and against
//! the code generated from it: every field is a column with the table's
//! nullability and type, and goes through create, read, patch, filter and
//! validation under its own name.

use avatar_store::{
    AVATAR_FIELDS, AvatarPatch, AvatarQuery, Check, Create, FieldDescriptor, FieldKind, FieldRef, FieldValue,
    NewAvatar, NewProject, PROJECT_FIELDS, Patch, Store,
};

fn columns(conn: &rusqlite::Connection, table: &str) -> Vec<(String, String, bool)> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})")).unwrap();
    stmt.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, bool>(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// Each problem names the table, the column and what differs.
fn compare(table: &str, fields: &[FieldDescriptor], live: &[(String, String, bool)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (column, _, _) in live {
        if !fields.iter().any(|f| f.column == column) {
            problems.push(format!("{table}.{column} is a column of the migrated schema but not in the field table"));
        }
    }
    for f in fields {
        let Some((_, decl, not_null)) = live.iter().find(|(c, _, _)| c == f.column) else {
            problems.push(format!("{table}.{}: in the field table, but no migration creates the column", f.column));
            continue;
        };
        let want = match f.kind {
            FieldKind::Integer | FieldKind::BigInteger => "INTEGER",
            FieldKind::Id | FieldKind::Text | FieldKind::Timestamp => "TEXT",
        };
        if decl.to_uppercase() != want {
            problems.push(format!("{table}.{}: declared {decl}, the field table's kind is {:?}", f.column, f.kind));
        }
        // A NOT NULL id is the primary key, whose NOT NULL SQLite does not report.
        if f.nullable == *not_null && !(f.kind == FieldKind::Id && f.column == "id") {
            problems.push(format!(
                "{table}.{}: the field table says nullable = {}, the column is {}",
                f.column,
                f.nullable,
                if *not_null { "NOT NULL" } else { "nullable" }
            ));
        }
    }
    problems
}

#[test]
fn every_field_is_a_column_of_the_migrated_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    drop(Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut problems = compare("avatars", AVATAR_FIELDS, &columns(&conn, "avatars"));
    problems.extend(compare("projects", PROJECT_FIELDS, &columns(&conn, "projects")));
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The comparison names a column the table lacks, and one the schema lacks.
    let mut scratch = AVATAR_FIELDS.to_vec();
    scratch.retain(|f| f.column != "style");
    scratch.push(FieldDescriptor { column: "moodColor", json_name: "moodColor", ..scratch[4] });
    let problems = compare("avatars", &scratch, &columns(&conn, "avatars"));
    assert_eq!(
        problems,
        [
            "avatars.style is a column of the migrated schema but not in the field table",
            "avatars.moodColor: in the field table, but no migration creates the column",
        ]
    );
}

/// A valid value of a settable field, by its kind and rule.
fn sample(f: &FieldDescriptor) -> FieldValue {
    match (f.kind, f.check) {
        (FieldKind::Integer | FieldKind::BigInteger, _) => FieldValue::Integer(Some(7)),
        (_, Check::Url) => FieldValue::Text(Some("https://cdn.example.com/a.png".into())),
        (_, Check::OneOf(values)) => FieldValue::Text(Some(values[0].into())),
        _ => FieldValue::Text(Some(format!("{} value", f.json_name))),
    }
}

fn text(v: FieldRef<'_>) -> Option<String> {
    match v {
        FieldRef::Text(t) => t.map(str::to_owned),
        FieldRef::Integer(n) => n.map(|n| n.to_string()),
        FieldRef::Id(id) => Some(id.to_string()),
        FieldRef::Timestamp(t) => t.map(|t| t.to_string()),
    }
}

fn value_text(v: &FieldValue) -> Option<String> {
    match v {
        FieldValue::Text(t) => t.clone(),
        FieldValue::Integer(n) => n.map(|n| n.to_string()),
        FieldValue::Id(id) => Some(id.to_string()),
    }
}

#[test]
fn every_field_goes_through_create_read_filter_and_patch() {
    let store = Store::open_in_memory().unwrap();
    let p = store.create_project("u", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
    let mut new = NewAvatar::default();
    let mut given = Vec::new();
    for f in AVATAR_FIELDS.iter().filter(|f| f.settable_on_create()) {
        let v = if f.kind == FieldKind::Id { FieldValue::Id(p.id) } else { sample(f) };
        new.set(f.json_name, v.clone()).unwrap();
        given.push((f, v));
    }
    let created = store.create_avatar("u", &new).unwrap();
    let read = store.get_avatar("u", &created.id).unwrap();
    assert_eq!(read, created);
    let values = read.values();
    for (f, v) in &given {
        let i = AVATAR_FIELDS.iter().position(|d| d.json_name == f.json_name).unwrap();
        assert_eq!(text(values[i]), value_text(v), "{}", f.json_name);
    }
    // Serde writes the same names, in the same order.
    let json = serde_json::to_string(&read).unwrap();
    let positions: Vec<usize> =
        AVATAR_FIELDS.iter().map(|f| json.find(&format!("\"{}\":", f.json_name)).expect(f.json_name)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{json}");

    for f in AVATAR_FIELDS.iter().filter(|f| f.filterable) {
        let mut q = AvatarQuery::default();
        assert!(
            q.set_filter(f.json_name, value_text(&given.iter().find(|(g, _)| g.json_name == f.json_name).unwrap().1))
        );
        assert_eq!(store.list_avatars("u", &q).unwrap().items, std::slice::from_ref(&read), "{}", f.json_name);
        q.set_filter(f.json_name, Some("no such value".into()));
        assert!(store.list_avatars("u", &q).unwrap().items.is_empty(), "{}", f.json_name);
    }
    assert!(!AvatarQuery::default().set_filter("name", Some("x".into())), "name is not an exact-match filter");

    let mut patch = AvatarPatch::default();
    for f in AVATAR_FIELDS.iter().filter(|f| f.patchable()) {
        let v = match f.patch {
            Patch::Clear if f.kind == FieldKind::Text => FieldValue::Text(None),
            Patch::Clear => FieldValue::Integer(None),
            _ => FieldValue::Text(Some("Renamed".into())),
        };
        patch.set(f.json_name, v).unwrap();
    }
    let patched = store.update_avatar("u", &created.id, &patch).unwrap();
    for (i, f) in AVATAR_FIELDS.iter().enumerate() {
        let v = text(patched.values()[i]);
        match f.patch {
            Patch::Clear => assert_eq!(v, None, "{}", f.json_name),
            Patch::Set => assert_eq!(v.as_deref(), Some("Renamed"), "{}", f.json_name),
            Patch::No if f.json_name != "updatedAt" => {
                assert_eq!(v, text(created.values()[i]), "{}", f.json_name)
            }
            Patch::No => {}
        }
    }
    // Fields the caller does not own are refused by name.
    for f in AVATAR_FIELDS.iter().filter(|f| !f.settable_on_create()) {
        let err = NewAvatar::default().set(f.json_name, FieldValue::Text(None)).unwrap_err();
        assert_eq!(err.field(), Some(f.json_name));
    }
    for f in AVATAR_FIELDS.iter().filter(|f| !f.patchable()) {
        let err = AvatarPatch::default().set(f.json_name, FieldValue::Text(None)).unwrap_err();
        assert_eq!(err.field(), Some(f.json_name));
    }
}

#[test]
fn every_length_rule_names_its_field() {
    let store = Store::open_in_memory().unwrap();
    let p = store.create_project("u", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
    for f in AVATAR_FIELDS.iter().filter(|f| f.settable_on_create()) {
        let max = match f.check {
            Check::Text(max) => max,
            Check::Name => avatar_store::MAX_NAME_LEN,
            Check::Url => avatar_store::MAX_URL_LEN,
            _ => continue,
        };
        let mut new = NewAvatar { project_id: p.id, name: "A".into(), ..Default::default() };
        new.set(f.json_name, FieldValue::Text(Some(format!("https://x/{}", "é".repeat(max))))).unwrap();
        let err = store.create_avatar("u", &new).unwrap_err();
        assert_eq!((err.code(), err.field()), ("VALIDATION", Some(f.json_name)), "{err}");
        assert!(err.to_string().contains(&format!("longer than {max} characters")), "{err}");
    }
    assert_eq!(store.list_avatars("u", &AvatarQuery::default()).unwrap().items, []);
    assert!(AVATAR_FIELDS.iter().all(|f| f.create != Create::Required || !f.nullable));
}
