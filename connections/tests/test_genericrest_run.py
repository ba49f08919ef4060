"""End to end on a real Celery worker: each example spec (GitHub-, Stripe- and HubSpot-style, against
its local server) into Local files, then a second run that pulls only what changed since the first
(incremental); the HubSpot one authorized through Sluice's OAuth views. A hostile service (a cursor
that loops) fails the run with a clear error and publishes nothing."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from connections import services as connection_services
from connections.models import Connection
from connections.tests import rest_servers
from connections.tests.rest_servers import HUBSPOT_CLIENT_ID, HUBSPOT_SECRET, STRIPE_KEY, TOKEN
from connections.tests.test_genericrest import example
from flows import services
from flows.tests.test_runs import output_rows, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def document(stream: str, fields: list[str], cursor: str, folder: str) -> dict:
    return {
        "flowName": f"rest-{stream}",
        "triggerConfig": {"triggerType": "Scheduled", "triggerProperties": {"Scheduled": {
            "scheduleExpression": "rate(1days)", "dataPullMode": "Incremental"}}},
        "sourceFlowConfig": {"connectorType": "CustomConnector", "connectorLabel": "GenericREST",
                             "connectorProfileName": "rest",
                             "sourceConnectorProperties": {"CustomConnector": {"entityName": stream}},
                             "incrementalPullConfig": {"datetimeTypeFieldName": cursor}},
        "destinationFlowConfigList": [{
            "connectorType": "CustomConnector", "connectorLabel": "LocalFiles", "connectorProfileName": "files",
            "destinationConnectorProperties": {"CustomConnector": {
                "entityName": folder, "customProperties": {"fileType": "JSONL"}}}}],
        "tasks": [
            {"sourceFields": fields, "connectorOperator": {"CustomConnector": "PROJECTION"}, "taskType": "Filter"},
            *[{"sourceFields": [f], "connectorOperator": {"CustomConnector": "NO_OP"}, "taskType": "Map",
               "destinationField": f, "taskProperties": {}} for f in fields],
        ],
    }


def files_connection(data_dir) -> None:
    connection_services.create_connection(name="files", connector_type="CustomConnector",
                                          connector_label="LocalFiles", properties={"rootPath": str(data_dir)})


def rest_connection(text: str, **credentials) -> None:
    connection_services.create_connection(name="rest", connector_type="CustomConnector",
                                          connector_label="GenericREST", properties={"spec": text},
                                          credentials=credentials)


def after(when: datetime) -> datetime:
    """The next whole second after `when`, waited for: a record stamped then (the APIs keep seconds)
    falls in the next run's window, which starts at `when` and ends at its own start."""
    stamp = datetime.fromtimestamp(math.floor(when.timestamp()) + 1, UTC)
    time.sleep(max(0.0, (stamp - datetime.now(UTC)).total_seconds() + 0.05))
    return stamp


def two_runs(flow, add) -> tuple[list[dict], list[dict]]:
    first = wait_for(services.start_flow(flow))
    assert first.status == "Successful", first.error_message
    add(after(first.data_pull_end))
    second = wait_for(services.start_flow(flow))
    assert second.status == "Successful", second.error_message
    assert second.data_pull_start == first.data_pull_end
    return output_rows(first), output_rows(second)


def test_github_style_issues_then_only_the_updated_ones(celery_worker, data_dir, monkeypatch):
    server = rest_servers.serve("github", monkeypatch, count=25)
    files_connection(data_dir)
    rest_connection(example("github", server.base, **{"size: 100": "size: 10"}), apiKey=TOKEN)
    flow = services.create_flow(document("issues", ["id", "title", "author", "updated_at"], "updated_at", "gh"))

    first, second = two_runs(flow, lambda at: server.issues.append(server.issue(99, at)))

    assert len(first) == 25 and {r["author"] for r in first} == {"user0", "user1", "user2"}
    assert [r["id"] for r in second] == [1099]
    assert server.requests[-1]["params"]["since"].endswith("Z")


def test_stripe_style_customers_then_only_the_new_ones(celery_worker, data_dir, monkeypatch):
    server = rest_servers.serve("stripe", monkeypatch, count=25)
    files_connection(data_dir)
    rest_connection(example("stripe", server.base, **{"size: 100": "size: 10"}), apiKey=STRIPE_KEY)
    flow = services.create_flow(document("customers", ["id", "email", "created"], "created", "stripe"))

    first, second = two_runs(flow, lambda at: server.customers.append(server.customer(99, int(at.timestamp()))))

    assert len(first) == 25 and first[0]["id"] == "cus_00000024"
    assert [r["id"] for r in second] == ["cus_00000099"]
    assert int(server.requests[-1]["params"]["created[gte]"]) <= int(second_start(flow).timestamp())


def second_start(flow):
    return flow.executions.order_by("-data_pull_start").first().data_pull_start  # the later run


def test_hubspot_style_contacts_authorized_through_the_oauth_views(celery_worker, data_dir, monkeypatch, client,
                                                                   owner):
    server = rest_servers.serve("hubspot", monkeypatch, count=25)
    client.force_login(owner)
    files_connection(data_dir)
    text = example("hubspot", server.base, **{"size: 100": "size: 10"})
    # The connection form: a spec that says oauth2 goes on to the consent page.
    response = client.post(reverse("connections:create", args=["GenericREST"]), {
        "connection_name": "rest", "connection_mode": "Public", "spec": text, "clientId": HUBSPOT_CLIENT_ID,
        "clientSecret": HUBSPOT_SECRET})
    assert response.status_code == 302, response.content.decode()[:3000]
    consent = urlsplit(response["Location"])
    assert f"{consent.scheme}://{consent.netloc}{consent.path}" == server.base + "/oauth/authorize"
    query = {k: v[0] for k, v in parse_qs(consent.query).items()}
    assert query["scope"] == "crm.objects.contacts.read" and query["client_id"] == HUBSPOT_CLIENT_ID
    server.codes["code-1"] = query["redirect_uri"]  # the person allowed access
    done = client.get(reverse("connections:oauth_callback", args=["GenericREST"]),
                      {"state": query["state"], "code": "code-1"})
    assert done.status_code == 302 and done["Location"].endswith("/rest/"), done.content.decode()[:2000]
    stored = Connection.objects.get(name="rest").credentials
    assert stored["accessToken"] == server.access_token and "spec" not in stored
    flow = services.create_flow(document("contacts", ["id", "email", "updatedAt"], "updatedAt", "hubspot"))

    first, second = two_runs(flow, lambda at: server.contacts.append(server.contact(99, at + timedelta(0))))

    assert len(first) == 25 and first[0]["email"] == "p25@example.org"  # oldest change first
    assert [r["id"] for r in second] == ["599"]
    last = server.requests[-1]["body"]["filterGroups"][0]["filters"][0]["value"]
    assert last == int(second_start(flow).timestamp() * 1000)


def test_a_looping_cursor_fails_the_run_and_publishes_nothing(celery_worker, data_dir, monkeypatch):
    server = rest_servers.serve("stripe", monkeypatch, count=25)
    server.repeat = True
    files_connection(data_dir)
    rest_connection(example("stripe", server.base, **{"size: 100": "size: 10"}), apiKey=STRIPE_KEY)
    flow = services.create_flow(document("customers", ["id", "email", "created"], "created", "loop"))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Error"
    assert "a paging loop" in execution.error_message and "nothing is published" in execution.error_message
    assert not (data_dir / "loop").exists() or not any((data_dir / "loop").rglob("*.jsonl"))
