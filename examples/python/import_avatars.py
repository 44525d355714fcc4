"""Import a folder of avatar JSON files into a store, then print the most
used avatars.

    python examples/python/import_avatars.py [FOLDER] [--db PATH]

Each file holds one avatar in the JSON form (camelCase keys, as `to_dict()`
writes them) plus an optional "uses" count to replay. Files that fail
validation are reported with the offending field and skipped.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Tuple, cast

import avatar_store
from avatar_store import AvatarFields, Store

USER = "example-user"


def snake_case(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def load(folder: Path, project_id: str) -> Tuple[List[AvatarFields], List[int]]:
    """Reads every *.json file: the avatar fields, and how often each was used."""
    fields: List[AvatarFields] = []
    uses: List[int] = []
    for path in sorted(folder.glob("*.json")):
        data: Dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        uses.append(int(data.pop("uses", 0)))
        item: Dict[str, Any] = {snake_case(k): v for k, v in data.items()}
        item["project_id"] = project_id
        fields.append(cast(AvatarFields, item))  # the store checks keys and types
    return fields, uses


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=Path(__file__).parent / "sample-avatars")
    parser.add_argument("--db", type=Path, help="database file (default: a temporary one)")
    args = parser.parse_args(argv)

    db: Path = args.db or Path(tempfile.mkdtemp()) / "avatars.db"
    with Store(db) as store:
        project = store.create_project(USER, name=f"Imported from {args.folder.name}")
        fields, uses = load(args.folder, project.id)

        created: List[avatar_store.Avatar] = []
        for item, n in zip(fields, uses):
            try:
                avatar = store.create_avatar(USER, **item)
            except avatar_store.ValidationError as e:
                # Nothing was written for this file; the error names the field.
                print(f"skipped {item.get('name')!r}: {e} (field {e.field})", file=sys.stderr)
                continue
            created.append(avatar)
            for _ in range(n):
                store.record_usage(USER, avatar.id)

        print(f"imported {len(created)} avatars into {db}")
        print("most used:")
        for avatar in store.list_avatars(USER, sort="usage_count", order="desc", limit=10):
            last = avatar.last_used_at.isoformat(timespec="seconds") if avatar.last_used_at else "never"
            print(f"  {avatar.usage_count:4d}  {avatar.name:<10} {avatar.hair_color or '-':<8} last used {last}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
