"""The export format through Python: the core's fixture files
(core/tests/fixtures/transfer) imported with ``import_from`` give the counts,
or the error code, line and field, that ``expected.json`` gives, as they do
through Rust, Node and the CLI; and export/import round-trip through paths
and file objects, lazily."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

import avatar_store
from avatar_store import Store

FIXTURES = Path(__file__).resolve().parents[2] / "core" / "tests" / "fixtures" / "transfer"
EXPECTED: Dict[str, Any] = json.loads((FIXTURES / "expected.json").read_text())
USER: str = EXPECTED["user"]
CASES: List[Dict[str, Any]] = EXPECTED["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
@pytest.mark.parametrize("as_file", [False, True], ids=["path", "file"])
def test_each_fixture_imports_with_its_expected_outcome(case: Dict[str, Any], as_file: bool, tmp_path: Path) -> None:
    path = FIXTURES / case["file"]
    with Store(tmp_path / "t.db") as store:
        if "code" not in case:
            if as_file:
                with open(path, "rb") as f:
                    counts = store.import_from(USER, f)
            else:
                counts = store.import_from(USER, path)
            assert counts == (case["projects"], case["avatars"])
            assert store.count(USER) == counts
            return
        with pytest.raises(avatar_store.AvatarStoreError) as e:
            if as_file:
                with open(path, "r", encoding="utf-8") as f:  # text mode works too
                    store.import_from(USER, f)
            else:
                store.import_from(USER, str(path))
        assert (e.value.code, e.value.line, getattr(e.value, "field", None)) == (
            case["code"],
            case["line"],
            case["field"],
        ), str(e.value)
        assert str(e.value).startswith(f"line {case['line']}: ")
        assert store.count_all_users() == (0, 0)


def test_export_to_and_import_from_round_trip(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as store:
        assert store.import_from(USER, FIXTURES / "valid.jsonl") == (2, 3)
        out = tmp_path / "out.jsonl"
        assert store.export_to(USER, out) == (2, 3)
        lines = out.read_text().splitlines()
        assert json.loads(lines[0])["userId"] == USER
        assert lines[1:] == (FIXTURES / "valid.jsonl").read_text().splitlines()[1:]
        # A path that exists is never replaced.
        with pytest.raises(avatar_store.ConflictError):
            store.export_to(USER, out)
        # File objects, binary and text, and the all-users forms.
        binary, text = io.BytesIO(), io.StringIO()
        assert store.export_all_users_to(binary) == (2, 3)
        assert store.export_to(USER, text) == (2, 3)
        assert text.getvalue().splitlines()[1:] == lines[1:]
        with Store(tmp_path / "b.db") as copy:
            assert copy.import_all_users_from(io.BytesIO(binary.getvalue())) == (2, 3)
            assert list(copy.export(USER)) == list(store.export(USER))
        with pytest.raises(avatar_store.ValidationError) as e:
            store.import_from("bob", out)
        assert (e.value.line, e.value.field) == (1, "userId")


def test_export_is_lazy_and_can_be_closed_early(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db", readers=1) as store:
        project = store.create_project(USER, name="p")
        store.create_avatars(USER, [{"project_id": project.id, "name": f"a{i}"} for i in range(600)])
        records = store.export(USER)
        assert isinstance(records, avatar_store.ExportIterator)
        assert next(records)["type"] == "project"
        records.close()
        with pytest.raises(StopIteration):
            next(records)
        # Its one reader is free again.
        with store.export(USER) as again:
            assert sum(1 for _ in again) == 601


def test_errors_of_the_file_object_are_raised_as_they_are(tmp_path: Path) -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            raise KeyError("from the file")

    with Store(tmp_path / "a.db") as store:
        with pytest.raises(KeyError):
            store.import_from(USER, Broken())
        with pytest.raises(TypeError):
            store.import_from(USER, 42)  # type: ignore[arg-type]
