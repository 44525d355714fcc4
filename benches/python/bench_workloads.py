"""Workloads W1-W6 (see benches/README.md) through the `avatar_store` package and
through hand-written SQL on the standard library's `sqlite3`, in the same
process and the same run, with the same pragmas (WAL, synchronous=NORMAL,
foreign keys, busy timeout), on two baseline schemas: the one a developer
writes by hand for these workloads (the two tables, their keys, the foreign
key and one `avatars (projectId, createdAt, id)` index) and the store's own
(the repository's migrations/sqlite/ files).

    python benches/python/bench_workloads.py [--n 10000] [--r 200] [--runs 3]

Prints ops/s of each side (median of the runs) and the ratio
avatar_store / sqlite3 per workload and baseline schema: above 1.0 means
avatar_store is faster.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import avatar_store

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations" / "sqlite"
USER = "bench-user"
COLUMNS = (
    "id, projectId, userId, name, imageUrl, thumbnailUrl, personaName, personaAge, personaPersonality, "
    "personaBackground, gender, ageRange, ethnicity, bodyType, hairStyle, hairColor, eyeColor, skinTone, style, "
    "sourceType, generationPrompt, seedUsed, usageCount, lastUsedAt, createdAt, updatedAt"
)
COLUMN_NAMES = [c.strip() for c in COLUMNS.split(",")]
PLACEHOLDERS = ", ".join("?" * len(COLUMN_NAMES))
PROMPT = (
    "studio portrait of a friendly explorer, silver bob haircut, green eyes, soft rim light, 85mm, "
    "shallow depth of field"
)

Fields = Dict[str, Any]

# The schema a developer writes by hand for W1-W6, shared with the other benches.
HAND_SCHEMA = (Path(__file__).resolve().parent.parent / "hand_schema.sql").read_text(encoding="utf-8")


def avatar_fields(project_id: str, i: int) -> Fields:
    """Every field filled, as the workloads require."""
    return {
        "project_id": project_id,
        "name": f"Avatar {i}",
        "image_url": f"https://cdn.example.com/avatars/{i}.png",
        "thumbnail_url": f"https://cdn.example.com/avatars/{i}-thumb.png",
        "persona_name": f"Persona {i}",
        "persona_age": 20 + i % 50,
        "persona_personality": "curious, warm, direct",
        "persona_background": "grew up on a research station in the far north",
        "gender": "female",
        "age_range": "25-34",
        "ethnicity": "mixed",
        "body_type": "athletic",
        "hair_style": "bob",
        "hair_color": "silver",
        "eye_color": "green",
        "skin_tone": "medium",
        "style": "futuristic",
        "source_type": "generated",
        "generation_prompt": PROMPT,
        "seed_used": 1_000_003 * i,
    }


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- baseline


class Baseline:
    """What a careful Python developer writes by hand with `sqlite3`: the
    same schema and pragmas, parameterized statements (cached by the
    module), rows materialized as dicts."""

    def __init__(self, path: Path, schema: str) -> None:
        """`schema`: "hand" (HAND_SCHEMA) or "store" (the migrations)."""
        self.con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.con.execute("PRAGMA journal_mode = WAL")
        self.con.execute("PRAGMA synchronous = NORMAL")
        self.con.execute("PRAGMA foreign_keys = ON")
        self.con.execute("PRAGMA busy_timeout = 5000")
        if schema == "hand":
            self.con.executescript(HAND_SCHEMA)
        else:
            for f in sorted(MIGRATIONS.glob("V*__*.sql"), key=lambda p: int(p.name[1:].split("__")[0])):
                self.con.executescript(f.read_text(encoding="utf-8"))

    def close(self) -> None:
        self.con.close()

    def create_project(self, name: str) -> str:
        pid, t = str(uuid.uuid4()), now()
        self.con.execute(
            "INSERT INTO projects (id, userId, name, description, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?)",
            (pid, USER, name, None, t, t),
        )
        return pid

    @staticmethod
    def row(f: Fields) -> Tuple[Any, ...]:
        t = now()
        return (
            str(uuid.uuid4()), f["project_id"], USER, f["name"], f["image_url"], f["thumbnail_url"],
            f["persona_name"], f["persona_age"], f["persona_personality"], f["persona_background"], f["gender"],
            f["age_range"], f["ethnicity"], f["body_type"], f["hair_style"], f["hair_color"], f["eye_color"],
            f["skin_tone"], f["style"], f["source_type"], f["generation_prompt"], f["seed_used"], 0, None, t, t,
        )  # fmt: skip

    def create_avatar(self, f: Fields) -> Dict[str, Any]:
        row = self.row(f)
        self.con.execute(f"INSERT INTO avatars ({COLUMNS}) VALUES ({PLACEHOLDERS})", row)
        return dict(zip(COLUMN_NAMES, row))

    def create_avatars(self, fs: List[Fields]) -> List[Dict[str, Any]]:
        rows = [self.row(f) for f in fs]
        self.con.execute("BEGIN IMMEDIATE")
        try:
            self.con.executemany(f"INSERT INTO avatars ({COLUMNS}) VALUES ({PLACEHOLDERS})", rows)
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")
        return [dict(zip(COLUMN_NAMES, r)) for r in rows]

    def get_avatar(self, avatar_id: str) -> Dict[str, Any]:
        row = self.con.execute(f"SELECT {COLUMNS} FROM avatars WHERE id = ? AND userId = ?", (avatar_id, USER)).fetchone()
        return dict(zip(COLUMN_NAMES, row))

    def page(self, project_id: str, after: Tuple[str, str] | None) -> List[Dict[str, Any]]:
        if after is None:
            cur = self.con.execute(
                f"SELECT {COLUMNS} FROM avatars WHERE userId = ? AND projectId = ? ORDER BY createdAt, id LIMIT 50",
                (USER, project_id),
            )
        else:
            cur = self.con.execute(
                f"SELECT {COLUMNS} FROM avatars WHERE userId = ? AND projectId = ? AND (createdAt, id) > (?, ?) "
                "ORDER BY createdAt, id LIMIT 50",
                (USER, project_id, after[0], after[1]),
            )
        return [dict(zip(COLUMN_NAMES, r)) for r in cur.fetchall()]

    def record_usage(self, avatar_id: str) -> None:
        self.con.execute(
            "UPDATE avatars SET usageCount = usageCount + 1, lastUsedAt = ? WHERE id = ? AND userId = ?",
            (now(), avatar_id, USER),
        )

    def projects_with_avatars(self) -> List[Dict[str, Any]]:
        projects = [
            dict(zip(("id", "userId", "name", "description", "createdAt", "updatedAt"), r), avatars=[])
            for r in self.con.execute(
                "SELECT id, userId, name, description, createdAt, updatedAt FROM projects WHERE userId = ? "
                "ORDER BY createdAt DESC, id DESC LIMIT 100",
                (USER,),
            )
        ]
        by_id = {p["id"]: p for p in projects}
        for r in self.con.execute(
            f"SELECT {COLUMNS} FROM avatars WHERE userId = ? ORDER BY projectId, createdAt, id", (USER,)
        ):
            p = by_id.get(r[1])
            if p is not None:
                p["avatars"].append(dict(zip(COLUMN_NAMES, r)))
        return projects


# --------------------------------------------------------------- workloads

Timed = Callable[[Path, int], float]  # returns the seconds of the timed part
Baseline_ = Callable[[Path, int, str], float]  # the same, on a baseline schema


def store_w1(path: Path, n: int) -> float:
    with avatar_store.Store(path) as s:
        start = time.perf_counter()
        pid = s.create_project(USER, name="W1").id
        for i in range(n):
            s.create_avatar(USER, **avatar_fields(pid, i))
        return time.perf_counter() - start


def base_w1(path: Path, n: int, schema: str) -> float:
    b = Baseline(path, schema)
    start = time.perf_counter()
    pid = b.create_project("W1")
    for i in range(n):
        b.create_avatar(avatar_fields(pid, i))
    elapsed = time.perf_counter() - start
    b.close()
    return elapsed


def store_w2(path: Path, n: int) -> float:
    with avatar_store.Store(path) as s:
        pid = s.create_project(USER, name="W2").id
        items = [avatar_fields(pid, i) for i in range(n)]
        start = time.perf_counter()
        s.create_avatars(USER, items)  # type: ignore[arg-type]
        return time.perf_counter() - start


def base_w2(path: Path, n: int, schema: str) -> float:
    b = Baseline(path, schema)
    pid = b.create_project("W2")
    items = [avatar_fields(pid, i) for i in range(n)]
    start = time.perf_counter()
    b.create_avatars(items)
    elapsed = time.perf_counter() - start
    b.close()
    return elapsed


def store_setup(s: avatar_store.Store, n: int) -> Tuple[str, List[str]]:
    pid = s.create_project(USER, name="setup").id
    created = s.create_avatars(USER, [avatar_fields(pid, i) for i in range(n)])  # type: ignore[misc]
    return pid, [a.id for a in created]


def base_setup(b: Baseline, n: int) -> Tuple[str, List[str]]:
    pid = b.create_project("setup")
    created = b.create_avatars([avatar_fields(pid, i) for i in range(n)])
    return pid, [a["id"] for a in created]


def store_w3(path: Path, n: int) -> float:
    with avatar_store.Store(path) as s:
        _, ids = store_setup(s, n)
        order = random.Random(3).choices(ids, k=n)
        start = time.perf_counter()
        for i in order:
            s.get_avatar(USER, i)
        return time.perf_counter() - start


def base_w3(path: Path, n: int, schema: str) -> float:
    b = Baseline(path, schema)
    _, ids = base_setup(b, n)
    order = random.Random(3).choices(ids, k=n)
    start = time.perf_counter()
    for i in order:
        b.get_avatar(i)
    elapsed = time.perf_counter() - start
    b.close()
    return elapsed


def store_w4(path: Path, n: int) -> float:
    with avatar_store.Store(path) as s:
        pid, _ = store_setup(s, n)
        start = time.perf_counter()
        rows, cursor = 0, None
        while True:
            page = s.list_avatars(USER, project_id=pid, limit=50, cursor=cursor)
            rows += len(page)
            cursor = page.next_cursor
            if cursor is None:
                break
        elapsed = time.perf_counter() - start
        assert rows == n, rows
        return elapsed


def base_w4(path: Path, n: int, schema: str) -> float:
    b = Baseline(path, schema)
    pid, _ = base_setup(b, n)
    start = time.perf_counter()
    rows, after = 0, None
    while True:
        page = b.page(pid, after)
        rows += len(page)
        if len(page) < 50:
            break
        after = (page[-1]["createdAt"], page[-1]["id"])
    elapsed = time.perf_counter() - start
    assert rows == n, rows
    b.close()
    return elapsed


def store_w5(path: Path, n: int) -> float:
    with avatar_store.Store(path) as s:
        _, ids = store_setup(s, n)
        order = random.Random(5).choices(ids, k=n)
        start = time.perf_counter()
        for i in order:
            s.record_usage(USER, i)
        return time.perf_counter() - start


def base_w5(path: Path, n: int, schema: str) -> float:
    b = Baseline(path, schema)
    _, ids = base_setup(b, n)
    order = random.Random(5).choices(ids, k=n)
    start = time.perf_counter()
    for i in order:
        b.record_usage(i)
    elapsed = time.perf_counter() - start
    b.close()
    return elapsed


def store_w6(path: Path, r: int) -> float:
    with avatar_store.Store(path) as s:
        items: List[Fields] = []
        for p in range(100):
            pid = s.create_project(USER, name=f"P{p}").id
            items += [avatar_fields(pid, p * 20 + i) for i in range(20)]
        s.create_avatars(USER, items)  # type: ignore[arg-type]
        start = time.perf_counter()
        for _ in range(r):
            page = s.list_projects_with_avatars(USER, limit=100)
        elapsed = time.perf_counter() - start
        assert len(page) == 100 and all(len(p.avatars) == 20 for p in page)
        return elapsed


def base_w6(path: Path, r: int, schema: str) -> float:
    b = Baseline(path, schema)
    items: List[Fields] = []
    for p in range(100):
        pid = b.create_project(f"P{p}")
        items += [avatar_fields(pid, p * 20 + i) for i in range(20)]
    b.create_avatars(items)
    start = time.perf_counter()
    for _ in range(r):
        projects = b.projects_with_avatars()
    elapsed = time.perf_counter() - start
    assert len(projects) == 100 and all(len(p["avatars"]) == 20 for p in projects)
    b.close()
    return elapsed


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description="W1-W6: avatar_store against hand-written sqlite3")
    parser.add_argument("--n", type=int, default=10_000, help="avatars per workload (default 10000)")
    parser.add_argument("--r", type=int, default=200, help="repetitions of W6 (default 200)")
    parser.add_argument("--runs", type=int, default=3, help="runs per side; the median is reported (default 3)")
    args = parser.parse_args(argv)
    n, r = args.n, args.r

    workloads: List[Tuple[str, str, int, Timed, Baseline_]] = [
        ("W1", "create_each", n, store_w1, base_w1),
        ("W2", "create_batch", n, store_w2, base_w2),
        ("W3", "get_by_id", n, store_w3, base_w3),
        ("W4", "list_page", n, store_w4, base_w4),
        ("W5", "record_usage", n, store_w5, base_w5),
        ("W6", "list_projects_with_avatars", r, store_w6, base_w6),
    ]
    print(f"avatar_store {avatar_store.__version__} vs sqlite3 (SQLite {sqlite3.sqlite_version}), "
          f"N={n}, R={r}, median of {args.runs} runs")  # fmt: skip
    print("ratio: avatar_store / sqlite3 on the hand-written schema (hand) and on the store schema (store)")
    print(f"{'workload':<32} {'avatar_store ops/s':>19} {'sqlite3 hand':>13} {'ratio':>6} {'sqlite3 store':>14} {'ratio':>6}")
    worst = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        for wid, name, ops, ours, theirs in workloads:
            res: Dict[str, List[float]] = {"s": [], "hand": [], "store": []}

            def timed(side: str, path: Path, ours: Timed = ours, theirs: Baseline_ = theirs) -> float:
                return ours(path, ops) if side == "s" else theirs(path, ops, side)

            for run in range(args.runs):
                # Rotate which side goes first, so none always gets the warmer cache.
                sides = ["s", "hand", "store"]
                for k in range(len(sides)):
                    side = sides[(k + run) % len(sides)]
                    res[side].append(ops / timed(side, Path(tmp) / f"{wid}-{side}-{run}.db"))
            a, h, b = (statistics.median(res[k]) for k in ("s", "hand", "store"))
            worst = min(worst, a / h)
            print(f"{wid + ' ' + name:<32} {a:>19,.0f} {h:>13,.0f} {a / h:>6.2f} {b:>14,.0f} {a / b:>6.2f}")
    print(f"lowest ratio to the hand-written schema: {worst:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
