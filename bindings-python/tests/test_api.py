"""Every operation of the Store, as a user calls it."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from pathlib import Path

import pytest

import avatar_store
from avatar_store import Store
from conftest import OTHER, USER, full_avatar_fields

UTC = dt.timezone.utc


def test_module_surface() -> None:
    assert avatar_store.__version__
    assert avatar_store.latest_version() == 7
    migrations = avatar_store.embedded_migrations()
    assert [m["version"] for m in migrations] == [1, 2, 3, 4, 5, 6, 7]
    assert all(m["checksum"] and m["name"] and m["sql"].strip() for m in migrations)
    assert "generated" in avatar_store.SOURCE_TYPES
    assert avatar_store.DEFAULT_PAGE_SIZE == 50 and avatar_store.MAX_PAGE_SIZE == 1000


def test_open_file_migrates_and_context_manager_closes(db_path: Path) -> None:
    with Store(str(db_path)) as store:
        assert store.path == str(db_path)
        assert not store.closed
        outcome = store.migration_outcome
        assert (outcome.from_version, outcome.to_version, outcome.applied) == (0, 7, [1, 2, 3, 4, 5, 6, 7])
        assert outcome.backup is None  # an empty file needs no backup
        assert outcome.to_dict()["toVersion"] == 7
        assert store.migration_status()["pending"] == []
    assert store.closed
    assert repr(store) == "Store(<closed>)"
    with pytest.raises(ValueError, match="closed"):
        store.count(USER)
    store.close()  # idempotent
    # Reopening finds nothing to do; PathLike is accepted too.
    with Store(db_path) as again:
        assert again.migration_outcome.applied == []


def test_in_memory_store() -> None:
    store = Store.in_memory()
    assert store.path is None
    assert store.check_schema().ok
    assert "in memory" in repr(store)


def test_project_crud(store: Store) -> None:
    p = store.create_project(USER, name="Launch", description="spring")
    assert isinstance(p.id, str) and uuid.UUID(p.id).version == 7
    assert p.user_id == USER and p.name == "Launch" and p.description == "spring"
    assert p.created_at.tzinfo is not None and p.created_at.utcoffset() == dt.timedelta(0)
    assert p.created_at == p.updated_at
    assert store.get_project(USER, p.id) == p
    assert store.get_project(USER, uuid.UUID(p.id)) == p
    assert json.loads(json.dumps(p.to_dict()))["userId"] == USER

    renamed = store.update_project(USER, p.id, name="Relaunch")
    assert renamed.name == "Relaunch" and renamed.description == "spring"
    cleared = store.update_project(USER, p.id, description=None)
    assert cleared.description is None and cleared.name == "Relaunch"
    unchanged = store.update_project(USER, p.id)
    assert unchanged.name == "Relaunch"

    store.delete_project(USER, p.id)
    with pytest.raises(avatar_store.NotFoundError):
        store.get_project(USER, p.id)


def test_tenant_isolation(store: Store, project: avatar_store.Project) -> None:
    a = store.create_avatar(USER, project_id=project.id, name="Nova")
    for call in (
        lambda: store.get_project(OTHER, project.id),
        lambda: store.update_project(OTHER, project.id, name="x"),
        lambda: store.delete_project(OTHER, project.id),
        lambda: store.get_avatar(OTHER, a.id),
        lambda: store.update_avatar(OTHER, a.id, name="x"),
        lambda: store.delete_avatar(OTHER, a.id),
        lambda: store.record_usage(OTHER, a.id),
        lambda: store.create_avatar(OTHER, project_id=project.id, name="intruder"),
    ):
        with pytest.raises(avatar_store.NotFoundError):
            call()
    assert len(store.list_avatars(OTHER)) == 0
    assert store.get_avatar(USER, a.id).name == "Nova"


def test_avatar_round_trip_every_field(store: Store, project: avatar_store.Project) -> None:
    fields = full_avatar_fields(project.id)
    a = store.create_avatar(USER, **fields)
    for key, value in fields.items():
        assert getattr(a, key) == value, key
    assert a.user_id == USER and a.usage_count == 0 and a.last_used_at is None
    assert a.created_at.tzinfo == UTC
    assert store.get_avatar(USER, a.id) == a
    d = a.to_dict()
    assert d["personaAge"] == 29 and d["hairColor"] == "silver" and d["seedUsed"] == 2**63 - 1
    assert d["createdAt"].endswith("Z") and len(d["createdAt"]) == 24
    json.dumps(d)
    # uuid.UUID is accepted wherever an id is.
    b = store.create_avatar(USER, project_id=uuid.UUID(project.id), name="Echo")
    assert b.project_id == project.id


def test_sql_looking_strings_are_stored_verbatim(store: Store, project: avatar_store.Project) -> None:
    evil = "Robert'); DROP TABLE avatars; --"
    a = store.create_avatar(USER, project_id=project.id, name=evil, generation_prompt="' OR 1=1 --")
    assert store.get_avatar(USER, a.id).name == evil
    assert store.count(USER) == (1, 1)


def test_update_avatar_sets_and_clears(store: Store, project: avatar_store.Project) -> None:
    a = store.create_avatar(USER, **full_avatar_fields(project.id))
    b = store.update_avatar(USER, a.id, hair_color="black", persona_age=None, seed_used=7)
    assert (b.hair_color, b.persona_age, b.seed_used) == ("black", None, 7)
    assert b.eye_color == "green" and b.name == a.name
    assert b.updated_at >= a.updated_at
    assert store.get_avatar(USER, a.id) == b


def test_record_usage_and_delete(store: Store, project: avatar_store.Project) -> None:
    a = store.create_avatar(USER, project_id=project.id, name="Nova")
    used = store.record_usage(USER, a.id)
    assert used.usage_count == 1 and used.last_used_at is not None
    assert used.last_used_at.tzinfo == UTC
    assert store.record_usage(USER, a.id).usage_count == 2
    store.delete_avatar(USER, a.id)
    with pytest.raises(avatar_store.NotFoundError) as e:
        store.get_avatar(USER, a.id)
    assert (e.value.entity, e.value.id) == ("avatar", a.id)


def test_create_avatars_batch(store: Store, project: avatar_store.Project) -> None:
    items = [full_avatar_fields(project.id, f"a{i}") for i in range(5)]
    created = store.create_avatars(USER, items)
    assert [a.name for a in created] == [f"a{i}" for i in range(5)]
    assert store.count(USER) == (1, 5)
    # Generators and TypedDicts work; an empty batch is fine.
    store.create_avatars(USER, (avatar_store.AvatarFields(project_id=project.id, name=f"g{i}") for i in range(2)))
    assert store.create_avatars(USER, []) == []
    assert store.count(USER) == (1, 7)


def test_list_avatars_filters_sort_and_cursor(store: Store, project: avatar_store.Project) -> None:
    other_project = store.create_project(USER, name="Other")
    hairs = ["red", "black", "red", "blond", "red"]
    made = [
        store.create_avatar(USER, project_id=project.id, name=f"Avatar {i}", hair_color=h, source_type="generated")
        for i, h in enumerate(hairs)
    ]
    store.create_avatar(USER, project_id=other_project.id, name="Elsewhere", hair_color="red")
    for _ in range(3):
        store.record_usage(USER, made[3].id)
    time.sleep(0.005)  # lastUsedAt has millisecond precision
    store.record_usage(USER, made[1].id)

    red = store.list_avatars(USER, project_id=project.id, hair_color="red")
    assert [a.name for a in red] == ["Avatar 0", "Avatar 2", "Avatar 4"]
    assert red.next_cursor is None
    desc = store.list_avatars(USER, project_id=uuid.UUID(project.id), order="desc")
    assert [a.name for a in desc.items] == [f"Avatar {i}" for i in reversed(range(5))]
    by_usage = store.list_avatars(USER, sort="usage_count", order="desc", limit=2)
    assert [a.name for a in by_usage] == ["Avatar 3", "Avatar 1"]
    by_last_used = store.list_avatars(USER, sort="last_used_at", order="desc", limit=1)
    assert by_last_used.items[0].name == "Avatar 1"
    assert [a.name for a in store.list_avatars(USER, name_contains="elsew")] == ["Elsewhere"]
    assert len(store.list_avatars(USER, source_type="generated")) == 5
    assert len(store.list_avatars(USER, gender="none-such")) == 0

    # Keyset pagination visits every avatar once.
    seen, cursor = [], None
    while True:
        page = store.list_avatars(USER, limit=2, cursor=cursor)
        assert len(page) <= 2
        seen += [a.id for a in page]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == 6 and len(set(seen)) == 6
    assert page.to_dict()["nextCursor"] is None and len(page.to_dict()["items"]) == len(page)


def test_list_projects_and_with_avatars(store: Store) -> None:
    projects = [store.create_project(USER, name=f"P{i}") for i in range(3)]
    for i, p in enumerate(projects):
        for j in range(i):
            store.create_avatar(USER, project_id=p.id, name=f"P{i}A{j}")
    store.create_project(OTHER, name="not mine")

    newest_first = store.list_projects(USER)
    assert [p.name for p in newest_first] == ["P2", "P1", "P0"]
    first = store.list_projects(USER, limit=2)
    assert len(first) == 2 and first.next_cursor
    rest = store.list_projects(USER, limit=2, cursor=first.next_cursor)
    assert [p.name for p in rest] == ["P0"] and rest.next_cursor is None

    page = store.list_projects_with_avatars(USER)
    assert [(p.name, [a.name for a in p.avatars]) for p in page] == [
        ("P2", ["P2A0", "P2A1"]),
        ("P1", ["P1A0"]),
        ("P0", []),
    ]
    body = json.loads(json.dumps(page.to_dict()))
    assert body["items"][2]["avatars"] == [] and body["items"][0]["avatars"][0]["name"] == "P2A0"
    assert body["items"][0]["userId"] == USER
    assert "ProjectWithAvatars" in repr(page.items[0])
    w = page.items[0]
    assert (w.id, w.user_id, w.description) == (projects[2].id, USER, None)
    assert w.created_at == projects[2].created_at and w.updated_at == projects[2].updated_at


def test_deleting_a_project_cascades(store: Store, project: avatar_store.Project) -> None:
    store.create_avatars(USER, [{"project_id": project.id, "name": f"a{i}"} for i in range(3)])
    store.delete_project(USER, project.id)
    assert store.count(USER) == (0, 0)


def test_backup_and_restore(store: Store, project: avatar_store.Project, tmp_path: Path) -> None:
    store.create_avatar(USER, project_id=project.id, name="Nova")
    dest = tmp_path / "copy.db"
    store.backup(dest)
    with pytest.raises(avatar_store.StoreIOError) as e:
        store.backup(dest)  # never overwrites
    assert e.value.path == str(dest)

    assert avatar_store.inspect(dest)["currentVersion"] == 7
    target = tmp_path / "restored.db"
    outcome = avatar_store.restore(dest, target)
    assert outcome["version"] == 7 and outcome["replacedCopy"] is None
    with pytest.raises(avatar_store.ConflictError):
        avatar_store.restore(dest, target)
    assert avatar_store.restore(str(dest), str(target), force=True)["replacedCopy"]
    with Store(target) as restored:
        assert [a.name for a in restored.list_avatars(USER)] == ["Nova"]


@pytest.mark.skipif(os.name != "posix", reason="only POSIX file names can be bytes that are not UTF-8")
def test_restore_to_a_path_that_is_not_utf8(store: Store, tmp_path: Path) -> None:
    dest = tmp_path / "copy.db"
    store.backup(dest)
    # os.fsdecode keeps the byte 0xff as a lone surrogate, the way Python
    # hands out such names from os.listdir.
    target = str(tmp_path / os.fsdecode(b"\xff.db"))
    assert avatar_store.restore(dest, target)["replacedCopy"] is None
    outcome = avatar_store.restore(dest, target, force=True)
    assert outcome["version"] == 7
    assert "\ufffd.db.replaced-" in outcome["replacedCopy"]  # reported lossily
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith(os.fsdecode(b"\xff")))[0] == os.fsdecode(b"\xff.db")


def test_export_and_import_round_trip(store: Store, project: avatar_store.Project, tmp_path: Path) -> None:
    store.create_avatars(USER, [full_avatar_fields(project.id, f"a{i}") for i in range(3)])
    records = list(store.export(USER))
    assert [r["type"] for r in records] == ["project", "avatar", "avatar", "avatar"]
    assert list(store.export_all_users()) == records and list(store.export(OTHER)) == []
    records = json.loads(json.dumps(records))

    with Store(tmp_path / "other.db") as other:
        assert other.import_records(USER, records) == (1, 3)
        assert other.import_records(USER, records) == (1, 3)  # upsert by id: still one copy
        assert other.count(USER) == (1, 3) and other.count_all_users() == (1, 3)
        assert other.get_avatar(USER, records[1]["id"]).to_dict() == {k: v for k, v in records[1].items() if k != "type"}


def test_check_schema_report_is_a_dict(store: Store) -> None:
    report = store.check_schema()
    assert isinstance(report, dict) and isinstance(report, avatar_store.SchemaReport)
    assert report.ok and report["currentVersion"] == 7 and report["missingColumns"] == []
    assert report.missing_column_names == []
    assert "schema OK" in str(report)
    json.dumps(report)


def test_repair_on_healthy_database_does_nothing(store: Store) -> None:
    outcome = store.repair()
    assert outcome.applied == [] and outcome.not_repaired == [] and outcome.backup is None
    assert outcome.after.ok and outcome.to_dict()["applied"] == []
    assert "RepairOutcome" in repr(outcome)


def test_migrate_later_with_migrate_false(db_path: Path) -> None:
    with pytest.raises(avatar_store.SchemaDriftError) as e:
        Store(db_path, migrate=False)
    assert e.value.report["pendingMigrations"] == [1, 2, 3, 4, 5, 6, 7]
    with Store(db_path, migrate=False, verify=False) as store:
        assert len(store.migration_status()["pending"]) == 7
        outcome = store.migrate()
        assert outcome.applied == [1, 2, 3, 4, 5, 6, 7]
        assert "MigrationOutcome" in repr(outcome)
        assert store.check_schema().ok


def test_store_options_are_validated(db_path: Path) -> None:
    with pytest.raises(avatar_store.ValidationError) as e:
        Store(db_path, busy_timeout=-1)
    assert e.value.field == "busyTimeout"
    with pytest.raises(avatar_store.ValidationError) as e:
        Store(db_path, readers=0)
    assert e.value.field == "readers"
    with Store(db_path, busy_timeout=0.5, readers=1, backup=False) as store:
        assert store.count_all_users() == (0, 0)


def test_reprs(store: Store, project: avatar_store.Project) -> None:
    a = store.create_avatar(USER, project_id=project.id, name="Nova")
    assert repr(a).startswith("Avatar(") and "Nova" in repr(a)
    assert repr(project).startswith("Project(")
    assert "Page(" in repr(store.list_avatars(USER))
    assert str(store.path) in repr(store)
