#!/usr/bin/env bash
# Measures the resident memory of `avatar-store export` (and `import`) on a
# database of N avatars (default one million), with /usr/bin/time -v.
# Not part of the test suite: it takes minutes and a few GB of disk.
#
#   cli/scripts/measure-export-memory.sh [N] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-1000000}"
WORK="${2:-$(mktemp -d)}"
mkdir -p "$WORK"
cargo build --release -p avatar-store-cli
BIN="$PWD/target/release/avatar-store"

echo "== generating $N avatars in $WORK/input.jsonl"
python3 - "$N" "$WORK/input.jsonl" <<'PY'
import json, sys, uuid
n, path = int(sys.argv[1]), sys.argv[2]
per_project = 1000
projects = max(1, (n + per_project - 1) // per_project)
ts = "2026-01-05T09:00:00.000Z"
with open(path, "w") as f:
    f.write(json.dumps({"format": "avatar-store-export", "version": 1, "exportedAt": ts,
                        "schemaVersion": 5, "userId": None}, separators=(",", ":")) + "\n")
    pids = []
    for p in range(projects):
        pid = str(uuid.UUID(int=(0x01942f6a5e0070008000 << 48) | p))
        pids.append(pid)
        f.write(json.dumps({"type": "project", "id": pid, "userId": f"user-{p % 100}", "name": f"Project {p}",
                            "description": "generated for the memory measurement", "createdAt": ts,
                            "updatedAt": ts}, separators=(",", ":")) + "\n")
    for a in range(n):
        p = a // per_project
        f.write(json.dumps({
            "type": "avatar", "id": str(uuid.UUID(int=(0x01942f6a5e0170008000 << 48) | a)), "projectId": pids[p],
            "userId": f"user-{p % 100}", "name": f"Avatar {a}",
            "imageUrl": f"https://cdn.example.com/avatars/{a}.png",
            "thumbnailUrl": f"https://cdn.example.com/avatars/{a}-thumb.png",
            "personaName": "Nova Reyes", "personaAge": a % 100, "personaPersonality": "curious, warm",
            "personaBackground": "Grew up in a coastal town and now leads product design",
            "gender": "female", "ageRange": "25-34", "ethnicity": "latina", "bodyType": "athletic",
            "hairStyle": "bob", "hairColor": ["silver", "black", "red"][a % 3], "eyeColor": "green",
            "skinTone": "tan", "style": "cyberpunk", "sourceType": "generated",
            "generationPrompt": "portrait of a woman with a silver bob and green eyes, neon city at night",
            "seedUsed": a * 7919, "usageCount": a % 17, "lastUsedAt": None, "createdAt": ts, "updatedAt": ts,
        }, separators=(",", ":")) + "\n")
    f.write(json.dumps({"type": "end", "projects": projects, "avatars": n}, separators=(",", ":")) + "\n")
PY
ls -l "$WORK/input.jsonl"

rm -f "$WORK/big.db"*
echo "== import"
/usr/bin/time -v "$BIN" --db "$WORK/big.db" import --all-users "$WORK/input.jsonl" 2> "$WORK/import.time"
grep -E "Maximum resident|Elapsed" "$WORK/import.time"
echo "== export"
/usr/bin/time -v "$BIN" --db "$WORK/big.db" export --all-users -o "$WORK/output.jsonl" 2> "$WORK/export.time"
grep -E "Maximum resident|Elapsed" "$WORK/export.time"
tail -n 1 "$WORK/output.jsonl"
ls -l "$WORK/big.db" "$WORK/output.jsonl"
