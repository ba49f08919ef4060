"""Schedule maths with frozen time: `now` is passed in, no clock is patched. No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows.schedules import (
    Cron,
    Rate,
    ScheduleConfig,
    ScheduleError,
    next_slot,
    parse_expression,
    schedule_problems,
    shortest_gap,
    upcoming,
)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def config(**properties) -> ScheduleConfig:
    return ScheduleConfig.from_properties(properties)


@pytest.mark.parametrize("text, expected", [
    ("rate(5minutes)", Rate(5, "minutes")),
    ("rate(5 minutes)", Rate(5, "minutes")),
    ("rate( 1 hour )", Rate(1, "hours")),
    ("RATE(2Days)", Rate(2, "days")),
    ("rate(1 weeks)", Rate(1, "weeks")),
    ("rate(3 months)", Rate(3, "months")),
])
def test_rate_with_or_without_the_space(text, expected):
    assert parse_expression(text) == expected


def test_five_field_cron_and_appflow_six_field_cron():
    assert parse_expression("cron(0 9 * * MON-FRI)") == Cron(("0", "9", "*", "*", "MON-FRI"), None)
    # AppFlow's form: ? for "no value", days 1-7 from Sunday, a year.
    aws = parse_expression("cron(0 12 ? * 2-6 2030-2031)")
    assert aws == Cron(("0", "12", "*", "*", "1-5"), frozenset({2030, 2031}))


@pytest.mark.parametrize("text, words", [
    ("rate(5 mins)", '"mins" is not a rate unit'),
    ("rate(0 minutes)", "at least 1"),
    ("rate(five minutes)", "write rate(N unit)"),
    ("cron(0 9 * *)", "has 4 field(s)"),
    ("cron(0 25 * * *)", 'the hour field "25" is not valid'),
    ("cron(61 * * * *)", 'the minute field "61"'),
    ("cron(0 0 * * MOON)", "day-of-week"),
    ("cron(0 0 ? * * 1800)", "1970-2199"),
    ("every 5 minutes", "neither rate(...) nor cron(...)"),
])
def test_invalid_expressions_say_what_is_wrong(text, words):
    with pytest.raises(ScheduleError) as caught:
        parse_expression(text)
    assert words in caught.value.message
    assert caught.value.key == "scheduleExpression"


def test_shortest_gap():
    assert shortest_gap(parse_expression("rate(15minutes)")) == timedelta(minutes=15)
    assert shortest_gap(parse_expression("cron(*/10 * * * *)")) == timedelta(minutes=10)
    assert shortest_gap(parse_expression("cron(0,5 * * * *)")) == timedelta(minutes=5)
    assert shortest_gap(parse_expression("cron(0 9 * * MON-FRI)")) == timedelta(days=1)


def test_a_schedule_faster_than_the_connector_allows_is_refused():
    problems = schedule_problems({"scheduleExpression": "cron(*/30 * * * *)"}, fastest_minutes=60,
                                 connector="Marketo")
    assert problems == [("scheduleExpression", "runs as often as one run every 30 minutes, but the "
                         "Marketo connector allows at most one run per hour; choose a slower schedule")]
    assert schedule_problems({"scheduleExpression": "rate(1hours)"}, fastest_minutes=60) == []
    assert schedule_problems({"scheduleExpression": "rate(1minutes)"}, fastest_minutes=1) == []


def test_problems_name_the_property():
    problems = dict(schedule_problems({
        "scheduleExpression": "rate(5 minutes)", "timezone": "Europe/Pariss",
        "scheduleStartTime": "2024-05-02T00:00:00Z", "scheduleEndTime": "2024-05-01T00:00:00Z",
    }))
    assert 'Did you mean "Europe/Paris"' in problems["timezone"]
    assert problems["scheduleEndTime"] == "must be later than scheduleStartTime"


def test_rate_minutes_counts_from_the_anchor_and_catches_up_in_one_step():
    schedule = config(scheduleExpression="rate(5minutes)")
    anchor = at(2024, 5, 1, 10, 0)
    assert next_slot(schedule, at(2024, 5, 1, 10, 0), anchor=anchor) == at(2024, 5, 1, 10, 5)
    assert next_slot(schedule, at(2024, 5, 1, 10, 7, 30), anchor=anchor) == at(2024, 5, 1, 10, 10)
    # After a day of downtime the next slot is the next one after now, not the first missed one.
    assert next_slot(schedule, at(2024, 5, 2, 13, 1), anchor=anchor) == at(2024, 5, 2, 13, 5)


def test_start_and_end_bound_the_schedule():
    schedule = config(scheduleExpression="rate(1hours)", scheduleStartTime="2024-05-01T12:00:00Z",
                      scheduleEndTime="2024-05-01T14:00:00Z")
    runs = [run.at for run in upcoming(schedule, at(2024, 5, 1, 0, 0))]
    assert runs == [at(2024, 5, 1, 12), at(2024, 5, 1, 13), at(2024, 5, 1, 14)]
    assert next_slot(schedule, at(2024, 5, 1, 14, 0)) is None


def test_epoch_seconds_and_naive_iso_in_the_flows_zone():
    schedule = config(scheduleExpression="rate(1days)", timezone="Europe/Paris",
                      scheduleStartTime="2024-05-01T09:00:00", firstExecutionFrom=1714521600)
    assert schedule.start == at(2024, 5, 1, 7, 0)  # 09:00 in Paris (CEST, +2)
    assert schedule.first_from == at(2024, 5, 1, 0, 0)


def test_time_zone_is_honoured_not_a_label():
    schedule = config(scheduleExpression="cron(0 9 * * *)", timezone="Asia/Tokyo")
    assert next_slot(schedule, at(2024, 5, 1, 12, 0)) == at(2024, 5, 2, 0, 0)  # 09:00 JST


def test_next_ten_runs_show_local_and_utc():
    schedule = config(scheduleExpression="cron(0 9 * * MON-FRI)", timezone="Europe/Paris")
    runs = upcoming(schedule, at(2024, 5, 3, 12, 0))  # a Friday afternoon
    assert len(runs) == 10
    assert runs[0].at == at(2024, 5, 6, 7, 0)  # Monday 09:00 CEST
    assert runs[0].local.strftime("%a %H:%M %Z") == "Mon 09:00 CEST"
    assert all(run.local.weekday() < 5 and not run.warning for run in runs)


def test_a_wall_time_skipped_by_dst_runs_after_the_jump_with_a_warning():
    schedule = config(scheduleExpression="cron(30 2 * * *)", timezone="America/New_York")
    runs = upcoming(schedule, at(2024, 3, 9, 12, 0))
    assert runs[0].at == at(2024, 3, 10, 7, 30)  # 03:30 EDT: 02:30 does not exist that day
    assert "02:30 does not exist on 2024-03-10" in runs[0].warning
    assert runs[1].at == at(2024, 3, 11, 6, 30) and not runs[1].warning


def test_a_repeated_wall_time_runs_once_with_a_warning():
    schedule = config(scheduleExpression="cron(30 1 * * ? *)", timezone="America/New_York")
    runs = upcoming(schedule, at(2024, 11, 2, 12, 0))
    assert [run.at for run in runs[:2]] == [at(2024, 11, 3, 5, 30), at(2024, 11, 4, 6, 30)]
    assert "01:30 happens twice on 2024-11-03" in runs[0].warning
    assert not runs[1].warning


def test_daily_rate_keeps_its_wall_clock_time_across_dst():
    schedule = config(scheduleExpression="rate(1days)", timezone="Europe/Paris",
                      scheduleStartTime="2024-03-29T09:00:00")
    runs = upcoming(schedule, at(2024, 3, 29, 12, 0), count=3)
    assert [run.local.strftime("%d %H:%M %Z") for run in runs] == ["30 09:00 CET", "31 09:00 CEST",
                                                                    "01 09:00 CEST"]


def test_hourly_rate_keeps_real_time_rhythm_and_warns_at_the_change():
    schedule = config(scheduleExpression="rate(1hours)", timezone="Europe/Paris",
                      scheduleStartTime="2024-03-31T00:00:00Z")
    runs = upcoming(schedule, at(2024, 3, 30, 12, 0), count=3)
    assert [run.local.strftime("%H:%M") for run in runs] == ["01:00", "03:00", "04:00"]
    assert "Clocks go forward" in runs[1].warning


def test_monthly_rate_clamps_to_the_end_of_short_months():
    schedule = config(scheduleExpression="rate(1months)", scheduleStartTime="2024-01-31T10:00:00Z")
    runs = upcoming(schedule, at(2024, 1, 1), count=3)
    assert [run.at.date().isoformat() for run in runs] == ["2024-01-31", "2024-02-29", "2024-03-31"]


def test_cron_year_field_ends_the_schedule():
    schedule = config(scheduleExpression="cron(0 0 1 1 ? 2025)")
    assert next_slot(schedule, at(2024, 6, 1)) == at(2025, 1, 1)
    assert next_slot(schedule, at(2025, 6, 1)) is None
