"""Files a source hands over beside its records (SourceBatch.files, e.g. Veeva Vault documents):
the file destinations publish them with the records, under the run's documents/ folder, in the
same all-or-nothing step; a destination that cannot store files fails the run before writing; the
engine deletes the handed-over files whatever happens. No Django: the engine alone."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from connections.connectors.base import ConnectionInfo, Connector, SourceBatch, SourceFile
from connections.connectors.localfiles import LocalFilesConnector
from connections.connectors.s3.connector import S3Connector
from connections.tests import s3server
from flows.engine import Endpoint, RunError, run_flow
from flows.tests.test_engine import MemoryDestination, document, map_all


class DocumentSource(Connector):
    """Two records, each with a file handed over (written to a temporary file, as a real source
    downloads one)."""

    connector_type = "Docs"
    display_name = "Docs"
    can_be_source = True

    def __init__(self, names: tuple[str, ...] = ("1/0.1/source/brochure.pdf", "2/1.0/source/label.txt")):
        self.names = names
        self.paths: list[str] = []

    def read(self, conn, entity, fields, filters, window, options) -> Iterator[SourceBatch]:
        files = []
        for number, name in enumerate(self.names):
            with tempfile.NamedTemporaryFile("wb", delete=False, prefix="sluice-doc-") as out:
                out.write(f"content of document {number}".encode())
            self.paths.append(out.name)
            files.append(SourceFile(name, out.name, Path(out.name).stat().st_size))
        yield SourceBatch(pa.table({"id": ["1", "2"], "name__v": ["Brochure", "Label"]}), files=files)


def endpoints(root: Path, source: Connector, destination: Connector | None = None):
    files = ConnectionInfo("files", "CustomConnector", "LocalFiles", {"rootPath": str(root)})
    return Endpoint(source, files), Endpoint(destination or LocalFilesConnector(), files)


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("SLUICE_LOCAL_FILES_BASE", str(tmp_path))
    return tmp_path


def test_local_files_publishes_the_files_beside_the_records(root):
    source = DocumentSource()
    logs: list[tuple[str, str]] = []
    result = run_flow(document([map_all()]), *endpoints(root, source), execution_id="exec-1",
                      log=lambda level, message: logs.append((level, message)))

    run = root / "out" / "exec-1"
    assert result.status == "Successful"
    assert (run / "documents/1/0.1/source/brochure.pdf").read_bytes() == b"content of document 0"
    assert (run / "documents/2/1.0/source/label.txt").read_bytes() == b"content of document 1"
    assert len((run / "part-00000.jsonl").read_text().splitlines()) == 2
    assert not any(Path(p).exists() for p in source.paths)  # the engine deleted what it was handed
    assert any("2 files from Docs" in message for _, message in logs), logs


def test_a_destination_that_cannot_store_files_fails_the_run_naming_both(root):
    source, memory = DocumentSource(), MemoryDestination()
    with pytest.raises(RunError) as failed:
        run_flow(document([map_all()]), *endpoints(root, source, memory), execution_id="exec-1")

    assert "hands over files beside the records" in failed.value.message
    assert "cannot store files: write to S3 or Local files" in failed.value.message
    assert memory.committed is None  # the batches raised into it: nothing committed
    assert not any(Path(p).exists() for p in source.paths)


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/passwd", "1/../../x", ".hidden/x", "a\\b"])
def test_a_file_name_that_is_not_a_plain_relative_path_publishes_nothing(root, name):
    source = DocumentSource(names=(name,))
    with pytest.raises(RunError) as failed:
        run_flow(document([map_all()]), *endpoints(root, source), execution_id="exec-1")

    assert "not a plain relative path" in failed.value.message
    assert not (root / "out" / "exec-1").exists() and not (root / "escape.txt").exists()
    assert not any(Path(p).exists() for p in source.paths)


def test_s3_publishes_the_files_and_lists_them_in_the_manifest(root):
    bucket = s3server.new_bucket()
    source = DocumentSource()
    lake = ConnectionInfo("lake", "S3", "", {"region": s3server.REGION, "endpointUrl": s3server.need_s3()},
                          {"accessKeyId": s3server.ACCESS_KEY, "secretAccessKey": s3server.SECRET_KEY})
    flow = document([map_all()])
    flow["destinationFlowConfigList"] = [{"connectorType": "S3", "destinationConnectorProperties": {
        "S3": {"bucketName": bucket, "bucketPrefix": "vault", "s3OutputFormatConfig": {"fileType": "JSON"}}}}]
    files = ConnectionInfo("files", "CustomConnector", "LocalFiles", {"rootPath": str(root)})

    result = run_flow(flow, Endpoint(source, files), Endpoint(S3Connector(), lake), execution_id="exec-9")

    assert result.status == "Successful"
    keys = s3server.keys(bucket, "vault/")
    assert keys == ["vault/exec-9/_manifest.json", "vault/exec-9/documents/1/0.1/source/brochure.pdf",
                    "vault/exec-9/documents/2/1.0/source/label.txt", "vault/exec-9/part-00000.jsonl"]
    assert s3server.body(bucket, "vault/exec-9/documents/2/1.0/source/label.txt") == b"content of document 1"
    manifest = json.loads(s3server.body(bucket, "vault/exec-9/_manifest.json"))
    assert [d["key"] for d in manifest["documents"]] == keys[1:3] and manifest["records"] == 2
    assert not any(Path(p).exists() for p in source.paths)
