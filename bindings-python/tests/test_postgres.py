"""The package on PostgreSQL, from Python: `Store(url)` with its options,
every kind of operation with tenant isolation, the incident replayed on a
server database (refused at open naming the 18 columns, repaired, rows
intact), and passwords that never reach an exception or a repr.

The server comes from AVATAR_STORE_TEST_PG_URL (see pgserver.py)."""

from __future__ import annotations

import threading
import traceback
from pathlib import Path
from typing import Iterator

import pytest

import avatar_store
from avatar_store import Store
from conftest import OTHER, USER, full_avatar_fields
from pgserver import INCIDENT_COLUMNS, connect, database, listed_avatar_columns, make_incident_database, password_of

PASSWORD = "pw-never-shown-7f3a"


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from database(PASSWORD)


def everything_shown(err: BaseException) -> str:
    """Every text an exception carries: message, args, attributes, notes, and
    its traceback's message line (the traceback's source lines are the test's
    own, which hold the URL)."""
    parts = [str(err), repr(err), *map(str, err.args), *getattr(err, "__notes__", [])]
    parts += traceback.format_exception_only(type(err), err)
    parts += [str(getattr(err, a, "")) for a in ("detail", "path", "report", "field", "entity", "id")]
    return "\n".join(parts)


def test_crud_over_a_url_with_tenant_isolation(pg_url: str) -> None:
    with Store(pg_url, readers=2, busy_timeout=3.0) as store:
        assert store.path is None
        assert PASSWORD not in repr(store)
        assert repr(store).startswith('Store("postgresql://postgres') and "avatar_store_test_" in repr(store)
        assert store.migration_outcome.applied == list(range(1, avatar_store.latest_version() + 1))
        assert store.migration_outcome.backup is None, "PostgreSQL migrates in one transaction, no backup file"
        assert store.check_schema().ok

        project = store.create_project(USER, name="Launch", description="spring campaign")
        assert store.get_project(USER, project.id).name == "Launch"
        nova = store.create_avatar(USER, **full_avatar_fields(project.id))
        got = store.get_avatar(USER, nova.id)
        assert got.to_dict() == nova.to_dict()
        assert got.seed_used == 2**63 - 1, "seedUsed is BIGINT"
        rex = store.create_avatar(USER, project_id=project.id, name="Rex", hair_color="black")

        # A page of one, then the rest through the cursor.
        first = store.list_avatars(USER, limit=1)
        assert [a.id for a in first] == [nova.id] and first.next_cursor
        rest = store.list_avatars(USER, limit=1, cursor=first.next_cursor)
        assert [a.id for a in rest] == [rex.id]
        assert [a.id for a in store.list_avatars(USER, hair_color="silver")] == [nova.id]

        assert store.record_usage(USER, rex.id).usage_count == 1
        used = store.record_usage(USER, rex.id)
        assert used.usage_count == 2 and used.last_used_at is not None
        by_usage = store.list_avatars(USER, sort="usage_count", order="desc")
        assert [a.id for a in by_usage] == [rex.id, nova.id]
        page = store.list_projects_with_avatars(USER)
        assert [[a.name for a in p.avatars] for p in page] == [["Nova", "Rex"]]

        # Another user sees nothing and changes nothing.
        with pytest.raises(avatar_store.NotFoundError):
            store.get_avatar(OTHER, nova.id)
        with pytest.raises(avatar_store.NotFoundError):
            store.get_project(OTHER, project.id)
        with pytest.raises(avatar_store.NotFoundError):
            store.record_usage(OTHER, rex.id)
        with pytest.raises(avatar_store.NotFoundError):
            store.update_avatar(OTHER, nova.id, name="Taken")
        with pytest.raises(avatar_store.NotFoundError):
            store.delete_avatar(OTHER, nova.id)
        assert list(store.list_avatars(OTHER)) == [] and list(store.list_projects(OTHER)) == []
        assert store.get_avatar(USER, nova.id).name == "Nova"
        assert store.get_avatar(USER, rex.id).usage_count == 2

        with pytest.raises(avatar_store.NotFoundError):
            store.create_avatar(OTHER, project_id=project.id, name="Intruder")
        assert store.count(USER) == (1, 2) and store.count(OTHER) == (0, 0)

    # What the store wrote is plain rows on the server.
    with connect(pg_url) as c:
        row = c.execute('SELECT "usageCount", "userId" FROM avatars WHERE id = %s', (rex.id,)).fetchone()
    assert row == (2, USER)


def test_the_open_options_reach_a_postgres_store(pg_url: str) -> None:
    with pytest.raises(avatar_store.ValidationError) as e:
        Store(pg_url, readers=0)
    assert e.value.field == "readers"
    with pytest.raises(avatar_store.ValidationError) as e:
        Store(pg_url, busy_timeout=30 * 86400.0)
    assert e.value.field == "busyTimeout"

    # The busy timeout bounds a wait on another connection's lock. A lock
    # held longer than the store's 0.3 s (but released well within the
    # default 5 s, so that a store ignoring the option would succeed) is BUSY.
    with Store(pg_url, busy_timeout=0.3) as store:
        project = store.create_project(USER, name="P")
        avatar = store.create_avatar(USER, project_id=project.id, name="A")
        holder = connect(pg_url)
        holder.autocommit = False
        holder.execute("LOCK TABLE avatars IN ACCESS EXCLUSIVE MODE")
        release = threading.Timer(3.0, holder.rollback)
        release.start()
        try:
            with pytest.raises(avatar_store.BusyError) as busy:
                store.record_usage(USER, avatar.id)
            assert busy.value.code == "BUSY"
        finally:
            release.cancel()
            holder.rollback()
            holder.close()
        assert store.get_avatar(USER, avatar.id).usage_count == 0, "the refused call changed nothing"
        assert store.record_usage(USER, avatar.id).usage_count == 1


def test_the_schema_option_keeps_a_store_in_its_schema(pg_url: str) -> None:
    with Store(pg_url, schema="tenant_a") as a:
        project = a.create_project(USER, name="In tenant_a")
        assert a.count(USER) == (1, 0)
    with Store(pg_url) as public:
        assert public.count(USER) == (0, 0)
        with pytest.raises(avatar_store.NotFoundError):
            public.get_project(USER, project.id)
    with connect(pg_url) as c:
        rows = c.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_name IN ('projects', 'avatars') ORDER BY 1, 2"
        ).fetchall()
        assert rows == [("public", "avatars"), ("public", "projects"), ("tenant_a", "avatars"), ("tenant_a", "projects")]
        assert c.execute('SELECT name FROM tenant_a.projects').fetchall() == [("In tenant_a",)]
    with pytest.raises(avatar_store.ValidationError) as e:
        Store(pg_url, schema="")
    assert e.value.field == "schema"


def test_the_incident_on_postgres_is_refused_then_repaired(pg_url: str) -> None:
    make_incident_database(pg_url, lambda url: Store(url).close())
    with connect(pg_url) as c:
        c.execute(
            "INSERT INTO projects VALUES ('0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6b', %s, 'Launch', 'from V1', "
            "'2025-10-01T12:00:00Z', '2025-10-01T12:00:00Z')",
            (USER,),
        )
        c.execute(
            "INSERT INTO avatars VALUES ('0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6c', "
            "'0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6b', %s, 'Nova', 'https://cdn.example.com/n.png', NULL, "
            "'2025-10-01T12:00:01Z', '2025-10-01T12:00:01Z')",
            (USER,),
        )
    listed = listed_avatar_columns(pg_url)
    assert not any(c in listed for c in INCIDENT_COLUMNS), listed

    with pytest.raises(avatar_store.SchemaDriftError) as e:
        Store(pg_url)
    err = e.value
    assert isinstance(err, avatar_store.AvatarStoreError) and err.code == "SCHEMA_DRIFT"
    assert sorted(err.report.missing_column_names) == sorted(f"avatars.{c}" for c in INCIDENT_COLUMNS)
    for column in INCIDENT_COLUMNS:
        assert f"avatars.{column}" in str(err), column
    # V6 dropped the indexes on the incident's columns: only columns are missing.
    assert err.report["missingIndexes"] == []
    assert password_of(pg_url) not in everything_shown(err)

    # Repair through the binding: every missing column and index, one transaction, no backup file.
    with Store(pg_url, verify=False) as store:
        assert len(store.check_schema().missing_column_names) == 18
        outcome = store.repair()
        assert outcome.not_repaired == []
        assert len([s for s in outcome.applied if "ADD COLUMN" in s]) == 18
        assert len(outcome.applied) == 18
        assert outcome.backup is None
        assert outcome.after.ok

    # The report's own verification query now lists all 18.
    listed = listed_avatar_columns(pg_url)
    for column in INCIDENT_COLUMNS:
        assert column in listed, column

    # The rows are intact and the database opens normally.
    with Store(pg_url) as store:
        avatar = store.get_avatar(USER, "0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6c")
        assert (avatar.name, avatar.image_url, avatar.usage_count, avatar.persona_name) == (
            "Nova",
            "https://cdn.example.com/n.png",
            0,
            None,
        )
        assert avatar.created_at.isoformat() == "2025-10-01T12:00:01+00:00"
        assert store.get_project(USER, "0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6b").description == "from V1"
        updated = store.update_avatar(USER, avatar.id, persona_name="Nova Reyes", hair_color="silver")
        assert updated.persona_name == "Nova Reyes"
        assert store.record_usage(USER, avatar.id).usage_count == 1
        assert store.repair().applied == [], "nothing left to repair"


def test_a_newer_database_is_refused_untouched(pg_url: str) -> None:
    Store(pg_url).close()
    with connect(pg_url) as c:
        c.execute("INSERT INTO refinery_schema_history VALUES (99, 'from_the_future', '', '0')")
    with pytest.raises(avatar_store.NewerSchemaError) as e:
        Store(pg_url)
    assert (e.value.found, e.value.known, e.value.code) == (99, avatar_store.latest_version(), "NEWER_SCHEMA")
    with connect(pg_url) as c:
        assert c.execute("SELECT max(version) FROM refinery_schema_history").fetchone() == (99,)


# Without a server: what a wrong or unreachable URL gives away.


def test_an_unreachable_server_is_io_without_the_password() -> None:
    url = "postgresql://app:hunter2-secret@127.0.0.1:1/avatars"
    with pytest.raises(avatar_store.StoreIOError) as e:
        Store(url, busy_timeout=2.0)
    assert e.value.code == "IO"
    assert e.value.path == "postgresql://app@127.0.0.1:1/avatars"
    assert "hunter2-secret" not in everything_shown(e.value)


def test_a_malformed_url_is_validation_without_the_password() -> None:
    with pytest.raises(avatar_store.ValidationError) as e:
        Store("postgresql://app:hunter2-secret@db.example:notaport/avatars")
    assert e.value.field == "url"
    assert "hunter2-secret" not in everything_shown(e.value)


def test_a_url_where_a_file_is_expected_is_named_without_its_password(tmp_path: Path) -> None:
    url = "postgresql://app:hunter2-secret@127.0.0.1:1/avatars"
    for call in (
        lambda: avatar_store.inspect(url),
        lambda: avatar_store.restore(url, tmp_path / "restored.db"),
    ):
        with pytest.raises(avatar_store.StoreIOError) as e:
            call()
        assert e.value.path == "postgresql://app@127.0.0.1:1/avatars"
        assert "hunter2-secret" not in everything_shown(e.value)


def test_display_database_drops_the_password() -> None:
    shown = avatar_store.display_database("postgresql://app:hunter2-secret@db.example:5432/avatars?sslmode=require")
    assert shown == "postgresql://app@db.example:5432/avatars"
    assert avatar_store.display_database("data/avatars.db") == "data/avatars.db"
