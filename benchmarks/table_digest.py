"""Digest of a run's tables, to show a refactor leaves results unchanged.

Runs ``escalation run SCENARIO -n N --seed S`` into a temporary folder (through the CLI, as a user
would) and prints one JSON line: the SHA-256 of each table's contents (columns, dtypes and values,
not the Parquet file's bytes, which carry library versions). Run it on two checkouts and compare:

    .venv/bin/python benchmarks/table_digest.py [--scenario scenarios/baseline.yaml] [-n 500] [--seed 20231017]

It runs the code of the checkout it lives in (its folder goes first on ``sys.path``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent


def table_digest(path: Path) -> str:
    """SHA-256 over the table's schema (names, types) and every column's values in row order."""
    table = pq.read_table(path)
    h = hashlib.sha256(str(table.schema.remove_metadata()).encode())
    for column in table.columns:
        values = column.combine_chunks().to_numpy(zero_copy_only=False)
        h.update(values.tobytes() if values.dtype != object else repr(values.tolist()).encode())
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    ap.add_argument("-n", "--replicates", type=int, default=500)
    ap.add_argument("--seed", type=int, default=20231017)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        cli = "experiments.cli.main" if (ROOT / "experiments" / "cli" / "main.py").exists() else "experiments.cli"  # older layout
        subprocess.run([sys.executable, "-m", cli, "run", args.scenario, "-n", str(args.replicates),
                        "--seed", str(args.seed), "--out", str(out), "--quiet"], check=True, env=env, cwd=ROOT)
        digests = {p.stem: table_digest(p) for p in sorted(out.glob("*.parquet"))}
    print(json.dumps({"scenario": Path(args.scenario).name, "replicates": args.replicates, "seed": args.seed,
                      "root": str(ROOT), **digests}))


if __name__ == "__main__":
    main()
