"""Benchmark: the Amplitude connector exporting 100,000 and 1,000,000 events from the local
project (connections/tests/amplitude_server.py), 24 hourly archives each.

    .venv/bin/python bench/amplitude_export.py [--events 100000 1000000] [--per-file 20000]

The project runs in a process of its own and builds its archives before the clock starts (serving
is timed, building is not); each export runs in a fresh process that reads every event through
AmplitudeConnector.read (request per hour, archive streamed to a temporary file, gzipped JSON lines
parsed into Arrow batches) and counts them. Printed: events, seconds, events/s, and the export
process's peak RSS, which must stay flat from 100k to 1M events (<= 1.2x): memory holds one batch,
never an archive.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
START = datetime(2026, 11, 1, tzinfo=UTC)
HOURS = 24


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--per-file", type=int, default=20_000, help="events per gzipped file of an hour")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: one export, JSON settings
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    if args.child:
        print(json.dumps(export(json.loads(args.child))))
        return
    from connections.tests.amplitude_server import serve_forever

    print(f"{'events':>10} {'archives MB':>11} {'seconds':>8} {'events/s':>10} {'peak RSS MB':>11}")
    peaks = []
    for total in args.events:
        with tempfile.TemporaryDirectory(prefix="sluice-amplitude-bench-") as cache:
            ready: multiprocessing.Queue = multiprocessing.Queue()
            hours = [START + timedelta(hours=h) for h in range(HOURS)]
            server = multiprocessing.Process(target=serve_forever, args=(ready, hours), daemon=True, kwargs={
                "events_per_hour": -(-total // HOURS), "per_file": args.per_file, "cache_dir": cache})
            server.start()
            try:
                port = ready.get(timeout=3600)
                size = sum(p.stat().st_size for p in Path(cache).iterdir()) / 1e6
                env = {**os.environ, "SLUICE_NET_ALLOW": f"127.0.0.1:{port}"}
                settings = {"base": f"http://127.0.0.1:{port}"}
                out = subprocess.run([sys.executable, __file__, "--child", json.dumps(settings)], env=env,
                                     check=True, capture_output=True, text=True).stdout
                result = json.loads(out.strip().splitlines()[-1])
            finally:
                server.terminate()
                server.join()
        peaks.append(result["peak_rss_mb"])
        print(f"{result['events']:>10,} {size:>11.1f} {result['seconds']:>8.1f} "
              f"{result['events'] / result['seconds']:>10,.0f} {result['peak_rss_mb']:>11.1f}")
    if len(peaks) > 1:
        print(f"peak RSS, largest over smallest export: {max(peaks) / min(peaks):.2f}x (must be <= 1.2x)")


def export(settings: dict) -> dict:
    from connections.connectors.amplitude import AmplitudeConnector
    from connections.connectors.base import ConnectionInfo, Window

    conn = ConnectionInfo("bench", "Amplitude", "", {"baseUrl": settings["base"]},
                          {"apiKey": "amp-key", "secretKey": "amp-secret"})
    window = Window(START, START + timedelta(hours=HOURS))
    started = time.perf_counter()
    events = 0
    for batch in AmplitudeConnector().read(conn, "events", None, [], window, {}):
        events += batch.table.num_rows
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return {"events": events, "seconds": seconds, "peak_rss_mb": peak_kb / 1024}


if __name__ == "__main__":
    main()
