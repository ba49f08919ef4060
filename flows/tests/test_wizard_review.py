"""Step 5 (review and create), edit (a new version; name, source and destination fixed), and the
drafts themselves: owner only, steps in order, resume and discard."""

from __future__ import annotations

import copy
import json

import pytest
from django.urls import reverse

from console.demo import demo_flow_document
from flows import services
from flows.models import Flow, FlowActivity, FlowDraft
from flows.tests.test_wizard_frame import configure_data, walk_to_review

pytestmark = pytest.mark.django_db

SCHEDULED = {"triggerType": "Scheduled", "triggerProperties": {"Scheduled": {
    "scheduleExpression": "rate(1hours)", "dataPullMode": "Complete", "timezone": "Europe/Paris"}}}


def step_url(draft, slug: str) -> str:
    return reverse("flows:wizard-step", args=[draft.pk, slug])


def ready_draft(owner, name: str = "from-review", **changes) -> FlowDraft:
    document = copy.deepcopy(demo_flow_document())
    document.update(flowName=name, **changes)
    return FlowDraft.objects.create(owner=owner, step="review", document=json.dumps(document))


# --- step 5 --------------------------------------------------------------------------------------

def test_review_summarises_every_step_with_edit_links(signed_in, demo):
    draft = walk_to_review(signed_in, demo)
    html = signed_in.get(step_url(draft, "review")).content.decode()
    for slug in ("details", "configure", "map", "filters"):
        assert f'href="{step_url(draft, slug)}"' in html
    assert "team" in html and "made by the wizard" in html
    assert "BillingCity" in html  # the mapping
    assert "On demand" in html
    assert 'value="create"' in html and 'value="activate"' not in html


def test_review_lists_every_problem_and_create_refuses(signed_in, demo, owner):
    draft = ready_draft(owner, tasks=[], triggerConfig={"triggerType": "Sometimes"})
    html = signed_in.get(step_url(draft, "review")).content.decode()
    assert "triggerConfig.triggerType" in html
    response = signed_in.post(step_url(draft, "review"), {"action": "create"})
    assert response.status_code == 400
    assert "triggerConfig.triggerType" in response.content.decode()
    assert not Flow.objects.filter(name="from-review").exists()
    assert FlowDraft.objects.filter(pk=draft.pk).exists()


def test_a_name_taken_meanwhile_is_refused_at_create(signed_in, demo, owner):
    draft = ready_draft(owner, name=demo["flow"].name)
    response = signed_in.post(step_url(draft, "review"), {"action": "create"})
    assert response.status_code == 400
    assert "already exists" in response.content.decode()


def test_scheduled_flows_offer_create_and_activate(signed_in, demo, owner):
    draft = ready_draft(owner, triggerConfig=SCHEDULED)
    html = signed_in.get(step_url(draft, "review")).content.decode()
    assert "Create and activate" in html and "Create as draft" in html
    assert "rate(1hours)" in html
    response = signed_in.post(step_url(draft, "review"), {"action": "activate"})
    assert response.status_code == 302
    flow = Flow.objects.get(name="from-review")
    assert flow.status == Flow.Status.ACTIVE and flow.next_run_at is not None
    assert not FlowDraft.objects.filter(pk=draft.pk).exists()


def test_a_refused_activation_still_creates_the_flow_and_says_why(signed_in, demo, owner):
    ended = copy.deepcopy(SCHEDULED)
    ended["triggerProperties"]["Scheduled"]["scheduleEndTime"] = 1_000_000_000  # 2001: long over
    draft = ready_draft(owner, triggerConfig=ended)
    response = signed_in.post(step_url(draft, "review"), {"action": "activate"}, follow=True)
    flow = Flow.objects.get(name="from-review")
    assert response.redirect_chain[-1][0] == reverse("flows:detail", args=[flow.name])
    assert flow.status == Flow.Status.DRAFT
    assert "but it was not activated" in response.content.decode()
    assert not FlowDraft.objects.filter(pk=draft.pk).exists()


def test_scheduled_flows_can_be_saved_as_draft(signed_in, demo, owner):
    draft = ready_draft(owner, triggerConfig=SCHEDULED)
    signed_in.post(step_url(draft, "review"), {"action": "create"})
    assert Flow.objects.get(name="from-review").status == Flow.Status.DRAFT


# --- edit ----------------------------------------------------------------------------------------

def test_edit_saves_a_new_version_and_records_it(signed_in, demo, owner):
    flow = demo["flow"]
    response = signed_in.get(reverse("flows:wizard-edit", args=[flow.name]))
    draft = FlowDraft.objects.get(flow=flow)
    assert response.url == step_url(draft, "configure")
    html = signed_in.get(response.url).content.decode()
    assert "cannot change" in html and 'name="source_connector"' not in html
    # A posted source or destination is ignored: they come from the flow.
    posted = configure_data("someone-else", source_object="other.csv", destination_object="elsewhere")
    response = signed_in.post(step_url(draft, "configure"), posted)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.data["sourceFlowConfig"] == flow.definition["sourceFlowConfig"]
    signed_in.post(step_url(draft, "map"), {})
    html = signed_in.get(step_url(draft, "review")).content.decode()
    assert "Save as new version" in html and "cannot" in html
    response = signed_in.post(step_url(draft, "review"), {"action": "save"})
    assert response.status_code == 302
    flow.refresh_from_db()
    assert flow.current_version.number == 2
    assert [t["taskType"] for t in flow.definition["tasks"]][:2] == ["Filter", "Map"]
    assert flow.activity.filter(action=FlowActivity.Action.VERSION_SAVED).exists()
    assert not FlowDraft.objects.exists()


def test_editing_reviews_the_changes_against_the_current_version(signed_in, demo):
    """Step 5 is "Review changes" in edit mode and shows the diff against the current version
    before "Save as new version"; step 2 shows the destination's file format (it cannot change)."""
    flow = demo["flow"]
    signed_in.get(reverse("flows:wizard-edit", args=[flow.name]))
    draft = FlowDraft.objects.get(flow=flow)
    configure = signed_in.get(step_url(draft, "configure")).content.decode()
    file_type = flow.definition["destinationFlowConfigList"][0]["destinationConnectorProperties"][
        "CustomConnector"]["customProperties"]["fileType"]
    assert f"<dt>File format</dt><dd>{file_type}</dd>" in configure
    assert "Next: Review changes" in signed_in.get(step_url(draft, "filters")).content.decode()

    html = signed_in.get(step_url(draft, "review")).content.decode()
    assert "Step 5 of 5: Review changes" in html and "Review and create" not in html
    assert "No changes yet" in html
    signed_in.post(step_url(draft, "details"), {"name": flow.name, "description": "new words",
                                                "encryption": "default", "tag_rows": "0"})
    html = signed_in.get(step_url(draft, "review")).content.decode()
    changes = html.split('id="changes"')[1].split("</section>")[0]
    assert "Changes against version 1" in changes and "new words" in changes
    assert html.index('id="changes"') < html.index('value="save">Save as new version')  # seen before saving


def test_edit_details_keeps_the_name(signed_in, demo):
    flow = demo["flow"]
    signed_in.get(reverse("flows:wizard-edit", args=[flow.name]))
    draft = FlowDraft.objects.get(flow=flow)
    response = signed_in.post(step_url(draft, "details"), {"name": "renamed", "description": "new words",
                                                           "encryption": "default", "tag_rows": "0"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.data["flowName"] == flow.name and draft.data["description"] == "new words"


@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(flowName="renamed"), "the name"),
    (lambda d: d["sourceFlowConfig"]["sourceConnectorProperties"]["CustomConnector"].update(
        entityName="other.csv"), "the source"),
    (lambda d: d["destinationFlowConfigList"][0]["destinationConnectorProperties"]["CustomConnector"].update(
        entityName="out/elsewhere"), "the destination"),
])
def test_edit_refuses_name_source_and_destination_changes(signed_in, demo, change, words):
    flow = demo["flow"]
    signed_in.get(reverse("flows:wizard-edit", args=[flow.name]))
    draft = FlowDraft.objects.get(flow=flow)
    document = draft.data
    change(document)
    draft.document = json.dumps(document)
    draft.save()
    response = signed_in.post(step_url(draft, "review"), {"action": "save"})
    assert response.status_code == 400
    assert f"cannot change {words}" in response.content.decode()
    flow.refresh_from_db()
    assert flow.current_version.number == 1


def test_edit_refuses_to_save_over_a_newer_version(signed_in, demo, owner):
    flow = demo["flow"]
    signed_in.get(reverse("flows:wizard-edit", args=[flow.name]))
    draft = FlowDraft.objects.get(flow=flow)
    services.update_flow(flow, flow.definition, user=owner)  # someone else saves meanwhile
    response = signed_in.post(step_url(draft, "review"), {"action": "save"})
    assert response.status_code == 400
    assert "has a newer version (version 2)" in response.content.decode()
    flow.refresh_from_db()
    assert flow.current_version.number == 2


def test_update_flow_to_a_schedule_waits_in_draft(demo, owner):
    flow = demo["flow"]
    document = dict(flow.definition, triggerConfig=SCHEDULED)
    version = services.update_flow(flow, document, user=owner)
    flow.refresh_from_db()
    assert version.number == 2 and flow.trigger_type == "Scheduled" and flow.status == Flow.Status.DRAFT


def test_edit_twice_resumes_the_same_draft(signed_in, demo):
    url = reverse("flows:wizard-edit", args=[demo["flow"].name])
    signed_in.get(url)
    response = signed_in.get(url, follow=True)
    assert FlowDraft.objects.count() == 1
    assert "already editing this flow" in response.content.decode()


# --- drafts --------------------------------------------------------------------------------------

def test_a_draft_is_its_owners_only(client, signed_in, owner, django_user_model):
    draft = ready_draft(owner)
    other = django_user_model.objects.create_user("other", password="x" * 12)
    client.force_login(other)
    assert client.get(step_url(draft, "details")).status_code == 404
    assert client.post(reverse("flows:wizard-discard", args=[draft.pk])).status_code == 404


def test_steps_open_in_order(signed_in):
    signed_in.post(reverse("flows:wizard-new"))
    draft = FlowDraft.objects.get()
    response = signed_in.get(step_url(draft, "review"), follow=True)
    assert response.redirect_chain[-1][0] == step_url(draft, "details")
    assert "Finish step 1, Flow details, first." in response.content.decode()
    assert signed_in.get(step_url(draft, "nonsense")).status_code == 404


def test_new_reuses_an_untouched_draft(signed_in):
    signed_in.post(reverse("flows:wizard-new"))
    signed_in.get(reverse("flows:wizard-new"))
    assert FlowDraft.objects.count() == 1


def test_leave_and_resume_from_the_flows_list_then_discard(signed_in, demo):
    signed_in.post(reverse("flows:wizard-new"))
    draft = FlowDraft.objects.get()
    signed_in.post(step_url(draft, "details"), {"name": "half-done", "encryption": "default", "tag_rows": "0"})
    html = signed_in.get(reverse("flows:list")).content.decode()
    assert "Drafts" in html and "half-done" in html
    assert f'href="{step_url(draft, "configure")}"' in html  # resume where it was left
    html = signed_in.get(step_url(draft, "details")).content.decode()
    assert 'value="half-done"' in html
    response = signed_in.post(reverse("flows:wizard-discard", args=[draft.pk]))
    assert response.url == reverse("flows:list")
    assert not FlowDraft.objects.exists()
    assert "Drafts" not in signed_in.get(reverse("flows:list")).content.decode()


def test_review_says_formulas_changes_validations_and_filters_in_words(signed_in, demo, owner):
    from flows.wizard.mapping import (
        FieldChoices,
        FieldMapping,
        FilterRule,
        Formula,
        Modification,
        ValidationRule,
        build_tasks,
    )
    choices = FieldChoices(
        maps=[FieldMapping("Name", "name"), FieldMapping("Phone", "phone"),
              FieldMapping("NumberOfEmployees", "employees")],
        formulas=[Formula("concat", ["Name", "BillingCity"], "label", separator=" - ")],
        modifications=[Modification("Phone", "mask_first", 4, "#")],
        validations=[ValidationRule("Name", "null", "drop")],
        filters=[FilterRule("NumberOfEmployees", "between", ["10", "500"], "integer"),
                 FilterRule("BillingCountry", "one_of", ["France", "Canada"])],
    )
    draft = ready_draft(owner, tasks=build_tasks(choices, "CustomConnector"))
    html = signed_in.get(step_url(draft, "review")).content.decode()
    assert 'label = Name + &quot; - &quot; + BillingCity' in html  # as the flow page and the run log say it
    assert 'Phone: mask the first 4 characters with &quot;#&quot;' in html
    assert "When Name is null: Drop the record" in html
    assert "NumberOfEmployees is between 10 and 500" in html
    assert "BillingCountry is one of France, Canada" in html
    assert "MASK_FIRST_N" not in html.split("The flow document (JSON)")[0]
