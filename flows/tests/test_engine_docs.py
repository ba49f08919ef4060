"""The examples of docs/engine.md, run: each ```json block with "tasks" and "records" must give
its "writes" (and counts), or its "error"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pytest

from connections.connectors.base import ConnectionInfo
from flows.engine import Endpoint, RunError, run_flow
from flows.tests.test_engine import MemoryDestination, TableSource, document

DOC = Path(__file__).resolve().parents[2] / "docs" / "engine.md"
EXAMPLES = [
    json.loads(block)
    for block in re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    if '"records"' in block
]


def test_the_page_has_its_examples():
    assert len(EXAMPLES) >= 15


@pytest.mark.parametrize("example", EXAMPLES, ids=[str(i) for i in range(len(EXAMPLES))])
def test_engine_doc_example(example):
    source = TableSource([pa.Table.from_pylist(example["records"])])
    source.read = _plain_read(source)
    destination = MemoryDestination()

    def run():
        return run_flow(
            document(example["tasks"]),
            Endpoint(source, ConnectionInfo("src", "Tables")),
            Endpoint(destination, ConnectionInfo("dst", "Memory")),
            execution_id="doc",
        )

    if "error" in example:
        with pytest.raises(RunError) as caught:
            run()
        assert caught.value.message.startswith(example["error"])
        return
    counters = run().counters
    assert destination.committed.to_pylist() == example["writes"]
    assert counters.record_failures == example.get("failed", 0)
    assert counters.records_filtered == example.get("filtered", 0)
    assert counters.records_dropped == example.get("dropped", 0)


def _plain_read(source: TableSource):
    """TableSource without its made-up failure on the first batch."""
    from connections.connectors.base import SourceBatch

    def read(conn, entity, fields, filters, window, options):
        for table in source.tables:
            yield SourceBatch(table if fields is None else table.select(fields))

    return read


def test_the_benchmark_job_is_a_valid_document_with_the_documented_plan():
    from flows.document import validate_flow_document
    from flows.engine import compile_plan

    job = json.loads((DOC.parents[1] / "bench" / "job.json").read_text())
    assert validate_flow_document(job) == []
    words = compile_plan(job["tasks"]).describe()
    documented = re.search(r"```\nPlan: (.*?)\.\n```", DOC.read_text(encoding="utf-8"), re.S).group(1)
    assert words == documented.replace("\n", " ")
