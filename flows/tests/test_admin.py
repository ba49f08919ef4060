"""The Django admin: every execution, read-only, in the console's words, with a bounded number of
queries and no count of the whole table; connections without their secrets."""

from __future__ import annotations

import re

import pytest
from django.db import connection as db
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from console.admin_common import CappedPaginator
from console.tests.pages import make_execution
from flows.models import Execution, ExecutionLog

pytestmark = pytest.mark.django_db

SECRET = "canary-s3cr3t-value-9f2c"


@pytest.fixture
def admin_client_(client, admin_user_):
    client.force_login(admin_user_)
    return client


@pytest.fixture
def executions(demo, django_capture_on_commit_callbacks):
    from flows import services

    with django_capture_on_commit_callbacks(execute=False):
        first = services.start_flow(demo["flow"])
        second = services.start_flow(demo["flow"])
    Execution.objects.filter(pk=first.pk).update(status="Successful")
    return first, second


def test_admin_lists_every_execution_with_filters_and_search(admin_client_, executions):
    first, second = executions
    url = reverse("admin:flows_execution_changelist")
    page = admin_client_.get(url).content.decode()
    assert str(first.id) in page and str(second.id) in page

    only_done = admin_client_.get(url, {"status__exact": "Successful"}).content.decode()
    assert str(first.id) in only_done and str(second.id) not in only_done

    found = admin_client_.get(url, {"q": "demo-accounts"}).content.decode()
    assert str(first.id) in found
    assert str(first.id) not in admin_client_.get(url, {"q": "no-such-flow"}).content.decode()

    by_flow = admin_client_.get(url, {"flow__id__exact": first.flow_id}).content.decode()
    assert str(second.id) in by_flow
    assert admin_client_.get(url, {"created_at__year": first.created_at.year}).status_code == 200


def test_executions_are_read_only_in_the_admin(admin_client_, executions):
    first, _ = executions
    url = reverse("admin:flows_execution_change", args=[first.pk])
    page = admin_client_.get(url).content.decode()
    assert 'name="_save"' not in page
    assert admin_client_.post(url, {"status": "Error"}).status_code == 403
    first.refresh_from_db()
    assert first.status == "Successful"
    assert admin_client_.get(reverse("admin:flows_execution_add")).status_code == 403
    delete = reverse("admin:flows_execution_delete", args=[first.pk])
    assert admin_client_.post(delete, {"post": "yes"}).status_code == 403


def test_connections_in_the_admin_never_show_secrets(admin_client_, demo):
    connection = demo["connection"]
    connection.credentials = {"token": SECRET}
    connection.save()
    for url in (
        reverse("admin:connections_connection_changelist"),
        reverse("admin:connections_connection_change", args=[connection.pk]),
    ):
        page = admin_client_.get(url).content.decode()
        assert SECRET not in page
        assert connection.credentials_encrypted not in page
    assert "credentials set" in page.lower()


def test_flow_and_execution_pages_show_versions_and_log_lines(admin_client_, executions):
    first, _ = executions
    flow_page = admin_client_.get(reverse("admin:flows_flow_change", args=[first.flow_id])).content.decode()
    assert "Flow versions" in flow_page and 'name="_save"' not in flow_page
    page = admin_client_.get(reverse("admin:flows_execution_change", args=[first.pk])).content.decode()
    assert "Queued" in page


def test_the_list_speaks_the_consoles_words(admin_client_, demo):
    flow = demo["flow"]
    make_execution(flow, minutes_ago=1, status=Execution.Status.ERROR, trigger=Execution.Trigger.ON_DEMAND,
                   error_message="accounts.csv: column Phone: not a number, in record 5\nTraceback-free detail")
    page = admin_client_.get(reverse("admin:flows_execution_changelist")).content.decode()
    row = page[page.index('<tbody>'):page.index('</tbody>')]
    assert "accounts.csv: column Phone: not a number, in record 5" in row  # the reason, one line
    assert "Traceback-free detail</span>" not in row
    assert ">OnDemand<" in row and "On Demand" not in page  # as the console spells it
    assert re.search(r">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d<", row)  # with its seconds
    assert 'type="checkbox"' not in row  # no bulk actions: nothing to change


def test_log_lines_show_their_text(admin_client_, executions):
    first, _ = executions
    ExecutionLog.objects.create(execution=first, level="WARNING", message="Read 500 records from accounts.csv")
    page = admin_client_.get(reverse("admin:flows_execution_change", args=[first.pk])).content.decode()
    assert "Read 500 records from accounts.csv" in page and "WARNING" in page
    assert "ExecutionLog object" not in page


def list_queries(client, **query) -> list[str]:
    with CaptureQueriesContext(db) as captured:
        response = client.get(reverse("admin:flows_execution_changelist"), query)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_list_pages_never_count_the_whole_table_and_search_by_flow_id(admin_client_, demo):
    for minutes in range(30):
        make_execution(demo["flow"], minutes_ago=minutes)
    for query in ({}, {"status": "Successful"}, {"trigger": "OnDemand"}, {"q": "accounts-to"}, {"p": "1"}):
        sql = list_queries(admin_client_, **query)
        assert len(sql) <= 6, sql  # session, user, count, rows (+ the search's flow ids)
        counts = [q for q in sql if "COUNT(" in q.upper()]
        assert counts and all("LIMIT" in q.upper() for q in counts), counts  # capped, never the table
    searched = list_queries(admin_client_, q="accounts-to")
    rows = next(q for q in searched if q.startswith('SELECT "flows_execution"."id"'))
    assert '"flows_execution"."flow_id" IN (' in rows and "LIKE" not in rows.upper()


def test_past_the_cap_the_count_says_more_than(admin_client_, demo, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "cap", 3)
    for minutes in range(5):
        make_execution(demo["flow"], minutes_ago=minutes)
    page = admin_client_.get(reverse("admin:flows_execution_changelist")).content.decode()
    assert "more than 3 executions" in page
    monkeypatch.setattr(CappedPaginator, "cap", 10)
    page = admin_client_.get(reverse("admin:flows_execution_changelist")).content.decode()
    assert "5 executions" in page and "more than" not in page


def test_an_execution_id_finds_its_execution(admin_client_, executions):
    first, second = executions
    page = admin_client_.get(reverse("admin:flows_execution_changelist"), {"q": str(second.id)}).content.decode()
    assert str(second.id)[:8] in page and str(first.id)[:8] not in page


def test_connections_are_read_only_in_the_admin(admin_client_, demo):
    connection = demo["connection"]
    url = reverse("admin:connections_connection_change", args=[connection.pk])
    assert 'name="_save"' not in admin_client_.get(url).content.decode()
    assert admin_client_.post(url, {"name": "renamed"}).status_code == 403
    connection.refresh_from_db()
    assert connection.name == "demo-local-files"


def test_the_admin_has_the_favicon_and_only_staff_see_its_link(admin_client_, owner):
    admin_page = admin_client_.get(reverse("admin:index")).content.decode()
    assert "img/favicon.svg" in admin_page and "Sluice administration" in admin_page
    assert f'href="{reverse("admin:index")}"' in admin_client_.get("/").content.decode()
    person = Client()
    person.force_login(owner)  # not staff
    home = person.get("/").content.decode()
    assert "img/favicon.svg" in home and f'href="{reverse("admin:index")}"' not in home
