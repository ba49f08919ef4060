"""On-demand runs over a custom window (a backfill): the flow page, the CLI, and a real run whose
source reads only the records inside the window."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from console.demo import demo_flow_document
from flows import services
from flows.models import Execution
from flows.tests.test_cli import sluice
from flows.tests.test_runs import wait_for

START, END = datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)


def incremental_document(name: str = "by-modified") -> dict:
    document = demo_flow_document() | {"flowName": name}
    document["sourceFlowConfig"] = document["sourceFlowConfig"] | {
        "incrementalPullConfig": {"datetimeTypeFieldName": "LastModifiedDate"}
    }
    return document


def test_flow_page_backfill_starts_a_run_over_the_window(client, owner, demo, django_capture_on_commit_callbacks):
    flow = services.create_flow(incremental_document())
    client.force_login(owner)
    page = client.get(reverse("flows:detail", args=[flow.name])).content.decode()
    assert "Run over a custom window (backfill)" in page and "<code>LastModifiedDate</code>" in page
    with django_capture_on_commit_callbacks():
        response = client.post(reverse("flows:run", args=[flow.name]),
                               {"window_start": "2024-01-01T00:00", "window_end": "2025-01-01T00:00:00"})
    execution = Execution.objects.get()
    assert response.status_code == 302 and (execution.data_pull_start, execution.data_pull_end) == (START, END)
    assert execution.started_by == owner


@pytest.mark.parametrize("start, end, message", [
    ("2025-01-01T00:00", "2024-01-01T00:00", "must be before the end"),
    ("", "2024-01-01T00:00", "give a start time"),
    ("2024-01-01T00:00", "2999-01-01T00:00", "is in the future"),
    ("last tuesday", "", "is not a time"),
])
def test_a_bad_backfill_window_is_refused_with_a_reason(client, owner, demo, start, end, message):
    client.force_login(owner)
    response = client.post(reverse("flows:run", args=[demo["flow"].name]),
                           {"window_start": start, "window_end": end}, follow=True)
    assert message in response.content.decode()
    assert not Execution.objects.exists()


def test_cli_start_flow_with_a_window(demo):
    result = sluice("start-flow", "--flow-name", demo["flow"].name,
                    "--data-pull-start-time", "2024-01-01T00:00:00Z", "--data-pull-end-time", "1735689600")
    assert result.code == 0, result.err
    execution = Execution.objects.get(pk=result.json["executionId"])
    assert (execution.data_pull_start, execution.data_pull_end) == (START, END)
    result = sluice("start-flow", "--flow-name", demo["flow"].name, "--data-pull-end-time", "1735689600")
    assert result.code == 254 and "give a start time" in result.err


@pytest.mark.django_db(transaction=True)
def test_a_backfill_run_reads_only_the_records_in_its_window(celery_worker, demo):
    with open(demo["csv"], newline="") as handle:
        expected = sum(
            START <= datetime.fromisoformat(row["LastModifiedDate"].replace("Z", "+00:00")) < END
            for row in csv.DictReader(handle)
        )
    assert 0 < expected < 500
    flow = services.create_flow(incremental_document())
    execution = wait_for(services.start_flow(flow, window=(START, END)))
    assert execution.status == "Successful", execution.error_message
    assert execution.records_processed == execution.records_written == expected
