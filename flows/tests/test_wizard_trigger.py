"""Step 2's flow trigger form: good and bad input, what it writes into the document (checked by the
document validator), and reading a document back for edit and resume."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from django.template.loader import render_to_string

from connections.connectors import registry
from connections.connectors.base import EntityField
from connections.connectors.democrm import DemoCrmConnector
from connections.connectors.localfiles import LocalFilesConnector
from flows.document import validate_flow_document
from flows.schedules import ScheduleConfig
from flows.wizard.trigger import TriggerForm


class HourlyFiles(LocalFilesConnector):
    """Local files with an hourly limit, like Marketo's: for the "too fast" refusals."""

    connector_label: ClassVar[str] = "HourlyFiles"
    display_name: ClassVar[str] = "Hourly files"
    fastest_schedule_minutes: ClassVar[int] = 60


@pytest.fixture(autouse=True)
def hourly_in_registry(monkeypatch):
    registry.get_connector_class.cache_clear()
    monkeypatch.setitem(registry.CONNECTORS, "HourlyFiles", f"{__name__}.HourlyFiles")
    yield
    registry.get_connector_class.cache_clear()


FIELDS = [
    EntityField("id", "integer", primary_key=True),
    EntityField("name"),
    EntityField("updated_at", "datetime", timestamp_for_incremental=True),
    EntityField("created_at", "datetime", timestamp_for_incremental=True),
]


def document(label: str = "LocalFiles", **changes: Any) -> dict:
    doc = {
        "flowName": "accounts-to-jsonl",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {
            "connectorType": "CustomConnector",
            "connectorLabel": label,
            "connectorProfileName": "local-inbox",
            "sourceConnectorProperties": {"CustomConnector": {"entityName": "accounts.csv"}},
        },
        "destinationFlowConfigList": [{
            "connectorType": "CustomConnector",
            "connectorLabel": "LocalFiles",
            "connectorProfileName": "local-outbox",
            "destinationConnectorProperties": {
                "CustomConnector": {"entityName": "out/accounts", "customProperties": {"fileType": "JSONL"}},
            },
        }],
        "tasks": [{"sourceFields": [], "taskType": "Map_all", "taskProperties": {}}],
    }
    doc.update(changes)
    return doc


def scheduled(**values: Any) -> dict[str, Any]:
    data = {"trigger_type": "Scheduled", "frequency": "hours", "every": "1", "start_date": "2026-12-01",
            "start_time": "09:00", "timezone": "Europe/Paris", "pull_mode": "Complete",
            "offset_unit": "minutes"}
    data.update(values)
    return {key: value for key, value in data.items() if value is not None}


def form(data: dict | None = None, *, doc: dict | None = None, source=LocalFilesConnector,
         fields: list[EntityField] = FIELDS) -> TriggerForm:
    return TriggerForm(data, document=doc if doc is not None else document(), source_connector_cls=source,
                       source_fields=fields)


def applied(data: dict, **kwargs: Any) -> dict:
    trigger = form(data, **kwargs)
    assert trigger.is_valid(), trigger.errors
    result = trigger.apply(kwargs.get("doc") or document())
    assert validate_flow_document(result) == []
    return result


# -- good input ---------------------------------------------------------------------------------


def test_on_demand_writes_only_the_trigger_type_and_clears_an_incremental_pull():
    doc = document()
    doc["sourceFlowConfig"]["incrementalPullConfig"] = {"datetimeTypeFieldName": "updated_at"}
    doc["triggerConfig"] = {"triggerType": "Scheduled",
                            "triggerProperties": {"Scheduled": {"scheduleExpression": "rate(1days)"}}}
    result = applied({"trigger_type": "OnDemand"}, doc=doc)
    assert result["triggerConfig"] == {"triggerType": "OnDemand"}
    assert "incrementalPullConfig" not in result["sourceFlowConfig"]
    assert doc["triggerConfig"]["triggerType"] == "Scheduled", "apply() works on a copy"


def test_event_is_offered_and_written_when_the_source_sends_events():
    assert ("Event" in dict(form().fields["trigger_type"].choices))
    assert applied({"trigger_type": "Event"})["triggerConfig"] == {"triggerType": "Event"}


def test_a_full_schedule_in_a_time_zone():
    result = applied(scheduled(frequency="days", every="2", end_date="2027-01-31", end_time="18:30"))
    block = result["triggerConfig"]["triggerProperties"]["Scheduled"]
    assert block == {
        "scheduleExpression": "rate(2days)",
        "dataPullMode": "Complete",
        "scheduleStartTime": "2026-12-01T09:00:00+01:00",
        "scheduleEndTime": "2027-01-31T18:30:00+01:00",
        "timezone": "Europe/Paris",
    }
    config = ScheduleConfig.from_properties(block)
    assert config.start == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("frequency", "every", "expression"), [
    ("minutes", "15", "rate(15minutes)"), ("hours", "1", "rate(1hour)"), ("weeks", "1", "rate(1week)"),
    ("months", "3", "rate(3months)"),
])
def test_rates(frequency, every, expression):
    block = applied(scheduled(frequency=frequency, every=every))["triggerConfig"]["triggerProperties"]["Scheduled"]
    assert block["scheduleExpression"] == expression


@pytest.mark.parametrize("typed", ["0 9 * * MON-FRI", "cron(0 9 * * MON-FRI)", "0 9 ? * 2-6 *"])
def test_cron_with_or_without_its_wrapper(typed):
    block = applied(scheduled(frequency="cron", every="", cron=typed))["triggerConfig"]["triggerProperties"]
    assert block["Scheduled"]["scheduleExpression"].startswith("cron(0 9 ")


def test_incremental_sets_the_timestamp_field_offset_and_first_window():
    result = applied(scheduled(pull_mode="Incremental", timestamp_field="updated_at", offset="90",
                               offset_unit="minutes", first_window_days="7"))
    block = result["triggerConfig"]["triggerProperties"]["Scheduled"]
    assert block["dataPullMode"] == "Incremental"
    assert block["scheduleOffset"] == 5400
    assert block["firstExecutionFrom"] == "2026-11-24T09:00:00+01:00"
    assert result["sourceFlowConfig"]["incrementalPullConfig"] == {"datetimeTypeFieldName": "updated_at"}


def test_the_default_first_window_is_left_to_appflows_default():
    block = applied(scheduled(pull_mode="Incremental", timestamp_field="updated_at", offset="0",
                              first_window_days="30"))["triggerConfig"]["triggerProperties"]["Scheduled"]
    assert "firstExecutionFrom" not in block and block["scheduleOffset"] == 0


def test_full_mode_writes_no_incremental_settings_even_if_they_were_filled_in():
    result = applied(scheduled(pull_mode="Complete", timestamp_field="updated_at", offset="30"))
    assert "scheduleOffset" not in result["triggerConfig"]["triggerProperties"]["Scheduled"]
    assert "incrementalPullConfig" not in result["sourceFlowConfig"]


# -- bad input ----------------------------------------------------------------------------------


def errors_of(data: dict, **kwargs: Any) -> dict[str, list[str]]:
    trigger = form(data, **kwargs)
    assert not trigger.is_valid()
    return {key: list(value) for key, value in trigger.errors.items()}


def test_event_is_not_offered_for_a_source_without_events_and_is_refused_if_posted():
    trigger = form(source=DemoCrmConnector)
    assert "Event" not in dict(trigger.fields["trigger_type"].choices)
    assert "does not send events" in trigger.event_note
    errors = errors_of({"trigger_type": "Event"}, source=DemoCrmConnector)
    assert "trigger_type" in errors


def test_schedule_faster_than_the_source_allows_is_refused_with_the_reason():
    errors = errors_of(scheduled(frequency="minutes", every="30"), source=HourlyFiles,
                       doc=document("HourlyFiles"))
    assert errors == {"every": ["This runs as often as one run every 30 minutes, but the Hourly files "
                                "connector allows at most one run per hour. Choose a slower schedule."]}


def test_cron_faster_than_the_source_allows_is_refused_next_to_the_cron_field():
    errors = errors_of(scheduled(frequency="cron", cron="*/10 * * * *"), source=HourlyFiles,
                       doc=document("HourlyFiles"))
    assert list(errors) == ["cron"] and "one run every 10 minutes" in errors["cron"][0]


def test_an_hourly_schedule_is_fine_for_an_hourly_source():
    applied(scheduled(frequency="hours", every="1"), source=HourlyFiles, doc=document("HourlyFiles"))


@pytest.mark.parametrize(("values", "field", "words"), [
    ({"frequency": "cron", "cron": ""}, "cron", "Type a cron expression"),
    ({"frequency": "cron", "cron": "0 25 * * *"}, "cron", 'hour field "25" is not valid'),
    ({"frequency": "cron", "cron": "0 9 * *"}, "cron", "has 4 field(s)"),
    ({"every": ""}, "every", "every how many hours"),
    ({"every": "0"}, "every", "greater than or equal to 1"),
    ({"every": "abc"}, "every", "whole number"),
    ({"frequency": "fortnights"}, "frequency", "not one of the available choices"),
    ({"start_date": ""}, "start_date", "date of the first run"),
    ({"start_date": "2026-13-01"}, "start_date", "valid date"),
    ({"start_time": "25:00"}, "start_time", "valid time"),
    ({"timezone": "Europe/Pariss"}, "timezone", "not one of the available choices"),
    ({"end_date": "2026-11-30"}, "end_date", "The end must be later than the start"),
    ({"end_time": "10:00"}, "end_date", "end date too"),
    ({"pull_mode": "Incremental", "timestamp_field": ""}, "timestamp_field", "Choose the field"),
    ({"pull_mode": "Incremental", "timestamp_field": "name"}, "timestamp_field", "not one of the available"),
    ({"pull_mode": "Incremental", "timestamp_field": "updated_at", "offset": "10", "offset_unit": "hours"},
     "offset", "under 10 hours"),
    ({"pull_mode": "Incremental", "timestamp_field": "updated_at", "offset": "-1"}, "offset",
     "greater than or equal to 0"),
    ({"pull_mode": "Incremental", "timestamp_field": "updated_at", "first_window_days": "0"},
     "first_window_days", "greater than or equal to 1"),
])
def test_bad_schedule_input_is_named_next_to_its_field(values, field, words):
    errors = errors_of(scheduled(**values))
    assert field in errors, errors
    assert any(words in message for message in errors[field]), errors[field]


def test_an_offset_just_under_ten_hours_is_accepted():
    block = applied(scheduled(pull_mode="Incremental", timestamp_field="updated_at", offset="599",
                              offset_unit="minutes"))["triggerConfig"]["triggerProperties"]["Scheduled"]
    assert block["scheduleOffset"] == 599 * 60


def test_incremental_is_refused_when_no_field_is_usable():
    fields = [EntityField("id", "integer"), EntityField("name")]
    trigger = form(fields=fields)
    assert "has none the source marks as usable" in trigger.incremental_note
    errors = errors_of(scheduled(pull_mode="Incremental"), fields=fields)
    assert "pull_mode" in errors and "choose Full" in errors["pull_mode"][0]


def test_a_missing_trigger_type_is_required():
    assert "trigger_type" in errors_of({})


def test_apply_refuses_an_invalid_form():
    with pytest.raises(ValueError):
        form(scheduled(every="0")).apply(document())


# -- reading a document back (edit, resume) -------------------------------------------------------


def test_a_new_document_starts_on_demand_with_a_schedule_at_the_next_hour():
    trigger = form(doc=document(triggerConfig={}))
    assert trigger.initial["trigger_type"] == "OnDemand"
    assert trigger.initial["start_time"].minute == 0


def test_the_forms_own_output_reads_back_unchanged():
    first = applied(scheduled(frequency="cron", cron="0 9 * * MON-FRI", end_date="2027-01-31",
                              pull_mode="Incremental", timestamp_field="created_at", offset="2",
                              offset_unit="hours", first_window_days="10"))
    again = form(doc=first)
    assert again.initial["trigger_type"] == "Scheduled" and again.initial["frequency"] == "cron"
    assert again.initial["cron"] == "0 9 * * MON-FRI"
    assert str(again.initial["start_date"]) == "2026-12-01" and str(again.initial["start_time"]) == "09:00:00"
    assert again.initial["offset"] == 2 and again.initial["offset_unit"] == "hours"
    assert again.initial["first_window_days"] == 10 and again.initial["timestamp_field"] == "created_at"
    # Posting the read-back values unchanged gives the same document.
    data = _as_post(again.initial)
    assert applied(data, doc=first) == first


def test_an_imported_document_keeps_its_own_spelling_when_nothing_changed():
    doc = document(triggerConfig={"triggerType": "Scheduled", "triggerProperties": {"Scheduled": {
        "scheduleExpression": "rate(5 minutes)", "dataPullMode": "Incremental",
        "scheduleStartTime": 1796112000, "timezone": "UTC", "scheduleOffset": 90,
        "firstExecutionFrom": 1795000000, "flowErrorDeactivationThreshold": 9}}})
    doc["sourceFlowConfig"]["incrementalPullConfig"] = {"datetimeTypeFieldName": "updated_at"}
    before = copy.deepcopy(doc)
    trigger = form(doc=doc)
    assert trigger.initial["offset"] == 90 and trigger.initial["offset_unit"] == "seconds"
    assert trigger.initial["frequency"] == "minutes" and trigger.initial["every"] == 5
    data = _as_post(trigger.initial)
    assert applied(data, doc=doc) == before
    # Change the start: the new one is written in ISO 8601; the rest stays.
    data["start_time"] = "09:30"
    block = applied(data, doc=doc)["triggerConfig"]["triggerProperties"]["Scheduled"]
    assert block["scheduleStartTime"] != 1796112000 and block["scheduleExpression"] == "rate(5 minutes)"
    assert block["flowErrorDeactivationThreshold"] == 9


def test_a_trigger_the_new_source_cannot_do_falls_back_to_on_demand():
    trigger = form(doc=document(triggerConfig={"triggerType": "Event"}), source=DemoCrmConnector)
    assert trigger.initial["trigger_type"] == "OnDemand"


def test_a_broken_document_still_reads_back_without_raising():
    doc = document(triggerConfig={"triggerType": "Scheduled", "triggerProperties": {"Scheduled": {
        "scheduleExpression": "every tuesday", "timezone": "Mars/Olympus", "scheduleStartTime": "soon",
        "scheduleOffset": "x"}}})
    trigger = form(doc=doc)
    assert trigger.initial["cron"] == "every tuesday"
    assert "timezone" not in trigger.initial or trigger.initial["timezone"] != "Mars/Olympus"


# -- the template ---------------------------------------------------------------------------------


def test_the_template_labels_every_input_and_shows_errors_inline():
    trigger = form(scheduled(every="0"))
    trigger.is_valid()
    html = render_to_string("flows/wizard/_trigger.html", {"form": trigger})
    for field in trigger:
        if field.name in ("trigger_type", "pull_mode"):
            for radio in field:
                assert f'for="{radio.id_for_label}"' in html
        else:
            assert f'for="{field.id_for_label}"' in html, field.name
    assert 'class="field-error small" role="alert">Ensure this value is greater than or equal to 1.' in html


def _as_post(initial: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in initial.items():
        if value is None:
            continue
        out[key] = value.strftime("%H:%M") if hasattr(value, "hour") and not hasattr(value, "year") else str(value)
    return out


def test_every_problem_is_named_at_once():
    errors = errors_of(scheduled(frequency="minutes", every="30", end_date="2026-11-01", pull_mode="Incremental",
                                 offset="11", offset_unit="hours"), source=HourlyFiles, doc=document("HourlyFiles"))
    assert set(errors) == {"every", "end_date", "timestamp_field", "offset"}


def test_without_a_source_only_on_demand_is_offered():
    trigger = TriggerForm({"trigger_type": "Scheduled"}, document=document(), source_connector_cls=None,
                          source_fields=None)
    assert [value for value, _ in trigger.fields["trigger_type"].choices] == ["OnDemand"]
    assert "Choose the source connector first" in trigger.event_note
    assert not trigger.is_valid() and "trigger_type" in trigger.errors
    on_demand = TriggerForm({"trigger_type": "OnDemand"}, document=document(), source_connector_cls=None,
                            source_fields=None)
    assert on_demand.is_valid()


def test_a_bound_form_rendered_while_choosing_shows_posted_values_but_no_errors_until_checked():
    trigger = form(scheduled(every="0", cron="0 9 * * *"))
    html = render_to_string("flows/wizard/_trigger.html", {"form": trigger})
    assert "field-error" not in html and 'aria-invalid' not in html
    assert 'value="0"' in html and 'value="0 9 * * *"' in html
    assert not trigger.is_valid()
    html = render_to_string("flows/wizard/_trigger.html", {"form": trigger})
    assert "field-error" in html and 'aria-invalid="true"' in html
