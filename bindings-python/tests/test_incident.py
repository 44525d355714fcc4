"""The incident, replayed from Python: a database of the first release is
upgraded in place; a database whose history says "up to date" but whose
avatars table lacks the 18 columns is refused at open, naming every one of
them, and repaired."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path
from typing import List

import pytest

import avatar_store
from avatar_store import Store
from conftest import USER

INCIDENT_COLUMNS = [
    "personaName", "personaAge", "personaPersonality", "personaBackground",
    "gender", "ageRange", "ethnicity", "bodyType", "hairStyle", "hairColor", "eyeColor", "skinTone", "style",
    "sourceType", "generationPrompt", "seedUsed", "usageCount", "lastUsedAt",
]  # fmt: skip

PROJECT_ID = "0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6b"
AVATAR_ID = "0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6c"
T0 = "2025-10-01T12:00:00.000Z"


def _history(con: sqlite3.Connection, versions: List[int]) -> None:
    con.execute(
        "CREATE TABLE refinery_schema_history (version INT4 PRIMARY KEY, name VARCHAR(255), "
        "applied_on VARCHAR(255), checksum VARCHAR(255))"
    )
    for m in avatar_store.embedded_migrations():
        if m["version"] in versions:
            con.execute(
                "INSERT INTO refinery_schema_history VALUES (?, ?, ?, ?)",
                (m["version"], m["name"], "2025-10-01T12:00:00+00:00", m["checksum"]),
            )


def _v1_rows(con: sqlite3.Connection) -> None:
    con.execute("INSERT INTO projects VALUES (?, ?, 'Launch', 'from V1', ?, ?)", (PROJECT_ID, USER, T0, T0))
    con.execute(
        "INSERT INTO avatars VALUES (?, ?, ?, 'Nova', 'https://cdn.example.com/n.png', NULL, ?, ?)",
        (AVATAR_ID, PROJECT_ID, USER, T0, T0),
    )


def make_v1_database(path: Path) -> None:
    """A database as the first release left it: V1's tables, V1 in the history."""
    v1 = avatar_store.embedded_migrations()[0]
    con = sqlite3.connect(path)
    con.executescript(v1["sql"])
    _history(con, [1])
    _v1_rows(con)
    con.commit()
    con.close()


def make_drifted_database(path: Path) -> None:
    """The incident's database: every migration recorded as applied, but the
    avatars table never got the 18 columns (nor the indexes on them)."""
    migrations = avatar_store.embedded_migrations()
    con = sqlite3.connect(path)
    con.executescript(migrations[0]["sql"])
    for statement in re.findall(r"CREATE INDEX[^;]+;", "\n".join(m["sql"] for m in migrations)):
        if not any(c in statement for c in INCIDENT_COLUMNS):
            con.execute(statement)
    _history(con, [m["version"] for m in migrations])
    _v1_rows(con)
    con.commit()
    con.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_v1_database_is_upgraded_in_place_with_a_backup(tmp_path: Path) -> None:
    db = tmp_path / "prod.db"
    make_v1_database(db)
    status = avatar_store.inspect(db)
    assert status["currentVersion"] == 1 and [m["version"] for m in status["pending"]] == [2, 3, 4, 5, 6, 7]

    with Store(db) as store:
        outcome = store.migration_outcome
        assert (outcome.from_version, outcome.to_version, outcome.applied) == (1, 7, [2, 3, 4, 5, 6, 7])
        assert outcome.backup and Path(outcome.backup).exists()
        assert store.check_schema().ok
        avatar = store.get_avatar(USER, AVATAR_ID)
        assert avatar.name == "Nova" and avatar.image_url == "https://cdn.example.com/n.png"
        assert avatar.usage_count == 0 and avatar.persona_name is None
        assert avatar.created_at.isoformat() == "2025-10-01T12:00:00+00:00"
        updated = store.update_avatar(USER, AVATAR_ID, persona_name="Nova Reyes", hair_color="silver")
        assert updated.persona_name == "Nova Reyes"
        assert store.record_usage(USER, AVATAR_ID).usage_count == 1
        page = store.list_projects_with_avatars(USER)
        assert page.to_dict()["items"][0]["avatars"][0]["hairColor"] == "silver"

    # The backup is the V1 database as it was.
    backup = Path(outcome.backup)
    assert avatar_store.inspect(backup)["currentVersion"] == 1


def test_missing_18_columns_fail_at_open_naming_each(tmp_path: Path) -> None:
    db = tmp_path / "prod.db"
    make_drifted_database(db)
    with pytest.raises(avatar_store.SchemaDriftError) as e:
        Store(db)
    err = e.value
    assert err.code == "SCHEMA_DRIFT"
    assert sorted(err.report.missing_column_names) == sorted(f"avatars.{c}" for c in INCIDENT_COLUMNS)
    assert len(err.report["missingColumns"]) == 18
    assert not err.report.ok
    for column in INCIDENT_COLUMNS:
        assert f"avatars.{column}" in str(err), column
    # The indexes on the incident's columns went in V6 (record_usage's cost).
    assert err.report["missingIndexes"] == []


def test_verify_only_open_reports_and_repair_fixes_it(tmp_path: Path) -> None:
    db = tmp_path / "prod.db"
    make_drifted_database(db)
    with Store(db, verify=False) as store:
        report = store.check_schema()
        assert not report.ok and len(report.missing_column_names) == 18
        assert "missing column: avatars.personaName TEXT" in str(report)

        outcome = store.repair()
        assert outcome.not_repaired == []
        assert len([s for s in outcome.applied if "ADD COLUMN" in s]) == 18
        assert outcome.backup and Path(outcome.backup).exists()
        assert outcome.after.ok

    # The data survived, and the database now opens normally.
    with Store(db) as store:
        assert store.check_schema().ok
        avatar = store.get_avatar(USER, AVATAR_ID)
        assert (avatar.name, avatar.usage_count, avatar.persona_name) == ("Nova", 0, None)
        assert store.get_project(USER, PROJECT_ID).description == "from V1"
        store.update_avatar(USER, AVATAR_ID, persona_age=30, source_type="uploaded")
        assert store.record_usage(USER, AVATAR_ID).usage_count == 1
        assert [a.id for a in store.list_avatars(USER, sort="usage_count", order="desc")] == [AVATAR_ID]


def test_newer_schema_is_refused_and_the_file_untouched(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    with Store(db) as store:
        store.create_project(USER, name="P")
    con = sqlite3.connect(db)
    con.execute("INSERT INTO refinery_schema_history VALUES (99, 'from_the_future', '', '0')")
    con.commit()
    con.close()
    before = digest(db)
    with pytest.raises(avatar_store.NewerSchemaError) as e:
        Store(db)
    assert (e.value.found, e.value.known, e.value.code) == (99, 7, "NEWER_SCHEMA")
    assert digest(db) == before
    assert avatar_store.inspect(db)["newerThanBuild"] is True


def test_edited_migration_is_a_migration_error_naming_the_version(tmp_path: Path) -> None:
    db = tmp_path / "edited.db"
    Store(db).close()
    con = sqlite3.connect(db)
    con.execute("UPDATE refinery_schema_history SET checksum = '12345' WHERE version = 3")
    con.commit()
    con.close()
    with pytest.raises(avatar_store.MigrationError) as e:
        Store(db)
    assert e.value.version == 3 and e.value.code == "MIGRATION" and "V3" in str(e.value)


def test_repair_refused_while_migrations_are_pending(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    make_v1_database(db)
    with Store(db, migrate=False, verify=False) as store:
        with pytest.raises(avatar_store.MigrationError):
            store.repair()
        assert store.get_project(USER, PROJECT_ID).name == "Launch"
