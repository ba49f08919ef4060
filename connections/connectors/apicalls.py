"""How many API calls a run made, to its source and to its destination, and how many token
refreshes: people are billed against their SaaS API quota, so the execution page shows it.

Connector-agnostic by construction: the HTTP layer every connector shares (connections.net) calls
`count_call()` once per request it sends, and the run says on
whose behalf the code is running at that moment (the engine: `on_behalf_of(SOURCE)` around each
pull from the source, `on_behalf_of(DESTINATION)` around the destination's write; the OAuth
machinery: `on_behalf_of(TOKEN_REFRESH)` around a refresh). A connector that uses the shared HTTP
helpers is counted without a line of its own. Both live in context variables, so two runs in two
threads of one worker count apart; code outside a metered run (the wizard asking for fields, a
connection test) counts nothing.

A connector that sends requests from threads of its own must start them with
`contextvars.copy_context().run(...)`, or their calls go uncounted. Django-free.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

SOURCE = "source"
DESTINATION = "destination"
TOKEN_REFRESH = "token_refreshes"
_SIDES = (SOURCE, DESTINATION, TOKEN_REFRESH)


@dataclass
class ApiCalls:
    """The calls one run made. `source` and `destination` are HTTP requests sent to that side's
    service (a 429 answered or a retried request counts: the service counted it too);
    `token_refreshes` are requests to an OAuth token endpoint."""

    source: int = 0
    destination: int = 0
    token_refreshes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, side: str, count: int = 1) -> None:
        with self._lock:
            setattr(self, side, getattr(self, side) + count)

    @property
    def total(self) -> int:
        return self.source + self.destination + self.token_refreshes

    def as_dict(self) -> dict[str, int]:
        return {side: getattr(self, side) for side in _SIDES}

    def describe(self) -> str:
        """For the run's log: "API calls: 12 to the source, 0 to the destination, 1 token refresh"."""
        refreshes = f"{self.token_refreshes:,} token refresh{'es' if self.token_refreshes != 1 else ''}"
        return (f"API calls: {self.source:,} to the source, {self.destination:,} to the destination, "
                f"{refreshes}.")


_meter: ContextVar[ApiCalls | None] = ContextVar("sluice_api_calls_meter", default=None)
_side: ContextVar[str | None] = ContextVar("sluice_api_calls_side", default=None)


@contextmanager
def metering(meter: ApiCalls) -> Iterator[ApiCalls]:
    """Count into `meter` the calls made inside this block."""
    token = _meter.set(meter)
    try:
        yield meter
    finally:
        _meter.reset(token)


@contextmanager
def on_behalf_of(side: str) -> Iterator[None]:
    """Calls made inside this block are `side`'s (SOURCE, DESTINATION or TOKEN_REFRESH); an inner
    block wins over an outer one (a source pulled from inside the destination's write)."""
    if side not in _SIDES:
        raise ValueError(f"unknown side {side!r}")
    token = _side.set(side)
    try:
        yield
    finally:
        _side.reset(token)


def current() -> ApiCalls | None:
    """The meter of the run this code is part of, if any."""
    return _meter.get()


def count_call() -> None:
    """One HTTP request is about to be sent: count it for whoever is calling."""
    meter, side = _meter.get(), _side.get()
    if meter is not None and side is not None:
        meter.add(side)


def counter_here() -> Callable[..., None]:
    """A callable that counts one call into the meter, for the side, current *now*, whichever
    thread calls it later: for a client made inside read() or write() that sends from threads of
    its own (boto3's transfer manager). Keyword arguments are ignored (botocore's event hooks)."""
    meter, side = _meter.get(), _side.get()
    if meter is None or side is None:
        return lambda **_: None
    return lambda **_: meter.add(side)

