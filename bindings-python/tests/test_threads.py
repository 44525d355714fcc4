"""The GIL is released during database work: threads sharing one Store run
at the same time."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List

import avatar_store
from avatar_store import Store
from conftest import USER, LockHolder


def test_python_runs_while_a_store_call_waits_in_rust(db_path: Path) -> None:
    """Thread A's write waits inside Rust on a lock held by another
    connection. If the GIL were held during that wait, the main thread could
    not run a single Python line (nor read through the store) until A's call
    ended; it does both while A is still inside its call."""
    with Store(db_path, busy_timeout=30) as store:
        project = store.create_project(USER, name="before")
        blocker = LockHolder(db_path)
        entered, done = threading.Event(), threading.Event()
        result: List[avatar_store.Project] = []

        def writer() -> None:
            entered.set()
            result.append(store.create_project(USER, name="written while blocked"))
            done.set()

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            assert entered.wait(10)
            spins = 0
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                spins += 1
            # The main thread ran Python and read through the same store
            # while the writer was still blocked inside its Rust call.
            assert not done.is_set() and thread.is_alive()
            assert spins > 1000
            assert store.get_project(USER, project.id).name == "before"
            assert not done.is_set()
        finally:
            blocker.release()
        thread.join(30)
        assert done.is_set() and result[0].name == "written while blocked"


def test_two_threads_are_inside_store_calls_at_once(db_path: Path) -> None:
    """Two writer threads are both inside their store calls at the same time
    (one waiting on SQLite's lock, the other on the store's writer), while a
    third, the main thread, keeps running Python and reads. Holding the GIL in
    either call would stall everyone else until it returned."""
    with Store(db_path, busy_timeout=30) as store:
        project = store.create_project(USER, name="P")
        blocker = LockHolder(db_path)
        started = [threading.Event(), threading.Event()]
        finished = [threading.Event(), threading.Event()]

        def writer(i: int) -> None:
            started[i].set()
            store.create_avatar(USER, project_id=project.id, name=f"w{i}")
            finished[i].set()

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        try:
            assert all(e.wait(10) for e in started)
            time.sleep(0.3)
            assert all(t.is_alive() for t in threads)
            assert not any(e.is_set() for e in finished)
            assert store.count(USER) == (1, 0)
            assert all(t.is_alive() for t in threads)
        finally:
            blocker.release()
        for t in threads:
            t.join(30)
        assert all(e.is_set() for e in finished)
        assert store.count(USER) == (1, 2)


def test_concurrent_record_usage_loses_no_increment(db_path: Path) -> None:
    with Store(db_path) as store:
        project = store.create_project(USER, name="P")
        avatar = store.create_avatar(USER, project_id=project.id, name="popular")
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda _: store.record_usage(USER, avatar.id), range(400)))
        assert store.get_avatar(USER, avatar.id).usage_count == 400


def test_many_threads_create_and_read(db_path: Path) -> None:
    with Store(db_path) as store:
        project = store.create_project(USER, name="P")

        def work(i: int) -> str:
            a = store.create_avatar(USER, project_id=project.id, name=f"t{i}")
            return store.get_avatar(USER, a.id).name

        with ThreadPoolExecutor(max_workers=6) as pool:
            names = sorted(pool.map(work, range(120)))
        assert names == sorted(f"t{i}" for i in range(120))
        assert store.count(USER) == (1, 120)


def test_close_while_other_threads_work(db_path: Path) -> None:
    store = Store(db_path)
    project = store.create_project(USER, name="P")
    errors: List[BaseException] = []

    def work() -> None:
        try:
            for i in range(200):
                store.create_avatar(USER, project_id=project.id, name=f"a{i}")
        except ValueError:
            pass  # the store was closed under us: refused cleanly
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    store.close()
    for t in threads:
        t.join()
    assert errors == []
    with Store(db_path) as again:
        assert again.check_schema().ok
