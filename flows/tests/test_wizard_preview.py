"""The wizard's Preview, computed by a real Celery worker from the real Local files connection:
the page polls until it is done, it counts per filter and per validation what the run would, and
it writes nothing."""

from __future__ import annotations

import csv
import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from flows.models import DraftPreview, Execution, FlowDraft
from flows.tests.test_wizard_frame import configure_data, start, step_url

pytestmark = pytest.mark.django_db(transaction=True)


def make_draft(client, demo) -> FlowDraft:
    draft = start(client)
    client.post(step_url(draft, "details"), {"name": "preview-flow", "encryption": "default", "tag_rows": "0"})
    response = client.post(step_url(draft, "configure"), configure_data(demo["connection"].name))
    assert response.status_code == 302
    client.post(step_url(draft, "map"), {"action": "map_selected", "selected": ["Id", "Industry", "AnnualRevenue"]})
    client.post(step_url(draft, "map"), {"action": "add_validation", "val_field": "AnnualRevenue",
                                         "val_condition": "null", "val_action": "drop"})
    assert client.post(step_url(draft, "map"), {"action": "next"}).status_code == 302
    return draft


def wait_for(client, draft, seconds: float = 60) -> str:
    """Poll the panel as htmx does, until it stops asking to be polled."""
    row = DraftPreview.objects.get(draft=draft)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        html = client.get(step_url(draft, "filters") + f"?preview={row.pk}").content.decode()
        if 'hx-trigger="every 1s"' not in html:
            return html
        time.sleep(0.3)
    raise AssertionError("the preview did not finish")


def first_rows(demo, count: int) -> list[dict]:
    path = demo["connection"].info().properties["rootPath"] + "/accounts.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        return [row for _, row in zip(range(count), csv.DictReader(handle), strict=False)]


def test_preview_counts_per_filter_through_a_real_worker_and_writes_nothing(celery_worker, signed_in, demo, data_dir):
    draft = make_draft(signed_in, demo)
    rows = first_rows(demo, 20)
    industries = sorted({r["Industry"] for r in rows})[:2]
    filters = {"filter_count": "2",
               "f0-field": "Industry", "f0-type": "string", "f0-condition": "one_of", "f0-value": industries,
               "f1-field": "AnnualRevenue", "f1-type": "double", "f1-condition": "greater", "f1-value": "1000000"}
    response = signed_in.post(step_url(draft, "filters"), {**filters, "action": "preview", "preview_limit": "20"},
                              HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'hx-trigger="every 1s"' in response.content.decode()  # the panel polls until the worker is done
    html = wait_for(signed_in, draft)
    row = DraftPreview.objects.get(draft=draft)
    assert row.status == "done", row.message
    result = json.loads(row.result)

    first = [r for r in rows if r["Industry"] in industries]
    second = [r for r in first if r["AnnualRevenue"] and float(r["AnnualRevenue"]) > 1_000_000]
    assert [(f["reached"], f["kept"]) for f in result["filters"]] == [(20, len(first)), (len(first), len(second))]
    written = [r for r in result["records"] if r["outcome"] == "written"]
    assert [r["result"]["Id"] for r in written] == [r["Id"] for r in second]
    assert written and written[0]["source"]["Industry"] in industries
    assert "Records: source and result side by side" in html and "Filters, in order" in html
    assert f"Industry is one of {', '.join(industries)} as string" in html
    # nothing was written and no run was started
    assert not (data_dir / "demo" / "out").exists()
    assert Execution.objects.count() == 0


def test_a_source_error_is_shown_not_raised(celery_worker, signed_in, demo, data_dir):
    draft = make_draft(signed_in, demo)
    (data_dir / "demo" / "accounts.csv").unlink()
    signed_in.post(step_url(draft, "map"), {"action": "preview"})
    html = wait_for(signed_in, draft)
    row = DraftPreview.objects.get(draft=draft)
    assert row.status == "error" and "accounts.csv" in row.message
    assert 'role="alert"' in html and "Traceback" not in html


def test_a_preview_nobody_picks_up_ends_with_a_message(signed_in, demo):
    draft = make_draft(signed_in, demo)
    signed_in.post(step_url(draft, "map"), {"action": "preview"})  # no worker in this test
    row = DraftPreview.objects.get(draft=draft)
    DraftPreview.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    html = signed_in.get(step_url(draft, "map")).content.decode()
    assert "No worker picked the preview up: is a worker running?" in html
    assert DraftPreview.objects.get(pk=row.pk).status == "error"
