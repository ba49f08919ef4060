"""Reading schedule expressions, time zones and times: `rate(...)` / `cron(...)` (croniter does the
cron maths), IANA zones, epoch or ISO 8601 times. Pure Python, no Django; flows.schedules builds the
run times on top."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import CroniterError, croniter

RATE_UNITS = ("minutes", "hours", "days", "weeks", "months")
CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
CRON_RANGES = ("0-59", "0-23", "1-31", "1-12 or JAN-DEC", "0-6 or SUN-SAT")
AWS_CRON_FIELDS = (*CRON_FIELDS, "year")
# A cron schedule's fastest gap is measured over this many runs: enough for every-minute to hourly
# patterns to show their shortest step.
GAP_SAMPLE_RUNS = 400
# The longest rate accepted: a century. Longer ones are typos, and past a few thousand years the
# date arithmetic overflows instead of answering.
RATE_LONGEST = {"minutes": 52_560_000, "hours": 876_000, "days": 36_500, "weeks": 5_214, "months": 1_200}

_RATE = re.compile(r"rate\(\s*(\d+)\s*([A-Za-z]+)\s*\)", re.IGNORECASE)
_CRON = re.compile(r"cron\((.*)\)", re.IGNORECASE | re.DOTALL)


class ScheduleError(ValueError):
    """What is wrong with one scheduled property, in words a person can act on. `key` is the
    property of triggerProperties.Scheduled it is about."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True)
class Rate:
    count: int
    unit: str  # one of RATE_UNITS

    @property
    def fixed_step(self) -> timedelta | None:
        """The step in real time, for minutes and hours; None for wall-clock units."""
        if self.unit == "minutes":
            return timedelta(minutes=self.count)
        if self.unit == "hours":
            return timedelta(hours=self.count)
        return None

    def describe(self) -> str:
        unit = self.unit if self.count != 1 else self.unit[:-1]
        return f"every {self.count} {unit}" if self.count != 1 else f"every {unit}"


@dataclass(frozen=True)
class Cron:
    fields: tuple[str, str, str, str, str]  # standard 5-field form croniter reads
    years: frozenset[int] | None  # AppFlow's 6th field; None means every year

    @property
    def text(self) -> str:
        return " ".join(self.fields)

    def describe(self) -> str:
        return f"cron {self.text}"


Expression = Rate | Cron


def parse_expression(text: str) -> Expression:
    """`rate(5minutes)`, `rate(5 minutes)`, `rate(1 hour)`, `cron(0 9 * * MON-FRI)` (5 fields) or
    AppFlow's `cron(0 9 ? * MON-FRI *)` (6 fields, with a year and `?`)."""
    key = "scheduleExpression"
    stripped = text.strip()
    if stripped.lower().startswith("rate"):
        match = _RATE.fullmatch(stripped)
        if not match:
            raise ScheduleError(key, f'"{text}" is not a rate: write rate(N unit), e.g. rate(5minutes) '
                                     "or rate(1 hours)")
        digits, unit = match.group(1).lstrip("0") or "0", match.group(2).lower()
        count = int(digits) if len(digits) <= 12 else 10**12  # too long either way; int() of
        # thousands of digits is refused by Python itself
        unit = unit if unit.endswith("s") else unit + "s"
        if unit not in RATE_UNITS:
            raise ScheduleError(key, f'"{match.group(2)}" is not a rate unit: use minutes, hours, days, '
                                     "weeks or months")
        if count < 1:
            raise ScheduleError(key, "a rate must be at least 1")
        longest = RATE_LONGEST[unit]
        if count > longest:
            raise ScheduleError(key, f"a rate can be at most {longest} {unit} (100 years); for rare "
                                     "runs use cron(...) with a year")
        return Rate(count, unit)
    if stripped.lower().startswith("cron"):
        match = _CRON.fullmatch(stripped)
        if not match:
            raise ScheduleError(key, f'"{text}" is not a cron expression: write cron(minute hour '
                                     "day-of-month month day-of-week), e.g. cron(0 9 * * MON-FRI)")
        return _parse_cron(match.group(1).split())
    raise ScheduleError(key, f'"{text}" is neither rate(...) nor cron(...): e.g. rate(5minutes) or '
                             "cron(0 9 * * MON-FRI)")


def _parse_cron(parts: list[str]) -> Cron:
    key = "scheduleExpression"
    if len(parts) == 6:
        fields = [part.replace("?", "*") for part in parts[:5]]
        fields[4] = _aws_day_of_week(fields[4])
        years = _parse_years(parts[5])
    elif len(parts) == 5:
        fields, years = [part.replace("?", "*") for part in parts], None
    else:
        raise ScheduleError(key, f"cron(...) has {len(parts)} field(s); use 5 (minute hour day-of-month "
                                 "month day-of-week) or AppFlow's 6 (the same and a year)")
    for index, field in enumerate(fields):
        # Check each field alone so the message can name the one that is wrong.
        probe = ["*"] * 5
        probe[index] = field
        if not _cron_ok(" ".join(probe)):
            raise ScheduleError(key, f'the {CRON_FIELDS[index]} field "{parts[index]}" is not valid '
                                     f"(allowed: {CRON_RANGES[index]}, with * , - / )")
    text = " ".join(fields)
    if not _cron_ok(text):
        raise ScheduleError(key, f'"cron({" ".join(parts)})" is not a valid cron expression')
    if not _fires(text, years):
        within = f" in the year(s) {parts[5]}" if years else ""
        raise ScheduleError(key, f'"cron({" ".join(parts)})" never runs{within}: no date has day-of-month '
                                 f'"{parts[2]}" in month "{parts[3]}"; check the day and the month')
    return Cron(tuple(fields), years)  # type: ignore[arg-type]


def _fires(text: str, years: frozenset[int] | None) -> bool:
    """Whether the schedule has at least one run (in its years): each field can be valid alone
    while together they name no date (the 30th of February)."""
    first = min(years) if years else 2024
    try:
        runs = croniter(text, datetime(first, 1, 1) - timedelta(seconds=1))
        for _ in range(1000):  # enough for any pattern to reach a year in the set, or pass them
            moment = runs.get_next(datetime)
            if years is None or moment.year in years:
                return True
            if moment.year > max(years):
                return False
    except (CroniterError, ValueError, OverflowError):
        return False
    return False


def _cron_ok(text: str) -> bool:
    try:
        croniter(text, datetime(2024, 1, 1))
    except (CroniterError, ValueError, KeyError):
        return False
    return True


def _aws_day_of_week(field: str) -> str:
    """AppFlow (EventBridge) numbers days 1-7 from Sunday; cron numbers them 0-6."""
    return re.sub(r"(?<![#\d])([1-7])(?!\d)", lambda m: str(int(m.group(1)) - 1), field)


def _parse_years(field: str) -> frozenset[int] | None:
    if field in ("*", "?"):
        return None
    years: set[int] = set()
    try:
        for part in field.split(","):
            part, _, step = part.partition("/")
            low, _, high = part.partition("-")
            first = int(low) if low != "*" else 1970
            last = int(high) if high else (2199 if step or low == "*" else first)
            years.update(range(first, last + 1, int(step) if step else 1))
    except ValueError:
        raise ScheduleError("scheduleExpression", f'the year field "{field}" is not valid (e.g. *, 2025, '
                                                  "2025-2030)") from None
    if not years or min(years) < 1970 or max(years) > 2199:
        raise ScheduleError("scheduleExpression", f'the year field "{field}" must be within 1970-2199')
    return frozenset(years)


def shortest_gap(expression: Expression) -> timedelta:
    """The shortest time between two runs, to compare with a connector's fastest schedule."""
    if isinstance(expression, Rate):
        days = {"days": 1, "weeks": 7, "months": 28}
        return expression.fixed_step or timedelta(days=days[expression.unit] * expression.count)
    runs = croniter(expression.text, datetime(2024, 1, 1))
    previous = runs.get_next(datetime)
    gap = None
    for _ in range(GAP_SAMPLE_RUNS):
        current = runs.get_next(datetime)
        gap = current - previous if gap is None else min(gap, current - previous)
        previous = current
    return gap or timedelta(days=366)


def describe_minutes(minutes: int) -> str:
    if minutes % 1440 == 0:
        return "one run per day" if minutes == 1440 else f"one run every {minutes // 1440} days"
    if minutes % 60 == 0:
        return "one run per hour" if minutes == 60 else f"one run every {minutes // 60} hours"
    return "one run per minute" if minutes == 1 else f"one run every {minutes} minutes"


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def parse_zone(name: str) -> ZoneInfo:
    try:
        if name not in _zone_names() and name != "UTC":
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(name, sorted(_zone_names()), n=1, cutoff=0.7)
        hint = f' Did you mean "{close[0]}"?' if close else ""
        raise ScheduleError("timezone", f'"{name}" is not an IANA time zone (e.g. Europe/Paris, '
                                        f"America/New_York, UTC).{hint}") from None


def parse_time(key: str, value: Any, zone: ZoneInfo) -> datetime:
    """Epoch seconds, or ISO 8601 text; text without an offset is read in the flow's time zone."""
    if isinstance(value, bool):
        raise ScheduleError(key, "must be a time: epoch seconds, or ISO 8601 text")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ScheduleError(key, "must be a time: epoch seconds, or ISO 8601 text like "
                                 "2024-05-01T00:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)
