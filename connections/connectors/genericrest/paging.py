"""The pages of one stream: the first request built from the spec (params, body, the incremental
window), then each next one as the spec's paging says (page number, offset/limit, a cursor from the
body or a header, the Link header, a next URL in the body), until the service says there is no more.

Bounded: a cursor, page or next link seen before ends the run with a clear error (a service that
loops would otherwise be read forever), and so does passing limits.max_pages. Django-free."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import jmespath

from connections.connectors.base import ConnectorError, Window

from .api import RestApi

DEFAULT_MAX_PAGES = 10_000
START, END = "{window_start}", "{window_end}"
_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")


def window_value(when: datetime | None, fmt: str, *, default: datetime) -> str | int:
    when = (when or default).astimezone(UTC)
    if fmt == "unix":
        return int(when.timestamp())
    if fmt == "unix_ms":
        return int(when.timestamp() * 1000)
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def _fill(value: Any, values: Mapping[str, Any]) -> Any:
    """The params / body with {window_start} / {window_end} replaced (a whole-string placeholder
    keeps the value's type: an epoch stays a number)."""
    if isinstance(value, str):
        if value in values:
            return values[value]
        for key, replacement in values.items():
            value = value.replace(key, str(replacement))
        return value
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


def first_request(stream: Mapping[str, Any], window: Window) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(query params, JSON body or None) of the first page, with the window in them. An open
    window: placeholder-only query params are left out; a body's start is the epoch, its end now."""
    spec_window = stream.get("window") or {}
    fmt = spec_window.get("format", "iso8601")
    epoch, now = datetime(1970, 1, 1, tzinfo=UTC), datetime.now(UTC)
    values = {
        START: window_value(window.start, fmt, default=epoch),
        END: window_value(window.end, fmt, default=now),
    }
    params = {
        k: v
        for k, v in (stream.get("params") or {}).items()
        if not (v in (START, END) and (window.start if v == START else window.end) is None)
    }
    params = _fill(params, values)
    body = _fill(copy.deepcopy(stream["body"]), values) if stream.get("body") is not None else None
    target = params if spec_window.get("in", "query") == "query" else body
    if target is None:
        body = target = {}
    if spec_window.get("start_param") and window.start is not None:
        target[spec_window["start_param"]] = values[START]
    if spec_window.get("end_param") and window.end is not None:
        target[spec_window["end_param"]] = values[END]
    return params, body


def next_link(header: str | None) -> str | None:
    """The rel="next" URL of an RFC 8288 Link header, or None."""
    for url, attributes in _LINK.findall(header or ""):
        if re.search(r';\s*rel="?([^";]*\s)?next(\s[^";]*)?"?', attributes):
            return url
    return None


def pages(api: RestApi, stream: Mapping[str, Any], window: Window) -> Iterator[tuple[Any, int]]:
    """(decoded answer, its size in bytes) for each page of `stream`."""
    paging = stream.get("paging") or {"type": "none"}
    kind = paging["type"]
    method = stream.get("method") or ("POST" if stream.get("body") is not None else "GET")
    params, body = first_request(stream, window)
    max_pages = int((api.spec.document.get("limits") or {}).get("max_pages") or DEFAULT_MAX_PAGES)
    place = params if paging.get("in", "query") == "query" or body is None else body
    size = paging.get("size")
    if paging.get("size_param") and size:
        place[paging["size_param"]] = size
    if kind == "page_number":
        number = int(paging.get("start", 1))
        place[paging.get("param") or "page"] = number
    elif kind == "offset":
        size = size or 100
        place[paging.get("param") or "offset"] = 0
        place.setdefault(paging.get("size_param") or "limit", size)
    url = api.url(stream["path"], params)
    seen: set[str] = set()
    name = stream["name"]
    for number in range(1, max_pages + 1):
        what = f"stream {name}, page {number}"
        response = api.call(method, url, body=body, what=what)
        answer = api.json(response, what)
        yield answer, len(response.body)
        count = _count(answer, stream)
        following = _following(api, paging, response, answer, place, count, size, what)
        if following is None:
            return
        mark = following if isinstance(following, str) else repr(sorted(place.items()))
        if mark in seen or (isinstance(following, str) and following == url):
            raise ConnectorError(
                f"stream {name}: the service sent the same next page again after page {number} "
                f"({_short(mark)}); a paging loop. The run stops and nothing is published."
            )
        seen.add(mark)
        url = following if isinstance(following, str) else api.url(stream["path"], params)
    raise ConnectorError(
        f"stream {name}: stopped after {max_pages} pages (limits.max_pages) and there were "
        "more; raise the limit or narrow the stream. Nothing is published."
    )


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def _count(answer: Any, stream: Mapping[str, Any]) -> int:
    found = jmespath.search(stream.get("records") or "@", answer)
    return len(found) if isinstance(found, list) else (1 if found is not None else 0)


def _following(
    api: RestApi,
    paging: Mapping[str, Any],
    response,
    answer: Any,
    place: dict,
    count: int,
    size: int | None,
    what: str,
) -> str | bool | None:
    """The next page: a URL (link_header, next_url), True when `place` was moved on (page number,
    offset, cursor), None when this was the last page."""
    kind = paging["type"]
    if kind == "none" or count == 0:
        return None
    if paging.get("has_more") and not jmespath.search(paging["has_more"], answer):
        return None
    if kind == "page_number":
        if size and count < size:
            return None
        key = paging.get("param") or "page"
        place[key] += 1
        return True
    if kind == "offset":
        if count < (size or 100):
            return None
        key = paging.get("param") or "offset"
        place[key] += count
        return True
    if kind == "cursor":
        if paging.get("cursor_header"):
            cursor = response.headers.get(paging["cursor_header"].lower())
        else:
            cursor = jmespath.search(paging["cursor"], answer)
        if cursor in (None, "", [], {}):
            return None
        if place.get(paging["param"]) == cursor:
            raise ConnectorError(
                f"{what}: the service sent back the cursor it was given "
                f"({_short(str(cursor))}); a paging loop. The run stops and nothing is published."
            )
        place[paging["param"]] = cursor
        return True
    if kind == "link_header":
        link = next_link(response.headers.get("link"))
        return (
            api.same_host(urljoin(response.url, link), f"{what}: the Link header's next URL")
            if link
            else None
        )
    link = jmespath.search(paging["next_url"], answer)
    if not link:
        return None
    if not isinstance(link, str):
        raise ConnectorError(f"{what}: paging.next_url selects {type(link).__name__}, not a URL.")
    return api.same_host(urljoin(response.url, link), f"{what}: the next URL")
