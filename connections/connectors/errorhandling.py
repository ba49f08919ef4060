"""AppFlow's errorHandlingConfig, as destinations read it from their options.

    {"failOnFirstDestinationError": true | false, "bucketName": "...", "bucketPrefix": "..."}

Without an errorHandlingConfig a destination stops at the first record it cannot write (and,
being transactional, writes nothing): Sluice's safe default. With failOnFirstDestinationError
false it writes what it can, and returns each refused record as a RecordFailure carrying the
record, which the engine hands to the rejects writer (rejects.py) when a bucket or folder is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KEYS = {"failOnFirstDestinationError", "bucketName", "bucketPrefix", "connectorProfileName"}


def fail_on_first(options: Mapping[str, Any]) -> bool:
    config = options.get("errorHandlingConfig")
    if not isinstance(config, Mapping):
        return True
    return bool(config.get("failOnFirstDestinationError", False))


def check(config: Any) -> list[tuple[str, str]]:
    """Problems with an errorHandlingConfig block, as (sub-path, message)."""
    if config is None:
        return []
    if not isinstance(config, Mapping):
        return [("errorHandlingConfig", "must be an object")]
    problems = [
        (f"errorHandlingConfig.{k}", "is not an error handling setting") for k in config if k not in KEYS
    ]
    if not isinstance(config.get("failOnFirstDestinationError", False), bool):
        problems.append(("errorHandlingConfig.failOnFirstDestinationError", "must be true or false"))
    for key in ("bucketName", "bucketPrefix", "connectorProfileName"):
        if config.get(key) is not None and not isinstance(config[key], str):
            problems.append((f"errorHandlingConfig.{key}", "must be text"))
    return problems
