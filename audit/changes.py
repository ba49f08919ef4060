"""What changed, without secrets: a diff of plain fields, and secret fields named as "set",
"replaced" or "removed", never with a value. A field is secret when its ConfigField says so
(Connector.secret_field_names()) or when its name says so (defence in depth: a property that
should have been declared secret is still not copied)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

MAX_VALUE_CHARS = 300
SECRET_NAME = re.compile(r"pass(word)?|secret|token|api_?key|private_?key|credential", re.IGNORECASE)
HIDDEN = "•••"


def looks_secret(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def _plain(value: Any) -> Any:
    text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    if len(text) <= MAX_VALUE_CHARS:
        return value
    return text[: MAX_VALUE_CHARS - 1] + "…"


def diff(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, secret: Iterable[str] = ()
) -> dict[str, Any]:
    """{field: {"from": old, "to": new}} for each field whose value differs; a secret field as
    {field: "set" | "replaced" | "removed"}. Long values are cut to MAX_VALUE_CHARS."""
    before, after, secret = dict(before or {}), dict(after or {}), set(secret)
    changes: dict[str, Any] = {}
    for key in sorted({*before, *after}):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key in secret or looks_secret(key):
            changes[key] = "set" if old in (None, "") else ("removed" if new in (None, "") else "replaced")
        else:
            changes[key] = {"from": _plain(old), "to": _plain(new)}
    return changes


def secrets_named(names: Iterable[str], how: str = "set") -> dict[str, str]:
    return {name: how for name in sorted(names)}


def scrub(text: str, secrets: Iterable[Any]) -> str:
    """Text with every given secret value cut out (a refusal message that echoed its input)."""
    for value in secrets:
        if isinstance(value, str) and len(value) >= 4:
            text = text.replace(value, HIDDEN)
    return text
