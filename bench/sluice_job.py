"""The benchmark job run by Sluice's engine from bench/job.json, with no custom code.

    .venv/bin/python bench/sluice_job.py DATA_FOLDER [--file-type PARQUET|JSONL]

DATA_FOLDER holds accounts.csv (bench/generate_crm.py); the output goes to DATA_FOLDER/out/sluice/.
Prints one JSON line: seconds (of run_flow only), records read and written, peak RSS in MB.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.measure import peak_rss_mb  # noqa: E402
from connections.connectors.base import ConnectionInfo  # noqa: E402
from connections.connectors.localfiles import LocalFilesConnector  # noqa: E402
from flows.document import validate_flow_document  # noqa: E402
from flows.engine import Endpoint, run_flow  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--file-type", default="PARQUET", choices=["PARQUET", "JSONL"])
    args = parser.parse_args()
    document = json.loads((REPO / "bench" / "job.json").read_text())
    destination = document["destinationFlowConfigList"][0]["destinationConnectorProperties"][
        "CustomConnector"
    ]
    destination["customProperties"]["fileType"] = args.file_type
    errors = validate_flow_document(document)
    if errors:
        sys.exit("\n".join(map(str, errors)))
    endpoint = Endpoint(
        LocalFilesConnector(),
        ConnectionInfo(
            "bench-files", "CustomConnector", "LocalFiles", {"rootPath": str(args.folder.resolve())}
        ),
    )
    started = time.perf_counter()
    result = run_flow(document, endpoint, endpoint, execution_id=f"run-{args.file_type.lower()}")
    seconds = time.perf_counter() - started
    counters = result.counters
    print(
        json.dumps(
            {
                "seconds": seconds,
                "read": counters.records_processed,
                "written": counters.records_written,
                "filtered": counters.records_filtered,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


if __name__ == "__main__":
    main()
