"""Reading option values: `file://` paths, JSON with a position on error, times, ids, page sizes."""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from console.errors import UserError
from flows.cli.outcome import ParamError

FILE_PREFIX = "file://"
MAX_IDS = 100  # AppFlow's limit for executionIds and connectorProfileNames


def read_param(option: str, value: str) -> str:
    """`file://path` is the text of that file (relative to the current folder), as in the AWS CLI;
    any other value is the text itself."""
    if not value.startswith(FILE_PREFIX):
        return value
    path = Path(value[len(FILE_PREFIX):]).expanduser()
    problem = ""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problem = "no such file"
    except IsADirectoryError:
        problem = "it is a folder, not a file"
    except PermissionError:
        problem = "permission denied"
    except UnicodeDecodeError:
        problem = "it is not UTF-8 text"
    except OSError as exc:
        problem = exc.strerror or type(exc).__name__
    raise ParamError(option, f"Unable to load paramfile {value} ({path.absolute()}): {problem}.")


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON (and AppFlow) do not.
    raise ValueError(f"{name} is not valid JSON")


def json_param(option: str, value: str) -> Any:
    """The JSON value of an option. On error, say which option and where; never echo the text,
    which may hold credentials."""
    text = read_param(option, value)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        where = f" in {value}" if value.startswith(FILE_PREFIX) else ""
        hint = ""
        if not value.startswith(FILE_PREFIX) and exc.pos == 0 and value.strip()[:1] not in "{[\"":
            hint = " To read the value from a file, write file://<path>."
        raise ParamError(
            option, f"Invalid JSON{where} at line {exc.lineno}, column {exc.colno}: {exc.msg}.{hint}"
        ) from None
    except ValueError as exc:
        raise ParamError(option, f"Invalid JSON: {exc}.") from None


def max_results(value: str) -> int:
    """argparse type for --max-results: AppFlow's 1-100."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= 100:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 100, not {value!r}")
    return number


def seconds(value: str) -> float:
    """argparse type for --timeout: a positive number of seconds."""
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {value!r}")
    return number


def timestamp(value: str) -> datetime:
    """argparse type for times: epoch seconds (what the output shows) or ISO 8601; UTC if the
    text names no zone."""
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a time: give epoch seconds (1735689600) or ISO 8601 (2025-01-01T00:00:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def execution_ids(values: Iterable[str] | None, option: str = "executionIds") -> list[str]:
    """Execution ids in the canonical form the database compares against, duplicates dropped.
    A malformed id is the service's ValidationException, as in AppFlow."""
    ids: list[str] = []
    errors = []
    for index, value in enumerate(values or ()):
        try:
            canonical = str(uuid.UUID(value))
        except ValueError:
            errors.append(f'{option}[{index}]: "{value}" is not an execution id (a UUID).')
            continue
        if canonical not in ids:
            ids.append(canonical)
    if len(ids) > MAX_IDS:
        errors.append(f"{option}: at most {MAX_IDS} ids at a time, not {len(ids)}.")
    if errors:
        raise UserError(*errors)
    return ids
