"""Bad input common to every connector, through the real paths: a Filter operator the source cannot
do is refused when the flow is saved; an object or field gone from the source fails the run naming
it and saying what to do; a grant revoked at the provider marks the connection "Needs
re-authorization" from inside a run. Against the local Demo CRM server (OAuth, paged API)."""

from __future__ import annotations

import time

import pyarrow as pa
import pytest

from connections.connectors.base import ConnectionInfo, SourceBatch
from connections.models import Connection
from connections.tests import democrm_server
from console.errors import UserError
from flows import runner, services
from flows.engine import Endpoint, RunError, run_flow
from flows.models import Execution
from flows.tests.test_engine import MemoryDestination, TableSource, document, map_task


@pytest.fixture(autouse=True)
def _stop_servers():
    yield
    democrm_server.stop_all()


@pytest.fixture
def provider(monkeypatch):
    return democrm_server.serve(monkeypatch)


def crm_connection(provider) -> Connection:
    issued = provider._tokens()
    crm = Connection(name="crm", connector_type="CustomConnector", connector_label="DemoCRM",
                     properties={"instanceUrl": provider.base, "clientId": democrm_server.CLIENT_ID})
    crm.credentials = {"clientSecret": democrm_server.CLIENT_SECRET, "accessToken": issued["access_token"],
                       "refreshToken": issued["refresh_token"], "expiresAt": int(time.time()) + 3600}
    crm.save()
    return crm


def crm_flow(name: str, entity: str, tasks: list[dict], destination_root) -> dict:
    destination_root.mkdir(parents=True, exist_ok=True)
    if not Connection.objects.filter(name="files").exists():
        Connection.objects.create(name="files", connector_type="CustomConnector", connector_label="LocalFiles",
                                  properties={"rootPath": str(destination_root)})
    return services.create_flow({
        "flowName": name,
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "CustomConnector", "connectorLabel": "DemoCRM",
                             "connectorProfileName": "crm",
                             "sourceConnectorProperties": {"CustomConnector": {"entityName": entity}}},
        "destinationFlowConfigList": [{
            "connectorType": "CustomConnector", "connectorLabel": "LocalFiles", "connectorProfileName": "files",
            "destinationConnectorProperties": {"CustomConnector": {
                "entityName": "out", "customProperties": {"fileType": "JSONL"}}}}],
        "tasks": tasks,
    })


def crm_map(source: str) -> dict:
    return {"taskType": "Map", "sourceFields": [source], "destinationField": source,
            "connectorOperator": {"CustomConnector": "NO_OP"}, "taskProperties": {}}


def run_now(flow, django_capture_on_commit_callbacks) -> Execution:
    with django_capture_on_commit_callbacks(execute=False):
        execution = services.start_flow(flow)
    runner.run_execution(str(execution.id), worker="w")
    execution.refresh_from_db()
    return execution


# -- a Filter operator the source cannot do ---------------------------------------------------------


def slack_document(operator: str) -> dict:
    return {
        "flowName": "slack-users",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "Slack", "connectorProfileName": "slack",
                             "sourceConnectorProperties": {"Slack": {"object": "users"}}},
        "destinationFlowConfigList": [{
            "connectorType": "CustomConnector", "connectorLabel": "LocalFiles", "connectorProfileName": "files",
            "destinationConnectorProperties": {"CustomConnector": {"entityName": "out"}}}],
        "tasks": [
            {"taskType": "Filter", "sourceFields": ["name", "updated"], "connectorOperator": {"Slack": "PROJECTION"}},
            {"taskType": "Filter", "sourceFields": ["updated"], "connectorOperator": {"Slack": operator},
             "taskProperties": {"DATA_TYPE": "integer", "VALUE": "1700000000"}},
        ],
    }


@pytest.mark.django_db
def test_a_filter_operator_the_source_cannot_do_is_refused_when_the_flow_is_saved(data_dir):
    Connection.objects.create(name="slack", connector_type="Slack", properties={})
    Connection.objects.create(name="files", connector_type="CustomConnector", connector_label="LocalFiles",
                              properties={"rootPath": str(data_dir)})
    with pytest.raises(UserError) as refused:
        services.create_flow(slack_document("GREATER_THAN"))  # in AppFlow's Slack list, not Slack's API
    assert refused.value.errors == [
        "tasks[1].connectorOperator.Slack: the Filter task on updated uses GREATER_THAN, which Slack cannot do; "
        "use one of PROJECTION, BETWEEN, EQUAL_TO"]
    assert services.create_flow(slack_document("EQUAL_TO")).name == "slack-users"


# -- an object or a field that is no longer there ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_field_gone_from_the_source_fails_the_run_naming_it(provider, data_dir,
                                                               django_capture_on_commit_callbacks):
    crm_connection(provider)
    flow = crm_flow("crm-accounts", "Accounts", [crm_map("id"), crm_map("Industry")], data_dir / "lake")
    execution = run_now(flow, django_capture_on_commit_callbacks)
    assert execution.status == "Error"
    assert execution.error_message == (
        "Reading Accounts from Demo CRM (crm) failed: Accounts has no field Industry. If it was renamed or "
        "deleted in Demo CRM, edit the flow, choose Refresh fields, and remap the tasks that use it; "
        "otherwise correct the field names in the flow's tasks.")
    assert not (data_dir / "lake" / "out").exists() or not any((data_dir / "lake" / "out").rglob("*.jsonl"))


@pytest.mark.django_db(transaction=True)
def test_an_object_gone_from_the_source_fails_the_run_naming_it(provider, data_dir,
                                                                 django_capture_on_commit_callbacks):
    crm_connection(provider)
    flow = crm_flow("crm-leads", "Leads", [crm_map("id")], data_dir / "lake")
    execution = run_now(flow, django_capture_on_commit_callbacks)
    assert execution.status == "Error"
    assert execution.error_message.startswith('Reading Leads from Demo CRM (crm) failed: The Demo CRM has no '
                                              'object "Leads".')
    assert execution.error_message.endswith("edit the flow, choose Refresh fields, and pick its source object "
                                            "again.")


def test_a_field_missing_from_a_batch_names_the_object_and_what_to_do():
    source = TableSource([pa.table({"Id": ["1"], "Name": ["Acme"]})])
    source.read = lambda *a, **k: iter([SourceBatch(pa.table({"Id": ["1"], "Name": ["Acme"]}))])
    with pytest.raises(RunError) as failed:
        run_flow(document([map_task("Id", "Id"), map_task("Phone", "Phone")]),
                 Endpoint(source, ConnectionInfo("crm", "Tables")),
                 Endpoint(MemoryDestination(), ConnectionInfo("", "Memory")), execution_id="x")
    message = failed.value.message
    assert message.startswith('Field "Phone" (used by tasks[1]) is not in the source data. Available fields: '
                              "Id, Name. accounts.csv from Tables (crm) has no such field now. If it was renamed")
    assert "choose Refresh fields, and remap the tasks that use it" in message


# -- a grant revoked at the provider ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_grant_revoked_mid_run_marks_the_connection_and_fails_the_run(provider, data_dir,
                                                                         django_capture_on_commit_callbacks):
    crm = crm_connection(provider)
    flow = crm_flow("crm-accounts", "Accounts", [crm_map("id")], data_dir / "lake")
    # Revoked at the provider after Sluice last looked: the stored token still looks valid for an
    # hour, so the run starts, gets a 401 on its first call, and the refresh is refused.
    provider.access_tokens.clear()
    provider.refresh_tokens.clear()

    execution = run_now(flow, django_capture_on_commit_callbacks)

    assert execution.status == "Error"
    assert "needs re-authorization" in execution.error_message and "Re-authorize" in execution.error_message
    crm.refresh_from_db()
    assert crm.status == Connection.Status.NEEDS_REAUTHORIZATION
    assert execution.token_refreshes == len(provider.token_calls) == 1
    assert not any((data_dir / "lake").rglob("*.jsonl"))

    # The next run stops before calling the provider at all.
    calls = len(provider.requests)
    again = run_now(flow, django_capture_on_commit_callbacks)
    assert again.status == "Error" and "needs re-authorization" in again.error_message
    assert len(provider.requests) == calls and len(provider.token_calls) == 1
