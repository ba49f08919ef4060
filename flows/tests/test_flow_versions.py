"""The flow page's versions (list, what changed, diff between two) and executions naming their
version; deleting a flow (type "delete"; a running flow only when forced, which cancels first)."""

from __future__ import annotations

import copy

import pytest
from django.urls import reverse

from accounts.models import Membership, Role
from console.tests.pages import make_execution
from flows import services
from flows.models import Execution, Flow
from flows.versions import change_summary, diff_documents, document_lines, task_line

HTMX = {"HTTP_HX_REQUEST": "true"}

MASK = {"sourceFields": ["Phone"], "connectorOperator": {"CustomConnector": "MASK_LAST_N"}, "taskType": "Mask",
        "taskProperties": {"MASK_VALUE": "#", "MASK_LENGTH": "4"}}


def edited(document: dict, **changes) -> dict:
    result = copy.deepcopy(document)
    result.update(changes)
    return result


# -- reading documents as lines (pure) ------------------------------------------------------------


@pytest.mark.parametrize(("task", "line"), [
    ({"taskType": "Map", "sourceFields": ["Name"], "destinationField": "name"}, "Map Name -> name"),
    ({"taskType": "Map", "sourceFields": ["Id"], "destinationField": "id",
      "taskProperties": {"SOURCE_DATA_TYPE": "string", "DESTINATION_DATA_TYPE": "integer"}},
     "Map Id -> id (string -> integer)"),
    ({"taskType": "Map_all", "sourceFields": [], "taskProperties": {}}, "Map all fields"),
    ({"taskType": "Filter", "sourceFields": ["A", "B"], "connectorOperator": {"S3": "PROJECTION"}}, "Read fields A, B"),
    ({"taskType": "Filter", "sourceFields": ["Amount"], "connectorOperator": {"S3": "GREATER_THAN"},
      "taskProperties": {"VALUE": "100", "DATA_TYPE": "double"}}, "Filter Amount > 100"),
    ({"taskType": "Filter", "sourceFields": ["Industry"], "connectorOperator": {"S3": "EQUAL_TO"},
      "taskProperties": {"VALUES": "Banking, Energy"}}, "Filter Industry equals one of Banking, Energy"),
    ({"taskType": "Filter", "sourceFields": ["Day"], "connectorOperator": {"S3": "BETWEEN"},
      "taskProperties": {"LOWER_BOUND": "1", "UPPER_BOUND": "9"}}, "Filter Day between 1 and 9"),
    ({"taskType": "Merge", "sourceFields": ["First", "Last"], "destinationField": "Full",
      "taskProperties": {"CONCAT_FORMAT": "{First} {Last}"}}, 'Formula Full = First & Last as "{First} {Last}"'),
    ({"taskType": "Arithmetic", "sourceFields": ["A", "B"], "destinationField": "Total",
      "connectorOperator": {"S3": "ADDITION"}}, "Formula Total = A + B"),
    (MASK, "Mask Phone: last 4 characters with #"),
    ({"taskType": "Truncate", "sourceFields": ["Notes"], "taskProperties": {"TRUNCATE_LENGTH": "10"}},
     "Truncate Notes to 10 characters"),
    ({"taskType": "Validate", "sourceFields": ["Email"], "connectorOperator": {"S3": "VALIDATE_NON_NULL"},
      "taskProperties": {"VALIDATION_ACTION": "DropDataset"}}, "Validate Email: if it is null, stop the run"),
    ("not a task", '"not a task"'),
])
def test_tasks_read_as_lines(task, line):
    assert task_line(task) == line


def test_document_lines_never_raise_on_odd_shapes():
    for odd in (None, [], "x", {"tasks": "x", "triggerConfig": 3, "sourceFlowConfig": [1],
                                "destinationFlowConfigList": [None, "y"], "tags": ["a"]}):
        lines = document_lines(odd)
        assert set(lines) == {"Flow details", "Source", "Destination", "Mapping, filters and validations",
                              "Trigger"}


def test_diff_names_only_the_sections_that_changed():
    old = {"flowName": "f", "triggerConfig": {"triggerType": "OnDemand"},
           "tasks": [{"taskType": "Map", "sourceFields": ["Name"], "destinationField": "name"}]}
    new = edited(old, tasks=[*old["tasks"], MASK], triggerConfig={
        "triggerType": "Scheduled", "triggerProperties": {"Scheduled": {"scheduleExpression": "rate(1days)"}}})
    diff = diff_documents(old, new)
    changed = {section.name: section for section in diff.changed_sections}
    assert set(changed) == {"Mapping, filters and validations", "Trigger"}
    tasks = changed["Mapping, filters and validations"]
    assert tasks.added == ["Mask Phone: last 4 characters with #"] and tasks.removed == [] and tasks.unchanged == 1
    assert changed["Trigger"].removed == ["Runs: OnDemand"]
    assert "Runs: Scheduled" in changed["Trigger"].added and "scheduleExpression: rate(1days)" in changed["Trigger"].added
    assert '+      "taskType": "Mask",' in diff.unified
    assert change_summary(old, new) == "Changed tasks (1 line), trigger (2 lines)"
    assert change_summary(None, new) == "Created"
    assert change_summary(new, copy.deepcopy(new)) == "No change"


# -- the flow page ------------------------------------------------------------------------------


@pytest.fixture
def versioned(demo, owner, django_user_model):
    """The demo flow with a second version (a mask added) saved by someone else."""
    flow = demo["flow"]
    editor = django_user_model.objects.create_user("editor", password="x" * 20)
    Membership.objects.create(user=editor, team=flow.team, role=Role.EDITOR)
    document = flow.definition
    services.update_flow(flow, edited(document, tasks=[*document["tasks"], MASK]), user=editor)
    flow.refresh_from_db()
    return flow


def detail(client, flow: Flow, query: str = "", **extra) -> str:
    response = client.get(reverse("flows:detail", args=[flow.name]) + query, **extra)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_flow_page_lists_versions_with_number_when_who_and_change(signed_in, versioned):
    html = detail(signed_in, versioned)
    assert 'id="versions"' in html
    assert '<tr data-version="2" class="current">' in html and '<tr data-version="1">' in html
    assert "<td>editor</td>" in html and "<td>owner</td>" in html
    assert "Changed tasks (1 line)" in html and "<td>Created</td>" in html
    diff_url = reverse("flows:version-diff", args=[versioned.name])
    assert f"{diff_url}?from=1&amp;to=2" in html  # "What changed" on version 2
    assert '<option value="1" selected>' in html and '<option value="2" selected>' in html


@pytest.mark.django_db
def test_the_diff_between_two_chosen_versions(signed_in, versioned):
    url = reverse("flows:version-diff", args=[versioned.name])
    page = signed_in.get(url, {"from": "1", "to": "2"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Version 1 → version 2" in html
    assert 'data-section="Mapping, filters and validations"' in html
    assert "<ins>Mask Phone: last 4 characters with #</ins>" in html
    assert 'data-section="Trigger"' not in html  # unchanged sections are not listed
    assert "The JSON diff" in html and "&quot;MASK_LAST_N&quot;" in html
    assert "<html" in html  # a page of its own without htmx
    # Backwards works too, and htmx gets the panel only.
    panel = signed_in.get(url, {"from": "2", "to": "1"}, **HTMX).content.decode()
    assert "<del>Mask Phone: last 4 characters with #</del>" in panel and "<html" not in panel
    # Default: the current version against the one before it.
    assert "Version 1 → version 2" in signed_in.get(url).content.decode()


@pytest.mark.django_db
def test_diff_with_a_version_that_does_not_exist_says_so(signed_in, versioned):
    url = reverse("flows:version-diff", args=[versioned.name])
    html = signed_in.get(url, {"from": "7", "to": "x"}).content.decode()
    assert 'There is no version &quot;7&quot; of this flow.' in html and 'no version &quot;x&quot;' in html


@pytest.mark.django_db
def test_a_flow_with_one_version_has_nothing_to_compare(signed_in, demo):
    html = detail(signed_in, demo["flow"])
    assert "compare-form" not in html and "<td>Created</td>" in html
    url = reverse("flows:version-diff", args=[demo["flow"].name])
    assert "only one version" in signed_in.get(url).content.decode()


@pytest.mark.django_db
def test_the_version_list_costs_a_fixed_number_of_queries(signed_in, demo, django_assert_max_num_queries):
    flow = demo["flow"]
    for number in range(6):
        services.update_flow(flow, edited(flow.definition, description=f"edit {number}"))
    with django_assert_max_num_queries(30):
        html = detail(signed_in, flow)
    assert html.count("<tr data-version=") == 7 and "Changed details (1 line)" in html


@pytest.mark.django_db
def test_executions_name_their_version_in_the_history_and_on_their_page(signed_in, versioned):
    old_run = make_execution(versioned, minutes_ago=5)
    Execution.objects.filter(pk=old_run.pk).update(version=versioned.versions.get(number=1))
    new_run = make_execution(versioned, minutes_ago=1)
    html = detail(signed_in, versioned)
    assert f'<tr data-execution="{old_run.id}">' in html
    history = html[html.index('id="history"'):]
    assert history.index('data-version="2">v2') < history.index('data-version="1">v1')
    page = signed_in.get(reverse("flows:execution", args=[versioned.name, old_run.id])).content.decode()
    assert '<dd data-version="1">1' in page and "now at version 2" in page
    page = signed_in.get(reverse("flows:execution", args=[versioned.name, new_run.id])).content.decode()
    assert '<dd data-version="2">2' in page and "what changed in it" in page and "now at version" not in page


# -- delete -------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["", "yes", "delet", "remove"])
def test_delete_needs_the_word_typed(signed_in, demo, typed):
    flow = demo["flow"]
    response = signed_in.post(reverse("flows:delete", args=[flow.name]), {"confirm": typed})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'Type the word &quot;delete&quot; to confirm; nothing was deleted.' in html
    assert 'class="field has-error"' in html and 'aria-invalid="true"' in html
    assert Flow.objects.filter(pk=flow.pk).exists()


@pytest.mark.django_db
def test_delete_with_the_word_deletes_the_flow_versions_and_history(signed_in, versioned):
    make_execution(versioned)
    page = signed_in.get(reverse("flows:delete", args=[versioned.name])).content.decode()
    assert "its 2 saved versions and its history of 1 execution" in page
    assert '<label for="id_confirm">Type &quot;delete&quot; to confirm' in page
    response = signed_in.post(reverse("flows:delete", args=[versioned.name]), {"confirm": " Delete "})
    assert response.status_code == 302 and response["Location"] == reverse("flows:list")
    assert not Flow.objects.filter(pk=versioned.pk).exists() and not Execution.objects.exists()


@pytest.mark.django_db
def test_a_running_flow_is_refused_unless_forced_and_forcing_cancels_first(signed_in, demo, monkeypatch):
    flow = demo["flow"]
    running = make_execution(flow, status="InProgress")
    make_execution(flow, status="Successful")
    url = reverse("flows:delete", args=[flow.name])
    page = signed_in.get(url).content.decode()
    assert "1 execution is in progress" in page and 'name="force"' in page
    refused = signed_in.post(url, {"confirm": "delete"})
    assert refused.status_code == 200 and "Cancel them first, or force the delete" in refused.content.decode()
    assert Execution.objects.get(pk=running.pk).status == "InProgress"

    canceled_before_delete = []
    real_cancel = services.cancel_executions

    def watch(flow_, ids=None, *, user=None):
        result = real_cancel(flow_, ids, user=user)
        canceled_before_delete.extend(Execution.objects.filter(status="CancelStarted").values_list("id", flat=True))
        return result

    monkeypatch.setattr(services, "cancel_executions", watch)
    response = signed_in.post(url, {"confirm": "delete", "force": "on"}, follow=True)
    assert canceled_before_delete == [running.id]
    assert "1 run(s) in progress were cancelled first" in response.content.decode()
    assert not Flow.objects.filter(pk=flow.pk).exists()


@pytest.mark.django_db
def test_delete_flow_service_returns_what_it_cancelled(demo):
    flow = demo["flow"]
    assert services.delete_flow(flow) == []
    assert not Flow.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_worker_still_logging_after_a_forced_delete_does_not_fail(demo):
    flow = demo["flow"]
    running = make_execution(flow, status="InProgress")
    assert services.delete_flow(flow, force=True) == [str(running.id)]
    services.log(running, "a line from the worker, after the delete")  # nothing to write it to; no error
    assert not Execution.objects.exists()
