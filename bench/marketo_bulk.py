"""Marketo Bulk Extract: records per second and peak RSS of reading 100,000 and 1,000,000 leads
from the local Marketo server (connections/tests/marketo_server.py) through the connector.

Each size runs in a fresh process (so its peak RSS is its own) against a server in another
process (so the server's memory is not counted). The server writes the export file straight to
disk when the job completes: that is the data generation. The connector must stream the file
(byte ranges into Arrow's streaming CSV reader): peak RSS should stay flat from 100k to 1M
(≤ 1.2x).

    .venv/bin/python bench/marketo_bulk.py                 # both sizes, then the table
    .venv/bin/python bench/marketo_bulk.py --sizes 100000  # one size
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def serve(count: int) -> None:
    """Child: serve `count` leads, one a second from 2024-01-01, until stdin closes."""
    from connections.tests.marketo_server import serve_standalone

    market, server = serve_standalone(lead_count=count, step=timedelta(seconds=1))
    print(market.base, flush=True)
    sys.stdin.read()
    server.shutdown()


def measure(count: int) -> dict:
    """Child: read every lead through the connector, as a run would; figures as JSON."""
    from bench.measure import peak_rss_mb
    from connections.connectors.base import ConnectionInfo, Window
    from connections.connectors.marketo import MarketoConnector, bulk
    from connections.tests.marketo_server import CLIENT_ID, CLIENT_SECRET

    bulk.POLL_SECONDS = (0.2,)
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base = server.stdout.readline().strip()
        os.environ["SLUICE_NET_ALLOW"] = base.removeprefix("http://")
        conn = ConnectionInfo(
            "bench",
            "Marketo",
            "",
            {"instanceUrl": base, "earliestDate": "2024-01-01"},
            {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET},
        )
        end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1704067200 + count))
        filters = [{"field": "createdAt", "operator": "BETWEEN", "values": ["2024-01-01T00:00:00Z", end]}]
        started = time.perf_counter()
        records = batches = size = 0
        for batch in MarketoConnector().read(conn, "leads", None, filters, Window(), {}):
            records += batch.table.num_rows
            size += batch.bytes_read
            batches += 1
        seconds = time.perf_counter() - started
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    return {
        "records": records,
        "seconds": round(seconds, 2),
        "records_per_s": round(records / seconds),
        "file_mb": round(size / 1e6, 1),
        "batches": batches,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)
    if args.one:
        print(json.dumps(measure(args.one)))
        return None
    results = []
    for count in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(count)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(
        f"{'records':>10} {'seconds':>8} {'records/s':>10} {'file MB':>8} {'batches':>8} {'peak RSS MB':>12}"
    )
    for r in results:
        print(
            f"{r['records']:>10,} {r['seconds']:>8} {r['records_per_s']:>10,} {r['file_mb']:>8} "
            f"{r['batches']:>8} {r['peak_rss_mb']:>12}"
        )
    if len(results) > 1:
        ratio = results[-1]["peak_rss_mb"] / results[0]["peak_rss_mb"]
        print(
            f"peak RSS ratio, largest / smallest: {ratio:.2f}x "
            "(flat means <= 1.2x)"
        )
    return None


if __name__ == "__main__":
    main()
