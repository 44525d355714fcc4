"""The PostgreSQL server of the tests, as core/tests/common/pg.rs has it:
`scripts/test.sh` starts a throwaway one and exports its URL in
AVATAR_STORE_TEST_PG_URL (set it yourself to use your own server; the user
needs CREATEDB). Every test gets a database of its own, dropped when it
ends. Without a URL the tests skip, saying why; with CI=true they fail."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Callable, Iterator, List
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

URL_VAR = "AVATAR_STORE_TEST_PG_URL"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations" / "postgres"
INCIDENT_COLUMNS = [
    "personaName", "personaAge", "personaPersonality", "personaBackground",
    "gender", "ageRange", "ethnicity", "bodyType", "hairStyle", "hairColor", "eyeColor", "skinTone", "style",
    "sourceType", "generationPrompt", "seedUsed", "usageCount", "lastUsedAt",
]  # fmt: skip


def server_url() -> str:
    """The server's URL; skips the test without one (fails under CI=true:
    CI must never pass by skipping)."""
    url = os.environ.get(URL_VAR, "").strip()
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {URL_VAR} is not set: the PostgreSQL tests cannot be skipped in CI")
        pytest.skip(f"{URL_VAR} is not set (scripts/test.sh starts a throwaway PostgreSQL; see README)")
    return url


def with_database(url: str, db: str) -> str:
    """`url` with its database replaced by `db`."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


def with_password(url: str, password: str) -> str:
    """`url` with `password` for its user, unless it already has one (a
    server of your own needs its real one). The test server trusts local
    connections, so any password opens it."""
    parts = urlsplit(url)
    if parts.password is not None:
        return url
    user = parts.username or "postgres"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


def password_of(url: str) -> str:
    password = urlsplit(url).password
    assert password, url
    return password


def connect(url: str) -> "psycopg.Connection[tuple[object, ...]]":
    return psycopg.connect(url, autocommit=True)


def database(password: str = "pw-never-shown-7f3a") -> Iterator[str]:
    """A fresh database on the test server, its URL holding `password`;
    dropped afterwards, connections of stores still open included."""
    server = server_url()
    name = f"avatar_store_test_{uuid.uuid4().hex}"
    with connect(server) as c:
        c.execute(f"CREATE DATABASE {name}")
    try:
        yield with_password(with_database(server, name), password)
    finally:
        with connect(server) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def listed_avatar_columns(url: str) -> List[str]:
    """The columns of public.avatars as the incident report's own
    verification query lists them."""
    with connect(url) as c:
        rows = c.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = 'avatars'"
        ).fetchall()
    return [r[0] for r in rows]


def statements(sql: str) -> List[str]:
    no_comments = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in no_comments.split(";") if s.strip()]


def make_incident_database(url: str, open_store: Callable[[str], None]) -> None:
    """The incident on PostgreSQL: the history says V5, but `avatars` has
    only its first-release columns (and the indexes that need none of the
    18). `open_store(url)` opens and closes a store once, which writes the
    real history (with this build's checksums); the tables are then made
    again from V1 alone, as core/tests/postgres_backend.rs does."""
    open_store(url)
    files = sorted(MIGRATIONS.glob("V*__*.sql"), key=lambda p: int(re.findall(r"^V(\d+)__", p.name)[0]))
    with connect(url) as c, c.transaction():
        c.execute("DROP TABLE avatars")
        c.execute("DROP TABLE projects")
        c.execute(files[0].read_text())
        for f in files[1:]:
            for s in statements(f.read_text()):
                if s.upper().startswith("CREATE INDEX") and not any(f'"{col}"' in s for col in INCIDENT_COLUMNS):
                    c.execute(s)
        (version,) = c.execute("SELECT max(version) FROM refinery_schema_history").fetchone()
        assert version == len(files), "the history says every migration ran"
