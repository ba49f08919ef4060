"""The Zendesk source against a local server speaking Zendesk's documented API
(connections/tests/zendesk_server.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connections.connectors.base import ConnectionInfo, ConnectorError, MissingAtSource, Window
from connections.connectors.zendesk import ZendeskConnector
from connections.connectors.zendesk.client import base_url, subdomain_of
from connections.tests import zendesk_server
from connections.tests.zendesk_server import serve

TOKEN = "zd-token"


@pytest.fixture
def account(monkeypatch):
    return serve(monkeypatch, token=TOKEN)


def conn_for(account, token: str = TOKEN, refresh=None) -> ConnectionInfo:
    return ConnectionInfo("zd", "Zendesk", "", {"subdomain": "acme", "clientId": "sluice", "baseUrl": account.base},
                          {"clientSecret": "s", "accessToken": token}, refresh=refresh)


def read(account, entity, fields=None, filters=(), window=None, conn=None):
    batches = list(ZendeskConnector().read(conn or conn_for(account), entity, fields, list(filters), window or Window(), {}))
    return batches, [row for b in batches for row in b.table.to_pylist()]


def api_calls(account, prefix: str) -> list[str]:
    return [r for r in account.requests if r.startswith(prefix)]


def test_oauth_endpoints_follow_the_subdomain():
    auth, token = ZendeskConnector.oauth_endpoints({"subdomain": "acme"})
    assert auth == "https://acme.zendesk.com/oauth/authorizations/new"
    assert token == "https://acme.zendesk.com/oauth/tokens"
    assert subdomain_of({"subdomain": "https://Acme.zendesk.com/"}) == "acme"
    assert base_url({"subdomain": "acme", "baseUrl": "http://127.0.0.1:9/"}) == "http://127.0.0.1:9/"


@pytest.mark.parametrize("bad", ["", "acme corp", "evil.com/x", "a_b"])
def test_a_wrong_subdomain_is_named(bad):
    with pytest.raises(ConnectorError, match="subdomain"):
        ZendeskConnector.oauth_endpoints({"subdomain": bad})


def test_an_account_that_does_not_exist_is_named(monkeypatch):
    conn = ConnectionInfo("zd", "Zendesk", "", {"subdomain": "no-such-account-sluice-test"},
                          {"accessToken": "t"})
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: (_ for _ in ()).throw(
        __import__("socket").gaierror(-2, "Name or service not known")))
    with pytest.raises(ConnectorError, match="no Zendesk account at no-such-account-sluice-test.zendesk.com"):
        ZendeskConnector().test(conn)


def test_the_base_url_override_is_ssrf_guarded(account, monkeypatch):
    monkeypatch.delenv("SLUICE_NET_ALLOW")
    with pytest.raises(ConnectorError, match="loopback"):
        ZendeskConnector().test(conn_for(account))


def test_full_read_pages_through_cursor_pagination(account):
    batches, rows = read(account, "tickets")
    assert len(rows) == 250 and [r["id"] for r in rows] == list(range(1, 251))
    pages = api_calls(account, "/api/v2/tickets.json")
    assert len(pages) == 3 and "page%5Bsize%5D=100" in pages[0] and "page%5Bafter%5D=200" in pages[2]
    assert len(batches) == 3
    assert rows[0]["tags"] == '["enterprise", "other_tag"]' and rows[0]["via"] == '{"channel": "web"}'


def test_custom_fields_are_discovered_and_typed(account):
    fields = {f.name: f for f in ZendeskConnector().describe_entity(conn_for(account), "tickets")}
    assert fields["custom_field_27642"].data_type == "integer"
    assert fields["custom_field_27648"].data_type == "string"
    assert "custom_field_34" not in fields  # a system field (not removable) is a standard column
    assert fields["id"].primary_key and not fields["id"].nullable
    assert fields["updated_at"].timestamp_for_incremental and fields["created_at"].timestamp_for_incremental
    assert "GREATER_THAN" in fields["updated_at"].filter_operators
    _, rows = read(account, "tickets", ["id", "custom_field_27642", "custom_field_27648"])
    assert rows[0] == {"id": 1, "custom_field_27642": 745, "custom_field_27648": "yes"}

    users = {f.name: f.data_type for f in ZendeskConnector().describe_entity(conn_for(account), "users")}
    assert users["user_field_employee_number"] == "integer" and users["user_field_vip"] == "boolean"
    _, rows = read(account, "users", ["id", "user_field_employee_number", "user_field_vip"])
    assert rows[1] == {"id": 2, "user_field_employee_number": 1002, "user_field_vip": True}


def test_incremental_export_from_the_window_start(account):
    cutoff = account.tickets[199]["updated_at"]
    start = datetime.fromisoformat(cutoff.replace("Z", "+00:00"))
    batches, rows = read(account, "tickets", ["id", "updated_at"],
                         window=Window(start=start, end=start + timedelta(days=30)))
    assert [r["id"] for r in rows] == list(range(200, 251))
    calls = api_calls(account, "/api/v2/incremental/tickets/cursor.json")
    assert calls == [f"/api/v2/incremental/tickets/cursor.json?start_time={int(start.timestamp())}&per_page=1000"]
    assert not api_calls(account, "/api/v2/tickets.json")


def test_incremental_export_follows_after_cursor_to_end_of_stream(account, monkeypatch):
    monkeypatch.setattr("connections.connectors.zendesk.connector.INCREMENTAL_PAGE_SIZE", 100)
    _, rows = read(account, "tickets", ["id"], window=Window(start=datetime(2000, 1, 1, tzinfo=UTC)))
    assert len(rows) == 250
    calls = api_calls(account, "/api/v2/incremental/tickets/cursor.json")
    assert len(calls) == 3 and "cursor=100" in calls[1] and "cursor=200" in calls[2]


def test_greater_than_on_updated_at_is_pushed_down_as_start_time(account):
    value = account.tickets[239]["updated_at"]
    flt = {"field": "updated_at", "operator": "GREATER_THAN", "values": [value], "dataType": "datetime"}
    _, rows = read(account, "tickets", ["id"], filters=[flt])
    assert [r["id"] for r in rows] == list(range(240, 251))  # the engine drops the equal one
    when = int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    assert api_calls(account, "/api/v2/incremental/tickets/cursor.json")[0].startswith(
        f"/api/v2/incremental/tickets/cursor.json?start_time={when}")


def test_organizations_incremental_uses_the_time_based_export(account):
    start = datetime.fromisoformat(account.organizations[1]["updated_at"].replace("Z", "+00:00"))
    _, rows = read(account, "organizations", ["id", "domain_names"], window=Window(start=start))
    assert rows == [{"id": 2, "domain_names": '["example.com", "test.com"]'},
                    {"id": 3, "domain_names": '["example.com", "test.com"]'}]


def test_a_429_is_transient_with_retry_after(account):
    account.fail_next.append((429, {"Retry-After": "93"}))
    with pytest.raises(ConnectorError) as caught:
        read(account, "organizations")
    assert not caught.value.permanent and caught.value.retry_after == 93
    assert "rate limiting" in caught.value.message


def test_a_5xx_is_transient(account):
    account.fail_next.append((503, {}))
    with pytest.raises(ConnectorError) as caught:
        ZendeskConnector().test(conn_for(account))
    assert not caught.value.permanent


def test_a_401_refreshes_once_then_retries(account):
    asked = []

    def refresh(stale):
        asked.append(stale)
        account.tokens.append("fresh")
        return {"accessToken": "fresh"}

    _, rows = read(account, "organizations", conn=conn_for(account, token="expired", refresh=refresh))
    assert len(rows) == 3 and asked == ["expired"]


def test_a_401_without_refresh_says_to_reauthorize(account):
    with pytest.raises(ConnectorError) as caught:
        ZendeskConnector().test(conn_for(account, token="revoked"))
    assert caught.value.permanent and "Re-authorize" in caught.value.message
    assert "revoked" not in caught.value.message


def test_a_403_names_what_is_missing(account):
    account.fail_next.append((403, {}))
    with pytest.raises(ConnectorError) as caught:
        read(account, "users")
    assert caught.value.permanent and "agent or admin" in caught.value.message


def test_unicode_and_nulls(account):
    account.tickets = [zendesk_server.ticket(1, 1_700_000_000, subject="Ünïcødé — 日本語 🎫", assignee_id=None,
                                             custom_fields=[{"id": 27642, "value": None}])]
    _, rows = read(account, "tickets", ["subject", "assignee_id", "due_at", "custom_field_27642", "custom_field_27648"])
    assert rows == [{"subject": "Ünïcødé — 日本語 🎫", "assignee_id": None, "due_at": None,
                     "custom_field_27642": None, "custom_field_27648": None}]


def test_unknown_object_and_field_are_named(account):
    with pytest.raises(ConnectorError, match='no object "macros"'):
        ZendeskConnector().describe_entity(conn_for(account), "macros")
    account.ticket_fields = [f for f in account.ticket_fields if f["id"] != 27642]
    with pytest.raises(MissingAtSource, match="no field custom_field_27642"):
        read(account, "tickets", ["id", "custom_field_27642"])


def test_source_properties_are_checked():
    assert ZendeskConnector.check_source_properties({"object": "tickets"}) == []
    problems = dict(ZendeskConnector.check_source_properties({"object": "macros", "x": 1}))
    assert "macros" in problems["object"] and "x" in problems


def test_next_page_on_another_host_is_refused(account):
    real = account.cursor_page

    def elsewhere(name, query):
        body = real(name, query)
        if body["links"]["next"]:
            body["links"]["next"] = "https://evil.example/api/v2/tickets.json?page[after]=100"
        return body

    account.cursor_page = elsewhere
    with pytest.raises(ConnectorError, match="another host"):
        read(account, "tickets")



def test_a_window_on_created_at_also_starts_the_export_there_and_others_read_everything(account):
    start = datetime.fromisoformat(account.tickets[244]["created_at"].replace("Z", "+00:00"))
    _, rows = read(account, "tickets", ["id"], window=Window(start=start, field="created_at"))
    # everything updated since: a superset the engine narrows to the window
    ids = [r["id"] for r in rows]
    assert set(range(245, 251)) <= set(ids) and 1 not in ids
    assert api_calls(account, "/api/v2/incremental/tickets/cursor.json") == [
        f"/api/v2/incremental/tickets/cursor.json?start_time={int(start.timestamp())}&per_page=1000"]
    _, rows = read(account, "tickets", ["id"], window=Window(start=start, field="due_at"))
    assert len(rows) == 250 and len(api_calls(account, "/api/v2/tickets.json")) == 3


@pytest.mark.django_db
def test_connect_sends_the_browser_to_the_accounts_consent_page(signed_in):
    from urllib.parse import parse_qs, urlsplit

    from django.urls import reverse

    response = signed_in.post(reverse("connections:oauth_start", args=["Zendesk"]), {
        "connection_name": "support", "subdomain": "acme", "clientId": "sluice_zendesk",
        "clientSecret": "s3cret", "connection_mode": "Public",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://acme.zendesk.com/oauth/authorizations/new"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["client_id"] == "sluice_zendesk" and query["scope"] == "read write"
    assert query["redirect_uri"].endswith("/connections/oauth/Zendesk/callback/")


def test_a_404_on_the_connection_test_names_the_account(account):
    account.fail_next.append((404, {}))
    with pytest.raises(ConnectorError, match="no Zendesk account at 127.0.0.1") as caught:
        ZendeskConnector().test(conn_for(account))
    assert caught.value.permanent


def test_a_redirect_away_says_it_is_not_a_zendesk_account(account):
    account.fail_next.append((302, {"Location": "https://www.zendesk.com/app/help-center-closed/"}))
    with pytest.raises(ConnectorError, match="does not look like a Zendesk account"):
        ZendeskConnector().test(conn_for(account))


def test_satisfaction_ratings_are_read_across_cursor_pages_with_unicode_and_nulls(account):
    _, rows = read(account, "satisfaction_ratings", ["id", "ticket_id", "score", "comment", "reason_id"])
    assert len(rows) == 130 and rows[0] == {"id": 35437, "ticket_id": 209, "score": "good",
                                            "comment": "Awesome support!", "reason_id": None}
    assert rows[2]["comment"] == "Très lent… 😞" and rows[2]["reason_id"] == 1000
    calls = api_calls(account, "/api/v2/satisfaction_ratings.json")
    assert len(calls) == 2 and "page%5Bafter%5D=100" in calls[1]
