"""A stand-in for one Amplitude project's Export API, written from Amplitude's documentation:

- https://amplitude.com/docs/apis/analytics/export (endpoints per data residency, basic auth with
  the API key and secret key, start / end as YYYYMMDDTHH, a zip of gzipped JSON-lines files with
  several files per hour when there is much data, 404 when the range has no data, 400 over 4 GB,
  the event schema with its "2015-08-10 12:00:00.000000" UTC times)
- https://community.amplitude.com/data-instrumentation-57/common-api-error-codes-215 (the Export
  API's 400 / 404 / 504 answers, 429 for too many requests)
- https://amplitude.com/docs/apis/analytics/dashboard-rest (GET /api/2/events/list, the cheap call
  the connection test makes with the same keys)

Quirks on demand: hours without data, a rate-limited answer (429 + Retry-After), a timed-out export
(504), keys refused from the Nth request on, a damaged archive, a malformed line. Each archive is
built in a temporary file and streamed, so a million-event export does not fill the server's memory
either (bench/amplitude_export.py runs it in a process of its own)."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import pytest

from connections.tests.local_server import JsonHandler, single_values, start

APP_ID = 187520
CITIES = ("Zürich", "東京", "São Paulo", None, "Lyon")
EVENT_TYPES = ("session_start", "Play Song", "Purchase ✓", "page_view")


def hour_key(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H")


def event(hour: datetime, index: int, per_hour: int) -> dict:
    """Event `index` of an hour, as the Export API writes it: nulls, unicode, nested properties."""
    uploaded = hour + timedelta(seconds=index * 3600 / max(per_hour, 1))
    stamp = "%Y-%m-%d %H:%M:%S.%f"
    user = None if index % 7 == 3 else f"user-{index % 97}"
    return {
        "server_received_time": (uploaded - timedelta(seconds=1)).strftime(stamp), "app": APP_ID,
        "device_carrier": None, "$schema": 12, "city": CITIES[index % len(CITIES)], "user_id": user,
        "uuid": f"{hour_key(hour)}-{index:08d}", "event_time": (uploaded - timedelta(minutes=3)).strftime(stamp),
        "platform": "iOS" if index % 2 else "Web", "os_version": "17.1", "amplitude_id": 900000 + index,
        "processed_time": (uploaded + timedelta(seconds=2)).strftime(stamp),
        "user_creation_time": "2024-02-29 23:59:59.000000", "version_name": "4.2.0", "ip_address": None,
        "paying": None if index % 3 else True, "dma": None,
        "group_properties": {}, "user_properties": {"plan": "pro" if index % 2 else "free", "ünï": "çødé"},
        "client_upload_time": uploaded.strftime(stamp), "$insert_id": f"ins-{hour_key(hour)}-{index}",
        "event_type": EVENT_TYPES[index % len(EVENT_TYPES)], "library": "amplitude-ts/2.0.0",
        "amplitude_attribution_ids": None, "device_type": "Apple iPhone 15", "device_manufacturer": "Apple",
        "start_version": None, "location_lng": 8.54 if index % 4 else None, "server_upload_time":
        uploaded.strftime(stamp), "event_id": index, "location_lat": 47.37 if index % 4 else None,
        "os_name": "ios", "amplitude_event_type": None, "device_brand": "Apple", "groups": {},
        "event_properties": {"song": {"title": "Für Elise", "seconds": index % 300}, "tags": ["a", "b"]},
        "data": {"path": "/export"}, "device_id": f"dev-{index % 13}", "language": "German",
        "device_model": "iPhone15,2", "country": "Switzerland", "region": None, "is_attribution_event": False,
        "adid": None, "session_id": 1700000000000 + index, "device_family": "iOS", "sample_rate": None,
        "idfa": None, "client_event_time": (uploaded - timedelta(minutes=3)).strftime(stamp),
    }


@dataclass
class AmplitudeProject:
    base: str = ""
    api_key: str = "amp-key"
    secret_key: str = "amp-secret"
    events_per_hour: int = 5
    per_file: int = 50_000  # events per gzipped file of an hour (Amplitude splits big hours)
    empty_hours: set[str] = field(default_factory=set)  # YYYYMMDDTHH keys with no data
    rate_limited: int = 0  # the next N exports answer 429 with Retry-After
    retry_after: str = "0"
    timeouts: int = 0  # the next N exports answer 504
    refuse_from: int | None = None  # exports from this (1-based) request on answer 401
    damaged: set[str] = field(default_factory=set)  # hours answered with bytes that are not a zip
    malformed: set[str] = field(default_factory=set)  # hours whose 3rd line is not JSON
    requests: list[tuple[str, str, int]] = field(default_factory=list)  # (start, end, status)
    # a folder to keep each archive in once built (the benchmark: serving, not building, is timed)
    cache_dir: str | None = None

    def events_of(self, hour: datetime) -> int:
        return 0 if hour_key(hour) in self.empty_hours else self.events_per_hour


def _hour(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y%m%dT%H").replace(tzinfo=UTC)
    except ValueError:
        return None


def write_archive(project: AmplitudeProject, first: datetime, last: datetime, out) -> int:
    """The zip of the hours first..last into `out`; how many events it holds."""
    total = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        hour = first
        while hour <= last:
            count = project.events_of(hour)
            for part, begin in enumerate(range(0, count, project.per_file)):
                name = f"{APP_ID}/{APP_ID}_{hour:%Y-%m-%d}_{hour.hour}#{part}.json.gz"
                with archive.open(name, "w") as member, gzip.GzipFile(fileobj=member, mode="wb",
                                                                       compresslevel=1) as packed:
                    for index in range(begin, min(begin + project.per_file, count)):
                        if index == 2 and hour_key(hour) in project.malformed:
                            packed.write(b'{"uuid": "broken", "event_type": \n')
                            continue
                        packed.write(json.dumps(event(hour, index, count), ensure_ascii=False).encode() + b"\n")
                total += min(begin + project.per_file, count) - begin
            hour += timedelta(hours=1)
    return total


@contextmanager
def archive_file(project: AmplitudeProject, first: datetime, last: datetime) -> Iterator[IO[bytes] | None]:
    """The archive of first..last as an open file (None: no data), built now or kept from before."""
    if project.cache_dir is None:
        with tempfile.TemporaryFile() as out:
            yield out if write_archive(project, first, last, out) else None
        return
    path = Path(project.cache_dir) / f"{hour_key(first)}-{hour_key(last)}.zip"
    if not path.exists():
        with open(path.with_suffix(".part"), "w+b") as out:
            if not write_archive(project, first, last, out):
                yield None
                return
        path.with_suffix(".part").rename(path)
    with open(path, "rb") as out:
        yield out


def handler_for(project: AmplitudeProject) -> type[JsonHandler]:
    expected = "Basic " + base64.b64encode(f"{project.api_key}:{project.secret_key}".encode()).decode()

    class Handler(JsonHandler):
        def do_GET(self):  # noqa: N802
            parts = urlsplit(self.path)
            query = single_values(parts.query)
            self.asked = (query.get("start", ""), query.get("end", ""))
            self._export(parts.path, *self.asked)

        def send_response(self, code, message=None):
            # recorded before the answer leaves: the client may look as soon as it has it
            project.requests.append((*self.asked, code))
            super().send_response(code, message)

        def _export(self, path: str, start: str, end: str) -> int:
            if path not in ("/api/2/export", "/api/2/events/list"):
                self.send(404, b"Not Found", "text/plain")
                return 404
            number = len(project.requests) + 1
            if self.headers.get("Authorization") != expected or (
                    project.refuse_from is not None and number >= project.refuse_from):
                self.send(401, b"Invalid API key or secret key", "text/plain",
                          {"WWW-Authenticate": 'Basic realm="Amplitude"'})
                return 401
            if path == "/api/2/events/list":
                self.reply(200, {"data": [{"name": name, "value": name, "totals": 7, "deleted": False,
                                           "hidden": False, "non_active": False} for name in EVENT_TYPES]})
                return 200
            if project.rate_limited:
                project.rate_limited -= 1
                self.reply(429, {"error": "Too many requests for this project"},
                           {"Retry-After": project.retry_after})
                return 429
            if project.timeouts:
                project.timeouts -= 1
                self.send(504, b"<html><body>Gateway Timeout</body></html>", "text/html")
                return 504
            first, last = _hour(start), _hour(end)
            if first is None or last is None or last < first:
                self.send(400, b"Invalid start or end: use YYYYMMDDTHH, start before end", "text/plain")
                return 400
            if start in project.damaged:
                self.send(200, b"PK\x03\x04 this is not really a zip", "application/zip")
                return 200
            with archive_file(project, first, last) as out:
                if out is None:
                    self.send(404, b"Raw data files were not found.", "text/plain")
                    return 404
                size = out.seek(0, 2)
                out.seek(0)
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                shutil.copyfileobj(out, self.wfile, 1 << 20)
            return 200

    return Handler


def serve(monkeypatch: pytest.MonkeyPatch, **settings) -> AmplitudeProject:
    """A project answering on a local port until the test ends."""
    project = AmplitudeProject(**settings)
    project.base = start(handler_for(project), monkeypatch)
    return project


def serve_forever(ready, hours: list[datetime], **settings) -> None:
    """For the benchmark: build the archives of `hours`, then serve in this (child) process until
    it is terminated; `ready` (a queue) receives the port."""
    project = AmplitudeProject(**settings)
    for hour in hours:
        with archive_file(project, hour, hour):
            pass
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(project))
    ready.put(server.server_address[1])
    server.serve_forever()
