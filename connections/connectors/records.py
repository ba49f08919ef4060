"""Getters that pull one field out of a SaaS API's JSON record.

Several connectors describe their objects as tables of (field, type, getter): these build the
getters, so that a missing key anywhere on the path reads as null instead of raising.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

Getter = Callable[[Mapping[str, Any]], Any]


def at(*path: str) -> Getter:
    """The value at ``record[path[0]][path[1]]...``, or None where the path breaks off."""
    def get(record: Mapping[str, Any]) -> Any:
        value: Any = record
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        return value
    return get


def as_json(*path: str) -> Getter:
    """The value at ``path`` as JSON text (nested objects and lists are kept whole, not flattened)."""
    def get(record: Mapping[str, Any]) -> Any:
        value = at(*path)(record)
        return None if value is None else json.dumps(value, ensure_ascii=False)
    return get


def epoch(value: Any, scale: float = 1.0) -> datetime | None:
    """A number of seconds (``scale=1000`` for milliseconds) since 1970 as a UTC datetime; anything
    else — a boolean, a text, a negative "not yet" marker, an out-of-range number — is None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    try:
        return datetime.fromtimestamp(value / scale, UTC)
    except (OverflowError, OSError, ValueError):
        return None
