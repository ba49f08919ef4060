"""Benchmark: the demo job (Account CSV -> Map_all -> JSONL through Local files) at several sizes.

    .venv/bin/python bench/run_demo_job.py [--rows 100000 1000000] [--file-type JSONL]

For each size it writes the demo CSV into a temporary folder, then runs the engine in a fresh
subprocess and prints wall time, rows/s, MB/s and that process's peak RSS (VmHWM), next to its
RSS after imports, so that flat memory shows: the peak should not grow with the row count.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--file-type", default="JSONL", choices=["JSONL", "CSV", "PARQUET"])
    parser.add_argument("--block-bytes", type=int, help="SLUICE_READ_BLOCK_BYTES for the run")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: run one job in this process
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_job(Path(args.child), args.file_type)))
        return

    demo_data = _load_demo_data()
    env = dict(os.environ)
    if args.block_bytes:
        env["SLUICE_READ_BLOCK_BYTES"] = str(args.block_bytes)
    print(
        f"{'rows':>10} {'csv MB':>8} {'gen s':>6} {'run s':>6} {'rows/s':>10} {'MB/s':>6} "
        f"{'RSS idle MB':>11} {'peak RSS MB':>11} {'out MB':>7}"
    )
    with tempfile.TemporaryDirectory(prefix="sluice-bench-") as tmp:
        env["SLUICE_LOCAL_FILES_BASE"] = tmp
        for rows in args.rows:
            root = Path(tmp) / f"rows-{rows}"
            started = time.perf_counter()
            csv_path = demo_data.write_accounts_csv(root / "accounts.csv", rows=rows)
            generated = time.perf_counter() - started
            child = subprocess.run(
                [sys.executable, __file__, "--child", str(root), "--file-type", args.file_type],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                check=False,
            )
            if child.returncode:
                sys.exit(f"the run with {rows} rows failed:\n{child.stderr}")
            r = json.loads(child.stdout.strip().splitlines()[-1])
            mb = csv_path.stat().st_size / 1e6
            print(
                f"{rows:>10,} {mb:>8.1f} {generated:>6.2f} {r['seconds']:>6.2f} "
                f"{r['records'] / r['seconds']:>10,.0f} {mb / r['seconds']:>6.0f} "
                f"{r['rss_idle_mb']:>11.0f} {r['peak_rss_mb']:>11.0f} {r['bytes_written'] / 1e6:>7.1f}"
            )
            csv_path.unlink()


def run_job(root: Path, file_type: str) -> dict:
    sys.path.insert(0, str(REPO))
    from connections.connectors.base import ConnectionInfo
    from connections.connectors.localfiles import LocalFilesConnector
    from flows.engine import Endpoint, run_flow

    idle = _rss_mb("VmRSS")
    connection = ConnectionInfo("bench", "CustomConnector", "LocalFiles", {"rootPath": str(root)})
    endpoint = Endpoint(LocalFilesConnector(), connection)
    document = {
        "sourceFlowConfig": {
            "connectorType": "CustomConnector",
            "connectorLabel": "LocalFiles",
            "sourceConnectorProperties": {"CustomConnector": {"entityName": "accounts.csv"}},
        },
        "destinationFlowConfigList": [
            {
                "connectorType": "CustomConnector",
                "connectorLabel": "LocalFiles",
                "destinationConnectorProperties": {
                    "CustomConnector": {
                        "entityName": "out/accounts",
                        "customProperties": {"fileType": file_type},
                    }
                },
            }
        ],
        "tasks": [
            {
                "taskType": "Map_all",
                "sourceFields": [""],
                "connectorOperator": {"CustomConnector": "NO_OP"},
                "taskProperties": {},
            }
        ],
    }
    started = time.perf_counter()
    result = run_flow(document, endpoint, endpoint, execution_id="bench")
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "records": result.counters.records_written,
        "bytes_written": result.counters.bytes_written,
        "rss_idle_mb": idle,
        "peak_rss_mb": _rss_mb("VmHWM"),
    }


def _rss_mb(key: str) -> float:
    """VmRSS / VmHWM (peak) of this process from /proc, else ru_maxrss (peak only)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load_demo_data():
    # console/__init__.py starts the Celery app (and with it parts of Django); the demo data
    # module itself needs neither, so load it by path and keep the benchmark light
    path = REPO / "console" / "demo_data.py"
    spec = importlib.util.spec_from_file_location("sluice_demo_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    main()
