"""The benchmark job written directly against pyarrow: the practical limit in Python.

    .venv/bin/python bench/pyarrow_job.py DATA_FOLDER [--file-type PARQUET|JSONL]

Streams DATA_FOLDER/accounts.csv with pyarrow's (threaded) CSV reader, reading only the 9 fields
used, filters (Industry one of three AND AnnualRevenue > 4,000,000), masks the first 7 characters
of Phone, truncates Description to 40, concatenates Name and BillingCountry, renames 3 fields and
writes DATA_FOLDER/out/pyarrow/part.parquet (snappy) or part.jsonl. No error handling, no
counters, no per-record failures: only what the job needs. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.measure import peak_rss_mb  # noqa: E402

FIELDS = [
    "Id",
    "Name",
    "Industry",
    "AnnualRevenue",
    "NumberOfEmployees",
    "Phone",
    "Description",
    "BillingCountry",
    "CreatedDate",
]
INDUSTRIES = pa.array(["Technology", "Finance", "Healthcare"])


def transform(batch: pa.RecordBatch) -> pa.Table:
    keep = pc.and_(
        pc.is_in(batch.column("Industry"), value_set=INDUSTRIES),
        pc.greater(pc.cast(batch.column("AnnualRevenue"), pa.float64()), 4_000_000.0),
    )
    t = pa.Table.from_batches([batch]).filter(keep)
    phone = t.column("Phone")
    masked = pc.binary_join_element_wise(
        pc.binary_repeat("*", pc.min_element_wise(pc.utf8_length(phone), 7)),
        pc.utf8_slice_codeunits(phone, 7),
        "",
    )
    return pa.table(
        {
            "account_id": t.column("Id"),
            "Name": t.column("Name"),
            "Industry": t.column("Industry"),
            "annual_revenue": t.column("AnnualRevenue"),
            "employees": t.column("NumberOfEmployees"),
            "Phone": masked,
            "Description": pc.utf8_slice_codeunits(t.column("Description"), 0, 40),
            "BillingCountry": t.column("BillingCountry"),
            "CreatedDate": t.column("CreatedDate"),
            "display_name": pc.binary_join_element_wise(
                t.column("Name"), " (", t.column("BillingCountry"), ")", ""
            ),
        }
    )


def jsonl_lines(table: pa.Table) -> pa.Buffer:
    """JSON Lines for a table of text columns: one element-wise join, escaping only if needed."""
    pieces: list = []
    for i, name in enumerate(table.column_names):
        column = table.column(i).combine_chunks()
        if pc.any(pc.match_substring_regex(column, r'["\\\x00-\x1f]')).as_py():
            column = pc.replace_substring(pc.replace_substring(column, "\\", "\\\\"), '"', '\\"')
            column = pc.replace_substring_regex(column, r"[\x00-\x1f]", " ")
        pieces += [("{" if i == 0 else ",") + json.dumps(name) + ':"', column, '"']
    pieces[-1] = '"}\n'
    # merge the literals between columns: fewer arrays to join
    merged: list = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    lines = pc.binary_join_element_wise(*merged, "")
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    return lines.buffers()[2][: pc.sum(pc.binary_length(lines)).as_py()]  # a fresh array: offset 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--file-type", default="PARQUET", choices=["PARQUET", "JSONL"])
    args = parser.parse_args()
    out = args.folder / "out" / "pyarrow"
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    reader = pacsv.open_csv(
        args.folder / "accounts.csv",
        convert_options=pacsv.ConvertOptions(
            include_columns=FIELDS, column_types={f: pa.string() for f in FIELDS}, strings_can_be_null=False
        ),
    )
    read = written = 0
    writer = None
    sink = None
    pending: list[pa.Table] = []
    for batch in reader:
        read += batch.num_rows
        table = transform(batch)
        written += table.num_rows
        if args.file_type == "PARQUET":
            if writer is None:
                writer = pq.ParquetWriter(out / "part.parquet", table.schema, compression="snappy")
            # row groups of ~64k rows, as Sluice's writer makes them (one per batch is slower)
            pending.append(table)
            if sum(t.num_rows for t in pending) >= 65_536:
                writer.write_table(pa.concat_tables(pending))
                pending = []
        else:
            if sink is None:
                sink = open(out / "part.jsonl", "wb", buffering=1 << 20)  # noqa: SIM115 - closed below
            if table.num_rows:
                sink.write(jsonl_lines(table))
    if writer is not None:
        if pending:
            writer.write_table(pa.concat_tables(pending))
        writer.close()
    if sink is not None:
        sink.close()
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "read": read, "written": written, "peak_rss_mb": peak_rss_mb()}))


if __name__ == "__main__":
    main()
