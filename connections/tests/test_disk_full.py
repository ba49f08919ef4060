"""A full disk while writing files says "No space left on <the folder>" (a ConnectorError a person
can act on), not "unexpected error"; the Local files destination leaves nothing half-written. Real
full file systems: a 1 MiB tmpfs (mounted when the tests run as root) and /dev/full."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest

from conftest import need
from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.connectors.fileformats import open_writer, writing_to
from connections.connectors.localfiles import LocalFilesConnector

# ~1.7 MB in any format: random text does not compress (Parquet would shrink repeated values)
ROWS = pa.table({"Id": list(range(20_000)), "Name": [os.urandom(40).hex() for _ in range(20_000)]})


@pytest.fixture
def small_disk(tmp_path, monkeypatch) -> Path:
    """A 1 MiB file system of its own, as the allowed base of Local files connections."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True).returncode == 0
    need(mounted, "mounting a tmpfs (root)")
    monkeypatch.setenv("SLUICE_LOCAL_FILES_BASE", str(folder))
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize("file_type", ["JSONL", "CSV", "PARQUET"])
def test_the_local_files_destination_names_the_full_folder(small_disk, file_type):
    conn = ConnectionInfo("small", "CustomConnector", "LocalFiles", {"rootPath": str(small_disk)})
    with pytest.raises(ConnectorError) as caught:
        LocalFilesConnector().write(conn, "out", iter([ROWS, ROWS]), {
            "entityName": "out", "customProperties": {"fileType": file_type}, "executionId": "exec-1"})
    assert caught.value.message.startswith(f"No space left on {small_disk / 'out'}: free some space")
    assert list((small_disk / "out").iterdir()) == []  # the staging folder went with the error


@pytest.mark.parametrize("file_type", ["JSONL", "CSV", "PARQUET"])
def test_any_file_writer_on_a_full_device(file_type):
    need(os.path.exists("/dev/full"), "/dev/full")
    with pytest.raises(ConnectorError) as caught, writing_to("/dev/full"):
        writer = open_writer(file_type, Path("/dev/full"))
        writer.write(ROWS)
        writer.close()
    assert "No space left on /dev/full" in caught.value.message


def test_other_write_errors_are_not_called_a_full_disk(tmp_path):
    with pytest.raises(PermissionError), writing_to(tmp_path):
        raise PermissionError(13, "Permission denied", str(tmp_path))


@pytest.mark.django_db
def test_a_run_into_a_full_folder_says_so(demo, data_dir, django_capture_on_commit_callbacks):
    """The whole path: a flow whose Local files destination sits on a full file system ends in
    Error with the message naming the folder."""
    from connections.models import Connection
    from console.demo import demo_flow_document
    from flows import runner, services

    small = data_dir / "small"
    small.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)], capture_output=True).returncode == 0
    need(mounted, "mounting a tmpfs (root)")
    try:
        with open(small / "filler", "wb") as filler:  # fill it: every later write meets ENOSPC
            try:
                while True:
                    filler.write(b"\0" * 65536)
                    filler.flush()
            except OSError:
                pass
        Connection.objects.create(name="full", connector_type="CustomConnector", connector_label="LocalFiles",
                                  properties={"rootPath": str(small)})
        document = demo_flow_document() | {"flowName": "into-a-full-disk"}
        document["destinationFlowConfigList"][0]["connectorProfileName"] = "full"
        flow = services.create_flow(document)
        with django_capture_on_commit_callbacks(execute=False):
            execution = services.start_flow(flow)
        runner.run_execution(str(execution.id), worker="w")
        execution.refresh_from_db()
        assert execution.status == "Error"
        assert f"No space left on {small}" in execution.error_message, execution.error_message
        assert "unexpected" not in execution.error_message
    finally:
        subprocess.run(["umount", str(small)], check=True)
