"""The benchmark job done with dlt (pip install -r bench/requirements.txt, see bench/README.md).

    .venv/bin/python bench/dlt_job.py DATA_FOLDER --mode dicts|arrow [--file-type PARQUET|JSONL]

--mode dicts: dlt's usual way: a resource yielding one dict per CSV row (csv.DictReader),
  .add_filter() for the two conditions and .add_map() for mask, truncate, concatenation and the
  10 fields with 3 renames.
--mode arrow: a resource yielding pyarrow tables (pyarrow's CSV reader, the 9 fields used) and
  one .add_map() doing the job with pyarrow.compute, as bench/pyarrow_job.py does.
Both load into dlt's filesystem destination under DATA_FOLDER/out/dlt-<mode>/ (uncompressed, so
the JSONL is comparable), with dlt's state and temporary files in a fresh folder under
DATA_FOLDER. The time covers pipeline creation and pipeline.run (extract, normalize, load).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.measure import peak_rss_mb  # noqa: E402
from bench.pyarrow_job import FIELDS, transform  # noqa: E402

INDUSTRIES = {"Technology", "Finance", "Healthcare"}


def dict_rows(path: Path):
    with open(path, newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def keep(row: dict) -> bool:
    return row["Industry"] in INDUSTRIES and float(row["AnnualRevenue"]) > 4_000_000


def shape(row: dict) -> dict:
    phone = row["Phone"]
    return {
        "account_id": row["Id"],
        "Name": row["Name"],
        "Industry": row["Industry"],
        "annual_revenue": row["AnnualRevenue"],
        "employees": row["NumberOfEmployees"],
        "Phone": "*" * min(len(phone), 7) + phone[7:],
        "Description": row["Description"][:40],
        "BillingCountry": row["BillingCountry"],
        "CreatedDate": row["CreatedDate"],
        "display_name": f"{row['Name']} ({row['BillingCountry']})",
    }


def arrow_tables(path: Path):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    reader = pacsv.open_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            include_columns=FIELDS, column_types={f: pa.string() for f in FIELDS}, strings_can_be_null=False
        ),
    )
    for batch in reader:
        yield pa.Table.from_batches([batch])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--mode", required=True, choices=["dicts", "arrow"])
    parser.add_argument("--file-type", default="PARQUET", choices=["PARQUET", "JSONL"])
    args = parser.parse_args()
    folder = args.folder.resolve()
    work = folder / f".dlt-{args.mode}-{args.file_type.lower()}"
    out = folder / "out" / f"dlt-{args.mode}-{args.file_type.lower()}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ["DATA_WRITER__DISABLE_COMPRESSION"] = "true"
    import dlt

    started = time.perf_counter()
    if args.mode == "dicts":
        resource = (
            dlt.resource(dict_rows(folder / "accounts.csv"), name="accounts").add_filter(keep).add_map(shape)
        )
    else:
        resource = dlt.resource(arrow_tables(folder / "accounts.csv"), name="accounts").add_map(
            lambda table: transform(table.combine_chunks().to_batches()[0]) if table.num_rows else table
        )
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{args.mode}",
        pipelines_dir=str(work),
        destination=dlt.destinations.filesystem(bucket_url=out.as_uri()),
        dataset_name="crm",
    )
    info = pipeline.run(resource, loader_file_format=args.file_type.lower())
    seconds = time.perf_counter() - started
    written = pipeline.last_trace.last_normalize_info.row_counts.get("accounts", 0)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "written": written,
                "peak_rss_mb": peak_rss_mb(),
                "loads": len(info.loads_ids),
            }
        )
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
