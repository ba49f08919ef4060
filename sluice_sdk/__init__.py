"""The Sluice connector SDK: everything a connector package may import, and nothing else.

A package that imports only from `sluice_sdk` keeps working across Sluice releases with the same
major SDK_VERSION (docs/connector-sdk.md says what the promise covers). Sluice's own modules
(`connections.*`) are internals: they move and change without notice.

A connector class may declare `requires_sdk = "1.0"` (the SDK version it was written against);
registration refuses it when this Sluice's SDK cannot honour that (`compatible()`).
"""

from __future__ import annotations

from connections.connectors.base import (
    OAUTH_TOKEN_KEYS,
    ConfigField,
    ConnectionInfo,
    Connector,
    ConnectorError,
    Entity,
    EntityField,
    MissingAtSource,
    RecordFailure,
    SourceBatch,
    Window,
    WriteResult,
)
from connections.connectors.windowing import check_window_field, in_window
from connections.net import BlockedAddress, Response, check_url, request

# MAJOR.MINOR. A minor release only adds (a new optional attribute, a new helper); anything a
# connector written for 1.x relies on changes only with a new major version.
SDK_VERSION = "1.0"

__all__ = [
    "SDK_VERSION", "compatible",
    # the interface
    "Connector", "ConfigField", "ConnectionInfo", "Entity", "EntityField", "Window", "SourceBatch",
    "WriteResult", "RecordFailure", "ConnectorError", "MissingAtSource", "OAUTH_TOKEN_KEYS",
    # outbound HTTP: SSRF-guarded, counted as the run's API calls
    "request", "Response", "BlockedAddress", "check_url",
    # incremental windows, for sources that cannot filter by time themselves
    "in_window", "check_window_field",
]


def compatible(required: str) -> bool:
    """Can this SDK run a connector written against SDK version `required` ("1.0")? Same major
    version, and a minor version no newer than this one's."""
    try:
        want_major, want_minor = (int(part) for part in str(required).split(".", 1))
    except ValueError:
        return False
    major, minor = (int(part) for part in SDK_VERSION.split("."))
    return want_major == major and want_minor <= minor
