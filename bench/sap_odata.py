"""SAP OData: records per second and peak RSS of reading 50,000 and 500,000 sales orders from the
local V2 gateway (connections/tests/sapodata_server.py) through the connector, $top/$skip pages of
3,000 (AppFlow's maximum OData page size).

Each size runs in a fresh process (so its peak RSS is its own) against a server in another process
(so the server's memory is not counted). The connector must stream: one page at a time becomes one
Arrow batch, nothing is kept, so peak RSS should stay flat from 50k to 500k (<= 1.2x).

    .venv/bin/python bench/sap_odata.py                # both sizes, then the table
    .venv/bin/python bench/sap_odata.py --sizes 50000  # one size
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")


def serve(count: int) -> None:
    """Child: serve `count` sales orders until stdin closes."""
    from connections.tests import local_server
    from connections.tests.sapodata_server import serve_standalone

    gateway = serve_standalone(orders=count)
    print(gateway.base, flush=True)
    sys.stdin.read()
    local_server.stop_all()


def measure(count: int) -> dict:
    """Child: read every sales order through the connector, as a run would; figures as JSON."""
    from bench.measure import peak_rss_mb
    from connections.connectors.base import Window
    from connections.connectors.sapodata import SAPODataConnector
    from connections.tests.sapodata_server import V2_SERVICE, SapGateway, connection

    server = subprocess.Popen([sys.executable, __file__, "--serve", str(count)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        base = server.stdout.readline().strip()
        os.environ["SLUICE_NET_ALLOW"] = base.removeprefix("http://")
        conn = connection(SapGateway(base=base))
        started = time.perf_counter()
        records = batches = size = 0
        for batch in SAPODataConnector().read(conn, f"{V2_SERVICE}/SalesOrderSet", None, [], Window(),
                                              {"paginationConfig": {"maxPageSize": 3000}}):
            records += batch.table.num_rows
            size += batch.bytes_read
            batches += 1
        seconds = time.perf_counter() - started
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    return {"records": records, "seconds": round(seconds, 2), "records_per_s": round(records / seconds),
            "json_mb": round(size / 1e6, 1), "batches": batches, "peak_rss_mb": round(peak_rss_mb(), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 500_000])
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
        out = subprocess.run([sys.executable, __file__, "--one", str(count)], capture_output=True, text=True,
                             check=True, cwd=ROOT)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'records':>10} {'seconds':>8} {'records/s':>10} {'JSON MB':>8} {'batches':>8} "
          f"{'peak RSS MB':>12}")
    for r in results:
        print(f"{r['records']:>10,} {r['seconds']:>8} {r['records_per_s']:>10,} {r['json_mb']:>8} "
              f"{r['batches']:>8} {r['peak_rss_mb']:>12}")
    if len(results) > 1:
        ratio = results[-1]["peak_rss_mb"] / results[0]["peak_rss_mb"]
        print(f"peak RSS ratio, largest / smallest: {ratio:.2f}x (flat means <= 1.2x)")
    return None


if __name__ == "__main__":
    main()
