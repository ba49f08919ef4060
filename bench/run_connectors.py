"""Benchmark: the issue-7 connectors with the demo CRM rows (Account CSV, 16 text columns).

    .venv/bin/python bench/run_connectors.py [--rows 1000000] [--only pg s3]

Jobs, each run by the engine in a fresh subprocess (wall time of run_flow, rows/s, peak RSS):

  pg-copy     raw COPY of the CSV file into the table (psycopg, no engine): the yardstick
  pg-insert   Local files CSV -> PostgreSQL INSERT (COPY per batch), into the emptied table
  pg-raw-upsert  COPY of the CSV into a temp table + one INSERT ... ON CONFLICT (no engine)
  pg-upsert   Local files CSV -> PostgreSQL UPSERT on Id, into the full table (every row updated)
  s3-parquet  CSV on S3 -> Parquet on S3 (moto in server mode, started here)
  pg-s3-jsonl PostgreSQL table -> JSON Lines on S3
  pg-read     PostgreSQL table read by the connector alone (no engine, no destination): the
              source's own speed (--only read)

PostgreSQL: SLUICE_BENCH_PG_HOST / _PORT / _USER / _PASSWORD (default 127.0.0.1:5432 postgres);
the bench creates and drops its own database. moto keeps objects in memory and serves them from
Python: S3 figures measure Sluice plus moto, not Amazon S3.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PG = {
    "host": os.environ.get("SLUICE_BENCH_PG_HOST", "127.0.0.1"),
    "port": int(os.environ.get("SLUICE_BENCH_PG_PORT", "5432")),
    "user": os.environ.get("SLUICE_BENCH_PG_USER", "postgres"),
    "password": os.environ.get("SLUICE_BENCH_PG_PASSWORD", ""),
}
S3_KEYS = {"accessKeyId": "bench", "secretAccessKey": "bench-secret"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", nargs="+", choices=["pg", "s3", "read"], default=["pg", "s3"])
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: one job, JSON settings
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(json.loads(args.child))))
        return
    sys.path.insert(0, str(REPO))
    import psycopg
    from psycopg import sql

    demo = _load_demo_data()
    database = f"sluice_bench_{os.getpid()}"
    print(f"{'job':<13} {'rows':>10} {'run s':>7} {'rows/s':>10} {'peak RSS MB':>11}  note")
    with tempfile.TemporaryDirectory(prefix="sluice-bench-") as tmp:
        csv_path = demo.write_accounts_csv(Path(tmp) / "accounts.csv", rows=args.rows)
        with csv_path.open(newline="") as f:
            columns = next(csv.reader(f))
        settings = {"root": tmp, "database": database, "rows": args.rows, "columns": columns}
        with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        try:
            with psycopg.connect(dbname=database, autocommit=True, **PG) as db:
                defs = [sql.SQL("{} text").format(sql.Identifier(c)) for c in columns]
                db.execute(
                    sql.SQL('CREATE TABLE accounts ({}, PRIMARY KEY ("Id"))').format(sql.SQL(", ").join(defs))
                )
            if "pg" in args.only:
                copy = _child({**settings, "job": "pg-copy"})
                _print("pg-copy", copy, "yardstick")
                _truncate(database)
                insert = _child({**settings, "job": "pg-insert"})
                _print("pg-insert", insert, f"{insert['rows_per_s'] / copy['rows_per_s']:.2f}x raw COPY")
                raw_upsert = _child({**settings, "job": "pg-raw-upsert"})
                _print("pg-raw-upsert", raw_upsert, "yardstick: COPY to a temp table + one ON CONFLICT")
                upsert = _child({**settings, "job": "pg-upsert"})
                _print(
                    "pg-upsert",
                    upsert,
                    f"{upsert['rows_per_s'] / copy['rows_per_s']:.2f}x raw COPY, "
                    f"{upsert['rows_per_s'] / raw_upsert['rows_per_s']:.2f}x raw upsert (all updates)",
                )
            if "read" in args.only:
                if "pg" not in args.only:
                    _child({**settings, "job": "pg-copy"})
                _print("pg-read", _child({**settings, "job": "pg-read"}), "connector read only")
            if "s3" in args.only:
                endpoint = _start_moto()
                settings["endpoint"] = endpoint
                _upload(endpoint, csv_path)
                _print("s3-parquet", _child({**settings, "job": "s3-parquet"}), "moto server")
                if "pg" not in args.only:
                    _child({**settings, "job": "pg-copy"})
                _print("pg-s3-jsonl", _child({**settings, "job": "pg-s3-jsonl"}), "moto server")
        finally:
            with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
                )


def run_child(settings: dict) -> dict:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("SLUICE_LOCAL_FILES_BASE", settings["root"])
    job = settings["job"]
    started = time.perf_counter()
    if job == "pg-copy":
        import psycopg

        with psycopg.connect(dbname=settings["database"], **PG) as db, db.cursor() as cur:
            with (
                open(Path(settings["root"]) / "accounts.csv", "rb") as f,
                cur.copy("COPY accounts FROM STDIN (FORMAT csv, HEADER true)") as copy,
            ):
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
        records = settings["rows"]
    elif job == "pg-raw-upsert":
        import psycopg
        from psycopg import sql

        columns = settings["columns"]
        with psycopg.connect(dbname=settings["database"], **PG) as db, db.cursor() as cur:
            cur.execute("CREATE TEMP TABLE stage (LIKE accounts) ON COMMIT DROP")
            with (
                open(Path(settings["root"]) / "accounts.csv", "rb") as f,
                cur.copy("COPY stage FROM STDIN (FORMAT csv, HEADER true)") as copy,
            ):
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
            cur.execute(
                sql.SQL(
                    'INSERT INTO accounts SELECT * FROM stage ON CONFLICT ("Id") DO UPDATE SET {}'
                ).format(
                    sql.SQL(", ").join(
                        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in columns if c != "Id"
                    )
                )
            )
        records = settings["rows"]
    elif job == "pg-read":
        records = _read_pg(settings)
    else:
        records = _run_flow(settings)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "records": records,
        "rows_per_s": records / seconds,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _run_flow(settings: dict) -> int:
    from connections.connectors.base import ConnectionInfo
    from connections.connectors.localfiles import LocalFilesConnector
    from connections.connectors.postgresql import PostgreSQLConnector
    from connections.connectors.s3 import S3Connector
    from flows.engine import Endpoint, run_flow

    files = Endpoint(
        LocalFilesConnector(),
        ConnectionInfo("f", "CustomConnector", "LocalFiles", {"rootPath": settings["root"]}),
    )
    pg = Endpoint(
        PostgreSQLConnector(),
        ConnectionInfo(
            "pg",
            "CustomConnector",
            "PostgreSQL",
            {
                "host": PG["host"],
                "port": str(PG["port"]),
                "database": settings["database"],
                "sslMode": "disable",
            },
            {"username": PG["user"], "password": PG["password"]},
        ),
    )
    s3 = Endpoint(
        S3Connector(),
        ConnectionInfo(
            "s3", "S3", "", {"region": "us-east-1", "endpointUrl": settings.get("endpoint", "")}, S3_KEYS
        ),
    )
    job = settings["job"]
    if job in ("pg-insert", "pg-upsert"):
        source, source_props = files, {"CustomConnector": {"entityName": "accounts.csv"}}
        destination = pg
        dest_props = {
            "CustomConnector": {
                "entityName": "public.accounts",
                "writeOperationType": "UPSERT" if job == "pg-upsert" else "INSERT",
                "idFieldNames": ["Id"] if job == "pg-upsert" else [],
            }
        }
    elif job == "s3-parquet":
        source, source_props = (
            s3,
            {
                "S3": {
                    "bucketName": "bench",
                    "bucketPrefix": "in",
                    "s3InputFormatConfig": {"s3InputFileType": "CSV"},
                }
            },
        )
        destination, dest_props = (
            s3,
            {
                "S3": {
                    "bucketName": "bench",
                    "bucketPrefix": "parquet",
                    "s3OutputFormatConfig": {"fileType": "PARQUET"},
                }
            },
        )
    else:
        source, source_props = pg, {"CustomConnector": {"entityName": "public.accounts"}}
        destination, dest_props = (
            s3,
            {
                "S3": {
                    "bucketName": "bench",
                    "bucketPrefix": "jsonl",
                    "s3OutputFormatConfig": {"fileType": "JSON"},
                }
            },
        )
    document = {
        "sourceFlowConfig": {"connectorType": "x", "sourceConnectorProperties": source_props},
        "destinationFlowConfigList": [{"connectorType": "x", "destinationConnectorProperties": dest_props}],
        "tasks": [
            {
                "taskType": "Map_all",
                "sourceFields": [""],
                "connectorOperator": {"CustomConnector": "NO_OP"},
                "taskProperties": {},
            }
        ],
    }
    result = run_flow(document, source, destination, execution_id="bench")
    return result.counters.records_written


def _read_pg(settings: dict) -> int:
    from connections.connectors.base import ConnectionInfo, Window
    from connections.connectors.postgresql import PostgreSQLConnector

    conn = ConnectionInfo(
        "pg",
        "CustomConnector",
        "PostgreSQL",
        {"host": PG["host"], "port": str(PG["port"]), "database": settings["database"], "sslMode": "disable"},
        {"username": PG["user"], "password": PG["password"]},
    )
    batches = PostgreSQLConnector().read(conn, "public.accounts", None, [], Window(), {})
    return sum(b.table.num_rows for b in batches)


def _child(settings: dict) -> dict:
    child = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(settings)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode:
        sys.exit(f"{settings['job']} failed:\n{child.stderr}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def _print(job: str, r: dict, note: str) -> None:
    print(
        f"{job:<13} {r['records']:>10,} {r['seconds']:>7.2f} {r['rows_per_s']:>10,.0f} "
        f"{r['peak_rss_mb']:>11.0f}  {note}",
        flush=True,
    )


def _truncate(database: str) -> None:
    import psycopg

    with psycopg.connect(dbname=database, autocommit=True, **PG) as db:
        db.execute("TRUNCATE accounts")


def _start_moto() -> str:
    import socket

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False).start()
    return f"http://127.0.0.1:{port}"


def _upload(endpoint: str, csv_path: Path) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench-secret",
    )
    client.create_bucket(Bucket="bench")
    client.upload_file(str(csv_path), "bench", "in/accounts.csv")


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _load_demo_data():
    spec = importlib.util.spec_from_file_location("sluice_demo_data", REPO / "console" / "demo_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    main()
