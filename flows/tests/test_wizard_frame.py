"""The wizard's frame: a walk through steps 1-2-3-4-5 with the test client saves the draft after
each step and creates the flow (helpers used by the other wizard tests)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from flows.models import Flow, FlowDraft

pytestmark = pytest.mark.django_db


def step_url(draft, slug: str) -> str:
    return reverse("flows:wizard-step", args=[draft.pk, slug])


def start(client) -> FlowDraft:
    response = client.post(reverse("flows:wizard-new"))
    assert response.status_code == 302
    draft = FlowDraft.objects.get()
    assert response.url == step_url(draft, "details")
    return draft


def configure_data(connection: str, **extra) -> dict:
    data = {
        "source_connector": "LocalFiles", "source_connection": connection, "source_object": "accounts.csv",
        "destination_connector": "LocalFiles", "destination_connection": connection,
        "destination_object": "out/wizard", "file_type": "CSV", "trigger_type": "OnDemand",
    }
    data.update(extra)
    return data


def walk_to_review(client, demo, name: str = "wizard-flow") -> FlowDraft:
    draft = start(client)
    response = client.post(step_url(draft, "details"), {"name": name, "description": "made by the wizard",
                                                        "encryption": "default", "tag_rows": "1",
                                                        "tag_key_0": "team", "tag_value_0": "data"})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response.url == step_url(draft, "configure")
    draft.refresh_from_db()
    assert draft.step == "configure" and draft.data["flowName"] == name
    response = client.post(step_url(draft, "configure"), configure_data(demo["connection"].name))
    assert response.status_code == 302, response.content.decode()[-6000:]
    assert response.url == step_url(draft, "map")
    draft.refresh_from_db()
    assert draft.step == "map" and draft.data["sourceFlowConfig"]["connectorProfileName"] == demo["connection"].name
    response = client.post(step_url(draft, "map"), {"action": "map_all"})
    assert response.status_code == 302, response.content.decode()[-3000:]
    response = client.post(step_url(draft, "map"), {"action": "next"})
    assert response.status_code == 302, response.content.decode()[-3000:]
    response = client.post(step_url(draft, "filters"), {})
    assert response.status_code == 302
    assert response.url == step_url(draft, "review")
    draft.refresh_from_db()
    return draft


def test_walk_creates_the_flow_and_removes_the_draft(signed_in, demo, owner):
    draft = walk_to_review(signed_in, demo)
    page = signed_in.get(step_url(draft, "review"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "accounts.csv" in html and "out/wizard" in html and "problem" not in html
    response = signed_in.post(step_url(draft, "review"), {"action": "create"})
    assert response.status_code == 302
    flow = Flow.objects.get(name="wizard-flow")
    assert response.url == reverse("flows:detail", args=[flow.name])
    document = flow.definition
    assert document["tags"] == {"team": "data"}
    assert document["destinationFlowConfigList"][0]["destinationConnectorProperties"] == {
        "CustomConnector": {"entityName": "out/wizard", "customProperties": {"fileType": "CSV"}}}
    assert [t["taskType"] for t in document["tasks"]][:2] == ["Filter", "Map"]
    assert not FlowDraft.objects.exists()
