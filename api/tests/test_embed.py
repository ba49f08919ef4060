"""The "embed AppFlow in your application" sequence, redone against Sluice with the real boto3
client over HTTP: an application connects its customer's CRM with OAuth tokens it obtained itself,
builds a flow to files, runs it (a real Celery worker), watches it, edits, tags, stops, deletes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from api import keys
from api.tests.conftest import Key, client_for
from console.demo_data import write_accounts_csv
from demo_saas.models import CLIENT_ID, SCOPE, DemoToken
from demo_saas.oauth import ensure_client
from flows.models import Execution

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_crm(live_server, settings, monkeypatch, owner):
    """The bundled Demo CRM served by the live server, and tokens it issued to the application."""
    settings.SLUICE_DEMO_SAAS = True
    parts = urlsplit(live_server.url)
    monkeypatch.setenv("SLUICE_NET_ALLOW", f"{parts.hostname}:{parts.port}")
    client = ensure_client(live_server.url + "/callback")
    token = DemoToken.objects.create(client_id=CLIENT_ID, user=owner, token_type="Bearer", scope=SCOPE,
                                     access_token="embed-access", refresh_token="embed-refresh",
                                     expires_in=3600)
    return {"url": live_server.url + "/demo-saas/", "client": client, "token": token}


def crm_profile_config(crm: dict, access_token: str) -> dict:
    return {
        "connectorProfileProperties": {"CustomConnector": {"profileProperties": {"instanceUrl": crm["url"]}}},
        "connectorProfileCredentials": {"CustomConnector": {
            "authenticationType": "OAUTH2",
            "oauth2": {
                "clientId": crm["client"].client_id, "clientSecret": crm["client"].client_secret,
                "accessToken": access_token, "refreshToken": "embed-refresh",
                "oAuthRequest": {"redirectUri": "https://app.example.com/callback"},
            },
        }},
    }


def crm_flow(name: str) -> dict:
    return {
        "flowName": name,
        "description": "Customer CRM accounts to files",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {
            "connectorType": "CustomConnector", "connectorProfileName": "customer-crm",
            "sourceConnectorProperties": {"CustomConnector": {"entityName": "Accounts"}},
        },
        "destinationFlowConfigList": [{
            "connectorType": "CustomConnector", "connectorProfileName": "files",
            "destinationConnectorProperties": {"CustomConnector": {
                "entityName": "out/crm", "customProperties": {"fileType": "JSONL"}}},
        }],
        "tasks": [{"sourceFields": [""], "connectorOperator": {"CustomConnector": "NO_OP"}, "taskType": "Map_all",
                   "taskProperties": {"EXCLUDE_SOURCE_FIELDS_LIST": "[]"}}],
        "tags": {"customer": "acme"},
    }


def wait_until_finished(appflow, flow: str, execution_id: str, seconds: float = 90) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        records = appflow.describe_flow_execution_records(flowName=flow)["flowExecutions"]
        record = next(r for r in records if r["executionId"] == execution_id)
        if record["executionStatus"] not in ("InProgress", "CancelStarted"):
            return record
        assert time.monotonic() < deadline, f"the run is still {record['executionStatus']}"
        time.sleep(0.2)


def test_the_embed_sequence_end_to_end(appflow, live_server, owner, demo_crm, data_dir, celery_worker):
    described = appflow.describe_connectors(connectorTypes=["CustomConnector"])
    labels = {c.get("connectorLabel") for c in described["connectors"]}
    assert {"LocalFiles", "DemoCRM"} <= labels

    write_accounts_csv(data_dir / "accounts.csv", rows=20)
    appflow.create_connector_profile(
        connectorProfileName="files", connectorType="CustomConnector", connectorLabel="LocalFiles",
        connectionMode="Public", connectorProfileConfig={
            "connectorProfileProperties": {"CustomConnector": {"profileProperties": {"rootPath": str(data_dir)}}}},
    )
    # Tokens the CRM did not issue: the connection test fails, nothing is saved.
    with pytest.raises(appflow.exceptions.ConnectorAuthenticationException) as refused:
        appflow.create_connector_profile(
            connectorProfileName="customer-crm", connectorType="CustomConnector", connectorLabel="DemoCRM",
            connectionMode="Public", connectorProfileConfig=crm_profile_config(demo_crm, "forged"))
    assert "refused the access token" in str(refused.value)
    arn = appflow.create_connector_profile(
        connectorProfileName="customer-crm", connectorType="CustomConnector", connectorLabel="DemoCRM",
        connectionMode="Public", connectorProfileConfig=crm_profile_config(demo_crm, "embed-access"),
    )["connectorProfileArn"]
    assert arn.endswith("connectorprofile/customer-crm")
    profiles = appflow.describe_connector_profiles(connectorProfileNames=["customer-crm"])
    detail = profiles["connectorProfileDetails"][0]
    assert detail["connectorLabel"] == "DemoCRM"
    assert "embed-access" not in str(profiles) and demo_crm["client"].client_secret not in str(profiles)

    entities = appflow.list_connector_entities(connectorProfileName="customer-crm")["connectorEntityMap"]
    assert "Accounts" in {e["name"] for e in entities["Objects"]}
    fields = appflow.describe_connector_entity(connectorProfileName="customer-crm",
                                               connectorEntityName="Accounts")["connectorEntityFields"]
    assert {"identifier": "id", "isPrimaryKey": True}.items() <= next(
        f for f in fields if f["identifier"] == "id").items()

    created = appflow.create_flow(**crm_flow("crm-to-files"))
    assert created["flowStatus"] == "Active"
    # The access token expires before the run: Sluice refreshes it with the refresh token it was
    # given (on SQLite too, where the Demo CRM's token endpoint writes to the same database file).
    DemoToken.objects.filter(pk=demo_crm["token"].pk).update(issued_at=int(time.time()) - 7200)
    started = appflow.start_flow(flowName="crm-to-files", clientToken="run-1")
    # The same clientToken again (from a second key, so that the request is not a byte-for-byte
    # replay of the first, which would be refused): the run it started, not another.
    key, secret = keys.create_key(owner)
    again = client_for(live_server, Key(key.access_key_id, secret)).start_flow(
        flowName="crm-to-files", clientToken="run-1")
    assert again["executionId"] == started["executionId"]
    assert Execution.objects.count() == 1
    record = wait_until_finished(appflow, "crm-to-files", started["executionId"])
    assert record["executionStatus"] == "Successful", record["executionResult"]["errorInfo"]
    assert record["executionResult"]["recordsProcessed"] > 0
    assert Execution.objects.get().token_refreshes >= 1
    assert isinstance(record["startedAt"], datetime)  # epoch seconds on the wire, parsed by botocore

    soon = datetime.now(UTC) + timedelta(days=1)
    updated = appflow.update_flow(**{k: v for k, v in crm_flow("crm-to-files").items() if k != "tags"} | {
        "description": "Nightly",
        "triggerConfig": {"triggerType": "Scheduled", "triggerProperties": {"Scheduled": {
            "scheduleExpression": "rate(1days)", "scheduleStartTime": soon}}},
    })
    assert updated["flowStatus"] == "Draft"
    flow = appflow.describe_flow(flowName="crm-to-files")
    assert flow["description"] == "Nightly" and flow["tags"] == {"customer": "acme"}

    flow_arn = flow["flowArn"]
    appflow.tag_resource(resourceArn=flow_arn, tags={"tier": "gold"})
    appflow.tag_resource(resourceArn=arn, tags={"owner": "sales"})
    assert appflow.list_tags_for_resource(resourceArn=flow_arn)["tags"] == {"customer": "acme", "tier": "gold"}
    appflow.untag_resource(resourceArn=flow_arn, tagKeys=["customer"])
    assert appflow.list_tags_for_resource(resourceArn=flow_arn)["tags"] == {"tier": "gold"}
    assert appflow.list_tags_for_resource(resourceArn=arn)["tags"] == {"owner": "sales"}

    assert appflow.start_flow(flowName="crm-to-files")["flowStatus"] == "Active"
    assert appflow.stop_flow(flowName="crm-to-files")["flowStatus"] == "Suspended"
    appflow.delete_flow(flowName="crm-to-files")
    with pytest.raises(appflow.exceptions.ResourceNotFoundException):
        appflow.describe_flow(flowName="crm-to-files")
