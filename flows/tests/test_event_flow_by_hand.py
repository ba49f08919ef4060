"""A flow whose source delivers its records only as events (a Salesforce event channel) is never
run by hand or backfilled: the flow page, the CLI (and the API, which shares its verb) refuse it up
front with a reason, instead of starting a run that has nothing to read and fails."""

from __future__ import annotations

import pytest
from django.urls import reverse

from connections.models import Connection
from connections.tests.salesforce_server import CLIENT_ID
from console.errors import Conflict
from flows import services
from flows.document import runs_only_on_events
from flows.models import Execution
from flows.tests.test_cli import sluice
from flows.tests.test_salesforce_event_flow import event_flow

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow():
    Connection.objects.create(name="sf", connector_type="Salesforce", properties={"clientId": CLIENT_ID})
    Connection.objects.create(name="eb", connector_type="EventBridge", properties={"region": "us-east-1"})
    return services.create_flow(event_flow("some-bus"))


def test_only_an_event_channel_runs_only_on_events():
    document = event_flow("some-bus")
    assert runs_only_on_events(document)
    for channel in ("/event/Order_Placed__e", "/data/ChangeEvents", "AccountChangeEvent"):
        document["sourceFlowConfig"]["sourceConnectorProperties"]["Salesforce"]["object"] = channel
        assert runs_only_on_events(document), channel
    document["sourceFlowConfig"]["sourceConnectorProperties"]["Salesforce"]["object"] = "Account"
    assert not runs_only_on_events(document)
    assert not runs_only_on_events({"sourceFlowConfig": {"connectorType": "S3"}}) and not runs_only_on_events([])


def test_the_service_refuses_a_run_by_hand_and_a_backfill(flow):
    for window in (None, (None, None)):
        with pytest.raises(Conflict, match="runs on events: each run starts when its source delivers events"):
            services.start_flow(flow, window=window)
    assert not Execution.objects.exists()


@pytest.mark.parametrize("form", [{}, {"window_start": "2024-01-01T00:00", "window_end": "2024-02-01T00:00"}])
def test_the_flow_page_refuses_run_now_with_the_reason(signed_in, flow, form):
    response = signed_in.post(reverse("flows:run", args=[flow.name]), form, follow=True)
    assert "cannot be run by hand or backfilled" in response.content.decode()
    assert not Execution.objects.exists()


def test_cli_start_flow_with_a_window_is_refused_and_without_one_activates(flow):
    result = sluice("start-flow", "--flow-name", flow.name, "--data-pull-start-time", "2024-01-01T00:00:00Z")
    assert result.code != 0 and "cannot be run by hand or backfilled" in result.err
    assert not Execution.objects.exists()
    result = sluice("start-flow", "--flow-name", flow.name)
    assert result.code == 0 and result.json["flowStatus"] == "Active" and not Execution.objects.exists()
