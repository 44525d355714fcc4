"""Every exception class, and bad input of every kind: each is refused with a
clear error and nothing is written."""

from __future__ import annotations

import pickle
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

import avatar_store
from avatar_store import Store
from conftest import USER, LockHolder, full_avatar_fields, snapshot, type_error_names

CODES = {
    avatar_store.NotFoundError: "NOT_FOUND",
    avatar_store.ValidationError: "VALIDATION",
    avatar_store.ConflictError: "CONFLICT",
    avatar_store.SchemaDriftError: "SCHEMA_DRIFT",
    avatar_store.MigrationError: "MIGRATION",
    avatar_store.NewerSchemaError: "NEWER_SCHEMA",
    avatar_store.BusyError: "BUSY",
    avatar_store.StoreIOError: "IO",
    avatar_store.InternalError: "INTERNAL",
}


def test_hierarchy_and_codes() -> None:
    for cls, code in CODES.items():
        assert issubclass(cls, avatar_store.AvatarStoreError) and issubclass(cls, Exception)
        assert cls.code == code
    assert issubclass(avatar_store.ValidationError, ValueError)
    assert issubclass(avatar_store.NotFoundError, LookupError)


def test_not_found(store: Store) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(avatar_store.NotFoundError) as e:
        store.get_project(USER, missing)
    assert e.value.code == "NOT_FOUND" and e.value.entity == "project" and e.value.id == missing
    assert missing in str(e.value)
    with pytest.raises(avatar_store.NotFoundError):
        store.create_avatar(USER, project_id=missing, name="orphan")
    assert store.count_all_users() == (0, 0)


def test_conflict_on_taking_over_another_users_id(store: Store, project: avatar_store.Project) -> None:
    record = {k: v for k, v in project.to_dict().items()}
    record.update(type="project", userId="thief")
    with pytest.raises(avatar_store.ConflictError) as e:
        store.import_records("thief", [record])
    assert e.value.code == "CONFLICT"
    assert store.get_project(USER, project.id).user_id == USER


def test_busy_when_another_process_holds_the_write_lock(db_path: Path) -> None:
    with Store(db_path, busy_timeout=0.05) as store:
        with LockHolder(db_path):
            with pytest.raises(avatar_store.BusyError) as e:
                store.create_project(USER, name="waits")
            assert e.value.code == "BUSY"
        store.create_project(USER, name="fine now")


def test_io_error_on_unopenable_path(tmp_path: Path) -> None:
    with pytest.raises(avatar_store.StoreIOError) as e:
        Store(tmp_path / "no" / "such" / "dir" / "x.db")
    assert e.value.code == "IO" and "x.db" in e.value.path
    with pytest.raises(avatar_store.StoreIOError):
        avatar_store.inspect(tmp_path / "absent.db")
    not_a_db = tmp_path / "text.db"
    not_a_db.write_text("this is not a database, just text " * 100)
    with pytest.raises(avatar_store.StoreIOError):
        Store(not_a_db)


def test_internal_error_on_a_corrupted_row(db_path: Path) -> None:
    with Store(db_path) as store:
        project = store.create_project(USER, name="P")
        a = store.create_avatar(USER, project_id=project.id, name="Nova")
    con = sqlite3.connect(db_path)
    con.execute("UPDATE avatars SET createdAt = 'yesterday' WHERE id = ?", (a.id,))
    con.commit()
    con.close()
    with Store(db_path) as store, pytest.raises(avatar_store.InternalError) as e:
        store.get_avatar(USER, a.id)
    assert e.value.code == "INTERNAL" and "timestamp" in e.value.detail
    # str() is for end users: what failed, without SQLite's words.
    assert str(e.value) == "internal error in avatar-store"


def test_rust_panic_in_a_store_call_is_an_internal_error() -> None:
    with pytest.raises(avatar_store.InternalError) as e:
        avatar_store._avatar_store._panic_in_core_call()  # type: ignore[attr-defined]
    assert "panic" in e.value.detail and "panic" not in str(e.value)
    # The interpreter and the module carry on.
    assert Store.in_memory().count_all_users() == (0, 0)


def test_rust_panic_elsewhere_is_catchable_and_the_interpreter_survives() -> None:
    with pytest.raises(BaseException) as e:
        avatar_store._avatar_store._panic_outside_core_call()  # type: ignore[attr-defined]
    assert type(e.value).__name__ == "PanicException"
    assert Store.in_memory().count_all_users() == (0, 0)


def test_exceptions_pickle_and_keep_their_message(store: Store) -> None:
    with pytest.raises(avatar_store.ValidationError) as e:
        store.create_project(USER, name=" ")
    copy = pickle.loads(pickle.dumps(e.value))
    assert str(copy) == str(e.value) and copy.code == "VALIDATION"
    report = store.check_schema()
    again = pickle.loads(pickle.dumps(report))
    assert again == report and again.ok and str(again) == str(report)


# ------------------------------------------------------------- bad input

AVATAR_FIELD_CASES = [
    # (keyword, bad value, field named in the ValidationError)
    ("name", "   ", "name"),
    ("name", "x" * 201, "name"),
    ("name", "a\0b", "name"),
    ("image_url", "javascript:alert(1)", "imageUrl"),
    ("image_url", "https://x/" + "a" * 3000, "imageUrl"),
    ("thumbnail_url", "https://a b", "thumbnailUrl"),
    ("persona_name", "n\0", "personaName"),
    ("persona_age", 151, "personaAge"),
    ("persona_age", -1, "personaAge"),
    ("persona_age", 10**30, "personaAge"),
    ("persona_personality", "p" * 5001, "personaPersonality"),
    ("persona_background", "\0", "personaBackground"),
    ("gender", "g" * 101, "gender"),
    ("hair_color", "x" * 1_000_000, "hairColor"),
    ("style", "s\0", "style"),
    ("source_type", "stolen", "sourceType"),
    ("generation_prompt", "p" * 4001, "generationPrompt"),
    ("seed_used", 2**64, "seedUsed"),
    ("project_id", "not-a-uuid", "projectId"),
    ("project_id", "", "projectId"),
]


@pytest.mark.parametrize("key,value,field", AVATAR_FIELD_CASES)
def test_invalid_avatar_values_name_the_field_and_write_nothing(
    store: Store, project: avatar_store.Project, db_path: Path, key: str, value: Any, field: str
) -> None:
    before = snapshot(store)
    fields: Dict[str, Any] = full_avatar_fields(project.id)
    fields[key] = value
    with pytest.raises(avatar_store.ValidationError) as e:
        store.create_avatar(USER, **fields)
    assert e.value.field == field, e.value
    assert e.value.code == "VALIDATION"
    # The same value in a batch, after a valid item: all or none.
    with pytest.raises(avatar_store.ValidationError) as e:
        store.create_avatars(USER, [full_avatar_fields(project.id), fields])
    assert e.value.field == field
    assert snapshot(store) == before


@pytest.mark.parametrize("key,value,field", [c for c in AVATAR_FIELD_CASES if c[0] != "project_id"])
def test_invalid_updates_change_nothing(
    store: Store, project: avatar_store.Project, key: str, value: Any, field: str
) -> None:
    a = store.create_avatar(USER, **full_avatar_fields(project.id))
    with pytest.raises(avatar_store.ValidationError) as e:
        store.update_avatar(USER, a.id, **{key: value})
    assert e.value.field == field
    assert store.get_avatar(USER, a.id) == a


@pytest.mark.parametrize(
    "call",
    [
        lambda s, p: s.create_project("", name="x"),
        lambda s, p: s.create_project("u" * 256, name="x"),
        lambda s, p: s.create_project("u\0", name="x"),
        lambda s, p: s.create_project(USER, name=""),
        lambda s, p: s.create_project(USER, name="n\0"),
        lambda s, p: s.create_project(USER, name="ok", description="d" * 2001),
        lambda s, p: s.update_project(USER, p.id, name="  "),
        lambda s, p: s.list_avatars(USER, limit=0),
        lambda s, p: s.list_avatars(USER, limit=10**12),
        lambda s, p: s.list_avatars(USER, limit=-5),
        lambda s, p: s.list_avatars(USER, cursor="garbage"),
        lambda s, p: s.list_avatars(USER, sort="name"),  # type: ignore[arg-type]
        lambda s, p: s.list_avatars(USER, order="up"),  # type: ignore[arg-type]
        lambda s, p: s.list_avatars(USER, project_id="zzz"),
        lambda s, p: s.list_projects(USER, limit=1001),
        lambda s, p: s.list_projects(USER, cursor="!!"),
        lambda s, p: s.get_avatar(USER, "0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6"),
        lambda s, p: s.get_project(USER, "\0"),
        lambda s, p: s.import_records(USER, [{"type": "spaceship"}]),
    ],
)
def test_invalid_arguments_are_validation_errors(
    store: Store, project: avatar_store.Project, db_path: Path, call: Callable[..., Any]
) -> None:
    before = snapshot(store)
    with pytest.raises(avatar_store.ValidationError) as e:
        call(store, project)
    assert e.value.field
    assert snapshot(store) == before


@pytest.mark.parametrize(
    "call,argument",
    [
        (lambda s, p: s.create_project(42, name="x"), "user_id"),
        (lambda s, p: s.create_project(USER, name=b"bytes"), "name"),
        (lambda s, p: s.create_project(USER, name=None), "name"),
        (lambda s, p: s.create_project(USER), "name"),
        (lambda s, p: s.get_project(USER, 123), "project_id"),
        (lambda s, p: s.get_avatar(USER, ["not", "an", "id"]), "avatar_id"),
        (lambda s, p: s.create_avatar(USER, project_id=p.id, name="x", persona_age="29"), "persona_age"),
        (lambda s, p: s.create_avatar(USER, project_id=p.id, name="x", persona_age=29.5), "persona_age"),
        (lambda s, p: s.create_avatar(USER, project_id=p.id, name="x", persona_age=True), "persona_age"),
        (lambda s, p: s.create_avatar(USER, project_id=p.id, name="x", hair_color=7), "hair_color"),
        (lambda s, p: s.create_avatar(USER, project_id=p.id, name=None), "name"),
        (lambda s, p: s.create_avatar(USER, project_id=1234, name="x"), "project_id"),
        (lambda s, p: s.create_avatar(USER, project_id=p.id, name="x", favourite_food="x"), "favourite_food"),
        (lambda s, p: s.create_avatar(USER, name="x"), "project_id"),
        (lambda s, p: s.create_avatar(USER, project_id=p.id), "name"),
        (lambda s, p: s.create_avatars(USER, {"project_id": p.id, "name": "x"}), "avatars"),
        (lambda s, p: s.create_avatars(USER, 5), "avatars"),
        (lambda s, p: s.create_avatars(USER, [{"project_id": p.id, "name": "a"}, "oops"]), "avatars[1]"),
        (lambda s, p: s.create_avatars(USER, [{"project_id": p.id, "name": 5}]), "avatars[0]['name']"),
        (lambda s, p: s.create_avatars(USER, [{"project_id": p.id, "name": "a", 1: 2}]), "avatars[0]"),
        (lambda s, p: s.update_avatar(USER, p.id, name=None), "name"),
        (lambda s, p: s.update_avatar(USER, p.id, usage_count=5), "usage_count"),
        (lambda s, p: s.update_project(USER, p.id, description=3), "description"),
        (lambda s, p: s.update_project(USER, p.id, owner="x"), "owner"),
        (lambda s, p: s.list_avatars(USER, limit="10"), "limit"),
        (lambda s, p: s.list_avatars(USER, hair_color=1), "hair_color"),
        (lambda s, p: s.list_avatars(USER, project_id=1.5), "project_id"),
        (lambda s, p: s.import_records(USER, [{"type": "project", "x": object()}]), "records[0]"),
        (lambda s, p: s.import_records(USER, 7), "records"),
        (lambda s, p: s.backup(42), "dest"),
        (lambda s, p: Store(None), "path"),
        (lambda s, p: Store(":memory:", busy_timeout="1s"), "busy_timeout"),
    ],
)
def test_wrong_python_types_are_type_errors_naming_the_argument(
    store: Store, project: avatar_store.Project, db_path: Path, call: Callable[..., Any], argument: str
) -> None:
    before = snapshot(store)
    with pytest.raises(TypeError) as e:
        call(store, project)
    assert type_error_names(e.value, argument), (str(e.value), getattr(e.value, "__notes__", None))
    assert snapshot(store) == before


@pytest.mark.parametrize(
    "call,field",
    [
        (lambda s, p: s.create_project(USER, name="\ud800"), "name"),
        (lambda s, p: s.create_project("\ud800", name="x"), "userId"),
        (lambda s, p: s.create_project(USER, name="x", description="\udfff"), "description"),
        (lambda s, p: s.create_avatar(USER, project_id=p.id, name="ok", hair_color="\udfff"), "hairColor"),
        (lambda s, p: s.create_avatars(USER, [{"project_id": p.id, "name": "ok", "persona_name": "\ud800"}]), "personaName"),
        (lambda s, p: s.update_project(USER, p.id, name="\ud800"), "name"),
        (lambda s, p: s.update_avatar(USER, p.id, style="\ud800"), "style"),
        (lambda s, p: s.get_project(USER, "\ud800"), "projectId"),
        (lambda s, p: s.list_avatars(USER, name_contains="\ud800"), "nameContains"),
        (lambda s, p: s.list_avatars(USER, cursor="\ud800"), "cursor"),
    ],
)
def test_lone_surrogates_are_validation_errors_naming_the_field(
    store: Store, project: avatar_store.Project, call: Callable[..., Any], field: str
) -> None:
    before = snapshot(store)
    with pytest.raises(avatar_store.ValidationError) as e:
        call(store, project)
    assert e.value.field == field
    assert snapshot(store) == before


@pytest.mark.parametrize(
    "call,argument",
    [
        (lambda s: s.list_avatars(USER, limit=True), "limit"),
        (lambda s: s.list_projects(USER, limit=False), "limit"),
        (lambda s: s.list_projects_with_avatars(USER, limit=1.0), "limit"),
        (lambda s: s.create_project(42, name="x"), "user_id"),
        (lambda s: s.get_avatar(None, "x"), "user_id"),
        (lambda s: s.create_project(USER, name=3), "name"),
        (lambda s: s.list_avatars(USER, name_contains=5), "name_contains"),
        (lambda s: s.list_avatars(USER, sort=1), "sort"),
        (lambda s: s.list_projects(USER, cursor=b"x"), "cursor"),
        (lambda s: Store(":memory:", readers=True), "readers"),
        (lambda s: Store(":memory:", readers=2.0), "readers"),
        (lambda s: Store(":memory:", busy_timeout=True), "busy_timeout"),
    ],
)
def test_wrong_types_and_bools_name_the_argument_in_the_message(
    store: Store, call: Callable[..., Any], argument: str
) -> None:
    with pytest.raises(TypeError) as e:
        call(store)
    assert f"'{argument}'" in str(e.value), str(e.value)


@pytest.mark.parametrize(
    "call,field",
    [
        (lambda s, d: s.list_avatars(USER, limit=2**63), "limit"),
        (lambda s, d: s.list_projects(USER, limit=-(2**70)), "limit"),
        (lambda s, d: s.list_avatars(USER, name_contains="\0abc"), "nameContains"),
        (lambda s, d: s.list_avatars(USER, name_contains="x" * 50_001), "nameContains"),
        (lambda s, d: s.list_avatars(USER, hair_color="red\0"), "hairColor"),
        (lambda s, d: s.list_avatars(""), "userId"),
        (lambda s, d: s.create_avatars(" ", []), "userId"),
        (lambda s, d: Store(d / "n.db", readers=-1), "readers"),
        (lambda s, d: Store(d / "n.db", readers=2**40), "readers"),
        (lambda s, d: Store(d / "n.db", readers=0), "readers"),
        (lambda s, d: Store(d / "n.db", busy_timeout=2_147_484), "busyTimeout"),
        (lambda s, d: Store(d / "n.db", busy_timeout=1e300), "busyTimeout"),
        (lambda s, d: Store(d / "n.db", busy_timeout=10**400), "busyTimeout"),
        (lambda s, d: Store(d / "n.db", busy_timeout=-1), "busyTimeout"),
    ],
)
def test_out_of_range_arguments_are_validation_errors_not_overflow_or_internal(
    store: Store, tmp_path: Path, call: Callable[..., Any], field: str
) -> None:
    with pytest.raises(avatar_store.ValidationError) as e:
        call(store, tmp_path)
    assert e.value.field == field, e.value
    assert not (tmp_path / "n.db").exists()


def test_name_contains_nul_no_longer_cuts_the_pattern_short(store: Store, project: avatar_store.Project) -> None:
    for name in ("abc", "zzz"):
        store.create_avatar(USER, project_id=project.id, name=name)
    with pytest.raises(avatar_store.ValidationError):
        store.list_avatars(USER, name_contains="\0abc")
    assert [a.name for a in store.list_avatars(USER, name_contains="ab")] == ["abc"]


def test_record_usage_at_the_highest_count_is_a_conflict(
    store: Store, project: avatar_store.Project, db_path: Path
) -> None:
    a = store.create_avatar(USER, project_id=project.id, name="Worn out")
    con = sqlite3.connect(db_path)
    con.execute("UPDATE avatars SET usageCount = ? WHERE id = ?", (2**63 - 1, a.id))
    con.commit()
    con.close()
    with pytest.raises(avatar_store.ConflictError) as e:
        store.record_usage(USER, a.id)
    assert "highest usage count" in str(e.value)
    assert store.get_avatar(USER, a.id).usage_count == 2**63 - 1


def test_limits_are_inclusive_and_count_characters(store: Store, project: avatar_store.Project) -> None:
    a = store.create_avatar(USER, project_id=project.id, name="é" * 200, persona_age=150, persona_name="🦊" * 200)
    assert len(store.get_avatar(USER, a.id).name) == 200


def test_sort_order_and_limit_messages_are_the_cores(store: Store) -> None:
    # The same words as the Node binding and the Rust API: the core parses
    # sort and order and checks the page size (README, "Decisions").
    with pytest.raises(avatar_store.ValidationError) as e:
        store.list_avatars(USER, sort="name")  # type: ignore[arg-type]
    assert e.value.field == "sort"
    assert str(e.value) == (
        "invalid sort: must be one of createdAt, usageCount, lastUsedAt "
        '(or created_at, usage_count, last_used_at), got "name"'
    )
    with pytest.raises(avatar_store.ValidationError) as e:
        store.list_avatars(USER, order="up")  # type: ignore[arg-type]
    assert (e.value.field, str(e.value)) == ("order", 'invalid order: must be asc or desc, got "up"')
    for n in (0, -5, 1001, 2**40):
        with pytest.raises(avatar_store.ValidationError) as e:
            store.list_projects(USER, limit=n)
        assert (e.value.field, str(e.value)) == ("limit", f"invalid limit: must be between 1 and 1000, got {n}")
    # Either spelling of a sort key: the core takes both.
    assert store.list_avatars(USER, sort="usageCount").items == []  # type: ignore[arg-type]
    assert store.list_avatars(USER, sort="last_used_at", order="desc").items == []
