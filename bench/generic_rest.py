"""Generic REST: records per second of the declarative connector (the Stripe-style example spec)
versus a hand-written client for the same local Stripe-style server
(connections/tests/rest_servers.py), 200,000 customers in pages of 100. Goal: >= 0.8x.

The server runs in another process (its time is not counted against either client); each client
reads everything twice and its better pass counts.

    .venv/bin/python bench/generic_rest.py                 # 200,000 records
    .venv/bin/python bench/generic_rest.py --count 20000   # a quicker look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FIELDS = ["id", "email", "name", "created", "balance", "delinquent", "metadata"]


def serve(count: int) -> None:
    """Child: serve `count` customers until stdin closes."""
    import pytest

    from connections.tests import local_server, rest_servers

    server = rest_servers.serve("stripe", pytest.MonkeyPatch(), count=count)
    print(server.base, flush=True)
    sys.stdin.read()
    local_server.stop_all()


def declarative(base: str) -> int:
    from connections.connectors.base import ConnectionInfo, Window
    from connections.connectors.genericrest import GenericRestConnector
    from connections.tests.rest_servers import STRIPE_KEY
    from connections.tests.test_genericrest import example

    conn = ConnectionInfo(
        "bench", "CustomConnector", "GenericREST", {"spec": example("stripe", base)}, {"apiKey": STRIPE_KEY}
    )
    batches = GenericRestConnector().read(conn, "customers", FIELDS, [], Window(), {})
    return sum(b.table.num_rows for b in batches)


def hand_written(base: str) -> int:
    """What a person would write for this one API: the same guarded client, json, Arrow."""
    import pyarrow as pa

    from connections import net
    from connections.tests.rest_servers import STRIPE_KEY

    schema = pa.schema(
        [
            ("id", pa.string()),
            ("email", pa.string()),
            ("name", pa.string()),
            ("created", pa.int64()),
            ("balance", pa.int64()),
            ("delinquent", pa.bool_()),
            ("metadata", pa.string()),
        ]
    )
    headers = {"Authorization": f"Bearer {STRIPE_KEY}", "Accept": "application/json"}
    params: dict = {"limit": 100}
    total = 0
    while True:
        answer = json.loads(
            net.request("GET", f"{base}/v1/customers?{urlencode(params)}", headers=headers).body
        )
        rows = [
            {**{k: c.get(k) for k in FIELDS}, "metadata": json.dumps(c["metadata"])} for c in answer["data"]
        ]
        total += pa.Table.from_pylist(rows, schema=schema).num_rows
        if not answer["has_more"] or not rows:
            return total
        params["starting_after"] = rows[-1]["id"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--serve", type=int)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base = server.stdout.readline().strip()
        os.environ["SLUICE_NET_ALLOW"] = base.removeprefix("http://")
        best = {}
        for _ in range(2):
            for name, read in (
                ("hand-written client", hand_written),
                ("Generic REST (stripe.yaml)", declarative),
            ):
                started = time.perf_counter()
                records = read(base)
                seconds = time.perf_counter() - started
                assert records == args.count, (name, records)
                best[name] = max(best.get(name, 0.0), records / seconds)
    finally:
        server.stdin.close()
        server.wait()
    print(f"{args.count:,} records in pages of 100 from the local Stripe-style server")
    for name, rate in best.items():
        print(f"  {name:28} {rate:12,.0f} records/s")
    ratio = best["Generic REST (stripe.yaml)"] / best["hand-written client"]
    print(f"  declarative / hand-written: {ratio:.2f}x (goal >= 0.8x)")


if __name__ == "__main__":
    main()
