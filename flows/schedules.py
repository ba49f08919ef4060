"""Schedule maths for Scheduled flows: read the Scheduled block (expressions are parsed in
flows.schedule_expressions), honour the time zone, start and end, and list the coming run times
with daylight-saving warnings.

Pure Python, no Django: every function takes `now` (or `after`) explicitly, so tests freeze time
by passing it, and the validator, the dispatcher and the flow page share one set of rules.

Semantics (docs/triggers.md):
- rate(N minutes|hours) is an interval of real time from the anchor (scheduleStartTime, or the
  activation time): it keeps its rhythm through clock changes.
- rate(N days|weeks|months) and cron(...) are wall-clock times in the flow's time zone: a daily run at
  09:00 stays at 09:00 local. A wall time that a DST change skips runs at the moment the clocks jump
  to; one that happens twice runs once, at the first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

from flows.schedule_expressions import (  # noqa: F401  (re-exported: one import for callers)
    Cron,
    Expression,
    Rate,
    ScheduleError,
    describe_minutes,
    parse_expression,
    parse_time,
    parse_zone,
    shortest_gap,
)

DEFAULT_FIRST_PULL = timedelta(days=30)  # AppFlow's first incremental window
DEFAULT_DEACTIVATION_THRESHOLD = 5
MAX_OFFSET_SECONDS = 36000  # "less than 10 hours" in the user guide; the API allows up to 36000


@dataclass(frozen=True)
class ScheduleConfig:
    """triggerProperties.Scheduled, read and checked."""

    expression: Expression
    expression_text: str
    zone: ZoneInfo
    start: datetime | None = None
    end: datetime | None = None
    offset: timedelta = timedelta(0)
    incremental: bool = False
    first_from: datetime | None = None
    deactivation_threshold: int = DEFAULT_DEACTIVATION_THRESHOLD

    @classmethod
    def from_properties(cls, properties: Mapping[str, Any]) -> ScheduleConfig:
        """Raises ScheduleError for the first problem (schedule_problems lists them all)."""
        expression_text = str(properties.get("scheduleExpression") or "")
        if not expression_text:
            raise ScheduleError("scheduleExpression", "is required, e.g. rate(5minutes)")
        zone = parse_zone(properties["timezone"]) if properties.get("timezone") else ZoneInfo("UTC")
        times = {
            key: parse_time(key, properties[key], zone)
            for key in ("scheduleStartTime", "scheduleEndTime", "firstExecutionFrom")
            if properties.get(key) not in (None, "")
        }
        start, end = times.get("scheduleStartTime"), times.get("scheduleEndTime")
        if start and end and end <= start:
            raise ScheduleError("scheduleEndTime", "must be later than scheduleStartTime")
        offset = properties.get("scheduleOffset") or 0
        if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET_SECONDS:
            raise ScheduleError("scheduleOffset", f"must be a whole number of seconds from 0 to "
                                                  f"{MAX_OFFSET_SECONDS} (under 10 hours)")
        return cls(
            expression=parse_expression(expression_text),
            expression_text=expression_text,
            zone=zone,
            start=start,
            end=end,
            offset=timedelta(seconds=offset),
            incremental=properties.get("dataPullMode") == "Incremental",
            first_from=times.get("firstExecutionFrom"),
            deactivation_threshold=int(properties.get("flowErrorDeactivationThreshold")
                                       or DEFAULT_DEACTIVATION_THRESHOLD),
        )


def schedule_problems(properties: Mapping[str, Any], *, fastest_minutes: int | None = None,
                      connector: str = "source") -> list[tuple[str, str]]:
    """(key, message) for each problem a well-typed Scheduled block has; type errors are the
    validator's, so values of the wrong type are left alone here."""
    problems: list[tuple[str, str]] = []
    zone = ZoneInfo("UTC")
    if isinstance(properties.get("timezone"), str) and properties["timezone"]:
        try:
            zone = parse_zone(properties["timezone"])
        except ScheduleError as exc:
            problems.append((exc.key, exc.message))
    expression = properties.get("scheduleExpression")
    if isinstance(expression, str) and expression.strip():
        try:
            parsed = parse_expression(expression)
        except ScheduleError as exc:
            problems.append((exc.key, exc.message))
        else:
            gap = shortest_gap(parsed)
            if fastest_minutes and gap < timedelta(minutes=fastest_minutes):
                every = describe_minutes(max(int(gap.total_seconds() // 60), 1))
                problems.append(("scheduleExpression", (
                    f"runs as often as {every}, but the {connector} connector allows at most "
                    f"{describe_minutes(fastest_minutes)}; choose a slower schedule")))
    times = {}
    for key in ("scheduleStartTime", "scheduleEndTime", "firstExecutionFrom"):
        value = properties.get(key)
        if isinstance(value, int | float | str) and not isinstance(value, bool) and value != "":
            try:
                times[key] = parse_time(key, value, zone)
            except ScheduleError:
                pass  # the validator's type check already says so
    start, end = times.get("scheduleStartTime"), times.get("scheduleEndTime")
    if start and end and end <= start:
        problems.append(("scheduleEndTime", "must be later than scheduleStartTime"))
    return problems


# --- run times -----------------------------------------------------------------------------------


def _localize(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall time in `zone` as an aware time; fold=0 puts a skipped time at the jump and a
    repeated one at its first occurrence."""
    return wall.replace(tzinfo=zone, fold=0)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    days_in_month = (datetime(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, days_in_month))


def _rate_slots(rate: Rate, anchor: datetime, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """Slots of a rate schedule strictly after `after` (and not before the anchor)."""
    step = rate.fixed_step
    if step is not None:
        k = 0 if after < anchor else int((after - anchor) / step) + 1
        while True:
            slot = anchor + k * step
            if slot > after:
                yield slot
            k += 1
    wall = anchor.astimezone(zone).replace(tzinfo=None)
    unit_days = {"days": 1, "weeks": 7}.get(rate.unit)
    k = 0
    if after > anchor and unit_days:  # jump close to `after`, then step exactly
        k = max(int((after - anchor).days // (unit_days * rate.count)) - 1, 0)
    elif after > anchor:
        k = max(((after.year - anchor.year) * 12 + after.month - anchor.month) // rate.count - 1, 0)
    previous = None
    while True:
        local = (wall + timedelta(days=unit_days * rate.count * k) if unit_days
                 else _add_months(wall, rate.count * k))
        slot = _localize(local, zone).astimezone(UTC)
        if slot > after and (previous is None or slot > previous):
            yield slot
            previous = slot
        k += 1


def _cron_slots(cron: Cron, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    # croniter walks naive wall-clock times in the flow's zone; each is then placed in real time.
    wall_after = after.astimezone(zone).replace(tzinfo=None)
    runs = croniter(cron.text, wall_after - timedelta(hours=3))  # 3 h back: a repeated hour's runs
    last_year = max(cron.years) if cron.years else None
    while True:
        wall = runs.get_next(datetime)
        if last_year is not None and wall.year > last_year:
            return
        if cron.years is not None and wall.year not in cron.years:
            continue
        slot = _localize(wall, zone).astimezone(UTC)
        if slot > after:
            yield slot
            after = slot


def slots_after(
    config: ScheduleConfig, after: datetime, *, anchor: datetime | None = None
) -> Iterator[datetime]:
    """Run times (UTC) strictly after `after`, within start and end. `anchor` is where a rate
    schedule without a scheduleStartTime counts from (the activation time)."""
    floor = after
    if config.start is not None and config.start - timedelta(microseconds=1) > floor:
        floor = config.start - timedelta(microseconds=1)  # the start itself is a slot
    if isinstance(config.expression, Rate):
        base = config.start or anchor or after
        source = _rate_slots(config.expression, base, config.zone, floor)
    else:
        source = _cron_slots(config.expression, config.zone, floor)
    for slot in source:
        if config.end is not None and slot > config.end:
            return
        yield slot


def next_slot(config: ScheduleConfig, after: datetime, *, anchor: datetime | None = None) -> datetime | None:
    return next(slots_after(config, after, anchor=anchor), None)


@dataclass(frozen=True)
class UpcomingRun:
    at: datetime  # UTC
    local: datetime  # in the flow's zone
    warning: str = ""


def upcoming(config: ScheduleConfig, now: datetime, *, count: int = 10,
             anchor: datetime | None = None) -> list[UpcomingRun]:
    """The next `count` runs after `now`, with a warning where a DST change moves, skips or
    repeats a time. A rate schedule with no start and no anchor counts from `now` (a preview of
    activating now), so its first run is `now` itself."""
    after = now - timedelta(microseconds=1) if (anchor is None and config.start is None) else now
    runs: list[UpcomingRun] = []
    previous: datetime | None = None
    anchor = anchor or now
    for slot in slots_after(config, after, anchor=anchor):
        local = slot.astimezone(config.zone)
        runs.append(UpcomingRun(slot, local, _dst_warning(config, slot, previous, anchor)))
        previous = slot
        if len(runs) >= count:
            break
    return runs


def _dst_warning(config: ScheduleConfig, slot: datetime, previous: datetime | None, anchor: datetime) -> str:
    zone, expression = config.zone, config.expression
    local = slot.astimezone(zone)
    if isinstance(expression, Rate) and expression.fixed_step is not None:
        if previous is not None and previous.astimezone(zone).utcoffset() != local.utcoffset():
            moved = "forward" if local.utcoffset() > previous.astimezone(zone).utcoffset() else "back"
            return (f"Clocks go {moved} before this run: it keeps its {expression.describe()} rhythm, so "
                    f"its local time shifts")
        return ""
    wall_clock = _intended_wall_times(config, slot, anchor)
    for wall in wall_clock:
        if _localize(wall, zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
            return (f"{wall:%H:%M} does not exist on {wall:%Y-%m-%d} in {zone.key} (clocks go forward): "
                    f"this run happens at {local:%H:%M %Z} instead")
    wall = local.replace(tzinfo=None)
    if wall.replace(tzinfo=zone, fold=1).utcoffset() != wall.replace(tzinfo=zone, fold=0).utcoffset():
        return (f"{wall:%H:%M} happens twice on {wall:%Y-%m-%d} in {zone.key} (clocks go back): "
                f"it runs once, at the first ({local:%H:%M %Z})")
    return ""


def _intended_wall_times(config: ScheduleConfig, slot: datetime, anchor: datetime) -> list[datetime]:
    """Wall times the schedule asked for that landed on `slot`: usually just its own local time,
    but a time skipped by a DST jump lands on the moment after the jump."""
    zone = config.zone
    local_wall = slot.astimezone(zone).replace(tzinfo=None)
    if isinstance(config.expression, Cron):
        # Wall times shortly before this run that a forward jump moved onto it.
        runs = croniter(config.expression.text, local_wall - timedelta(hours=2))
        found = []
        while True:
            wall = runs.get_next(datetime)
            if wall > local_wall:
                break
            if _localize(wall, zone).astimezone(UTC) == slot:
                found.append(wall)
        return found or [local_wall]
    # rate in days/weeks/months: the anchor's wall time on the slot's day.
    anchor_wall = (config.start or anchor).astimezone(zone)
    return [local_wall.replace(hour=anchor_wall.hour, minute=anchor_wall.minute)]
