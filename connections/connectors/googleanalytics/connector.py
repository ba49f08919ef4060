"""Google Analytics 4 as a source: one property's report, its dimensions and metrics (custom ones
included) from the Data API metadata call as the fields, read with runReport over the flow's date
range and paged with offset / limit.

The object is a property, `properties/<id>`, as the Admin API's account summaries list them. The
date range: the incremental window (its days, the end exclusive), else a BETWEEN filter on `date`
(pushed down), else the last 30 days through today. The property's quota tokens
(returnPropertyQuota) are reported in the run log. Universal Analytics (`ga:` names) is refused when
the flow is saved, naming the GA4 equivalent (names.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import pyarrow as pa

from connections.connectors.base import (
    ConfigField,
    ConnectionInfo,
    ConnectorError,
    Entity,
    EntityField,
    MissingAtSource,
    SourceBatch,
    Window,
)
from connections.connectors.saas import TEXT_TIME_ARROW_TYPES, SaasConnector

from . import names
from .client import PROPERTY, GoogleApi, oauth_urls

PAGE_SIZE = 100_000  # runReport's largest limit
DEFAULT_RANGE = ("30daysAgo", "today")
# GA4 metric types -> Sluice data types (TYPE_INTEGER; every other type is a number with decimals)
INTEGER_TYPES = frozenset({"TYPE_INTEGER"})


def _day(moment: datetime) -> date:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).date()


def _date_value(text: str) -> str | None:
    """GA4's date dimension (YYYYMMDD) as ISO text; "(other)" and the like become null."""
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return None


def _metric(text: str, integer: bool) -> Any:
    try:
        return int(text) if integer else float(text)
    except (TypeError, ValueError):
        try:
            return int(float(text)) if integer else None
        except (TypeError, ValueError):
            return None


class GoogleAnalyticsConnector(SaasConnector):
    """Google Analytics 4 properties as a source (reports)."""

    connector_type: ClassVar[str] = "Googleanalytics"
    properties_key: ClassVar[str] = "GoogleAnalytics"
    display_name: ClassVar[str] = "Google Analytics 4"
    description: ClassVar[str] = (
        "Google Analytics 4 reports: up to 9 dimensions and 10 metrics (custom ones included) of one "
        "property per flow, over the run's date range, through the Data API."
    )
    can_be_source: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "oauth2"
    oauth_scopes: ClassVar[tuple[str, ...]] = ("https://www.googleapis.com/auth/analytics.readonly",)
    # Google documents client_id / client_secret in the token request's body
    oauth_client_auth: ClassVar[str] = "client_secret_post"
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("clientId", "string", "Client ID",
                    help="In the Google Cloud console: APIs & Services, Credentials, an OAuth 2.0 client "
                         "of type Web application, with the redirect URI Sluice shows beside this form. "
                         "Enable the Google Analytics Data API and Admin API in the same project."),
        ConfigField("clientSecret", "secret", "Client secret", secret=True,
                    help="The same OAuth client's secret. Stored encrypted; Sluice never shows it again."),
        ConfigField("apiBaseUrl", "url", "Google API address", required=False,
                    help="Leave empty. Only to reach Google through another address (a proxy, a test "
                         "server); the SSRF guard applies.", sends_credentials_to=True),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    fastest_schedule_minutes: ClassVar[int] = 24 * 60  # AppFlow: one scheduled run a day at most
    filter_operators: ClassVar[tuple[str, ...]] = ("PROJECTION", "BETWEEN")  # AppFlow's for Google Analytics
    pushdown_operators: ClassVar[tuple[str, ...]] = ("BETWEEN",)
    consent_page: ClassVar[str] = "Google's consent page"

    @classmethod
    def oauth_endpoints(cls, properties: Mapping[str, Any]) -> tuple[str, str]:
        authorize, token = oauth_urls(properties)
        # offline access: a refresh token, so scheduled runs go on after the hour the access token lasts;
        # prompt=consent: Google sends a refresh token again when a connection is re-authorized
        return f"{authorize}?access_type=offline&prompt=consent", token

    @classmethod
    def check_source_values(cls, props: Mapping[str, Any]) -> list[tuple[str, str]]:
        value = props.get("object")
        if not value:
            return [("object", "is required: the GA4 property, as properties/<property id>")]
        if isinstance(value, str) and value.startswith("ga:"):
            return [("object", f'"{value[:80]}" is a Universal Analytics view; Universal Analytics is gone: '
                               "name a Google Analytics 4 property, as properties/<property id>")]
        if not isinstance(value, str) or not PROPERTY.match(value):
            return [("object", f'"{str(value)[:80]}" is not a GA4 property: write properties/<property id> '
                               "(Admin, Property settings shows the id), e.g. properties/123456789")]
        return []

    @classmethod
    def check_flow_tasks(cls, tasks: list[Any]) -> list[tuple[tuple, str]]:
        return names.task_problems(tasks)

    def test(self, conn: ConnectionInfo) -> None:
        self.require_authorized(conn)
        GoogleApi(conn).account_summaries()

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        if parent:
            raise ConnectorError("Google Analytics properties have no children.")
        api, found, token = GoogleApi(conn), [], ""
        while True:
            page = api.account_summaries(token)
            for account in page.get("accountSummaries") or []:
                for prop in account.get("propertySummaries") or []:
                    if PROPERTY.match(str(prop.get("property") or "")):
                        label = f"{account.get('displayName') or account.get('account')} / " \
                                f"{prop.get('displayName') or prop['property']} ({prop['property']})"
                        found.append(Entity(prop["property"], label))
            token = page.get("nextPageToken") or ""
            if not token:
                return found

    def _fields(self, api: GoogleApi, entity: str) -> dict[str, tuple[str, str]]:
        """apiName -> ("dimension" | "metric", Sluice data type), from the property's metadata."""
        if not PROPERTY.match(entity):
            raise MissingAtSource(f'"{entity}" is not a GA4 property (properties/<id>).', entity=entity)
        meta = api.metadata(entity)
        fields: dict[str, tuple[str, str]] = {}
        for item in meta.get("dimensions") or []:
            name = str(item.get("apiName") or "")
            if name:
                fields[name] = ("dimension", "date" if name == "date" else "string")
        for item in meta.get("metrics") or []:
            name = str(item.get("apiName") or "")
            if name:
                fields[name] = ("metric", "integer" if item.get("type") in INTEGER_TYPES else "double")
        return fields

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        return [EntityField(name, data_type, filter_operators=("PROJECTION", "BETWEEN") if name == "date"
                            else ("PROJECTION",), timestamp_for_incremental=name == "date")
                for name, (_, data_type) in self._fields(GoogleApi(conn), entity).items()]

    @staticmethod
    def date_range(window: Window, filters: list[Mapping[str, Any]]) -> tuple[str, str]:
        """(startDate, endDate), both inclusive, as runReport takes them."""
        if window.start is not None or window.end is not None:
            start = _day(window.start).isoformat() if window.start is not None else "2015-08-14"
            # the end is exclusive: a window ending at midnight ends with the day before
            if window.end is None:
                return start, "today"
            return start, max(start, _day(window.end - timedelta(microseconds=1)).isoformat())
        for f in filters:
            values = f.get("values") or []
            if f.get("field") == "date" and f.get("operator") == "BETWEEN" and len(values) == 2:
                try:
                    low, high = (date.fromisoformat(str(v).strip()[:10]) for v in values)
                except ValueError:
                    continue
                return low.isoformat(), high.isoformat()
        return DEFAULT_RANGE

    def read(self, conn: ConnectionInfo, entity: str, fields: list[str] | None,
             filters: list[Mapping[str, Any]], window: Window, options: Mapping[str, Any],
             ) -> Iterator[SourceBatch]:
        api = GoogleApi(conn)
        known = self._fields(api, entity)
        wanted = list(fields or known)
        unknown = [n for n in wanted if n not in known]
        if unknown:
            ua = [n for n in unknown if n.startswith("ga:")]
            if ua:
                raise ConnectorError(names.ua_message(ua[0]) + ".")
            raise MissingAtSource(f"The GA4 property {entity} has no dimension or metric "
                                  f"{', '.join(unknown)}.", entity=entity, fields=unknown)
        dimensions = [n for n in wanted if known[n][0] == "dimension"]
        metrics = [n for n in wanted if known[n][0] == "metric"]
        problems = names.cap_problems(dimensions, metrics)
        if problems:
            raise ConnectorError("; ".join(problems) + ".")
        start, end = self.date_range(window, filters)
        body: dict[str, Any] = {
            "dateRanges": [{"startDate": start, "endDate": end}],
            "dimensions": [{"name": n} for n in dimensions], "metrics": [{"name": n} for n in metrics],
            "limit": PAGE_SIZE, "offset": 0, "returnPropertyQuota": True,
        }
        schema = pa.schema([(n, TEXT_TIME_ARROW_TYPES[known[n][1]]) for n in wanted])
        integer = {n: known[n][1] == "integer" for n in metrics}
        page, used = 1, 0
        while True:
            what = f"report page {page} of {entity} ({start} to {end})"
            report = api.run_report(entity, body, what)
            rows = report.get("rows", [])
            total = report.get("rowCount", 0)
            if not isinstance(rows, list) or not isinstance(total, int):
                raise ConnectorError(f"Google Analytics answered {what} without its rows; the run stops and "
                                     "nothing is published.")
            try:
                records = [self._record(row, dimensions, metrics, integer) for row in rows]
            except (AttributeError, IndexError, KeyError, TypeError):
                raise ConnectorError(f"Google Analytics answered {what} with rows Sluice cannot read; the "
                                     "run stops and nothing is published.") from None
            quota = report.get("propertyQuota") or {}
            used += int((quota.get("tokensPerDay") or {}).get("consumed") or 0)
            last = not rows or body["offset"] + len(rows) >= total
            notes = [self._quota_note(entity, quota, used, page)] if last and quota else []
            table = pa.Table.from_pylist(records, schema=schema) if records else schema.empty_table()
            yield SourceBatch(table=table.select(wanted), bytes_read=len(json.dumps(rows)), notes=notes)
            if last:
                return
            body = {**body, "offset": body["offset"] + len(rows)}
            page += 1

    @staticmethod
    def _record(row: Mapping[str, Any], dimensions: list[str], metrics: list[str],
                integer: Mapping[str, bool]) -> dict[str, Any]:
        values = [v.get("value") for v in row.get("dimensionValues") or []]
        numbers = [v.get("value") for v in row.get("metricValues") or []]
        out: dict[str, Any] = {}
        for i, name in enumerate(dimensions):
            out[name] = _date_value(str(values[i])) if name == "date" else values[i]
        for i, name in enumerate(metrics):
            out[name] = _metric(numbers[i], integer[name])
        return out

    @staticmethod
    def _quota_note(entity: str, quota: Mapping[str, Any], used: int, pages: int) -> str:
        def left(key: str) -> str:
            remaining = (quota.get(key) or {}).get("remaining")
            return f"{remaining:,}" if isinstance(remaining, int) else "?"
        return (f"Google Analytics property quota of {entity}: this run's {pages} report page(s) used "
                f"{used:,} tokens; {left('tokensPerDay')} tokens left today, "
                f"{left('tokensPerHour')} this hour.")
