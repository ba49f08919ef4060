"""Run-safety quotas (flows/quotas.py): flows, concurrent runs (per flow and in total), runs per
month, records and bytes per run. Each refusal names the quota, the limit and the setting."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pytest
from django.utils import timezone

from connections.connectors.base import ConnectionInfo
from console.demo import demo_flow_document
from console.errors import QuotaExceeded
from flows import dispatcher, quotas, runner, services
from flows.engine import Counters, Endpoint, RunError, RunLimits, run_flow
from flows.models import Execution
from flows.tests.test_cli import sluice
from flows.tests.test_dispatcher import NOW, active_flow
from flows.tests.test_engine import MemoryDestination, TableSource, document, map_all
from flows.tests.test_events import event_flow, post  # noqa: F401  (event_flow is a fixture)

pytestmark = pytest.mark.django_db


def another_flow(name: str):
    return services.create_flow(demo_flow_document() | {"flowName": name})


def test_flows_past_the_quota_are_refused_naming_quota_limit_and_setting(demo, settings):
    settings.SLUICE_MAX_FLOWS = 1  # the demo flow is the one
    with pytest.raises(QuotaExceeded) as caught:
        another_flow("second")
    assert caught.value.code == "ServiceQuotaExceededException"
    assert str(caught.value) == ("Quota reached: flows (limit 1, setting SLUICE_MAX_FLOWS). "
                                 "Delete a flow you no longer use, or raise the limit.")
    settings.SLUICE_MAX_FLOWS = 0  # off
    another_flow("second")


def test_the_cli_answers_service_quota_exceeded(demo, settings):
    settings.SLUICE_MAX_CONCURRENT_RUNS = 1
    Execution.objects.create(flow=demo["flow"], version=demo["flow"].current_version)  # one in progress
    result = sluice("start-flow", "--flow-name", demo["flow"].name)
    assert result.code == 254
    assert ("An error occurred (ServiceQuotaExceededException) when calling the StartFlow operation: "
            "Quota reached: concurrent runs (limit 1, setting SLUICE_MAX_CONCURRENT_RUNS).") in result.err


def test_concurrent_runs_per_flow_and_in_total(demo, settings):
    flow, other = demo["flow"], another_flow("other")
    settings.SLUICE_MAX_CONCURRENT_RUNS_PER_FLOW = 1
    services.start_flow(flow)
    with pytest.raises(QuotaExceeded, match=r'concurrent runs of the flow "demo-accounts-to-jsonl" \(limit 1, '
                                            r"setting SLUICE_MAX_CONCURRENT_RUNS_PER_FLOW\)"):
        services.start_flow(flow)
    services.start_flow(other)  # another flow has its own count
    settings.SLUICE_MAX_CONCURRENT_RUNS = 2
    settings.SLUICE_MAX_CONCURRENT_RUNS_PER_FLOW = 0
    with pytest.raises(QuotaExceeded, match=r"concurrent runs \(limit 2, setting SLUICE_MAX_CONCURRENT_RUNS\)"):
        services.start_flow(flow)
    Execution.objects.filter(flow=other).update(status=Execution.Status.SUCCESSFUL)  # a run finished
    services.start_flow(flow)


def test_runs_per_month_count_this_months_runs_but_not_skipped_slots(demo, settings):
    flow = demo["flow"]
    settings.SLUICE_MAX_RUNS_PER_MONTH = 2
    last_month = quotas.month_start() - timedelta(days=1)
    old = Execution.objects.create(flow=flow, version=flow.current_version, status="Successful")
    Execution.objects.filter(pk=old.pk).update(created_at=last_month)
    Execution.objects.create(flow=flow, version=flow.current_version, status="Skipped")
    Execution.objects.create(flow=flow, version=flow.current_version, status="Successful")
    services.start_flow(flow)  # the second run of this month
    with pytest.raises(QuotaExceeded, match=r"runs per month \(limit 2, setting SLUICE_MAX_RUNS_PER_MONTH\)\. "
                                            r"Runs can start again on the 1st \(UTC\)"):
        services.start_flow(flow)


def test_the_run_button_shows_the_quota_message(signed_in, demo, settings):
    settings.SLUICE_MAX_RUNS_PER_MONTH = 1
    Execution.objects.create(flow=demo["flow"], version=demo["flow"].current_version, status="Successful")
    response = signed_in.post(f"/flows/{demo['flow'].name}/run/", follow=True)
    assert response.status_code == 200
    assert "Quota reached: runs per month (limit 1, setting SLUICE_MAX_RUNS_PER_MONTH)." in response.content.decode()
    assert Execution.objects.count() == 1


def test_a_scheduled_run_over_quota_is_recorded_as_skipped_not_crashed(demo, settings):
    settings.SLUICE_MAX_CONCURRENT_RUNS = 2
    Execution.objects.create(flow=demo["flow"], version=demo["flow"].current_version)  # one in progress
    for index in range(3):
        active_flow(f"due-{index}")
    result = dispatcher.dispatch_due(NOW)
    assert len(result.started) == 1 and len(result.skipped) == 2  # one place was left
    skipped = Execution.objects.filter(status="Skipped")
    assert {e.error_message for e in skipped} == {
        "Skipped the run scheduled for 2026-05-04 10:00:00 UTC. Quota reached: concurrent runs (limit 2, "
        "setting SLUICE_MAX_CONCURRENT_RUNS). Wait for runs in progress to finish, or raise the limit. "
        "The next run covers this one's window."}
    assert all(e.log_lines.filter(level="WARNING").exists() for e in skipped)


def test_an_event_over_quota_is_refused_with_429(client, event_flow, settings):  # noqa: F811
    flow, secret = event_flow
    settings.SLUICE_MAX_RUNS_PER_MONTH = 1
    Execution.objects.create(flow=flow, version=flow.current_version, status="Successful")
    response = post(client, flow, b"{}", secret)
    assert response.status_code == 429
    assert "Quota reached: runs per month (limit 1" in response.json()["message"]
    assert Execution.objects.count() == 1


# --- records and bytes per run -------------------------------------------------------------------


def test_the_engine_stops_a_run_that_reads_more_than_its_limit():
    rows = pa.table({"Id": [str(i) for i in range(10)], "Name": ["x"] * 10})
    destination = MemoryDestination()
    limits = RunLimits(max_records=15, records_setting="SLUICE_MAX_RECORDS_PER_RUN")
    with pytest.raises(RunError) as caught:
        run_flow(document([map_all()]), Endpoint(TableSource([rows, rows]), ConnectionInfo("s", "Tables")),
                 Endpoint(destination, ConnectionInfo("d", "Collect")), execution_id="e", limits=limits)
    assert caught.value.message == (
        "Quota reached: records per run. The run read more than 15 records, the most one run may read "
        "(setting SLUICE_MAX_RECORDS_PER_RUN), and was stopped. Read less per run (a filter, an incremental "
        "pull) or raise the limit.")
    assert caught.value.counters.records_processed > 15
    RunLimits(max_records=15).check(Counters(records_processed=15))  # at the limit is fine


def test_a_run_over_the_records_limit_ends_in_error_and_writes_nothing(demo, settings):
    settings.SLUICE_MAX_RECORDS_PER_RUN = 100  # the demo file has 500
    execution = services.start_flow(demo["flow"])
    runner.run_execution(str(execution.pk))
    execution.refresh_from_db()
    assert execution.status == "Error"
    assert execution.error_message.startswith("Quota reached: records per run. The run read more than 100 records")
    assert "(setting SLUICE_MAX_RECORDS_PER_RUN)" in execution.error_message
    assert not (demo["root"] / "out" / "accounts" / str(execution.pk)).exists()


def test_defaults_are_appflows_figures():
    from django.conf import settings

    assert settings.SLUICE_MAX_FLOWS == 1_000
    assert settings.SLUICE_MAX_CONCURRENT_RUNS == 1_000
    assert settings.SLUICE_MAX_RUNS_PER_MONTH == 10_000_000
    assert settings.SLUICE_MAX_BYTES_PER_RUN == 100 * 1024**3
    assert timezone.now() >= quotas.month_start()


def test_the_import_page_shows_the_flows_quota(signed_in, demo, settings):
    import json

    settings.SLUICE_MAX_FLOWS = 1
    response = signed_in.post("/flows/import/", {"document": json.dumps(demo_flow_document() | {"flowName": "second"})})
    assert response.status_code == 200
    assert "Quota reached: flows (limit 1, setting SLUICE_MAX_FLOWS)." in response.content.decode()
