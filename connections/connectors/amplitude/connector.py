"""The Amplitude connector: one object, events, read through the Export API hour by hour.

Which hours: the run's incremental window, narrowed by a BETWEEN filter on server_upload_time (the
Export API selects events by the hour they were uploaded to Amplitude); with neither, the last 24
full hours. Each hour is one request whose archive is streamed to a temporary file and read from
there (events.py), so memory stays flat however much a run exports. AppFlow caps an Amplitude run
at 25 MB; Sluice lifts that cap (streaming makes size a matter of time, not memory) and keeps
Amplitude's own limits: 365 days per run, 4 GB per hour."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pandas as pd

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
from connections.connectors.saas import SaasConnector
from connections.connectors.windowing import in_window, unreadable_warning

from . import events
from .client import RESIDENCY_HOSTS, AmplitudeApi

BATCH_ROWS = 10_000
DEFAULT_HOURS = 24  # what a run with no window and no date filter exports: the last full day
MAX_DAYS = 365  # Amplitude: "The maximum period you can query at once is 365 days."
HOUR = timedelta(hours=1)
# Amplitude: "data sent between 8 and 9 PM begins loading at 9 PM and is available through the
# Export API at 11 PM": an hour is whole in the export three hours after it began.
EXPORT_DELAY = timedelta(hours=3)


def _moment(text: str) -> datetime:
    """A BETWEEN bound: ISO 8601 text (UTC unless it says otherwise) or epoch milliseconds."""
    raw = str(text).strip()
    if raw.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(raw) / 1000, UTC)
    stamp = pd.Timestamp(raw)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()


def export_range(window: Window, filters: list[Mapping[str, Any]], now: datetime,
                 ) -> tuple[datetime, datetime, list[str]]:
    """(start, end) of the export, end exclusive, and notes for the run's log."""
    start, end, notes = window.start, window.end, []
    for item in filters:
        if item.get("operator") != "BETWEEN" or item.get("field") != events.INCREMENTAL_FIELD:
            continue
        values = list(item.get("values") or [])
        try:
            low, high = _moment(values[0]), _moment(values[1])
        except (IndexError, ValueError, OverflowError):
            raise ConnectorError(f"The BETWEEN filter on {events.INCREMENTAL_FIELD} needs two dates or times "
                                 f"(ISO 8601 or epoch milliseconds), not {values[:2]}.") from None
        high += timedelta(microseconds=1)  # BETWEEN includes its upper bound; the range ends after it
        start = low if start is None else max(start, low)
        end = high if end is None else min(end, high)
    if end is None:  # the last hour that is whole in the export
        end = (now - EXPORT_DELAY).replace(minute=0, second=0, microsecond=0) + HOUR
    if start is None:
        start = end - timedelta(hours=DEFAULT_HOURS)
        notes.append(f"No date range was given (an incremental window or a BETWEEN filter on "
                     f"{events.INCREMENTAL_FIELD}): the last {DEFAULT_HOURS} full hours were exported.")
    last_hour = (end - timedelta(microseconds=1)).replace(minute=0, second=0, microsecond=0)
    if last_hour + EXPORT_DELAY > now:
        notes.append(f"The range ends at {end:%Y-%m-%d %H:%M} UTC: Amplitude makes an hour exportable about "
                     "two hours after it ends, so the latest events may be missing, and an incremental run "
                     "will not read them again. Give the schedule a scheduleOffset of "
                     f"{EXPORT_DELAY.seconds} seconds (3 hours).")
    if end - start > timedelta(days=MAX_DAYS):
        raise ConnectorError(f"Amplitude exports at most {MAX_DAYS} days at once; this run asks for "
                             f"{(end - start).days} days ({start:%Y-%m-%d} to {end:%Y-%m-%d}). Narrow the "
                             f"BETWEEN filter on {events.INCREMENTAL_FIELD}.")
    return start, end, notes


def hours(start: datetime, end: datetime) -> Iterator[datetime]:
    """Every hour that overlaps [start, end)."""
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while hour < end:
        yield hour
        hour += HOUR


class AmplitudeConnector(SaasConnector):
    """Amplitude as a source (AppFlow: source only)."""

    connector_type: ClassVar[str] = "Amplitude"
    properties_key: ClassVar[str] = "Amplitude"
    display_name: ClassVar[str] = "Amplitude"
    description: ClassVar[str] = (
        "Amplitude: a project's raw events through the Export API, hour by hour (US or EU data "
        "residency). Incremental runs use server_upload_time."
    )
    can_be_source: ClassVar[bool] = True
    # The catalog says "API key": Amplitude's API key and secret key, sent as HTTP basic auth.
    auth_kind: ClassVar[str] = "api_key"
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("apiKey", "secret", "API key", secret=True,
                    help="Amplitude: Settings, Projects, your project: its API key. Stored encrypted."),
        ConfigField("secretKey", "secret", "Secret key", secret=True,
                    help="The same project's secret key. Stored encrypted; Sluice never shows it again."),
        # Not required: AppFlow's AmplitudeConnectorProfileProperties is empty (its profiles are US).
        ConfigField("dataResidency", "choice", "Data residency", required=False,
                    choices=tuple(RESIDENCY_HOSTS), default="US",
                    help="Where the project's data lives: US (amplitude.com) or EU "
                         "(analytics.eu.amplitude.com). The keys are sent there.",
                    sends_credentials_to=True),
        ConfigField("baseUrl", "url", "API address", required=False,
                    help="Leave empty. Only to reach Amplitude through another address (a proxy, a test "
                         "server); the SSRF guard applies.", sends_credentials_to=True),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    fastest_schedule_minutes: ClassVar[int] = 24 * 60  # AppFlow: at most one run a day
    # AppFlow's AmplitudeConnectorOperator has BETWEEN only: the date range of the export.
    filter_operators: ClassVar[tuple[str, ...]] = ("BETWEEN",)
    pushdown_operators: ClassVar[tuple[str, ...]] = ("BETWEEN",)

    @classmethod
    def check_source_values(cls, props: Mapping[str, Any]) -> list[tuple[str, str]]:
        if props.get("object") != events.ENTITY:
            return [("object", f'must be "{events.ENTITY}" (Amplitude\'s Export API exports events)')]
        return []

    def test(self, conn: ConnectionInfo) -> None:
        AmplitudeApi(conn).check_keys()

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        return [Entity(events.ENTITY, "Events")]

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        self._check_entity(entity)
        return [EntityField(name, events.TYPES[name], nullable=name != events.PRIMARY_KEY,
                            primary_key=name == events.PRIMARY_KEY,
                            filter_operators=("BETWEEN",) if name == events.INCREMENTAL_FIELD else (),
                            timestamp_for_incremental=name == events.INCREMENTAL_FIELD)
                for name, _ in events.FIELDS]

    def read(self, conn: ConnectionInfo, entity: str, fields: list[str] | None,
             filters: list[Mapping[str, Any]], window: Window, options: Mapping[str, Any],
             ) -> Iterator[SourceBatch]:
        self._check_entity(entity)
        names = list(fields) if fields else [name for name, _ in events.FIELDS]
        unknown = [n for n in names if n not in events.TYPES]
        if unknown:
            raise MissingAtSource(f"Amplitude events have no field {', '.join(unknown)}.", entity=entity,
                                  fields=unknown)
        if window.field not in (None, events.INCREMENTAL_FIELD):
            raise ConnectorError(f"Amplitude exports events by {events.INCREMENTAL_FIELD}; an incremental "
                                 f"window on {window.field} cannot be exported. Use "
                                 f"{events.INCREMENTAL_FIELD}.")
        start, end, notes = export_range(window, filters, datetime.now(UTC))
        api = AmplitudeApi(conn)
        # Read with the upload time even when it is not chosen, to keep only the range's events.
        read_names = names if events.INCREMENTAL_FIELD in names else [*names, events.INCREMENTAL_FIELD]
        exact = Window(start, end, events.INCREMENTAL_FIELD)
        yielded = False
        for hour in hours(start, end):
            with tempfile.TemporaryFile(prefix="sluice-amplitude-") as archive:
                if not api.export(hour, hour, archive):
                    continue
                archive.seek(0)
                what = f"the hour {hour:%Y-%m-%d %H}:00 UTC"
                for batch, size in events.read_archive(archive, read_names, BATCH_ROWS, what):
                    table, unreadable = in_window(batch, exact)
                    warnings = [] if yielded else list(notes)
                    if unreadable:
                        warnings.append(unreadable_warning(unreadable, exact, what))
                    yield SourceBatch(table=table.select(names), bytes_read=size, warnings=warnings)
                    yielded = True
        if not yielded:
            yield SourceBatch(table=events.schema(names).empty_table(), warnings=notes)

    @staticmethod
    def _check_entity(entity: str) -> None:
        if entity != events.ENTITY:
            raise MissingAtSource(f'Amplitude has no object "{entity}": its Export API exports "events".',
                                  entity=entity)
