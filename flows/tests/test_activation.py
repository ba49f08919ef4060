"""Activate / Deactivate (StartFlow / StopFlow semantics): services, the flow page and the CLI."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from console.demo import demo_flow_document
from console.errors import Conflict, Unsupported
from flows import services
from flows.models import Execution, Flow, FlowActivity
from flows.tests.test_cli import sluice


def scheduled_document(name: str = "hourly", **properties) -> dict:
    scheduled = {"scheduleExpression": "rate(1hours)", "timezone": "Europe/Paris"} | properties
    return demo_flow_document() | {
        "flowName": name,
        "triggerConfig": {"triggerType": "Scheduled", "triggerProperties": {"Scheduled": scheduled}},
    }


@pytest.fixture
def hourly(demo, owner) -> Flow:
    return services.create_flow(scheduled_document(), user=owner)


def test_a_scheduled_flow_waits_in_draft_until_activated(hourly, owner):
    assert hourly.status == Flow.Status.DRAFT and hourly.next_run_at is None
    before = timezone.now()
    flow = services.activate_flow(hourly, user=owner)
    assert flow.status == Flow.Status.ACTIVE
    # No scheduleStartTime: the rate counts from activation, whose first slot is now.
    assert before <= flow.next_run_at <= timezone.now()
    entry = FlowActivity.objects.get(flow=flow)
    assert entry.action == "activated" and entry.user == owner and "Activated by owner" in entry.message


def test_activation_follows_the_start_time(demo):
    start = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    flow = services.create_flow(scheduled_document(scheduleStartTime=start.timestamp()))
    flow = services.activate_flow(flow)
    assert flow.next_run_at == start


def test_a_schedule_that_has_ended_cannot_be_activated(demo):
    flow = services.create_flow(scheduled_document(scheduleStartTime=1_000_000, scheduleEndTime=2_000_000))
    with pytest.raises(Conflict, match="has ended"):
        services.activate_flow(flow)
    flow.refresh_from_db()
    assert flow.status == Flow.Status.DRAFT


def test_deactivate_keeps_history_and_clears_the_next_run(hourly, owner):
    flow = services.activate_flow(hourly)
    Execution.objects.create(flow=flow, version=flow.current_version, status=Execution.Status.SUCCESSFUL)
    flow = services.deactivate_flow(flow, user=owner)
    assert flow.status == Flow.Status.SUSPENDED and flow.next_run_at is None
    assert "Deactivated by owner" in flow.status_message
    assert flow.executions.count() == 1
    assert services.activate_flow(flow).status == Flow.Status.ACTIVE


def test_on_demand_flows_have_nothing_to_activate(demo):
    flow = demo["flow"]
    with pytest.raises(Conflict, match="runs on demand"):
        services.activate_flow(flow)
    with pytest.raises(Unsupported, match="runs on demand") as stopped:
        services.deactivate_flow(flow)
    assert stopped.value.code == "UnsupportedOperationException"  # AppFlow's answer to StopFlow here


def test_flow_page_activate_and_deactivate(client, owner, hourly):
    client.force_login(owner)
    page = client.get(reverse("flows:detail", args=[hourly.name])).content.decode()
    assert "Activate</button>" in page and "would run if it were activated now" in page
    assert page.count("<td><time datetime=") >= 10

    response = client.post(reverse("flows:activate", args=[hourly.name]), follow=True)
    page = response.content.decode()
    assert "Activated &quot;hourly&quot;" in page and "Deactivate</button>" in page and "Next run" in page
    assert "Activated by owner" in page  # the activity card

    response = client.post(reverse("flows:deactivate", args=[hourly.name]), follow=True)
    page = response.content.decode()
    assert "Deactivated &quot;hourly&quot;" in page and "Activate</button>" in page
    assert Flow.objects.get(pk=hourly.pk).status == Flow.Status.SUSPENDED


def test_flow_page_lists_the_next_ten_runs_in_the_zone_and_utc(client, owner, demo):
    flow = services.create_flow(scheduled_document("nightly", scheduleExpression="cron(30 2 * * ? *)",
                                                   timezone="America/New_York"))
    client.force_login(owner)
    page = client.get(reverse("flows:detail", args=[flow.name])).content.decode()
    assert "Next 10 runs" in page and "America/New_York" in page
    assert page.count("02:30 E") + page.count("03:30 EDT") >= 9  # local column
    head = page.split('<table class="upcoming">')[1].split("</thead>")[0]
    assert [h.split("<")[0] for h in head.split('<th scope="col">')[1:]] == [
        "America/New_York (the flow's time zone)", "UTC", "Note"]


def test_a_flow_in_utc_lists_its_next_runs_in_one_utc_column(client, owner, demo):
    flow = services.create_flow(scheduled_document("nightly-utc", scheduleExpression="cron(30 2 * * ? *)", timezone="UTC"))
    client.force_login(owner)
    page = client.get(reverse("flows:detail", args=[flow.name])).content.decode()
    head = page.split('<table class="upcoming">')[1].split("</thead>")[0]
    assert [h.split("<")[0] for h in head.split('<th scope="col">')[1:]] == ["UTC (the flow's time zone)", "Note"]
    assert page.count(" 02:30</time>") == 10


def test_flow_page_shows_a_broken_schedule_as_an_error(client, owner, hourly):
    # An older version saved before the check existed: the page says what is wrong.
    version = hourly.current_version
    type(version).objects.filter(pk=version.pk).update(
        document=version.document.replace("rate(1hours)", "rate(1 fortnights)")
    )
    client.force_login(owner)
    page = client.get(reverse("flows:detail", args=[hourly.name])).content.decode()
    assert "&quot;fortnights&quot; is not a rate unit" in page


def test_cli_start_flow_activates_a_scheduled_flow_and_stop_flow_deactivates(hourly):
    result = sluice("start-flow", "--flow-name", "hourly")
    assert result.code == 0, result.err
    assert result.json == {"flowArn": "arn:sluice:appflow:::flow/hourly", "flowStatus": "Active"}
    assert not Execution.objects.exists()

    result = sluice("stop-flow", "--flow-name", "hourly")
    assert result.code == 0, result.err
    assert result.json == {"flowArn": "arn:sluice:appflow:::flow/hourly", "flowStatus": "Suspended"}

    result = sluice("start-flow", "--flow-name", "hourly", "--wait")
    assert result.code == 254 and "no run to wait for" in result.err


def test_cli_stop_flow_of_an_on_demand_flow_is_refused(demo):
    result = sluice("stop-flow", "--flow-name", demo["flow"].name)
    assert result.code == 254 and "runs on demand" in result.err


def test_cancel_every_running_run_from_the_flow_page(client, owner, demo):
    flow = demo["flow"]
    for _ in range(2):
        Execution.objects.create(flow=flow, version=flow.current_version)
    Execution.objects.create(flow=flow, version=flow.current_version, status=Execution.Status.SUCCESSFUL)
    client.force_login(owner)
    page = client.get(reverse("flows:detail", args=[flow.name])).content.decode()
    assert "Cancel 2 running</button>" in page
    response = client.post(reverse("flows:cancel-all", args=[flow.name]), follow=True)
    assert "Cancel requested for 2 runs" in response.content.decode()
    assert flow.executions.filter(status=Execution.Status.CANCEL_STARTED).count() == 2
    assert flow.executions.filter(status=Execution.Status.SUCCESSFUL).count() == 1
    response = client.post(reverse("flows:cancel-all", args=[flow.name]), follow=True)
    assert "Nothing to cancel" in response.content.decode()
