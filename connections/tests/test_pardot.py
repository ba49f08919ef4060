"""Pardot (Account Engagement) API v5 against the local server (connections/tests/pardot_server.py):
explicit fields, nextPageToken paging, the incremental window pushed down, a 401 mid-run that
forces exactly one refresh, the concurrent (66) and daily (122) quota answers, a malformed page,
and the business unit header."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from connections.connectors.base import ConnectionInfo, ConnectorError, MissingAtSource, Window
from connections.connectors.pardot import PardotConnector, client, connector
from connections.oauth import client as oauth
from connections.tests.pardot_server import BUSINESS_UNIT, CLIENT_ID, CLIENT_SECRET, EST, START, serve


def connection(fake, token="pardot-token", **properties) -> ConnectionInfo:
    def refresh(stale):
        return oauth.refresh(f"{fake.base}/services/oauth2/token", refresh_token="pardot-refresh",
                             client_id=CLIENT_ID, client_secret=CLIENT_SECRET, client_auth="client_secret_post")

    props = {"businessUnitId": BUSINESS_UNIT, "clientId": CLIENT_ID, "instanceUrl": fake.base, **properties}
    return ConnectionInfo("pardot", "Pardot", "", props, {"clientSecret": CLIENT_SECRET, "accessToken": token},
                          refresh=refresh)


def rows(conn, entity="prospects", fields=None, window=None):
    window = window or Window()
    batches = list(PardotConnector().read(conn, entity, fields, [], window, {}))
    return batches, [r for b in batches for r in b.table.to_pylist()]


@pytest.fixture
def no_waiting(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(client, "pause", waits.append)
    return waits


def test_pages_follow_next_page_token_with_explicit_fields(monkeypatch):
    fake = serve(monkeypatch)
    batches, records = rows(connection(fake), fields=["id", "firstName", "lastName", "company"])
    assert len(batches) == 3 and len(records) == 2500
    assert [r["id"] for r in records] == list(range(1, 2501))
    assert records[0] == {"id": 1, "firstName": "Zoë", "lastName": "日本", "company": "Co 1"}
    assert records[6]["company"] is None  # a null stays a null
    first, *later = fake.requests
    assert first == {"object": "prospects", "fields": "id,firstName,lastName,company", "limit": "1000"}
    assert all(set(r) == {"object", "nextPageToken"} for r in later)  # the token stands for the query


def test_every_field_is_typed_and_dates_stay_as_pardot_sent_them(monkeypatch):
    fake = serve(monkeypatch, prospects=3)
    _, records = rows(connection(fake))
    assert records[0]["updatedAt"] == "2026-01-01T10:00:00-05:00"
    assert records[0]["score"] == 1 and records[0]["optedOut"] is False
    assert set(records[0]) == {f.name for f in PardotConnector().describe_entity(connection(fake), "prospects")}


def test_the_window_is_pushed_down_and_its_end_is_exclusive(monkeypatch):
    fake = serve(monkeypatch)
    start, end = START + timedelta(hours=100), START + timedelta(hours=200)
    _, records = rows(connection(fake), fields=["id"], window=Window(start, end))
    # prospect n is updated at START + n hours: 100..199 are in [start, end)
    assert [r["id"] for r in records] == list(range(100, 200))
    assert list(records[0]) == ["id"]  # updatedAt was asked for the window, then dropped
    assert fake.requests[0]["fields"] == "id,updatedAt"
    assert fake.requests[0]["updatedAtAfterOrEqualTo"] == "2026-01-05T18:00:00+00:00"
    assert fake.requests[0]["updatedAtBeforeOrEqualTo"] == "2026-01-09T22:00:00+00:00"


def test_emails_are_windowed_on_sent_at_here(monkeypatch):
    fake = serve(monkeypatch)
    start = datetime(2026, 1, 3, 9, tzinfo=EST)
    _, records = rows(connection(fake), "emails", ["id", "subject"], Window(start, start + timedelta(days=2)))
    assert [r["id"] for r in records] == [2, 3] and records[0]["subject"] == "Ça va ?"
    assert "sentAtAfterOrEqualTo" not in fake.requests[0]


def test_a_401_in_the_middle_of_a_run_refreshes_once_and_carries_on(monkeypatch):
    fake = serve(monkeypatch)
    fake.revoke_after = 1  # the second page finds the token expired
    _, records = rows(connection(fake), fields=["id"])
    assert len(records) == 2500
    assert [c["grant_type"] for c in fake.token_calls] == ["refresh_token"]
    assert len(fake.requests) == 4  # page 1, the refused page 2, page 2 again, page 3


def test_a_refused_fresh_token_asks_to_re_authorize(monkeypatch):
    fake = serve(monkeypatch)
    conn = connection(fake, token="stale")
    monkeypatch.setattr(fake, "tokens", set())
    fake.token = lambda form: (200, {"access_token": "still-bad", "token_type": "Bearer"})
    with pytest.raises(ConnectorError, match="Re-authorize"):
        rows(conn)
    assert len(fake.requests) == 2  # one refresh, not a loop


def test_too_many_concurrent_requests_is_waited_out(monkeypatch, no_waiting):
    fake = serve(monkeypatch)
    fake.busy = [2, 3]
    _, records = rows(connection(fake), fields=["id"])
    assert len(records) == 2500 and len(no_waiting) == 2
    assert len(fake.requests) == 5


def test_the_daily_quota_fails_the_run_at_once_without_retrying(monkeypatch, no_waiting):
    fake = serve(monkeypatch)
    fake.daily_limit_at = 2
    with pytest.raises(ConnectorError) as caught:
        rows(connection(fake), fields=["id"])
    assert "daily API request quota" in caught.value.message and "error 122" in caught.value.message
    assert "prospects page 2" in caught.value.message and "midnight" in caught.value.message
    assert caught.value.permanent and no_waiting == [] and len(fake.requests) == 2


def test_a_malformed_page_fails_naming_pardot_and_the_page(monkeypatch):
    fake = serve(monkeypatch)
    fake.malformed_page = 2
    with pytest.raises(ConnectorError, match="Pardot answered prospects page 2 without a list of records"):
        rows(connection(fake), fields=["id"])


def test_the_business_unit_header_is_sent_and_a_wrong_one_is_named(monkeypatch):
    fake = serve(monkeypatch)
    PardotConnector().test(connection(fake))
    with pytest.raises(ConnectorError, match="business unit 0Uv5e0000008XXXXXX.*businessUnitId"):
        PardotConnector().test(connection(fake, businessUnitId="0Uv5e0000008XXXXXX"))
    before = len(fake.requests)
    with pytest.raises(ConnectorError, match="businessUnitId: \"OUV123\" is not a Pardot Business Unit ID"):
        PardotConnector().test(connection(fake, businessUnitId="OUV123"))
    assert len(fake.requests) == before  # refused before any call


def test_an_unauthorized_connection_says_so():
    conn = ConnectionInfo("p", "Pardot", "", {"businessUnitId": BUSINESS_UNIT}, {})
    with pytest.raises(ConnectorError, match="not authorized yet.*Salesforce's login page"):
        PardotConnector().test(conn)


def test_sandbox_and_production_hosts():
    assert client.api_url({"isSandboxEnvironment": True}) == "https://pi.demo.pardot.com"
    assert client.api_url({}) == "https://pi.pardot.com"
    # an AppFlow profile's instanceUrl may be the org's Salesforce address: Pardot's API is not there
    assert client.api_url({"instanceUrl": "https://acme.my.salesforce.com"}) == "https://pi.pardot.com"
    assert client.api_url({"instanceUrl": "https://pardot-proxy.example.com/"}) == "https://pardot-proxy.example.com"
    assert PardotConnector.oauth_endpoints({"isSandboxEnvironment": True})[1] == (
        "https://test.salesforce.com/services/oauth2/token")
    assert PardotConnector.oauth_endpoints({"isSandboxEnvironment": False})[0] == (
        "https://login.salesforce.com/services/oauth2/authorize")


def test_source_properties_name_the_objects():
    assert PardotConnector.check_source_properties({"object": "prospects"}) == []
    [(key, message)] = PardotConnector.check_source_properties({"object": "leads"})
    assert key == "object" and '"leads" is not a Pardot object' in message and "visitor-activities" in message
    assert PardotConnector.check_source_properties({"object": "users", "x": 1})[0][0] == "x"


def test_a_field_gone_from_the_catalog_is_missing_at_source(monkeypatch):
    fake = serve(monkeypatch)
    with pytest.raises(MissingAtSource, match="no field nickname"):
        rows(connection(fake), fields=["id", "nickname"])
    assert connector.PAGE_SIZE == 1000
