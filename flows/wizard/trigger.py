"""Step 2's flow trigger: run on demand, on an event, or on a schedule.

`TriggerForm` reads its initial values back from the flow document (edit and resume) and, once
valid, `apply(document)` writes AppFlow's `triggerConfig` and
`sourceFlowConfig.incrementalPullConfig` into a copy of it. The schedule rules are not repeated
here: the finished trigger goes through the document validator (flows.document), whose messages
are shown next to the field they are about; flows.schedules / flows.schedule_expressions read the
expressions. The form shares step 2's <form>; its field names do not clash with step 2's own.

Template: flows/wizard/_trigger.html, included with `form` set to the form.
`source_connector_cls` may be None while no source is chosen: then only "on demand" is offered.
"""

from __future__ import annotations

import copy
import math
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from django import forms
from django.forms.utils import ErrorDict
from django.utils import timezone as django_timezone

from connections.connectors.base import Connector, EntityField
from flows.document import validate_flow_document
from flows.schedules import (
    DEFAULT_FIRST_PULL,
    MAX_OFFSET_SECONDS,
    Cron,
    Rate,
    ScheduleError,
    describe_minutes,
    parse_expression,
    parse_time,
    parse_zone,
    shortest_gap,
)

ON_DEMAND, EVENT, SCHEDULED = "OnDemand", "Event", "Scheduled"
COMPLETE, INCREMENTAL = "Complete", "Incremental"
CRON = "cron"
FREQUENCY_CHOICES = (
    ("minutes", "minutes"), ("hours", "hours"), ("days", "days"), ("weeks", "weeks"),
    ("months", "months"), (CRON, "a cron expression"),
)
OFFSET_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600}
DEFAULT_FIRST_WINDOW_DAYS = DEFAULT_FIRST_PULL.days
MAX_FIRST_WINDOW_DAYS = 3650

# Which form field a validator message about a Scheduled key belongs next to.
FIELD_FOR_KEY = {
    "timezone": "timezone",
    "scheduleStartTime": "start_date",
    "scheduleEndTime": "end_date",
    "scheduleOffset": "offset",
    "firstExecutionFrom": "first_window_days",
    "dataPullMode": "pull_mode",
    "triggerType": "trigger_type",
    "datetimeTypeFieldName": "timestamp_field",
}


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


@lru_cache(maxsize=1)
def _zone_choices() -> tuple[tuple[str, str], ...]:
    """UTC, then the regional IANA zones (the Etc/ and legacy aliases are left out of the list)."""
    names = sorted(name for name in _zone_names()
                   if "/" in name and not name.startswith(("Etc/", "SystemV/")))
    return (("UTC", "UTC"), *((name, name.replace("_", " ")) for name in names))


_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class TriggerForm(forms.Form):
    # No prefix: its names (trigger_type, frequency, start_date...) do not clash with step 2's own.

    trigger_type = forms.ChoiceField(label="Run the flow", widget=forms.RadioSelect)
    frequency = forms.ChoiceField(label="Repeat unit", choices=FREQUENCY_CHOICES, required=False)
    every = forms.IntegerField(
        label="Repeats every", min_value=1, max_value=100000, required=False, initial=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    cron = forms.CharField(
        label="Cron expression", required=False, max_length=256,
        help_text="Five fields: minute hour day-of-month month day-of-week, e.g. 0 9 * * MON-FRI "
                  "(AppFlow's six fields with a year are accepted too).",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off", "class": "mono"}),
    )
    start_date = forms.DateField(label="Starts on", required=False, widget=_DATE)
    start_time = forms.TimeField(label="at", required=False, widget=_TIME)
    end_date = forms.DateField(label="Ends on", required=False, widget=_DATE,
                               help_text="Leave empty to run until the flow is deactivated.")
    end_time = forms.TimeField(label="at", required=False, widget=_TIME)
    timezone = forms.ChoiceField(label="Time zone", required=False,
                                 help_text="Dates, times and day/week/month schedules are read in this zone.")
    pull_mode = forms.ChoiceField(
        label="Transfer mode", required=False, widget=forms.RadioSelect, initial=COMPLETE,
        choices=((COMPLETE, "Full: every run transfers all records"),
                 (INCREMENTAL, "Incremental: each run transfers the records new or changed since the "
                               "last run")),
    )
    timestamp_field = forms.ChoiceField(
        label="Timestamp field", required=False,
        help_text="The source field that says when a record was created or changed.",
    )
    offset = forms.IntegerField(
        label="Offset", min_value=0, required=False, initial=0,
        help_text="Each run stops this long before its start time, so late records are not missed. "
                  "Under 10 hours.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    offset_unit = forms.ChoiceField(label="Offset unit", required=False, initial="minutes",
                                    choices=[(unit, unit) for unit in OFFSET_UNITS])
    first_window_days = forms.IntegerField(
        label="First run's window, in days", min_value=1, max_value=MAX_FIRST_WINDOW_DAYS, required=False,
        initial=DEFAULT_FIRST_WINDOW_DAYS,
        help_text="The first run transfers the records of this many days before it (AppFlow's default: 30); "
                  "later runs continue from where the last successful run ended.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, data: Any = None, *, document: dict, source_connector_cls: type[Connector] | None,
                 source_fields: list[EntityField] | None, **kwargs: Any):
        self.document = document or {}
        self.source = source_connector_cls
        self.source_name = (source_connector_cls.display_name or source_connector_cls.key()
                            if source_connector_cls else "")
        self.timestamp_fields = [f.name for f in source_fields or [] if f.timestamp_for_incremental]
        # Step 2 re-renders the bound form while the person is still choosing (htmx refresh); it
        # shows errors only once is_valid() has been asked.
        self.checked = False
        self.read_back = _read_back(self.document)
        super().__init__(data, initial=self.read_back.initial, **kwargs)
        self.fields["trigger_type"].choices = self.trigger_choices()
        self.fields["timezone"].choices = list(_zone_choices())
        self.fields["timestamp_field"].choices = [("", "Choose a field…")] + [
            (name, name) for name in self.timestamp_fields]
        if self.initial.get("trigger_type") not in self.offered_types:
            self.initial["trigger_type"] = ON_DEMAND
        self.initial.setdefault("timezone", _default_zone())
        self.initial.setdefault("start_date", None)
        if not self.initial.get("start_date"):
            self.initial.update(_next_hour(self.initial["timezone"]))
        self.fields["frequency"].help_text = self.fastest_note()
        for field in self.fields.values():
            # Its parts show and hide through CSS: step 2's live refresh need not (and, racing
            # with typing, should not) re-render the page when one of them changes.
            field.widget.attrs["data-no-refresh"] = ""

    # -- what the page shows --------------------------------------------------------------------

    @property
    def offered_types(self) -> tuple[str, ...]:
        return self.source.trigger_types if self.source is not None else (ON_DEMAND,)

    def trigger_choices(self) -> list[tuple[str, str]]:
        offered = [(ON_DEMAND, "On demand: you start each run")]
        if EVENT in self.offered_types:
            offered.append((EVENT, f"On event: a signed webhook call from {self.source_name} starts a run"))
        if SCHEDULED in self.offered_types:
            offered.append((SCHEDULED, "On schedule: runs repeat at the times you set"))
        return offered

    @property
    def event_note(self) -> str:
        if self.source is None:
            return "Choose the source connector first: which triggers it offers depends on it."
        if EVENT in self.offered_types:
            return ""
        return f"Run on event is not offered: the {self.source_name} connector does not send events."

    @property
    def schedule_note(self) -> str:
        if self.source is None or SCHEDULED in self.offered_types:
            return ""
        return f"Run on schedule is not offered: the {self.source_name} connector runs on demand only."

    def fastest_note(self) -> str:
        if self.source is None:
            return ""
        minutes = self.source.fastest_schedule_minutes
        if minutes and minutes > 1:
            return f"The {self.source_name} connector allows at most {describe_minutes(minutes)}."
        return ""

    @property
    def incremental_note(self) -> str:
        if self.timestamp_fields:
            return ""
        return ("Incremental transfer needs a timestamp field, and this object has none the source marks "
                "as usable: choose Full.")

    # -- checking -------------------------------------------------------------------------------

    def is_valid(self) -> bool:
        if not self.checked:
            self.checked, self._errors = True, None  # check now, even if a render looked before
        return super().is_valid()

    def full_clean(self) -> None:
        if not self.checked:  # rendered while choosing: posted values, no errors yet
            self._errors, self.cleaned_data = ErrorDict(), {}
            return
        super().full_clean()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("trigger_type") != SCHEDULED or self.errors:
            return cleaned
        expression = self._clean_expression(cleaned)
        zone = ZoneInfo(cleaned.get("timezone") or "UTC")
        if not cleaned.get("start_date"):
            self.add_error("start_date", "Choose the date of the first run.")
        if cleaned.get("end_time") and not cleaned.get("end_date"):
            self.add_error("end_date", "Choose the end date too, or clear the end time.")
        if cleaned.get("pull_mode") == INCREMENTAL:
            self._clean_incremental(cleaned)
        if expression is not None:
            self._check_fastest(expression)
        if cleaned.get("start_date"):
            cleaned["start"] = _at(cleaned["start_date"], cleaned.get("start_time"), zone)
            # An end date alone means the end of that day.
            cleaned["end"] = (_at(cleaned["end_date"], cleaned.get("end_time") or time(23, 59), zone)
                              if cleaned.get("end_date") else None)
            if cleaned["end"] is not None and cleaned["end"] <= cleaned["start"]:
                self.add_error("end_date", "The end must be later than the start date and time.")
        if not self.errors:
            self._check_with_validator(cleaned)
        return cleaned

    def _clean_expression(self, cleaned: dict[str, Any]) -> str | None:
        frequency = cleaned.get("frequency") or "days"
        if frequency == CRON:
            text = (cleaned.get("cron") or "").strip()
            if not text:
                self.add_error("cron", "Type a cron expression, e.g. 0 9 * * MON-FRI.")
                return None
            if not text.lower().startswith("cron("):
                text = f"cron({text})"
            field = "cron"
        else:
            count = cleaned.get("every")
            if not count:
                self.add_error("every", f"Say every how many {frequency}, e.g. 1.")
                return None
            unit = frequency if count != 1 else frequency[:-1]
            text, field = f"rate({count}{unit})", "every"
        try:
            parse_expression(text)
        except ScheduleError as exc:
            self.add_error(field, _sentence(exc.message))
            return None
        cleaned["expression"] = text
        self._expression_field = field
        return text

    def _clean_incremental(self, cleaned: dict[str, Any]) -> None:
        if not self.timestamp_fields:
            self.add_error("pull_mode", self.incremental_note)
            return
        if not cleaned.get("timestamp_field"):
            self.add_error("timestamp_field", "Choose the field that says when a record changed.")
        offset = cleaned.get("offset") or 0
        seconds = offset * OFFSET_UNITS[cleaned.get("offset_unit") or "minutes"]
        if seconds >= MAX_OFFSET_SECONDS:
            self.add_error("offset", "The offset must be under 10 hours (0 to 9 hours 59 minutes).")
        cleaned["offset_seconds"] = seconds
        if cleaned.get("first_window_days") is None:
            cleaned["first_window_days"] = DEFAULT_FIRST_WINDOW_DAYS

    def _check_fastest(self, expression: str) -> None:
        minutes = self.source.fastest_schedule_minutes if self.source is not None else None
        gap = shortest_gap(parse_expression(expression))
        if minutes and gap < timedelta(minutes=minutes):
            every = describe_minutes(max(int(gap.total_seconds() // 60), 1))
            self.add_error(self._expression_field, (
                f"This runs as often as {every}, but the {self.source_name} connector allows at most "
                f"{describe_minutes(minutes)}. Choose a slower schedule."))

    def _check_with_validator(self, cleaned: dict[str, Any]) -> None:
        """The document validator has the last word on the trigger it will meet at Create."""
        probe = self._applied(self.document, cleaned)
        for error in validate_flow_document(probe):
            if not error.path.startswith(("triggerConfig", "sourceFlowConfig.incrementalPullConfig")):
                continue  # other steps' problems are theirs to report
            key = error.path.rsplit(".", 1)[-1]
            field = FIELD_FOR_KEY.get(key, self._expression_field if key == "scheduleExpression" else None)
            message = _sentence(error.message)
            if field is None:
                self.add_error(None, f"{error.path}: {error.message}")
            elif message not in self.errors.get(field, []):
                self.add_error(field, message)

    # -- writing --------------------------------------------------------------------------------

    def apply(self, document: dict) -> dict:
        """A copy of `document` with this trigger in it. Only on a valid form."""
        if not self.is_valid():
            raise ValueError("apply() needs a valid TriggerForm")
        return self._applied(document, self.cleaned_data)

    def _applied(self, document: dict, cleaned: dict[str, Any]) -> dict:
        result = copy.deepcopy(document or {})
        trigger_type = cleaned["trigger_type"]
        source = result.get("sourceFlowConfig")
        if isinstance(source, dict):
            source.pop("incrementalPullConfig", None)
        if trigger_type != SCHEDULED:
            result["triggerConfig"] = {"triggerType": trigger_type}
            return result
        scheduled = self._scheduled_block(cleaned)
        result["triggerConfig"] = {"triggerType": SCHEDULED, "triggerProperties": {"Scheduled": scheduled}}
        if scheduled["dataPullMode"] == INCREMENTAL and isinstance(source, dict):
            source["incrementalPullConfig"] = {"datetimeTypeFieldName": cleaned["timestamp_field"]}
        return result

    def _scheduled_block(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        """The Scheduled block; a value whose meaning did not change keeps the document's own
        spelling (epoch seconds stay epoch seconds, rate(5 minutes) keeps its space)."""
        before = self.read_back
        zone = cleaned.get("timezone") or "UTC"
        block: dict[str, Any] = {
            "scheduleExpression": before.keep("scheduleExpression", _expression_key(cleaned["expression"]),
                                              cleaned["expression"]),
            "dataPullMode": cleaned.get("pull_mode") or COMPLETE,
            "scheduleStartTime": before.keep("scheduleStartTime", cleaned["start"],
                                             _iso(cleaned["start"], zone)),
        }
        if cleaned.get("end"):
            block["scheduleEndTime"] = before.keep("scheduleEndTime", cleaned["end"],
                                                   _iso(cleaned["end"], zone))
        block["timezone"] = zone
        if block["dataPullMode"] == INCREMENTAL:
            block["scheduleOffset"] = cleaned["offset_seconds"]
            days = cleaned["first_window_days"]
            if (before.first_from is not None and days == before.initial.get("first_window_days")
                    and cleaned["start"] == before.start):
                block["firstExecutionFrom"] = before.scheduled["firstExecutionFrom"]
            elif days != DEFAULT_FIRST_WINDOW_DAYS:
                block["firstExecutionFrom"] = _iso(cleaned["start"] - timedelta(days=days), zone)
        if "flowErrorDeactivationThreshold" in before.scheduled:  # set elsewhere (flow page); kept
            block["flowErrorDeactivationThreshold"] = before.scheduled["flowErrorDeactivationThreshold"]
        return block


# -- reading a document back ----------------------------------------------------------------------


class _ReadBack:
    """The form's initial values from a document's trigger, and the document's own values to keep
    when the person did not change their meaning."""

    def __init__(self) -> None:
        self.initial: dict[str, Any] = {}
        self.scheduled: dict[str, Any] = {}
        self.meanings: dict[str, Any] = {}
        self.start: datetime | None = None
        self.first_from: datetime | None = None

    def keep(self, key: str, meaning: Any, fresh: Any) -> Any:
        if key in self.scheduled and self.meanings.get(key) == meaning:
            return self.scheduled[key]
        return fresh


def _read_back(document: dict) -> _ReadBack:
    back = _ReadBack()
    config = document.get("triggerConfig") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        return back
    trigger_type = config.get("triggerType")
    if trigger_type in (ON_DEMAND, EVENT, SCHEDULED):
        back.initial["trigger_type"] = trigger_type
    properties = config.get("triggerProperties")
    scheduled = properties.get("Scheduled") if isinstance(properties, dict) else None
    if not isinstance(scheduled, dict):
        return back
    back.scheduled = scheduled
    initial = back.initial
    zone_name = scheduled.get("timezone") or "UTC"
    try:
        zone = parse_zone(zone_name)
        initial["timezone"] = zone_name
    except (ScheduleError, TypeError):
        zone = ZoneInfo("UTC")
    _read_expression(back, scheduled.get("scheduleExpression"))
    for key, prefix in (("scheduleStartTime", "start"), ("scheduleEndTime", "end"),
                        ("firstExecutionFrom", "first")):
        moment = _moment(key, scheduled.get(key), zone)
        if moment is None:
            continue
        back.meanings[key] = moment
        local = moment.astimezone(zone)
        if prefix == "start":
            back.start = moment
        if prefix == "first":
            back.first_from = moment
            continue
        initial[f"{prefix}_date"], initial[f"{prefix}_time"] = local.date(), local.time().replace(tzinfo=None)
    initial["pull_mode"] = INCREMENTAL if scheduled.get("dataPullMode") == INCREMENTAL else COMPLETE
    source = document.get("sourceFlowConfig")
    pull = source.get("incrementalPullConfig") if isinstance(source, dict) else None
    if isinstance(pull, dict) and isinstance(pull.get("datetimeTypeFieldName"), str):
        initial["timestamp_field"] = pull["datetimeTypeFieldName"]
    offset = scheduled.get("scheduleOffset")
    if isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0:
        unit = next(unit for unit in ("hours", "minutes", "seconds") if offset % OFFSET_UNITS[unit] == 0)
        initial["offset"], initial["offset_unit"] = offset // OFFSET_UNITS[unit], unit
    if back.first_from is not None and back.start is not None and back.first_from < back.start:
        initial["first_window_days"] = math.ceil((back.start - back.first_from) / timedelta(days=1))
    return back


def _read_expression(back: _ReadBack, text: Any) -> None:
    if not isinstance(text, str):
        return
    try:
        expression = parse_expression(text)
    except ScheduleError:
        back.initial.update(frequency=CRON, cron=text)  # shown as typed, with its error on submit
        return
    back.meanings["scheduleExpression"] = _expression_key(text)
    if isinstance(expression, Rate):
        back.initial.update(frequency=expression.unit, every=expression.count)
    else:
        inner = text.strip()[len("cron("):-1].strip()
        back.initial.update(frequency=CRON, cron=inner)


def _expression_key(text: str) -> Any:
    """What an expression means, to tell a respelling from a change."""
    expression = parse_expression(text)
    return (expression.count, expression.unit) if isinstance(expression, Rate) else (
        expression.fields, expression.years) if isinstance(expression, Cron) else text


def _moment(key: str, value: Any, zone: ZoneInfo) -> datetime | None:
    if value in (None, "") or isinstance(value, bool):
        return None
    try:
        return parse_time(key, value, zone)
    except (ScheduleError, OverflowError, OSError, ValueError):
        return None


# -- small helpers ----------------------------------------------------------------------------------


def _default_zone() -> str:
    name = django_timezone.get_current_timezone_name()
    return name if name in _zone_names() else "UTC"


def _next_hour(zone_name: str) -> dict[str, Any]:
    """A new schedule starts at the next full hour: soon, and on a round time."""
    local = (datetime.now(UTC) + timedelta(hours=1)).astimezone(ZoneInfo(zone_name))
    return {"start_date": local.date(), "start_time": time(local.hour, 0)}


def _at(day: date, moment: time | None, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, moment or time(0, 0)).replace(tzinfo=zone).astimezone(UTC)


def _iso(moment: datetime, zone_name: str) -> str:
    """ISO 8601 with the zone's offset: readable in the document and unambiguous."""
    return moment.astimezone(ZoneInfo(zone_name)).isoformat(timespec="seconds")


# The validator speaks the document's keys; the form speaks the page's words.
_PAGE_WORDS = {"scheduleStartTime": "the start date and time", "scheduleEndTime": "the end",
               "firstExecutionFrom": "the first run's window"}


def _sentence(message: str) -> str:
    message = message.strip()
    for key, words in _PAGE_WORDS.items():
        message = message.replace(key, words)
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "?", "!")) else message + "."
