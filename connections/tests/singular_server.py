"""A stand-in for Singular's Reporting API, written from Singular's documentation:

- https://support.singular.net/hc/en-us/articles/360045245692-Reporting-API-Reference (the API key in
  an Authorization header, the {"status", "substatus", "value"} envelope, create_async_report ->
  report_id, get_report_status -> QUEUED / STARTED / DONE / FAILED with download_url and
  url_expires_in, reporting/filters -> dimensions with name / display_name / values, custom_dimensions
  -> id / display_name, the concurrency limit of async reports)
- https://support.singular.net/hc/en-us/articles/360056293692-How-to-Query-the-Singular-Reporting-API
  (create, poll, download from the returned URL; time_breakdown by day)
- https://www.singular.net/blog/use-singular-api-filters/ (the filters parameter: a JSON list of
  {"dimension", "operator": "in" / "not in", "values"})

The result file is CSV (format=csv): start_date, end_date, the dimensions, the metrics; one row per
day and combination of dimension values. Quirks on demand: polls before DONE, a rate-limited create
(429 + Retry-After), a FAILED report, an expired download address, a malformed result line, the key
refused from the Nth request."""

from __future__ import annotations

import csv
import io
import itertools
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest

from connections.tests.local_server import JsonHandler, single_values, start

CUSTOM_ID = "8e10d3891cba7051a76062541641325b"


@dataclass
class SingularAccount:
    base: str = ""
    api_key: str = "sing-key"
    dimension_values: dict[str, list[str]] = field(default_factory=lambda: {
        "app": ["Simba", "Ünïcødé Quest"], "source": ["Facebook", "AdWords", "TikTok"],
        "os": ["iOS", "Android"], "country_field": ["USA", "DEU", "JPN"],
        "adn_campaign_name": ["Summer ☀", "Winter"], CUSTOM_ID: ["Incentivized", "Organic"]})
    polls_before_done: int = 2  # QUEUED, STARTED, then DONE
    rate_limited: int = 0  # the next N creates answer 429
    retry_after: str = "0"
    fail_reports: bool = False
    expire_downloads: int = 0  # the next N downloads answer 403 (the signed address expired)
    malformed_line: int | None = None  # this data line of every result has a metric that is no number
    refuse_from: int | None = None  # requests from this (1-based) one on answer 401
    requests: list[tuple[str, str, dict, str]] = field(default_factory=list)  # method, path, params, auth
    reports: dict[str, dict] = field(default_factory=dict)

    def result(self, report: dict) -> bytes:
        dims = [d for d in report.get("dimensions", "").split(",") if d]
        metrics = [m for m in report.get("metrics", "").split(",") if m]
        wanted = {f["dimension"]: set(f["values"]) for f in json.loads(report.get("filters") or "[]")
                  if f.get("operator") == "in"}
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["start_date", "end_date", *dims, *metrics])
        day, last = date.fromisoformat(report["start_date"]), date.fromisoformat(report["end_date"])
        line = 0
        while day <= last:
            for n, combo in enumerate(itertools.product(*(self.dimension_values[d] for d in dims))):
                if any(d in wanted and v not in wanted[d] for d, v in zip(dims, combo, strict=True)):
                    continue
                line += 1
                values = [round(1.5 * (n + 1) + day.day, 2) for _ in metrics]
                if "TikTok" in combo and "adn_impressions" in metrics:
                    values[metrics.index("adn_impressions")] = ""  # no impressions from that network
                if line == self.malformed_line and values:
                    values[0] = "n/a"
                writer.writerow([day.isoformat(), day.isoformat(), *combo, *values])
            day += timedelta(days=1)
        return out.getvalue().encode()


def envelope(value: dict, status: int = 0) -> dict:
    return {"status": status, "substatus": 0, "value": value}


def handler_for(account: SingularAccount) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def do_GET(self):  # noqa: N802
            parts = urlsplit(self.path)
            self.route("GET", parts.path, single_values(parts.query))

        def do_POST(self):  # noqa: N802
            self.route("POST", urlsplit(self.path).path, self.form())

        def route(self, method: str, path: str, params: dict) -> None:
            account.requests.append((method, path, params, self.headers.get("Authorization") or ""))
            if path.startswith("/results/"):
                return self.download(path.removeprefix("/results/").removesuffix(".csv"))
            key = self.headers.get("Authorization") or params.get("api_key")
            if key != account.api_key or (account.refuse_from and len(account.requests) >= account.refuse_from):
                return self.reply(401, envelope({"message": "Invalid API Key"}, 1))
            if method == "GET" and path == "/api/v2.0/reporting/filters":
                return self.reply(200, envelope({"dimensions": [
                    {"name": name, "display_name": name.replace("_", " ").title(),
                     "values": [{"name": v, "display_name": v} for v in values]}
                    for name, values in account.dimension_values.items() if name != CUSTOM_ID]}))
            if method == "GET" and path == "/api/custom_dimensions":
                return self.reply(200, envelope({"custom_dimensions": [
                    {"id": CUSTOM_ID, "display_name": "Incentivized"}]}))
            if method == "POST" and path == "/api/v2.0/create_async_report":
                return self.create(params)
            if method == "GET" and path == "/api/v2.0/get_report_status":
                return self.status(params.get("report_id", ""))
            return self.reply(404, envelope({"message": f"No such endpoint {path}"}, 1))

        def create(self, params: dict) -> None:
            if account.rate_limited:
                account.rate_limited -= 1
                return self.reply(429, envelope({"message": "Too many concurrent reports"}, 1),
                                  {"Retry-After": account.retry_after})
            unknown = [d for d in params.get("dimensions", "").split(",") if d and d not in account.dimension_values]
            try:
                first, last = date.fromisoformat(params["start_date"]), date.fromisoformat(params["end_date"])
            except (KeyError, ValueError):
                return self.reply(400, envelope({"message": "start_date and end_date must be YYYY-MM-DD"}, 1))
            if unknown or last < first or params.get("format") not in ("csv", "json"):
                return self.reply(400, envelope({"message": f"Invalid request: {unknown or params}"}, 1))
            report_id = f"r{len(account.reports) + 1:04d}"
            account.reports[report_id] = {**params, "polls": 0}
            return self.reply(200, envelope({"report_id": report_id}))

        def status(self, report_id: str) -> None:
            report = account.reports.get(report_id)
            if report is None:
                return self.reply(404, envelope({"message": "Report not found"}, 1))
            report["polls"] += 1
            if report["polls"] <= account.polls_before_done:
                state = "QUEUED" if report["polls"] == 1 else "STARTED"
                return self.reply(200, envelope({"status": state, "report_id": report_id}))
            if account.fail_reports:
                return self.reply(200, envelope({"status": "FAILED", "report_id": report_id,
                                                 "error": "Data connector Facebook is not available"}))
            return self.reply(200, envelope({
                "status": "DONE", "report_id": report_id, "url_expires_in": 3600,
                "download_url": f"{account.base}/results/{report_id}.csv?Signature=abc&Expires=1"}))

        def download(self, report_id: str) -> None:
            if account.expire_downloads:
                account.expire_downloads -= 1
                return self.send(403, b"<Error><Code>AccessDenied</Code>Request has expired</Error>",
                                 "application/xml")
            report = account.reports.get(report_id)
            if report is None:
                return self.send(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
            return self.send(200, account.result(report), "text/csv; charset=utf-8")

    return Handler


def serve(monkeypatch: pytest.MonkeyPatch, **settings) -> SingularAccount:
    account = SingularAccount(**settings)
    account.base = start(handler_for(account), monkeypatch)
    return account
