"""Step 1, Flow details: name, description, encryption and tags, good and bad, on save and as
the user types (inline validation answers the error slots only, and saves nothing)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from flows.models import FlowDraft

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(signed_in) -> FlowDraft:
    signed_in.post(reverse("flows:wizard-new"))
    return FlowDraft.objects.get()


def url(draft) -> str:
    return reverse("flows:wizard-step", args=[draft.pk, "details"])


def post(client, draft, **fields):
    data = {"name": "orders-daily", "description": "", "encryption": "default", "kms_key": "", "tag_rows": "0"}
    tags = fields.pop("tags", [])
    data["tag_rows"] = str(len(tags))
    for i, (key, value) in enumerate(tags):
        data[f"tag_key_{i}"], data[f"tag_value_{i}"] = key, value
    data.update(fields)
    return client.post(url(draft), data)


def test_good_details_are_saved_and_open_step_2(signed_in, draft):
    response = post(signed_in, draft, name="Orders.daily_v2@eu#1", description="Orders to the lake",
                    tags=[("team", "data eng"), ("Team", "x"), ("cost/center", "a+b=c:d@e.f_g-h"), ("", "")])
    assert response.status_code == 302
    assert response.url == reverse("flows:wizard-step", args=[draft.pk, "configure"])
    draft.refresh_from_db()
    assert draft.step == "configure"
    assert draft.data == {"flowName": "Orders.daily_v2@eu#1", "description": "Orders to the lake",
                          "tags": {"team": "data eng", "Team": "x", "cost/center": "a+b=c:d@e.f_g-h"}}


def test_a_chosen_kms_key_is_kept_and_the_default_key_removes_it(signed_in, draft):
    post(signed_in, draft, encryption="custom", kms_key="arn:aws:kms:eu-west-1:1:key/abc")
    draft.refresh_from_db()
    assert draft.data["kmsArn"] == "arn:aws:kms:eu-west-1:1:key/abc"
    post(signed_in, draft, encryption="default", kms_key="arn:aws:kms:eu-west-1:1:key/abc")
    draft.refresh_from_db()
    assert "kmsArn" not in draft.data


@pytest.mark.parametrize("name, message", [
    ("", "This field is required."),
    ("has space", "must be 2 to 256 characters"),
    ("-leading", "must be 2 to 256 characters"),
    ("x" * 257, "at most 256 characters"),
    ("per%cent", "must be 2 to 256 characters"),
])
def test_bad_names_are_refused_next_to_the_field(signed_in, draft, name, message):
    response = post(signed_in, draft, name=name)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'id="error-name"' in html
    draft.refresh_from_db()
    assert draft.step == "details" and draft.data == {}


def test_a_name_in_use_is_refused(signed_in, draft, demo):
    response = post(signed_in, draft, name=demo["flow"].name)
    assert response.status_code == 400
    assert "already exists" in response.content.decode()


def test_description_over_2048_characters_is_refused(signed_in, draft):
    response = post(signed_in, draft, description="d" * 2049)
    assert response.status_code == 400
    assert "at most 2048 characters" in response.content.decode()


def test_custom_encryption_needs_a_key(signed_in, draft):
    response = post(signed_in, draft, encryption="custom", kms_key=" ")
    assert response.status_code == 400
    assert "Give the KMS key ID or ARN" in response.content.decode()


@pytest.mark.parametrize("tags, message", [
    ([("sluice:owner", "me")], "reserved for Sluice"),
    ([("aws:owner", "me")], "reserved by AWS"),
    ([("team", "a"), ("team", "b")], "is used twice"),
    ([("bad key!", "x")], "tag key may contain only"),
    ([("team", "100% sure")], "tag value may contain only"),
    ([("k" * 129, "x")], "at most 128 characters"),
    ([("team", "v" * 257)], "at most 256 characters"),
    ([("", "value without key")], "must not be empty"),
    ([(f"k{i}", "v") for i in range(51)], "at most 50 tags"),
])
def test_bad_tags_are_refused_next_to_the_tag(signed_in, draft, tags, message):
    response = post(signed_in, draft, tags=tags)
    assert response.status_code == 400
    assert message in response.content.decode()
    draft.refresh_from_db()
    assert draft.data == {}


def test_inline_validation_answers_error_slots_and_saves_nothing(signed_in, draft):
    response = signed_in.post(url(draft), {"validate": "1", "name": "has space", "tag_rows": "1",
                                           "tag_key_0": "sluice:x", "tag_value_0": "v"},
                              HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="error-name"' in html and 'hx-swap-oob="true"' in html
    assert "must be 2 to 256 characters" in html
    assert "reserved for Sluice" in html
    assert "<form" not in html  # only the slots, swapped in place: what the user types stays
    good = signed_in.post(url(draft), {"validate": "1", "name": "fine-name", "tag_rows": "0"},
                          HTTP_HX_REQUEST="true").content.decode()
    assert "field-error" not in good
    draft.refresh_from_db()
    assert draft.data == {} and draft.step == "details"


def test_add_and_remove_tag_rows_without_saving_or_judging(signed_in, draft):
    response = post(signed_in, draft, name="", tags=[("team", "x")], add_tag="1")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="tag_key_1"' in html and "This field is required." not in html
    response = post(signed_in, draft, tags=[("team", "x"), ("drop", "me")], remove_tag="0")
    html = response.content.decode()
    assert 'value="drop"' in html and 'value="team"' not in html
    draft.refresh_from_db()
    assert draft.data == {}


def test_the_page_shows_what_the_draft_holds(signed_in, draft):
    post(signed_in, draft, name="kept-name", description="kept description", tags=[("team", "x")])
    html = signed_in.get(url(draft)).content.decode()
    assert 'value="kept-name"' in html and "kept description" in html and 'value="team"' in html
