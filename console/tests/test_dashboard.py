"""The figures behind the charts (flows/run_stats.py) and the pages that show them: the flow page's
runs over time and the home page's dashboard, each figure from one aggregate query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from connections import services as connection_services
from console.tests.pages import flow_document, make_execution
from flows import run_stats, services
from flows.models import Execution, Flow

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 3, 10, 12, 30, tzinfo=UTC)
FLOW_PAGE_QUERIES = 11  # with the registered connectors' labels, the user's roles


def run(flow, *, minutes_ago: float, seconds: float | None = 10, status: str = "Successful", **fields):
    """An execution that started `minutes_ago` before NOW and took `seconds` (None: still going)."""
    started = NOW - timedelta(minutes=minutes_ago)
    execution = make_execution(flow, status=status, started_at=started,
                               finished_at=started + timedelta(seconds=seconds) if seconds is not None else None,
                               **fields)
    Execution.objects.filter(pk=execution.pk).update(created_at=started)
    return execution


@pytest.fixture
def two_flows(demo):
    """The demo flow (demo-local-files both ways) and "to-archive" (demo-local-files -> archive)."""
    connection_services.create_connection(name="archive", connector_type="CustomConnector",
                                          connector_label="LocalFiles", properties={"rootPath": str(demo["root"])})
    document = flow_document("to-archive")
    document["destinationFlowConfigList"][0]["connectorProfileName"] = "archive"
    return demo["flow"], services.create_flow(document)


def test_a_flows_last_runs_oldest_first_with_durations_and_failure_reasons(demo):
    flow = demo["flow"]
    run(flow, minutes_ago=30, records_processed=10, records_written=9)
    run(flow, minutes_ago=20, seconds=None, status="InProgress")
    failed = run(flow, minutes_ago=10, status="Error", records_processed=5,
                 error_message="Validate Email: if it is null, stop the run (record 3)\ntraceback-free detail")
    slots = run_stats.flow_slots(flow, "runs", now=NOW)
    assert [(s.processed, s.written, s.seconds, s.failures) for s in slots] == [
        (10, 9, 10.0, 0), (0, 0, None, 0), (5, 0, 10.0, 1)]
    assert slots[2].note == "Error: Validate Email: if it is null, stop the run (record 3)"
    assert slots[2].execution_id == str(failed.id)


def test_only_the_last_100_runs_are_drawn(demo):
    Execution.objects.bulk_create([
        Execution(flow=demo["flow"], version=demo["flow"].current_version, status="Successful",
                  records_processed=i) for i in range(run_stats.LAST_RUNS + 5)])
    slots = run_stats.flow_slots(demo["flow"], "runs", now=NOW)
    assert len(slots) == run_stats.LAST_RUNS


def test_thirty_days_a_day_at_a_time(demo):
    flow = demo["flow"]
    run(flow, minutes_ago=5, records_processed=10, seconds=10)
    run(flow, minutes_ago=6, records_processed=20, seconds=30, status="Error")
    run(flow, minutes_ago=3 * 24 * 60, records_processed=7)
    run(flow, minutes_ago=31 * 24 * 60, records_processed=1000)  # outside the 30 days
    slots = run_stats.flow_slots(flow, "days", now=NOW)
    assert len(slots) == run_stats.FLOW_DAYS and slots[-1].label == "2025-03-10"
    today, three_days_ago = slots[-1], slots[-4]
    assert (today.runs, today.failures, today.processed, today.seconds) == (2, 1, 30, 20.0)
    assert (three_days_ago.runs, three_days_ago.processed) == (1, 7)
    assert sum(s.processed for s in slots) == 37


def test_the_dashboard_counts_runs_by_status_and_records_moved_per_hour(two_flows):
    demo_flow, archive = two_flows
    run(demo_flow, minutes_ago=10, records_processed=100, records_written=90)
    run(demo_flow, minutes_ago=70, status="Error", records_processed=4)
    run(archive, minutes_ago=20, records_processed=50, records_written=50)
    run(archive, minutes_ago=25 * 60, records_processed=999)  # yesterday: in the 7 days only
    day = run_stats.dashboard("24h", now=NOW)
    assert day.by_status == {"Successful": 2, "Error": 1} and day.runs == 3
    assert day.totals == {"processed": 154, "written": 140, "failures": 1}
    assert len(day.slots) == 25 and day.slots[-1].label == "2025-03-10 12:00"
    assert (day.slots[-1].runs, day.slots[-1].processed) == (2, 150)
    assert (day.slots[-2].runs, day.slots[-2].failures) == (1, 1)
    week = run_stats.dashboard("7d", now=NOW)
    assert week.runs == 4 and len(week.slots) == 8 and week.totals["processed"] == 1153


def test_slowest_and_failing_flows(two_flows):
    demo_flow, archive = two_flows
    run(demo_flow, minutes_ago=10, seconds=5)
    run(demo_flow, minutes_ago=11, seconds=15, status="Error")
    run(archive, minutes_ago=12, seconds=60)
    run(archive, minutes_ago=13, seconds=None, status="InProgress")  # not finished: not timed
    data = run_stats.dashboard("24h", now=NOW)
    assert data.slowest == [
        {"flow": "to-archive", "runs": 1, "longest": 60.0, "average": 60.0},
        {"flow": demo_flow.name, "runs": 2, "longest": 15.0, "average": 10.0}]
    assert [(f["flow"], f["failures"], f["runs"]) for f in data.failing] == [(demo_flow.name, 1, 2)]
    assert data.failing[0]["last_failure"] == NOW - timedelta(minutes=11)


def test_api_calls_per_connection_follow_the_side_each_connection_was_on(two_flows):
    demo_flow, archive = two_flows
    run(demo_flow, minutes_ago=10, source_api_calls=3, destination_api_calls=2, token_refreshes=1)
    run(archive, minutes_ago=10, source_api_calls=5, destination_api_calls=7)
    run(archive, minutes_ago=11, source_api_calls=5, destination_api_calls=7)
    run(archive, minutes_ago=9 * 24 * 60, source_api_calls=1000)  # outside the window
    data = run_stats.dashboard("24h", now=NOW)
    assert data.api_calls == [
        {"connection": "demo-local-files", "source": 13, "destination": 2, "total": 15},
        {"connection": "archive", "source": 0, "destination": 14, "total": 14},
    ]
    assert data.token_refreshes == 1 and data.more_connections == 0


def test_a_window_nobody_asked_for_is_the_default():
    assert run_stats.choose("7d", run_stats.DASHBOARD_WINDOWS, "24h") == "7d"
    assert run_stats.choose("1y", run_stats.DASHBOARD_WINDOWS, "24h") == "24h"
    assert run_stats.choose(None, run_stats.FLOW_CHARTS, "runs") == "runs"


# --- the pages -----------------------------------------------------------------------------------


def test_home_shows_the_dashboard_and_switches_window_by_a_link(signed_in, demo):
    flow = demo["flow"]
    make_execution(flow, minutes_ago=3 * 24 * 60, records_processed=12)
    page = signed_in.get(reverse("home")).content.decode()
    assert "No runs in the last 24 hours." in page
    assert 'href="?window=7d#dashboard"' in page
    page = signed_in.get(reverse("home") + "?window=7d").content.decode()
    assert 'aria-current="true" class="current">Last 7 days</a>' in page
    assert 'data-figure="runs">1</dd>' in page and 'data-chart="Runs by status, last 7 days"' in page
    assert "No failed runs in the last 7 days." in page


def test_empty_state_of_a_week_without_runs(signed_in, demo):
    page = signed_in.get(reverse("home") + "?window=7d").content.decode()
    assert "No runs in the last 7 days." in page and "<svg" not in page


def test_flow_page_charts_mark_failures_and_switch_to_days(signed_in, demo):
    flow = demo["flow"]
    url = reverse("flows:detail", args=[flow.name])
    assert "This flow has not run yet." in signed_in.get(url).content.decode()
    make_execution(flow, minutes_ago=2, records_processed=500, records_written=500)
    make_execution(flow, minutes_ago=1, status="Error", error_message="Stop the run: Email is empty")
    page = signed_in.get(url).content.decode()
    assert "2 runs, <strong>1 failed</strong>" in page
    assert 'data-failures="1"' in page and "failed — Error: Stop the run: Email is empty" in page
    page = signed_in.get(url + "?chart=days").content.decode()
    assert 'aria-current="true" class="current">Last 30 days</a>' in page
    assert "Records processed and written, a day at a time" in page and "1 of 2 runs" in page


def _many_runs(flows, count: int) -> None:
    now = timezone.now()
    Execution.objects.bulk_create([
        Execution(flow=flows[i % len(flows)], version=flows[i % len(flows)].current_version,
                  status="Error" if i % 7 == 0 else "Successful", started_at=now - timedelta(minutes=i),
                  finished_at=now - timedelta(minutes=i) + timedelta(seconds=i % 30), records_processed=i,
                  source_api_calls=i % 3)
        for i in range(count)])


def test_home_page_queries_do_not_grow_with_the_runs(signed_in, two_flows, django_assert_num_queries):
    _many_runs(two_flows, 5)
    signed_in.get(reverse("home"))  # the session's first write is not the page's
    # session + user, connections + their count, flows, recent executions; the dashboard: runs by
    # status and records per hour, slowest flows, failing flows, API calls per connection; the
    # user's roles (accounts/access.py).
    with django_assert_num_queries(11):
        signed_in.get(reverse("home") + "?window=7d")
    _many_runs(two_flows, 300)
    with django_assert_num_queries(11):
        assert signed_in.get(reverse("home") + "?window=7d").status_code == 200


def test_flow_page_queries_do_not_grow_with_the_runs(signed_in, demo, django_assert_num_queries):
    flow = demo["flow"]
    url = reverse("flows:detail", args=[flow.name])
    signed_in.get(url)
    for chart in ("runs", "days"):
        _many_runs([flow], 5)
        # session + user, the flow, the history page and its count, versions, activity, running
        # runs, and the chart's one query (the last 100 runs, or one row per day)
        with django_assert_num_queries(FLOW_PAGE_QUERIES) as queries:
            signed_in.get(f"{url}?chart={chart}")
        _many_runs([flow], 300)
        with django_assert_num_queries(FLOW_PAGE_QUERIES):
            signed_in.get(f"{url}?chart={chart}")
        sql = [q["sql"] for q in queries.captured_queries if "AS \"took\"" in q["sql"]]
        assert len(sql) == 1 and ("GROUP BY" in sql[0]) == (chart == "days"), sql


def test_the_dashboard_shows_a_team_only_its_own_flows(two_flows, client, django_user_model):
    from accounts.models import Membership, Role, Team

    demo_flow, archive = two_flows
    other = Team.objects.create(name="archivists")
    archive.team = other
    archive.save(update_fields=["team"])
    run(demo_flow, minutes_ago=10, status="Error", source_api_calls=3)
    run(archive, minutes_ago=10, status="Error", source_api_calls=5, destination_api_calls=7)
    viewer = django_user_model.objects.create_user("viewer")
    Membership.objects.create(user=viewer, team=demo_flow.team, role=Role.VIEWER)

    data = run_stats.dashboard("24h", now=NOW, flows=Flow.objects.filter(team=demo_flow.team))
    assert [f["flow"] for f in data.failing] == [demo_flow.name] and data.runs == 1
    assert [c["connection"] for c in data.api_calls] == ["demo-local-files"]
    client.force_login(viewer)
    page = client.get(reverse("home")).content.decode()
    assert "to-archive" not in page  # its runs, its failures and its API calls are another team's
