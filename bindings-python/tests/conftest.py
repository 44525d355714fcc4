"""Fixtures shared by the tests: a file store in a temporary folder, and the
fields of a fully filled avatar."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

import avatar_store

USER = "user-1"
OTHER = "user-2"


def full_avatar_fields(project_id: str, name: str = "Nova") -> Dict[str, Any]:
    return {
        "project_id": project_id,
        "name": name,
        "image_url": "https://cdn.example.com/nova.png",
        "thumbnail_url": "https://cdn.example.com/nova-thumb.png",
        "persona_name": "Nova Reyes",
        "persona_age": 29,
        "persona_personality": "curious, warm",
        "persona_background": "grew up on a research station",
        "gender": "female",
        "age_range": "25-34",
        "ethnicity": "latina",
        "body_type": "athletic",
        "hair_style": "bob",
        "hair_color": "silver",
        "eye_color": "green",
        "skin_tone": "medium",
        "style": "futuristic",
        "source_type": "generated",
        "generation_prompt": "portrait of a curious explorer with a silver bob, soft studio light",
        "seed_used": 2**63 - 1,
    }


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "avatars.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[avatar_store.Store]:
    with avatar_store.Store(db_path) as s:
        yield s


@pytest.fixture
def project(store: avatar_store.Store) -> avatar_store.Project:
    return store.create_project(USER, name="Launch", description="spring campaign")


def snapshot(store: avatar_store.Store) -> List[Dict[str, Any]]:
    """Everything in the database, to prove a refused call changed nothing."""
    return list(store.export_all_users())


def type_error_names(err: BaseException, argument: str) -> bool:
    """pyo3 names the argument of a failed conversion in a note (PEP 678,
    shown under the traceback); the package's own checks name it in the message."""
    return argument in str(err) or any(argument in n for n in getattr(err, "__notes__", []))


class LockHolder:
    """Another process holding SQLite's write lock on a file. It must be
    another process: two copies of SQLite in one process (the standard
    library's and the package's) do not see each other's POSIX locks."""

    def __init__(self, path: Path) -> None:
        code = (
            "import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.readline()\n"
            "c.execute('COMMIT')\n"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.wait(30)

    def __enter__(self) -> "LockHolder":
        return self

    def __exit__(self, *_: object) -> None:
        self.release()
