"""Anomaly guardrails (flows/guardrails.py): a successful run that reads nothing, or far more or
fewer records than the flow's recent runs, is flagged "Successful with warning" (or failed) and
notified; the flow page's Guardrails form sets them."""

from __future__ import annotations

import html

import pytest

from flows import guardrails, services
from flows.after_run import after_run
from flows.models import Execution, FlowActivity, NotificationChannel, NotificationDelivery, RunEvent

pytestmark = pytest.mark.django_db


def finished(flow, read: int, status: str = "Successful", **fields) -> Execution:
    return Execution.objects.create(flow=flow, version=flow.current_version, status=status,
                                    records_processed=read, **fields)


def guard(flow, *, zero=False, percent="", runs=3, action="warn"):
    return guardrails.configure(flow, zero_records=zero, change_percent=percent, baseline_runs=runs,
                                   action=action)


def test_without_guardrails_nothing_is_flagged(demo):
    execution = finished(demo["flow"], 0)
    after_run(execution.pk)
    execution.refresh_from_db()
    assert execution.warning == "" and execution.display_status == "Successful"
    assert not RunEvent.objects.exists()


def test_a_run_that_reads_nothing_is_successful_with_warning_and_notified(demo):
    flow = guard(demo["flow"], zero=True)
    NotificationChannel.objects.create(name="ops", kind="webhook", target="http://127.0.0.1:9/",
                                       when="failures")
    execution = finished(flow, 0)
    after_run(execution.pk)
    execution.refresh_from_db()
    assert execution.status == "Successful"
    assert execution.display_status == "Successful with warning"
    assert execution.warning == "The run read no record (guardrail: zero records)."
    event = RunEvent.objects.get()
    assert event.kind == "Sluice Flow Run Anomaly" and event.failure
    assert event.detail["anomaly"] == execution.warning
    assert event.detail["status"] == "Successful with warning"
    assert NotificationDelivery.objects.filter(event=event, channel__name="ops").exists()
    assert execution.log_lines.filter(level="WARNING", message=execution.warning).exists()


def test_a_volume_far_from_the_median_of_recent_runs_warns(demo):
    flow = guard(demo["flow"], percent="50", runs=3)
    for read in (1_000, 100, 1_100, 900):  # the oldest falls outside the last 3: median 900 of 100/1100/900
        finished(flow, read)
    usual = finished(flow, 1_300)  # 44% more: within 50%
    after_run(usual.pk)
    usual.refresh_from_db()
    assert usual.warning == ""
    odd = finished(flow, 100)  # last three are 1100, 900, 1300 -> median 1100
    after_run(odd.pk)
    odd.refresh_from_db()
    assert odd.warning == ("The run read 100 records, 91% fewer than the median of the last 3 successful runs "
                           "(1,100); the guardrail allows 50% (guardrail: volume change).")


def test_the_volume_check_waits_for_enough_runs_and_ignores_failed_ones(demo):
    flow = guard(demo["flow"], percent="10", runs=3)
    finished(flow, 1_000)
    finished(flow, 1_000)
    finished(flow, 5, status="Error")
    execution = finished(flow, 5_000)
    after_run(execution.pk)
    execution.refresh_from_db()
    assert execution.warning == ""  # two successful runs to compare with, not three


def test_fail_mode_turns_the_run_into_an_error(demo):
    flow = guard(demo["flow"], zero=True, action="fail")
    execution = finished(flow, 0)
    after_run(execution.pk)
    execution.refresh_from_db()
    assert execution.status == "Error" and execution.warning == ""
    assert execution.error_message == ("The run read no record (guardrail: zero records). This flow's guardrails "
                                       "fail such a run; what it wrote stays written.")
    assert RunEvent.objects.get().detail["status"] == "Error"


def test_retries_of_rejected_records_are_not_checked(demo):
    flow = guard(demo["flow"], zero=True)
    original = finished(flow, 10)
    retry = finished(flow, 0, reprocess_of=original)
    after_run(retry.pk)
    retry.refresh_from_db()
    assert retry.warning == ""


@pytest.mark.parametrize(("fields", "message"), [
    ({"change_percent": "lots"}, "Volume change: give a whole number of percent from 1 to 10000, or leave it "
                                 "empty to turn the check off; not 'lots'."),
    ({"baseline_runs": "0"}, "Runs to compare with: give a whole number from 1 to 100, not '0'."),
    ({"action": "explode"}, "When a guardrail trips: choose warn or fail, not 'explode'."),
])
def test_the_form_names_the_field_in_error(signed_in, demo, fields, message):
    data = {"change_percent": "20", "baseline_runs": "5", "action": "warn"} | fields
    response = signed_in.post(f"/flows/{demo['flow'].name}/guardrails/", data, follow=True)
    assert message in html.unescape(response.content.decode())
    demo["flow"].refresh_from_db()
    assert demo["flow"].guardrail_change_percent is None  # nothing saved


def test_the_flow_page_sets_guardrails_and_the_pages_show_the_warning(signed_in, demo):
    flow = demo["flow"]
    page = signed_in.get(f"/flows/{flow.name}/").content.decode()
    assert 'id="guardrails"' in page and "<strong data-guardrails>off</strong>" in page
    response = signed_in.post(f"/flows/{flow.name}/guardrails/", {
        "zero_records": "on", "change_percent": "30", "baseline_runs": "4", "action": "warn"}, follow=True)
    page = response.content.decode()
    flow.refresh_from_db()
    assert (flow.guardrail_zero_records, flow.guardrail_change_percent, flow.guardrail_baseline_runs,
            flow.guardrail_action) == (True, 30, 4, "warn")
    described = ("warn about a run that reads no record or a run whose records processed differ by more than 30% "
                 "from the median of the last 4 successful runs")
    assert f"Guardrails saved: {described}." in page
    assert flow.activity.filter(action=FlowActivity.Action.SETTINGS_CHANGED, message__contains=described).exists()

    execution = finished(flow, 0)
    after_run(execution.pk)
    listing = signed_in.get(f"/flows/{flow.name}/").content.decode()
    assert "Successful with warning" in listing and "The run read no record (guardrail: zero records)." in listing
    detail = signed_in.get(f"/flows/{flow.name}/executions/{execution.pk}/").content.decode()
    assert 'class="badge badge-warn">Successful with warning</span>' in detail
    assert "Warning: The run read no record (guardrail: zero records)." in detail


def test_a_worker_run_that_reads_nothing_ends_with_the_warning(demo):
    from flows import runner

    flow = guard(demo["flow"], zero=True)
    demo["csv"].write_text("Id,Name\n")  # the header only
    execution = services.start_flow(flow)
    runner.run_execution(str(execution.pk))
    execution.refresh_from_db()
    assert (execution.status, execution.records_processed) == ("Successful", 0)
    assert execution.display_status == "Successful with warning"
    kinds = list(RunEvent.objects.filter(execution=execution).values_list("kind", flat=True))
    assert kinds == ["AppFlow Start Flow Run Report", "Sluice Flow Run Anomaly", "AppFlow End Flow Run Report"]


def test_a_run_the_guardrail_fails_is_reported_as_failed_in_its_end_event(demo):
    from flows import runner

    flow = guard(demo["flow"], zero=True, action="fail")
    demo["csv"].write_text("Id,Name\n")
    execution = services.start_flow(flow)
    runner.run_execution(str(execution.pk))
    execution.refresh_from_db()
    assert execution.status == "Error" and "guardrail: zero records" in execution.error_message
    end = RunEvent.objects.get(execution=execution, kind=RunEvent.Kind.END)
    assert end.failure and end.detail["status"] == "Error"
