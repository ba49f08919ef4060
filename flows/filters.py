"""The filters of the flows list and of a flow's execution history, read from GET parameters so a
filtered view is a URL that can be shared. A value that cannot be used is dropped with an error
that names the filter and what to do; the page still answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Q
from django.http import QueryDict

from connections.connectors.registry import connector_keys, get_connector_class
from flows.models import Execution, Flow

FLOW_TRIGGERS = ("OnDemand", "Scheduled", "Event")


@dataclass
class Filters:
    """What was asked (to show back in the form), the usable part of it, and why the rest was not."""

    values: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return any(self.values.values())


def connector_choices(role: str) -> list[tuple[str, str]]:
    """(key, name) of the connectors that can be a source (role "source") or a destination."""
    choices = []
    for key in connector_keys():
        cls = get_connector_class(key)
        if cls.can_be_source if role == "source" else cls.can_be_destination:
            choices.append((key, cls.display_name or key))
    return sorted(choices, key=lambda choice: choice[1].lower())


def _choice(params: QueryDict, name: str, label: str, allowed: list[str] | tuple[str, ...],
            filters: Filters) -> str:
    value = (params.get(name) or "").strip()
    if value and value not in allowed:
        options = ", ".join(allowed)
        filters.errors.append(f'{label}: "{value}" is not one of {options}. Choose one from the list.')
        return ""
    return value


def _day(params: QueryDict, name: str, label: str, filters: Filters) -> date | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        filters.errors.append(f'{label}: "{value}" is not a date. Use YYYY-MM-DD (UTC).')
        return None


def flow_filters(params: QueryDict) -> tuple[Filters, Q]:
    """Search (name, description, tag keys and values), status, trigger, source and destination."""
    filters = Filters()
    query = Q()
    search = (params.get("q") or "").strip()
    if search:
        query &= Q(name__icontains=search) | Q(description__icontains=search) | Q(tags_text__icontains=search)
    status = _choice(params, "status", "Status", Flow.Status.values, filters)
    if status:
        query &= Q(status=status)
    trigger = _choice(params, "trigger", "Trigger", FLOW_TRIGGERS, filters)
    if trigger:
        query &= Q(trigger_type=trigger)
    source = _choice(params, "source", "Source", [key for key, _ in connector_choices("source")], filters)
    if source:
        query &= Q(source_connector=source)
    destination = _choice(params, "destination", "Destination",
                          [key for key, _ in connector_choices("destination")], filters)
    if destination:
        query &= Q(destination_connector=destination)
    filters.values = {"q": search, "status": status, "trigger": trigger, "source": source,
                      "destination": destination}
    return filters, query


def execution_filters(params: QueryDict) -> tuple[Filters, Q]:
    """Status, trigger and a date range of creation days (UTC, both ends included)."""
    filters = Filters()
    query = Q()
    status = _choice(params, "status", "Status", Execution.Status.values, filters)
    if status:
        query &= Q(status=status)
    trigger = _choice(params, "trigger", "Trigger", Execution.Trigger.values, filters)
    if trigger:
        query &= Q(trigger=trigger)
    start = _day(params, "from", "From", filters)
    end = _day(params, "to", "To", filters)
    if start and end and start > end:
        filters.errors.append(f"From ({start}) is after To ({end}). Swap them, or clear one.")
        start = end = None
    if start:
        query &= Q(created_at__gte=datetime.combine(start, time.min, tzinfo=UTC))
    if end:
        query &= Q(created_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC))
    filters.values = {"status": status, "trigger": trigger, "from": start.isoformat() if start else "",
                      "to": end.isoformat() if end else ""}
    return filters, query


def choices_context() -> dict[str, Any]:
    """The options of the filter forms' selects."""
    return {
        "flow_statuses": Flow.Status.values,
        "flow_triggers": FLOW_TRIGGERS,
        "execution_statuses": Execution.Status.values,
        "execution_triggers": Execution.Trigger.values,
        "source_connectors": connector_choices("source"),
        "destination_connectors": connector_choices("destination"),
    }
