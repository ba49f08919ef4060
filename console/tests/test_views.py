"""Home, login/logout, health, and the filters the pages use."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.urls import reverse

from console.templatetags.sluice import connector_name, duration, human_bytes, status_class
from console.tests.pages import PASSWORD, every_page, make_execution

pytestmark = pytest.mark.django_db


def test_every_page_but_health_needs_login(client, demo):
    execution = make_execution(demo["flow"])
    for url in every_page(demo["flow"], execution, demo["connection"]):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url


def test_the_action_urls_need_login_too(client, demo):
    flow = demo["flow"]
    execution = make_execution(flow, status="InProgress")
    for url in (
        reverse("flows:run", args=[flow.name]),
        reverse("flows:execution", args=[flow.name, execution.id]) + "cancel/",
        reverse("flows:delete", args=[flow.name]),
        reverse("flows:import"),
    ):
        response = client.post(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url
    assert flow.executions.count() == 1


def test_health_is_public_and_checks_the_database(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert client.head(reverse("health")).status_code == 200  # load balancers often probe with HEAD


def test_health_answers_503_when_the_database_is_down(client, monkeypatch):
    from django.db import connection

    def broken():
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(connection, "cursor", broken)
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert "could not connect" not in response.content.decode()


def test_login_through_the_form_then_logout_with_a_post(client, owner):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b'name="username"' in page.content

    response = client.post(reverse("login"), {"username": "owner", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200

    assert client.get(reverse("logout")).status_code == 405  # a link cannot sign anyone out
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_a_wrong_password_says_so(client, owner):
    response = client.post(reverse("login"), {"username": "owner", "password": "nope"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content


def test_home_has_clear_empty_states(signed_in):
    response = signed_in.get(reverse("home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "No flow has run yet" in html
    assert "No flows yet" in html
    assert "No connections yet" in html


def test_home_lists_connections_flows_and_the_ten_newest_executions(signed_in, demo):
    flow = demo["flow"]
    executions = [make_execution(flow, minutes_ago=i, records_processed=500) for i in range(12)]
    response = signed_in.get(reverse("home"))
    html = response.content.decode()
    assert demo["connection"].name in html
    assert flow.name in html
    assert "Local files" in html or "LocalFiles" in html
    for execution in executions[:10]:
        assert reverse("flows:execution", args=[flow.name, execution.id]) in html
    for execution in executions[10:]:
        assert reverse("flows:execution", args=[flow.name, execution.id]) not in html
    assert "badge-ok" in html


def test_home_does_a_fixed_number_of_queries(signed_in, demo, django_assert_max_num_queries):
    from console.tests.pages import flow_document
    from flows import services

    for i in range(6):
        other = services.create_flow(flow_document(f"flow-{i}"))
        for minutes in range(3):
            make_execution(other, minutes_ago=minutes)
    with django_assert_max_num_queries(12):  # four of them the dashboard's (console/tests/test_dashboard.py)
        assert signed_in.get(reverse("home")).status_code == 200


def test_the_layout_loads_htmx_from_our_own_static_files(signed_in):
    html = signed_in.get(reverse("home")).content.decode()
    assert "django_htmx/htmx-2" in html
    assert "/static/css/sluice.css" in html
    assert 'hx-headers=\'{"X-CSRFToken"' in html
    assert "http://" not in html and "https://" not in html  # no CDN, no web fonts


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (5 * 1024**2, "5.0 MiB"), (None, "")],
)
def test_human_bytes(size, text):
    assert human_bytes(size) == text


def test_duration():
    assert duration(None) == ""
    assert duration(timedelta(seconds=0.4213)) == "0.42 s"
    assert duration(timedelta(seconds=42.25)) == "42.2 s"
    assert duration(timedelta(seconds=185)) == "3 min 5 s"
    assert duration(timedelta(hours=2, minutes=4)) == "2 h 4 min"


def test_status_badges_have_a_colour_per_status():
    assert status_class("InProgress") == "badge-running"
    assert status_class("Successful") == "badge-ok"
    assert status_class("Error") == "badge-error"
    assert status_class("CancelStarted") == status_class("Canceled") == "badge-muted"


def test_connector_name_falls_back_for_unknown_connectors():
    assert connector_name("Salesforce", "") == "Salesforce"
    assert connector_name("CustomConnector", "NotInstalled") == "NotInstalled"


def test_unknown_pages_get_a_calm_404(signed_in):
    response = signed_in.get("/flows/no-such-flow/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


def test_an_oversized_post_gets_a_calm_400(signed_in, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = signed_in.post(reverse("flows:import"), {"document": "x" * 2000})
    assert response.status_code == 400
    assert "at most 1 MB" in response.content.decode()
