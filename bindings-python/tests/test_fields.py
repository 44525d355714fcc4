"""The Python surface follows core's field table (`avatar_store::AVATAR_FIELDS`).

The native converters and getters are generated from the table; these tests
check the hand-written typed dicts and signatures against it and run every
field through create, read, update and to_dict, naming any field that does
not follow.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List

import avatar_store
from avatar_store import _avatar_store as native

from conftest import USER

Field = Dict[str, Any]
AVATAR: List[Field] = native._avatar_fields()
PROJECT: List[Field] = native._project_fields()


def names(fields: List[Field], keep: Callable[[Field], bool] = lambda f: True, key: str = "pythonName") -> List[str]:
    return [f[key] for f in fields if keep(f)]


def same(what: str, expected: List[str], found: List[str]) -> None:
    missing = [n for n in expected if n not in found]
    extra = [n for n in found if n not in expected]
    assert not missing and not extra, f"{what}: lacks {missing}, has {extra} beyond core's field table"


def settable(f: Field) -> bool:
    return f["create"] in ("Required", "Optional")


def sample(f: Field) -> Any:
    """A valid value of any settable field, by its kind and rule."""
    check = f["check"]
    if f["kind"] in ("Integer", "BigInteger"):
        return 7
    if check == "Url":
        return "https://cdn.example.com/a.png"
    if isinstance(check, dict) and "OneOf" in check:
        return check["OneOf"][0]
    return f"{f['pythonName']} value"


def test_descriptors_describe_every_column() -> None:
    assert names(AVATAR, key="jsonName")[:4] == ["id", "projectId", "userId", "name"]
    assert names(PROJECT, key="jsonName") == ["id", "userId", "name", "description", "createdAt", "updatedAt"]
    for f in AVATAR + PROJECT:
        assert set(f) >= {"rustName", "pythonName", "jsonName", "column", "kind", "nullable", "check", "create",
                          "patch", "filterable"}, f


def test_record_classes_have_a_property_per_field() -> None:
    for cls, fields in [(avatar_store.Avatar, AVATAR), (avatar_store.Project, PROJECT)]:
        props = [n for n, v in vars(cls).items() if inspect.isgetsetdescriptor(v) or isinstance(v, property)]
        same(f"{cls.__name__} properties", names(fields), props)


def test_typed_dicts_and_signatures_follow_the_table() -> None:
    same("AvatarFields required keys", names(AVATAR, lambda f: f["create"] == "Required"),
         sorted(avatar_store.AvatarFields.__required_keys__))
    same("AvatarFields keys", names(AVATAR, settable), list(avatar_store.AvatarFields.__annotations__))
    same("AvatarChanges keys", names(AVATAR, lambda f: f["patch"] != "No"),
         list(avatar_store.AvatarChanges.__annotations__))
    same("ProjectChanges keys", names(PROJECT, lambda f: f["patch"] != "No"),
         list(avatar_store.ProjectChanges.__annotations__))
    params = list(inspect.signature(avatar_store.Store.list_avatars).parameters)
    filters = [p for p in params if p not in ("self", "user_id", "project_id", "name_contains", "sort", "order",
                                               "limit", "cursor")]
    same("Store.list_avatars filters", names(AVATAR, lambda f: f["filterable"]), filters)


def test_every_field_round_trips(store: avatar_store.Store) -> None:
    project = store.create_project(USER, name="P")
    given = {f["pythonName"]: sample(f) for f in AVATAR if settable(f)}
    given["project_id"] = project.id
    created = store.create_avatar(USER, **given)
    read = store.get_avatar(USER, created.id)
    for key, value in given.items():
        assert getattr(read, key) == value, key
    assert sorted(read.to_dict()) == sorted(names(AVATAR, key="jsonName"))

    for f in AVATAR:
        if f["filterable"]:
            page = store.list_avatars(USER, **{f["pythonName"]: given[f["pythonName"]]})
            assert [a.id for a in page.items] == [created.id], f["pythonName"]

    patchable = [f for f in AVATAR if f["patch"] != "No"]
    changes = {f["pythonName"]: (None if f["patch"] == "Clear" else "Renamed") for f in patchable}
    cleared = store.update_avatar(USER, created.id, **changes)
    for key, value in changes.items():
        assert getattr(cleared, key) == value, key

    for f in AVATAR:
        if f["filterable"]:
            page = store.list_avatars(USER, **{f["pythonName"]: given[f["pythonName"]]})
            assert [a.id for a in page.items] == [], f["pythonName"]
