"""HTTP for connectors that call web APIs: one place that turns HTTP failures into ConnectorErrors
a person can act on, transient (timeouts, 408, 425, 429, 5xx: retried by the runner, honouring
Retry-After) or permanent (401/403: the credentials; other 4xx: the request). Django-free."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from flows.retry import parse_retry_after

from . import apicalls
from .base import ConnectorError

TRANSIENT_STATUSES = frozenset({408, 425, 429})


def get_json(url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 30,
             service: str = "") -> Any:
    """GET and parse JSON; failures as ConnectorErrors. `service` names it in messages."""
    who = service or urllib.parse.urlparse(url).netloc
    request = urllib.request.Request(url, headers={"Accept": "application/json", **(headers or {})})
    apicalls.count_call()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        code = exc.code
        if code in TRANSIENT_STATUSES or code >= 500:
            busy = "is rate limiting Sluice" if code == 429 else f"answered HTTP {code}"
            raise ConnectorError(f"{who} {busy}.", permanent=False,
                                 retry_after=parse_retry_after(exc.headers.get("Retry-After"))) from None
        if code in (401, 403):
            raise ConnectorError(f"{who} refused the credentials (HTTP {code}). Check the connection, "
                                 "then run the flow again.") from None
        raise ConnectorError(f"{who} refused the request (HTTP {code}).") from None
    except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConnectorError(f"{who} could not be reached ({reason}).", permanent=False) from None
    except ValueError:
        raise ConnectorError(f"{who} answered with something that is not JSON.") from None
