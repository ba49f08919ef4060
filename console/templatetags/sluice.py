"""Filters for showing runs to a person: sizes, durations, status badges, connector names."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django import template

from connections.connectors.base import ConnectorError
from connections.connectors.registry import get_connector_class, resolve_key

register = template.Library()

_BYTE_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


@register.filter
def human_bytes(value: Any) -> str:
    """1536 -> "1.5 KiB". Binary units, because that is what file sizes on disk add up to."""
    try:
        size = float(value)
    except (TypeError, ValueError):
        return ""
    if abs(size) < 1024:
        return f"{int(size)} B"
    for unit in _BYTE_UNITS:
        size /= 1024
        if abs(size) < 1024 or unit == _BYTE_UNITS[-1]:
            return f"{size:.1f} {unit}"
    return ""  # unreachable: the loop always returns


@register.filter
def duration(value: timedelta | None) -> str:
    """A run's length as a person says it: "0.42 s", "3 min 5 s", "2 h 4 min"."""
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@register.filter
def status_class(status: str | None) -> str:
    """The badge colour of an execution or flow status (see static/css/sluice.css)."""
    return {
        "InProgress": "badge-running",
        "Successful": "badge-ok",
        "Successful with warning": "badge-warn",
        "Active": "badge-ok",
        "Error": "badge-error",
        "Errored": "badge-error",
        "Suspended": "badge-warn",
        "Skipped": "badge-warn",
        "CancelStarted": "badge-muted",
        "Canceled": "badge-muted",
        "Draft": "badge-muted",
        "Deprecated": "badge-muted",
        # connections, and their tests
        "Available": "badge-ok",
        "NeedsReauthorization": "badge-warn",
        "Passed": "badge-ok",
        "Failed": "badge-error",
        "Queued": "badge-running",
        "Running": "badge-running",
    }.get(status or "", "badge-muted")


@register.filter
def connector_name(connector_type: str, connector_label: str = "") -> str:
    """"CustomConnector" + "LocalFiles" -> "Local files": the registry's display name when known."""
    try:
        return get_connector_class(resolve_key(connector_type, connector_label)).display_name or (
            connector_label or connector_type
        )
    except ConnectorError:
        return connector_label or connector_type or ""


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


@register.filter
def auth_kind(kind: str) -> str:
    """A connector's authentication kind as the catalog says it."""
    return {
        "oauth2": "OAuth 2.0",
        "basic": "user name and password",
        "api_key": "API key",
        "client_credentials": "OAuth 2.0 client credentials",
        "none": "none",
        "per_connection": "as each connection's spec says",
    }.get(kind or "", kind or "")


@register.filter
def connector_auth(connector_cls) -> str:
    """The authentication kinds a connector offers, as the catalog says them ("user name and
    password or OAuth 2.0" for SAP OData, whose connections choose)."""
    kinds = connector_cls.offered_auth_kinds() or ("per_connection",)
    return " or ".join(auth_kind(kind) for kind in kinds)


REASON_LENGTH = 140


@register.filter
def first_line(text: str) -> str:
    """The first non-blank line of a message, cut to one table line: a run's reason at a glance
    (the history tables show the whole text on demand)."""
    line = next((line.strip() for line in str(text or "").splitlines() if line.strip()), "")
    return line if len(line) <= REASON_LENGTH else line[: REASON_LENGTH - 1].rstrip() + "…"
