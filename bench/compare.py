"""Run the benchmark job side by side: Sluice (from bench/job.json), pyarrow alone, and dlt.

    .venv/bin/python bench/compare.py [--rows 1000000] [--repeat 3] [--only sluice pyarrow dlt-arrow]

Generates DATA/accounts.csv (bench/generate_crm.py) once, then runs every variant --repeat times,
each in a fresh Python process, and prints a table with the best time (rows read per second over
that time) and the highest peak RSS of the runs. The time is measured inside each script, around
the job only (not interpreter start-up or imports); peak RSS is the whole process's (VmHWM,
imports included). The machine is shared: report best-of and say so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
VARIANTS = {
    "sluice-parquet": ["bench/sluice_job.py", "{data}", "--file-type", "PARQUET"],
    "sluice-jsonl": ["bench/sluice_job.py", "{data}", "--file-type", "JSONL"],
    "sluice-embedded-parquet": ["bench/embedded_job.py", "{data}", "--file-type", "PARQUET"],
    "pyarrow-parquet": ["bench/pyarrow_job.py", "{data}", "--file-type", "PARQUET"],
    "pyarrow-jsonl": ["bench/pyarrow_job.py", "{data}", "--file-type", "JSONL"],
    "dlt-arrow-parquet": ["bench/dlt_job.py", "{data}", "--mode", "arrow", "--file-type", "PARQUET"],
    "dlt-arrow-jsonl": ["bench/dlt_job.py", "{data}", "--mode", "arrow", "--file-type", "JSONL"],
    "dlt-dicts-parquet": ["bench/dlt_job.py", "{data}", "--mode", "dicts", "--file-type", "PARQUET"],
}


def run_once(args: list[str], data: Path) -> dict:
    """One run in a fresh process; its own figures (time, VmHWM) from its last output line.

    Peak RSS comes from the child's /proc VmHWM, not wait4's ru_maxrss: on Linux that one starts
    from the parent's high-water mark at fork (this script's, after generating the data)."""
    env = {**os.environ, "SLUICE_LOCAL_FILES_BASE": str(data.parent)}
    command = [PYTHON, *(a.format(data=data) for a in args)]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS), help="variants to run (default: all)")
    parser.add_argument("--data", type=Path, help="folder for accounts.csv (default: a temporary folder)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from bench.generate_crm import write_crm_csv

    with tempfile.TemporaryDirectory(prefix="sluice-bench-") as tmp:
        data = (args.data or Path(tmp) / "data").resolve()
        csv_path = data / "accounts.csv"
        if not csv_path.exists():
            write_crm_csv(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        print(f"{args.rows:,} rows, {size_mb:.0f} MB CSV; best of {args.repeat} runs each\n")
        print("| variant | best s | rows/s | written | peak RSS MB |")
        print("|---|---|---|---|---|")
        for name in args.only or list(VARIANTS):
            runs = [run_once(VARIANTS[name], data) for _ in range(args.repeat)]
            best = min(r["seconds"] for r in runs)
            print(
                f"| {name} | {best:.2f} | {args.rows / best:,.0f} | {runs[0]['written']:,} | "
                f"{max(r['peak_rss_mb'] for r in runs):.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
