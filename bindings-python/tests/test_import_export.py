"""Import, export and count take the caller's user id; the whole-database
forms are separate methods with names nobody calls by accident, and an import
never writes another user's records."""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest

import avatar_store
from avatar_store import Store

from conftest import OTHER, USER, full_avatar_fields, snapshot


def settled_sha256(path: Path) -> str:
    """The database file's hash once every committed write is in it: a
    checkpoint first, so that the hash does not depend on when the log was
    last copied back, only on what was committed."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    conn.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def seed(store: Store) -> None:
    for p in range(2):
        project = store.create_project(USER, name=f"victim {p}")
        for a in store.create_avatars(USER, [full_avatar_fields(project.id, f"a{p}.{i}") for i in range(2)]):
            store.record_usage(USER, a.id)
    store.create_project(OTHER, name="attacker's own")


def relabelled(records: List[Dict[str, Any]], user: str) -> List[Dict[str, Any]]:
    return [{**r, "userId": user} for r in records]


def test_another_users_records_are_refused_and_theirs_stay_byte_for_byte(db_path: Path) -> None:
    with Store(db_path) as store:
        seed(store)
        victims = list(store.export(USER))
        before = snapshot(store)
    file_before = settled_sha256(db_path)

    with Store(db_path) as store:
        # The victim's export as it is: every record names the victim.
        with pytest.raises(avatar_store.ValidationError) as e:
            store.import_records(OTHER, victims)
        assert e.value.field == "userId" and "records[0]" in str(e.value)

        # The victim's ids, claimed for the attacker: taken, and kept by their owner.
        with pytest.raises(avatar_store.ConflictError) as c:
            store.import_records(OTHER, relabelled(victims, OTHER))
        assert "records[0]" in str(c.value)

        # A new avatar of the attacker's in the victim's project: no such project, for the attacker.
        avatar = next(r for r in victims if r["type"] == "avatar")
        planted = {**avatar, "id": str(uuid.uuid4()), "userId": OTHER}
        with pytest.raises(avatar_store.ValidationError) as e:
            store.import_records(OTHER, [planted])
        assert e.value.field == "projectId" and "records[0]" in str(e.value)

        # The attacker's own records first, one of the victim's last: nothing of it is written.
        own = list(store.export(OTHER))
        fresh = {**own[0], "id": str(uuid.uuid4())}
        with pytest.raises(avatar_store.ValidationError) as e:
            store.import_records(OTHER, [fresh, victims[2]])
        assert e.value.field == "userId" and "records[1]" in str(e.value)

        assert snapshot(store) == before
        assert store.count(OTHER) == (1, 0)
    assert settled_sha256(db_path) == file_before


def test_an_import_for_one_user_takes_that_users_records(store: Store, tmp_path: Path) -> None:
    seed(store)
    victims = list(store.export(USER))
    with Store(tmp_path / "copy.db") as copy:
        assert copy.import_records(USER, victims) == (2, 4)
        assert copy.import_records(USER, iter(victims)) == (2, 4)  # any iterable; upserts by id
        assert list(copy.export(USER)) == victims
        assert copy.count(USER) == (2, 4) and copy.count(OTHER) == (0, 0)


def test_every_user_is_an_explicit_call(store: Store, tmp_path: Path) -> None:
    seed(store)
    assert store.count(USER) == (2, 4) and store.count(OTHER) == (1, 0)
    assert store.count_all_users() == (3, 4)
    everything = list(store.export_all_users())
    assert len(everything) == 7 and {r["userId"] for r in everything} == {USER, OTHER}
    with Store(tmp_path / "copy.db") as copy:
        assert copy.import_records_all_users(everything) == (3, 4)
        assert list(copy.export_all_users()) == everything


@pytest.mark.parametrize("user", ["", "   ", "a\0b"])
def test_an_empty_or_invalid_user_id_is_a_validation_error(store: Store, user: str) -> None:
    seed(store)
    before = snapshot(store)
    for call in (
        lambda: store.count(user),
        lambda: store.export(user),
        lambda: store.import_records(user, store.export(USER)),
        lambda: store.import_records(user, []),
    ):
        with pytest.raises(avatar_store.ValidationError) as e:
            call()
        assert e.value.field == "userId"
    assert snapshot(store) == before


def test_the_user_id_is_required(store: Store) -> None:
    for call in (
        lambda: store.count(),  # type: ignore[call-arg]
        lambda: store.export(),  # type: ignore[call-arg]
        lambda: store.import_records([]),  # type: ignore[call-arg, arg-type]
        lambda: store.count(None),  # type: ignore[arg-type]
        lambda: store.export(None),  # type: ignore[arg-type]
    ):
        with pytest.raises(TypeError):
            call()
