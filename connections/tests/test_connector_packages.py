"""Installable connectors end to end: the sample package (examples/sluice-connector-sample) installed
with pip into a temporary target, seen but not imported, registered through the CLI, passing the
contract, used by a flow on a real worker into Local files, refused on unregister while in use,
updated to a new version; broken packages refused at registration with the reason; a connector that
raises at run time fails that run only; and new-connector's skeleton passing its own contract test.

pip installs into a temporary folder put on sys.path (--no-index, --no-build-isolation with the
flit_core of requirements-dev.txt): the shared environment is never changed, so a clean clone's CI
does exactly this."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from connections import registrations
from connections.connectors import packages
from connections.connectors.base import ConnectionInfo
from connections.connectors.contract import round_trip
from connections.connectors.registry import connector_keys, get_connector_class
from connections.models import Connection, ConnectorRegistration
from flows import services
from flows.tests.test_cli import sluice
from flows.tests.test_runs import output_rows, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sluice-connector-sample"


def pip_install(source: Path, target: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-index", "--no-build-isolation", "--upgrade", "--target", str(target), str(source)],
                   check=True, capture_output=True, timeout=120)


def forget(module: str) -> None:
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        del sys.modules[name]
    packages._imported_versions.pop(module, None)
    registrations._classes.clear()


class Installed:
    """The sample package, installed into a temporary target on sys.path."""

    def __init__(self, tmp_path: Path):
        self.source = tmp_path / "sample"
        self.site = tmp_path / "site"
        shutil.copytree(SAMPLE, self.source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        pip_install(self.source, self.site)

    def release(self, version: str, description: str) -> None:
        """A new version of the package, installed over the old one."""
        project = self.source / "pyproject.toml"
        project.write_text(project.read_text().replace('version = "1.0.0"', f'version = "{version}"'))
        module = self.source / "sluice_connector_sample" / "connector.py"
        module.write_text(module.read_text().replace(
            '"Tickets from a Sample Helpdesk account, read with its API key."', repr(description)))
        shutil.rmtree(self.site)  # as pip does outside --target: the old version's files go
        pip_install(self.source, self.site)


@pytest.fixture
def sample(tmp_path, monkeypatch):
    installed = Installed(tmp_path)
    monkeypatch.syspath_prepend(str(installed.site))
    yield installed
    forget("sluice_connector_sample")


def _server_module():
    spec = importlib.util.spec_from_file_location("sample_helpdesk_server", SAMPLE / "tests" / "server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def helpdesk(monkeypatch):
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")
    server_module = _server_module()
    server = server_module.serve()
    server.api_key = server_module.API_KEY
    yield server
    server.stop()


def flow_document(demo) -> dict:
    return {
        "flowName": "OpenTickets",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "CustomConnector", "connectorLabel": "SampleHelpdesk",
                             "connectorProfileName": "helpdesk",
                             "sourceConnectorProperties": {"CustomConnector": {"entityName": "tickets"}}},
        "destinationFlowConfigList": [{
            "connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
            "connectorProfileName": demo["connection"].name,
            "destinationConnectorProperties": {"CustomConnector": {
                "entityName": "out/tickets", "customProperties": {"fileType": "JSONL"}}}}],
        "tasks": [
            {"sourceFields": ["id", "status"], "connectorOperator": {"CustomConnector": "PROJECTION"},
             "taskType": "Filter"},
            {"sourceFields": ["status"], "connectorOperator": {"CustomConnector": "EQUAL_TO"}, "taskType": "Filter",
             "taskProperties": {"DATA_TYPE": "string", "VALUE": "open"}},
            *[{"sourceFields": [f], "connectorOperator": {"CustomConnector": "NO_OP"}, "taskType": "Map",
               "destinationField": f, "taskProperties": {}} for f in ("id", "status")],
        ],
    }


def test_a_package_is_registered_run_refused_on_unregister_and_updated(celery_worker, demo, sample, helpdesk):
    # Installed: seen with what it declares, but not imported and not a connector yet.
    offered = {item.label: item for item in registrations.available()}["SampleHelpdesk"]
    assert (offered.package, offered.version) == ("sluice-connector-sample", "1.0.0")
    assert offered.declared["can_be_source"] is True and offered.declared["config_fields"] == ["instanceUrl", "apiKey"]
    assert "sluice_connector_sample" not in sys.modules
    assert "SampleHelpdesk" not in connector_keys()

    registered = sluice("register-connector", "--connector-label", "SampleHelpdesk")
    assert registered.code == 0, registered.err
    assert json.loads(registered.out) == {"connectorArn": "arn:sluice:appflow:::connector/SampleHelpdesk"}
    assert connector_keys()[-1] == "SampleHelpdesk"
    row = ConnectorRegistration.objects.get()
    assert (row.package, row.version, row.registered_by[:4]) == ("sluice-connector-sample", "1.0.0", "cli:")
    cls = get_connector_class("SampleHelpdesk")
    connection = ConnectionInfo("c", "CustomConnector", "SampleHelpdesk", {"instanceUrl": helpdesk.base},
                                {"apiKey": helpdesk.api_key})
    round_trip(cls, connection, source_props={"entityName": "tickets"})

    listed = json.loads(sluice("list-connectors", "--max-results", "100").out)["connectors"]
    mine = next(c for c in listed if c.get("connectorLabel") == "SampleHelpdesk")
    assert mine["connectorOwner"] == "sluice-connector-sample" and mine["connectorVersion"] == "1.0.0"
    assert mine["registeredBy"].startswith("cli") and mine["connectorModes"] == ["SOURCE"]

    saved = Connection(name="helpdesk", connector_type="CustomConnector", connector_label="SampleHelpdesk",
                       properties={"instanceUrl": helpdesk.base})
    saved.credentials = {"apiKey": helpdesk.api_key}
    saved.save()
    flow = services.create_flow(flow_document(demo))
    helpdesk.requests.clear()
    execution = wait_for(services.start_flow(flow))
    assert execution.status == "Successful", execution.error_message
    rows = output_rows(execution)
    assert len(rows) == 40 == execution.records_written and {r["status"] for r in rows} == {"open"}
    assert all("status=open" in path for path in helpdesk.requests if "/tickets" in path)  # pushed down

    in_use = sluice("unregister-connector", "--connector-label", "SampleHelpdesk")
    assert in_use.code == 254 and "(ConflictException)" in in_use.err
    assert 'The connector "SampleHelpdesk" is in use by the connector profiles helpdesk' in in_use.err

    # A new version installed does not run until an admin takes it.
    sample.release("1.1.0", "Tickets from a Sample Helpdesk account (1.1).")
    registrations._classes.clear()  # as a freshly started worker process
    refused = wait_for(services.start_flow(flow))
    assert refused.status == "Error" and "update-connector-registration" in refused.error_message
    updated = sluice("update-connector-registration", "--connector-label", "SampleHelpdesk")
    assert updated.code == 0, updated.err
    described = json.loads(sluice("describe-connector", "--connector-type", "CustomConnector",
                                  "--connector-label", "SampleHelpdesk").out)["connectorConfiguration"]
    assert described["connectorVersion"] == "1.1.0"
    assert get_connector_class("SampleHelpdesk").description == "Tickets from a Sample Helpdesk account (1.1)."
    execution = wait_for(services.start_flow(flow))
    assert execution.status == "Successful", execution.error_message

    # Raising at run time fails that run (traceback in the worker log, not on the page), not the worker.
    helpdesk.malformed = True
    broken = wait_for(services.start_flow(flow))
    assert broken.status == "Error" and "details are in the worker log" in broken.error_message
    assert "KeyError" not in broken.error_message and "Traceback" not in broken.error_message
    helpdesk.malformed = False
    assert wait_for(services.start_flow(flow)).status == "Successful"

    saved.delete()
    flow.delete()
    assert sluice("unregister-connector", "--connector-label", "SampleHelpdesk").code == 0
    assert "SampleHelpdesk" not in connector_keys()


BROKEN_PROJECT = """\
[build-system]
requires = ["flit_core>=3.4,<4"]
build-backend = "flit_core.buildapi"

[project]
name = "sluice-connector-broken"
version = "0.1.0"
description = "Two connectors that must be refused."

[project.entry-points."sluice.connectors"]
Leaky = "sluice_connector_broken.leaky:LeakyConnector"
Crashing = "sluice_connector_broken.crashing:CrashingConnector"
"""


def test_broken_packages_are_refused_with_the_reason(tmp_path, monkeypatch):
    source = tmp_path / "broken"
    (source / "sluice_connector_broken").mkdir(parents=True)
    (source / "pyproject.toml").write_text(BROKEN_PROJECT)
    (source / "sluice_connector_broken" / "__init__.py").write_text('"""Broken connectors."""\n__version__ = "0.1.0"\n')
    (source / "sluice_connector_broken" / "leaky.py").write_text(
        "from sluice_sdk import ConfigField, Connector\n\n\n"
        "class LeakyConnector(Connector):\n"
        '    connector_type = "CustomConnector"\n    connector_label = "Leaky"\n'
        '    properties_key = "CustomConnector"\n    display_name = description = "Leaky"\n'
        "    can_be_source = True\n"
        '    config_fields = (ConfigField("apiToken", "string", "API token"),)\n')
    (source / "sluice_connector_broken" / "crashing.py").write_text('raise RuntimeError("no config file")\n')
    site = tmp_path / "site"
    pip_install(source, site)
    monkeypatch.syspath_prepend(str(site))
    try:
        leaky = sluice("register-connector", "--connector-label", "Leaky")
        assert leaky.code == 254 and "(ValidationException)" in leaky.err
        assert 'The connector "Leaky" (sluice-connector-broken 0.1.0) was refused' in leaky.err
        assert "config field apiToken looks secret: mark it secret=True" in leaky.err
        assert "it does not implement read()" in leaky.err
        crashing = sluice("register-connector", "--connector-label", "Crashing")
        assert crashing.code == 254
        assert "importing sluice_connector_broken.crashing failed: RuntimeError: no config file" in crashing.err
        assert not ConnectorRegistration.objects.exists()
        assert "Leaky" not in connector_keys() and "Crashing" not in connector_keys()
    finally:
        forget("sluice_connector_broken")


def test_only_staff_may_register_through_the_api(owner, admin_user_, sample):
    from api.operations import run_operation
    from api.wire import ApiError

    with pytest.raises(ApiError) as denied:
        run_operation("RegisterConnector", {"connectorLabel": "SampleHelpdesk"}, owner)
    assert denied.value.code == "AccessDeniedException" and not ConnectorRegistration.objects.exists()
    with pytest.raises(ApiError) as lambda_config:
        run_operation("RegisterConnector", {"connectorLabel": "SampleHelpdesk", "connectorProvisioningConfig": {
            "lambda": {"lambdaArn": "arn:aws:lambda:us-east-1:1:function:x"}}}, admin_user_)
    assert "not Lambda functions" in lambda_config.value.message
    answer = run_operation("RegisterConnector", {"connectorLabel": "SampleHelpdesk"}, admin_user_)
    assert answer["connectorArn"].endswith("connector/SampleHelpdesk")
    assert ConnectorRegistration.objects.get().registered_by == "root"
    detail = run_operation("DescribeConnectors", {"connectorTypes": ["CustomConnector"]}, owner)["connectors"]
    assert [d["registeredBy"] for d in detail if d["connectorLabel"] == "SampleHelpdesk"] == ["root"]


def test_new_connector_writes_a_package_that_passes_its_contract_test(tmp_path):
    made = sluice("new-connector", "HelpScout", "--directory", str(tmp_path))
    assert made.code == 0, made.err
    root = tmp_path / "sluice-connector-helpscout"
    assert json.loads(made.out)["directory"] == str(root)
    project = (root / "pyproject.toml").read_text()
    assert '[project.entry-points."sluice.connectors"]' in project
    assert 'HelpScout = "sluice_connector_helpscout.connector:HelpScoutConnector"' in project
    assert "{{" not in "".join(p.read_text() for p in root.rglob("*.py"))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
    again = sluice("new-connector", "HelpScout", "--directory", str(tmp_path))
    assert again.code == 254 and "exists already" in again.err
    assert sluice("new-connector", "help-scout").code == 254
