"""Small checks shared by every part of the document: types, keys, enums, lengths, numbers."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from .errors import Path, Problems


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for "must be a string, not a list"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def is_integer(value: Any) -> bool:
    # JSON true/false arrive as Python bools, which are ints; they are not numbers here.
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return (is_integer(value) or isinstance(value, float)) and math.isfinite(value)


def expect_object(problems: Problems, path: Path, value: Any) -> dict | None:
    if isinstance(value, dict):
        return value
    problems.add(path, f"must be an object, not {json_type(value)}")
    return None


def expect_list(problems: Problems, path: Path, value: Any) -> list | None:
    if isinstance(value, list):
        return value
    problems.add(path, f"must be a list, not {json_type(value)}")
    return None


def expect_string(problems: Problems, path: Path, value: Any, *, max_length: int | None = None,
                  non_empty: bool = False) -> str | None:
    if not isinstance(value, str):
        problems.add(path, f"must be a string, not {json_type(value)}")
        return None
    if non_empty and not value.strip():
        problems.add(path, "must not be empty")
        return None
    if max_length is not None and len(value) > max_length:
        problems.add(path, f"must be at most {max_length} characters (it has {len(value)})")
        return None
    return value


def expect_enum(problems: Problems, path: Path, value: Any, allowed: Iterable[str]) -> str | None:
    if expect_string(problems, path, value) is None:
        return None
    allowed = tuple(allowed)
    if value not in allowed:
        problems.add(path, unknown_value(value, allowed))
        return None
    return value


def unknown_value(value: str, allowed: Iterable[str]) -> str:
    return f'unknown value "{value}" (expected one of {", ".join(allowed)})'


def expect_integer_in(problems: Problems, path: Path, value: Any, low: int, high: int) -> None:
    if not is_integer(value) or not low <= value <= high:
        problems.add(path, f"must be a whole number from {low} to {high}")


def expect_time(problems: Problems, path: Path, value: Any) -> None:
    """AppFlow's timestamps arrive as epoch seconds from the SDKs and as ISO 8601 text from people."""
    if is_number(value):
        return
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
            return
        except ValueError:
            pass
    problems.add(path, "must be a time: epoch seconds, or ISO 8601 text like 2024-05-01T00:00:00Z")


def check_keys(problems: Problems, path: Path, obj: dict, *, required: Iterable[str],
               allowed: Iterable[str], also_accepted: Iterable[str] = ()) -> None:
    """Missing required keys, and keys that are not part of the shape (typos like `flowname` would
    otherwise be silently ignored). `also_accepted` keys pass without being suggested."""
    allowed = tuple(allowed)
    for key in required:
        if key not in obj:
            problems.add((*path, key), "is required")
    known = set(allowed) | set(also_accepted)
    for key in obj:
        if key not in known:
            problems.add((*path, key), unknown_key(str(key), allowed))


def unknown_key(key: str, allowed: tuple[str, ...]) -> str:
    suggestion = did_you_mean(key, allowed)
    if suggestion:
        return f'unknown key; did you mean "{suggestion}"?'
    return f"unknown key (expected one of {', '.join(allowed)})"


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    choices = tuple(choices)
    for choice in choices:
        if choice.lower() == word.lower():
            return choice
    prefixed = [choice for choice in choices if len(word) >= 4 and choice.lower().startswith(word.lower())]
    if len(prefixed) == 1:  # a name cut short: TRUNCATE for TRUNCATE_LENGTH
        return prefixed[0]
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.8)
    return close[0] if close else None


Checker = Callable[[Problems, Path, Any], None]


def check_members(problems: Problems, path: Path, obj: dict, checkers: dict[str, Checker]) -> None:
    """Run each present key's checker, in the document's own key order."""
    for key, value in obj.items():
        checker = checkers.get(key)
        if checker is not None:
            checker(problems, (*path, key), value)
