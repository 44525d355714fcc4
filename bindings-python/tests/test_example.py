"""The example script runs as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python" / "import_avatars.py"


def test_import_example_prints_most_used_first(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), "--db", str(tmp_path / "ex.db")], capture_output=True, text=True, check=True
    )
    lines = [line.split() for line in out.stdout.splitlines() if line.startswith("  ")]
    assert [(n, name) for n, name, *_ in lines] == [("30", "Atlas"), ("12", "Nova"), ("3", "Juniper")]
    assert "imported 3 avatars" in out.stdout
    assert "skipped 'Broken'" in out.stderr and "personaAge" in out.stderr
