"""Schedules that parse field by field but cannot work — a cron naming no date (the 30th of
February), a rate too long for the calendar — are refused naming scheduleExpression, on the import
page and the CLI, instead of an HTTP 500 or exit 255."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from console.tests.pages import flow_document
from flows.models import Flow
from flows.schedule_expressions import ScheduleError, parse_expression
from flows.tests.test_cli import sluice

BAD = {
    "cron(0 0 30 2 ? *)": "never runs",
    "cron(0 0 31 4 ? *)": "never runs",
    "cron(0 0 29 2 ? 2025)": "never runs in the year(s) 2025",
    "rate(99999999999 days)": "at most 36500 days",
    "rate(99999999999 minutes)": "at most 52560000 minutes",
    "rate(" + "9" * 5000 + " hours)": "at most 876000 hours",
}


def scheduled(name: str, expression: str) -> dict:
    return flow_document(name, triggerConfig={"triggerType": "Scheduled", "triggerProperties": {
        "Scheduled": {"scheduleExpression": expression, "dataPullMode": "Complete"}}})


@pytest.mark.parametrize("expression", BAD, ids=lambda e: e[:32])
def test_the_parser_names_the_problem(expression):
    with pytest.raises(ScheduleError) as caught:
        parse_expression(expression)
    assert caught.value.key == "scheduleExpression"
    assert BAD[expression] in caught.value.message


@pytest.mark.parametrize("expression", ["cron(0 0 29 2 ? 2028)", "rate(36500 days)", "rate(1200 months)",
                                        "cron(0 0 L 2 ? *)"])
def test_rare_but_real_schedules_still_parse(expression):
    parse_expression(expression)


@pytest.mark.django_db
@pytest.mark.parametrize("expression", ["cron(0 0 30 2 ? *)", "rate(99999999999 days)"])
def test_the_import_page_names_the_field(signed_in, demo, expression):
    document = scheduled("never", expression)
    response = signed_in.post(reverse("flows:import"), {"document": json.dumps(document)})
    assert response.status_code == 200
    html = response.content.decode()
    assert "scheduleExpression" in html and BAD[expression].split()[0] in html
    assert not Flow.objects.filter(name="never").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("expression", ["cron(0 0 30 2 ? *)", "rate(99999999999 days)"])
def test_the_cli_names_the_field(demo, expression):
    result = sluice("create-flow", "--cli-input-json", json.dumps(scheduled("never", expression)))
    assert result.code == 254, result.err
    assert "(ValidationException)" in result.err and "scheduleExpression" in result.err
    assert BAD[expression] in result.err
    assert "Traceback" not in result.err
    assert not Flow.objects.filter(name="never").exists()
