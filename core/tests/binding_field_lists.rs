//! The bindings' hand-written field lists (Python stubs and typed dicts, the
//! Node declarations and `store.js`) against core's field table.
//!
//! Every list the bindings derive from the table in Rust (their key lists,
//! the wire order, the Python getters) needs no check; these are the lists a
//! type checker or JavaScript reads, which only text can carry. A difference
//! names the file, the list and each missing, extra or misplaced field.

use std::path::PathBuf;

use avatar_store::{AVATAR_FIELDS, Create, FieldDescriptor, FieldKind, PROJECT_FIELDS};

fn read(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of `text` after the first line starting with `start`, up to the
/// first line (after it) starting with `end`.
fn block<'a>(text: &'a str, start: &str, end: &str) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with(start));
    assert!(lines.next().is_some(), "no line starting with {start:?}");
    lines.take_while(|l| !l.starts_with(end)).collect()
}

/// `(name, type)` of each `    @property\n    def name(self) -> type: ...` of a class in a `.pyi`.
fn pyi_properties(pyi: &str, class: &str) -> Vec<(String, String)> {
    let lines = block(pyi, &format!("class {class}"), "class ");
    let mut out = Vec::new();
    for pair in lines.windows(2) {
        if pair[0].trim() == "@property" {
            let def = pair[1].trim().strip_prefix("def ").expect("a def after @property");
            let (name, rest) = def.split_once("(self) -> ").expect("a getter");
            out.push((name.to_owned(), rest.trim_end_matches(": ...").to_owned()));
        }
    }
    out
}

/// `(name, type)` of each `    name: type` line of a class body in a `.py`.
fn py_class_fields(py: &str, class: &str) -> Vec<(String, String)> {
    block(py, &format!("class {class}"), "class ")
        .into_iter()
        .filter_map(|l| l.strip_prefix("    ")?.split_once(": "))
        .filter(|(name, _)| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(|(n, t)| (n.to_owned(), t.to_owned()))
        .collect()
}

/// `(name, optional, type)` of each property of a TypeScript interface.
fn ts_interface(dts: &str, name: &str) -> Vec<(String, bool, String)> {
    block(dts, &format!("export interface {name} {{"), "}")
        .into_iter()
        .filter_map(|l| l.strip_prefix("  ")?.split_once(": "))
        .filter(|(n, _)| !n.starts_with('/') && !n.starts_with('*'))
        .map(|(n, t)| match n.strip_suffix('?') {
            Some(n) => (n.to_owned(), true, t.to_owned()),
            None => (n.to_owned(), false, t.to_owned()),
        })
        .collect()
}

/// Compares a list with core's, naming each missing, extra or misplaced field.
fn compare(problems: &mut Vec<String>, what: &str, expected: &[&str], found: &[&str]) {
    let missing: Vec<&str> = expected.iter().filter(|f| !found.contains(f)).copied().collect();
    let extra: Vec<&str> = found.iter().filter(|f| !expected.contains(f)).copied().collect();
    if !missing.is_empty() {
        problems.push(format!("{what} lacks {}, which core's field table has", missing.join(", ")));
    }
    if !extra.is_empty() {
        problems.push(format!("{what} has {}, which core's field table does not", extra.join(", ")));
    }
    if missing.is_empty() && extra.is_empty() && expected != found {
        let at = expected.iter().zip(found).position(|(e, f)| e != f).unwrap_or(0);
        problems.push(format!(
            "{what} lists {} where core's table has {} (fields in table order: {})",
            found[at],
            expected[at],
            expected.join(", ")
        ));
    }
}

fn as_str(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn python_type(f: &FieldDescriptor) -> String {
    let t = match f.kind {
        FieldKind::Id | FieldKind::Text => "str",
        FieldKind::Integer | FieldKind::BigInteger => "int",
        FieldKind::Timestamp => "datetime",
    };
    if f.nullable { format!("Optional[{t}]") } else { t.to_owned() }
}

fn ts_type(f: &FieldDescriptor) -> String {
    let t = match f.kind {
        FieldKind::Id | FieldKind::Text => "string",
        FieldKind::Integer => "number",
        FieldKind::BigInteger => "number | bigint",
        FieldKind::Timestamp => "Date",
    };
    if f.nullable { format!("{t} | null") } else { t.to_owned() }
}

fn compare_types(problems: &mut Vec<String>, what: &str, expected: &[(&str, String)], found: &[(String, String)]) {
    for (name, want) in expected {
        if let Some((_, got)) = found.iter().find(|(n, _)| n == name) {
            if got.split(" /*").next() != Some(want.as_str()) {
                problems.push(format!("{what}: {name} is declared {got}, core's table makes it {want}"));
            }
        }
    }
}

/// Every difference between the bindings' hand-written lists and the tables.
fn check_bindings(avatar: &[FieldDescriptor], project: &[FieldDescriptor]) -> Vec<String> {
    let mut problems = Vec::new();
    let py = |fields: &[FieldDescriptor], keep: fn(&FieldDescriptor) -> bool| -> Vec<&'static str> {
        fields.iter().filter(|f| keep(f)).map(|f| f.python_name).collect()
    };
    let js = |fields: &[FieldDescriptor], keep: fn(&FieldDescriptor) -> bool| -> Vec<&'static str> {
        fields.iter().filter(|f| keep(f)).map(|f| f.json_name).collect()
    };
    let all = |_: &FieldDescriptor| true;
    let created = |f: &FieldDescriptor| f.settable_on_create();
    let required = |f: &FieldDescriptor| f.create == Create::Required;
    let optional = |f: &FieldDescriptor| f.create == Create::Optional;
    let patchable = |f: &FieldDescriptor| f.patchable();
    let filterable = |f: &FieldDescriptor| f.filterable;

    // Python: the stubs of the record classes and the typed dicts.
    let pyi = read("bindings-python/python/avatar_store/__init__.pyi");
    for (class, fields) in [("Project", project), ("Avatar", avatar)] {
        let what = format!("__init__.pyi class {class}");
        let found = pyi_properties(&pyi, class);
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        compare(&mut problems, &what, &py(fields, all), &names);
        let types: Vec<(&str, String)> = fields.iter().map(|f| (f.python_name, python_type(f))).collect();
        compare_types(&mut problems, &what, &types, &found);
    }
    let list_avatars: Vec<&str> = block(&pyi, "    def list_avatars(", "    ) -> ")
        .into_iter()
        .filter_map(|l| l.trim().split_once(": Optional[str] = None"))
        .map(|(name, _)| name)
        .filter(|name| *name != "name_contains" && *name != "cursor")
        .collect();
    compare(&mut problems, "__init__.pyi Store.list_avatars filters", &py(avatar, filterable), &list_avatars);

    let types_py = read("bindings-python/python/avatar_store/_types.py");
    let names = |fields: Vec<(String, String)>| fields.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    let req = names(py_class_fields(&types_py, "_AvatarRequired"));
    let opt = names(py_class_fields(&types_py, "AvatarFields"));
    compare(&mut problems, "_types.py _AvatarRequired", &py(avatar, required), &as_str(&req));
    compare(&mut problems, "_types.py AvatarFields", &py(avatar, optional), &as_str(&opt));
    let changes = names(py_class_fields(&types_py, "AvatarChanges"));
    compare(&mut problems, "_types.py AvatarChanges", &py(avatar, patchable), &as_str(&changes));
    let changes = names(py_class_fields(&types_py, "ProjectChanges"));
    compare(&mut problems, "_types.py ProjectChanges", &py(project, patchable), &as_str(&changes));

    // Node: the declarations in the header of binding.d.ts.
    let dts = read("bindings-node/src/dts-header.d.ts");
    for (interface, fields) in [("Project", project), ("Avatar", avatar)] {
        let what = format!("dts-header.d.ts interface {interface}");
        let found = ts_interface(&dts, interface);
        let names: Vec<&str> = found.iter().map(|(n, _, _)| n.as_str()).collect();
        compare(&mut problems, &what, &js(fields, all), &names);
        let types: Vec<(&str, String)> = fields.iter().map(|f| (f.json_name, ts_type(f))).collect();
        let found: Vec<(String, String)> = found.into_iter().map(|(n, _, t)| (n, t)).collect();
        compare_types(&mut problems, &what, &types, &found);
    }
    for (interface, fields, keep) in [
        ("NewAvatar", avatar, created as fn(&FieldDescriptor) -> bool),
        ("NewProject", project, created),
        ("ProjectPatch", project, patchable),
    ] {
        let what = format!("dts-header.d.ts interface {interface}");
        let found = ts_interface(&dts, interface);
        let names: Vec<&str> = found.iter().map(|(n, _, _)| n.as_str()).collect();
        compare(&mut problems, &what, &js(fields, keep), &names);
        let patch = interface.ends_with("Patch");
        for (name, optional, _) in &found {
            if let Some(f) = fields.iter().find(|f| f.json_name == name) {
                let want_optional = patch || f.create != Create::Required;
                if *optional != want_optional {
                    problems.push(format!(
                        "{what}: {name} is {}, core's table makes it {}",
                        if *optional { "optional" } else { "required" },
                        if want_optional { "optional" } else { "required" }
                    ));
                }
            }
        }
    }
    let query: Vec<(String, bool, String)> = ts_interface(&dts, "AvatarQuery");
    let filters: Vec<&str> = query
        .iter()
        .map(|(n, _, _)| n.as_str())
        .filter(|n| !["projectId", "nameContains", "sort", "order", "limit", "cursor"].contains(n))
        .collect();
    compare(&mut problems, "dts-header.d.ts interface AvatarQuery filters", &js(avatar, filterable), &filters);
    // AvatarPatch is NewAvatar without the fields a patch cannot change.
    let fixed: Vec<String> = avatar
        .iter()
        .filter(|f| f.settable_on_create() && !f.patchable())
        .map(|f| format!("'{}'", f.json_name))
        .collect();
    let patch_type = format!("Omit<NewAvatar, {} | 'name'>", fixed.join(" | "));
    if !dts.contains(&patch_type) {
        problems.push(format!("dts-header.d.ts type AvatarPatch is not Partial<{patch_type}> & {{ name?: string }}"));
    }

    // Node: store.js reads each record from the binding's wire form, field
    // by field in table order, with the reader of the field's kind.
    let codec = read("bindings-node/store.js");
    for (what, decoder, fields) in
        [("store.js avatar()", "function avatar(w)", avatar), ("store.js project()", "function project(w)", project)]
    {
        let mut built = Vec::new();
        for line in block(&codec, decoder, "}") {
            let Some((key, value)) = line.trim().trim_end_matches(',').split_once(": ") else { continue };
            if let Some(f) = fields.iter().find(|f| f.json_name == key) {
                let want = match f.kind {
                    FieldKind::Id | FieldKind::Text => "text()",
                    FieldKind::Integer => "int()",
                    FieldKind::BigInteger => "bigint()",
                    FieldKind::Timestamp => "time()",
                };
                if value != want {
                    problems.push(format!("{what}: {key} reads {value}, core's table makes it {want}"));
                }
            }
            built.push(key);
        }
        compare(&mut problems, what, &js(fields, all), &built);
    }
    problems
}

#[test]
fn binding_lists_match_the_field_table() {
    let problems = check_bindings(AVATAR_FIELDS, PROJECT_FIELDS);
    assert!(problems.is_empty(), "the bindings disagree with core's field table:\n  {}", problems.join("\n  "));
}

/// A field added to (a scratch copy of) the table is named by every list
/// that lacks it: what a new column shows before the bindings follow.
#[test]
fn a_field_missing_from_the_bindings_is_named() {
    let mut avatar = AVATAR_FIELDS.to_vec();
    let template = *avatar.iter().find(|f| f.json_name == "hairColor").unwrap();
    avatar.push(FieldDescriptor {
        rust_name: "mood_color",
        python_name: "mood_color",
        json_name: "moodColor",
        column: "moodColor",
        ..template
    });
    let problems = check_bindings(&avatar, PROJECT_FIELDS);
    for list in [
        "__init__.pyi class Avatar lacks mood_color",
        "__init__.pyi Store.list_avatars filters lacks mood_color",
        "_types.py AvatarFields lacks mood_color",
        "_types.py AvatarChanges lacks mood_color",
        "dts-header.d.ts interface Avatar lacks moodColor",
        "dts-header.d.ts interface NewAvatar lacks moodColor",
        "dts-header.d.ts interface AvatarQuery filters lacks moodColor",
        "store.js avatar() lacks moodColor",
    ] {
        assert!(problems.iter().any(|p| p.starts_with(list)), "no {list:?} among:\n  {}", problems.join("\n  "));
    }
    // The other lists still agree: only the new field is reported.
    assert!(problems.iter().all(|p| p.contains("mood_color") || p.contains("moodColor")), "{problems:#?}");
}

/// A field dropped from a scratch copy of the table shows up as extra, and a
/// changed nullability as a wrong declared type.
#[test]
fn extra_and_mistyped_fields_are_named() {
    let avatar: Vec<FieldDescriptor> = AVATAR_FIELDS
        .iter()
        .filter(|f| f.json_name != "style")
        .map(|f| if f.json_name == "personaAge" { FieldDescriptor { nullable: false, ..*f } } else { *f })
        .collect();
    let problems = check_bindings(&avatar, PROJECT_FIELDS);
    assert!(problems.iter().any(|p| p.starts_with("dts-header.d.ts interface Avatar has style")), "{problems:#?}");
    assert!(problems.iter().any(|p| p.starts_with("__init__.pyi class Avatar has style")), "{problems:#?}");
    assert!(
        problems.iter().any(|p| p == "__init__.pyi class Avatar: persona_age is declared Optional[int], core's table makes it int"),
        "{problems:#?}"
    );
}
