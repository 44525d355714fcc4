#!/usr/bin/env python3
"""Prints the last criterion run of core/benches/workloads.rs as a table:
per group, each benchmark's median time, its ops/s (elements per second when
the group declares a throughput) and the store's ratio to each baseline
(store ops/s divided by the baseline's; above 1 means the store is faster).

    cargo bench -p avatar-store --bench workloads
    python3 benches/criterion_ratios.py [target/criterion]

Reads <dir>/<group>/<benchmark>/new/{benchmark,estimates}.json, which
criterion writes for every benchmark it runs (criterion's own output only
compares a benchmark with its previous run, not with its neighbours).
"""

import json
import sys
from pathlib import Path

BASELINES = ["rusqlite_store_schema", "rusqlite_hand_schema"]


def load(root):
    groups = {}
    for meta_path in sorted(root.glob("**/new/benchmark.json")):
        meta = json.loads(meta_path.read_text())
        est = json.loads((meta_path.parent / "estimates.json").read_text())
        ns = est["median"]["point_estimate"]
        elements = (meta.get("throughput") or {}).get("Elements", 1)
        name = meta["function_id"] + (f"/{meta['value_str']}" if meta.get("value_str") else "")
        groups.setdefault(meta["group_id"], {})[name] = (ns, elements * 1e9 / ns)
    return groups


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
    groups = load(root)
    if not groups:
        sys.exit(f"no criterion results under {root}; run `cargo bench -p avatar-store --bench workloads` first")
    header = f"{'group':<32} {'benchmark':<34} {'median':>11} {'ops/s':>12}  " + "  ".join(
        f"{'vs ' + b.removeprefix('rusqlite_'):>17}" for b in BASELINES
    )
    print(header)
    for group, rows in sorted(groups.items()):
        for name, (ns, ops) in sorted(rows.items(), key=lambda kv: (kv[0] != "store", kv[0])):
            ratios = ""
            if name == "store":
                ratios = "  ".join(
                    f"{(ops / rows[b][1]):>16.2f}x" if b in rows else f"{'':>17}" for b in BASELINES
                )
            time = f"{ns / 1e6:.3f} ms" if ns >= 1e5 else f"{ns / 1e3:.2f} us"
            print(f"{group:<32} {name:<34} {time:>11} {ops:>12,.0f}  {ratios}")


if __name__ == "__main__":
    main()
