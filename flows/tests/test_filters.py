"""Search and filters of the flows list and of a flow's execution history (GET parameters, kept
by pagination and the history poll), and a failed run's reason inline in the history tables."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.urls import reverse

from console.tests.pages import flow_document, make_execution
from flows import services
from flows.models import Execution, Flow

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "history"}
FLOWS = reverse("flows:list")


def names(html: str, candidates) -> set[str]:
    return {name for name in candidates if f'>{name}</a>' in html}


@pytest.fixture
def flows(demo):
    """The demo flow (Local files -> Local files, on demand, Active) and three more."""
    services.create_flow(flow_document("billing-sync", description="Invoices for finance",
                                        tags={"team": "payments"}))
    crm = services.create_flow(flow_document("crm-to-lake"))
    # Connectors other than Local files need live servers to create; the columns are what the
    # filter reads (services.searchable_parts fills them; tested below).
    Flow.objects.filter(pk=crm.pk).update(source_connector="Salesforce", destination_connector="S3",
                                          status=Flow.Status.DRAFT)
    services.create_flow(flow_document("orders-daily"))
    return {"demo": demo["flow"].name, "all": {demo["flow"].name, "billing-sync", "crm-to-lake", "orders-daily"}}


@pytest.mark.parametrize("params, expected", [
    ({"q": "billing"}, {"billing-sync"}),              # name
    ({"q": "FINANCE"}, {"billing-sync"}),              # description, any case
    ({"q": "payments"}, {"billing-sync"}),             # a tag's value
    ({"q": "team="}, {"billing-sync"}),                # a tag's key
    ({"status": "Draft"}, {"crm-to-lake"}),
    ({"trigger": "Event"}, set()),
    ({"source": "Salesforce"}, {"crm-to-lake"}),
    ({"destination": "S3", "status": "Draft"}, {"crm-to-lake"}),
    ({"destination": "LocalFiles", "q": "orders"}, {"orders-daily"}),
])
def test_flows_list_filters(signed_in, flows, params, expected):
    html = signed_in.get(FLOWS, params).content.decode()
    assert names(html, flows["all"]) == expected
    if not expected:
        assert "No flows match" in html and f'href="{FLOWS}">clear filters' in html


def test_the_form_shows_the_filters_back(signed_in, flows):
    html = signed_in.get(FLOWS, {"q": "billing", "status": "Active", "source": "LocalFiles"}).content.decode()
    assert 'name="q" value="billing"' in html
    assert "<option selected>Active</option>" in html
    assert '<option value="LocalFiles" selected>' in html
    assert "Clear filters" in html


def test_a_value_not_offered_is_named_and_left_out(signed_in, flows):
    response = signed_in.get(FLOWS, {"status": "Broken", "trigger": "OnDemand"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Status: &quot;Broken&quot; is not one of Draft, Active" in html
    assert names(html, flows["all"]) == flows["all"]  # the trigger filter still applies (all OnDemand)


def test_pagination_keeps_the_filters_in_a_fixed_number_of_queries(signed_in, demo, django_assert_max_num_queries):
    for i in range(27):
        services.create_flow(flow_document(f"sales-{i:02d}"))
    with django_assert_max_num_queries(7):  # the registered connectors, the user's roles
        html = signed_in.get(FLOWS, {"q": "sales", "trigger": "OnDemand"}).content.decode()
    assert "Page 1 of 2" in html
    assert 'href="?q=sales&amp;trigger=OnDemand&amp;page=2"' in html
    second = signed_in.get(FLOWS, {"q": "sales", "trigger": "OnDemand", "page": 2}).content.decode()
    assert names(second, [f"sales-{i:02d}" for i in range(27)]) == {"sales-25", "sales-26"}


def test_searchable_parts_of_a_document():
    document = flow_document("x", tags={"b": "2", "a": "1"})
    document["destinationFlowConfigList"][0] = {"connectorType": "S3", "connectorProfileName": "lake"}
    assert services.searchable_parts(document) == ("LocalFiles", "S3", "a=1\nb=2")


def test_the_migration_fills_existing_flows(flows):
    Flow.objects.update(source_connector="", destination_connector="", tags_text="")
    migration = importlib.import_module("flows.migrations.0013_flow_search_columns")
    migration.fill_from_current_versions(apps, None)
    billing = Flow.objects.get(name="billing-sync")
    assert (billing.source_connector, billing.destination_connector, billing.tags_text) == (
        "LocalFiles", "LocalFiles", "team=payments")


# --- execution history ---------------------------------------------------------------------------


def at(flow: Flow, when: str, **fields) -> Execution:
    execution = make_execution(flow, **fields)
    moment = datetime.fromisoformat(when).replace(tzinfo=UTC)
    Execution.objects.filter(pk=execution.pk).update(created_at=moment)
    return execution


@pytest.fixture
def history(demo):
    flow = demo["flow"]
    return flow, {
        "ok-jan": at(flow, "2025-01-10T08:00", status="Successful"),
        "error-jan": at(flow, "2025-01-31T23:59", status="Error", error_message="Source file missing"),
        "error-feb": at(flow, "2025-02-01T00:00", status="Error", trigger="Scheduled",
                        error_message="boom"),
    }


def shown(html: str, runs: dict) -> set[str]:
    return {label for label, execution in runs.items() if f'data-execution="{execution.id}"' in html}


@pytest.mark.parametrize("params, expected", [
    ({}, {"ok-jan", "error-jan", "error-feb"}),
    ({"status": "Error"}, {"error-jan", "error-feb"}),
    ({"trigger": "Scheduled"}, {"error-feb"}),
    ({"from": "2025-01-31"}, {"error-jan", "error-feb"}),
    ({"to": "2025-01-31"}, {"ok-jan", "error-jan"}),            # both ends are whole days
    ({"from": "2025-02-01", "to": "2025-02-01", "status": "Error"}, {"error-feb"}),
    ({"status": "Canceled"}, set()),
])
def test_history_filters(signed_in, history, params, expected):
    flow, runs = history
    html = signed_in.get(reverse("flows:detail", args=[flow.name]), params).content.decode()
    assert shown(html, runs) == expected
    if not expected:
        assert "No runs match" in html


def test_history_dates_that_cannot_be_used_are_named(signed_in, history):
    flow, runs = history
    url = reverse("flows:detail", args=[flow.name])
    html = signed_in.get(url, {"from": "31/01/2025"}).content.decode()
    assert "From: &quot;31/01/2025&quot; is not a date. Use YYYY-MM-DD (UTC)." in html
    assert shown(html, runs) == set(runs)
    html = signed_in.get(url, {"from": "2025-02-02", "to": "2025-01-01"}).content.decode()
    assert "From (2025-02-02) is after To (2025-01-01)." in html
    assert shown(html, runs) == set(runs)


def test_history_pages_and_poll_keep_the_filters(signed_in, demo):
    flow = demo["flow"]
    for i in range(21):
        make_execution(flow, minutes_ago=i, status="Error", error_message=f"failure {i}")
    running = make_execution(flow, status="InProgress")
    url = reverse("flows:detail", args=[flow.name])
    html = signed_in.get(url, {"status": "Error"}).content.decode()
    assert 'href="?status=Error&amp;page=2" rel="next"' in html
    assert f'data-execution="{running.id}"' not in html
    polled = signed_in.get(url, {"status": "InProgress"}, **HTMX).content.decode()
    assert f'hx-get="{url}?status=InProgress&amp;page=1"' in polled


# --- a failed run's reason -----------------------------------------------------------------------

LONG = "Record 5 (id 1005): field amount: " + "x" * 300


def test_history_and_home_show_a_failed_runs_reason(signed_in, demo):
    flow = demo["flow"]
    make_execution(flow, minutes_ago=2, status="Error", error_message="Destination refused the file.")
    make_execution(flow, minutes_ago=1, status="Error",
                   error_message="The run stopped: 3 records failed validation.\nrecord 5: amount is empty")
    make_execution(flow, status="Error", error_message=LONG)
    make_execution(flow, minutes_ago=3, status="Successful")
    for url in (reverse("flows:detail", args=[flow.name]), reverse("home")):
        html = signed_in.get(url).content.decode()
        assert '<span class="reason small" data-reason>Destination refused the file.</span>' in html
        # more than one line: the first, with the whole text one click away
        assert "<summary title=\"The run stopped: 3 records failed validation.\nrecord 5: amount is empty\">" \
               "The run stopped: 3 records failed validation.</summary>" in html
        # one long line: cut to a table line
        assert "Record 5 (id 1005): field amount: " + "x" * 105 + "…</summary>" in html
        assert html.count("data-reason") == 3


def test_a_skipped_slot_still_says_why(signed_in, demo):
    flow = demo["flow"]
    make_execution(flow, status="Skipped", error_message="The previous run was still going.")
    html = signed_in.get(reverse("flows:detail", args=[flow.name])).content.decode()
    assert "The previous run was still going.</span>" in html
