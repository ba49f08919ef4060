"""Zendesk as a destination (bulk endpoints and job statuses) and Zendesk's way of taking the OAuth
client's credentials, against the local account (connections/tests/zendesk_server.py)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
import pytest

from connections.connectors import fencing
from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.connectors.zendesk import ZendeskConnector
from connections.connectors.zendesk import writing as zendesk_writing
from connections.oauth import client
from connections.tests.zendesk_server import serve

TOKEN = "zd-token"


@pytest.fixture
def account(monkeypatch):
    monkeypatch.setattr(zendesk_writing, "POLL_SECONDS", (0.01,))
    return serve(monkeypatch, token=TOKEN)


def conn_for(account) -> ConnectionInfo:
    return ConnectionInfo("zd", "Zendesk", "", {"subdomain": "acme", "clientId": "sluice", "baseUrl": account.base},
                          {"clientSecret": "s", "accessToken": TOKEN})


def write(account, entity, rows, **options):
    table = pa.Table.from_pylist(rows)
    return ZendeskConnector().write(conn_for(account), entity, iter([table]),
                                    {"object": entity, "executionId": "e1", **options})


def writes(account) -> list[str]:
    return [r for r in account.requests if r.startswith(("POST", "PUT"))]


def new_ticket(n: int, **extra) -> dict:
    return {"subject": f"Printer {n} on fire", "description": f"Smoke from printer {n}", "priority": "high",
            "tags": '["printer", "fire"]', "custom_field_27642": n, "assignee_id": None, **extra}


def test_insert_tickets_in_chunks_of_100_and_waits_for_each_job(account):
    before = len(account.tickets)
    result = write(account, "tickets", [new_ticket(n) for n in range(1, 251)], writeOperationType="INSERT")
    assert result.records_written == 250 and result.failures == [] and result.bytes_written > 0
    assert writes(account) == ["POST /api/v2/tickets/create_many.json"] * 3
    assert [len(b["tickets"]) for b in account.bodies] == [100, 100, 50]
    polls = [r for r in account.requests if r.startswith("/api/v2/job_statuses/")]
    assert len(polls) == 6  # each job: working, then completed
    sent = account.bodies[0]["tickets"][0]
    assert sent == {"subject": "Printer 1 on fire", "priority": "high", "tags": ["printer", "fire"],
                    "custom_fields": [{"id": 27642, "value": 1}], "comment": {"body": "Smoke from printer 1"}}
    assert len(account.tickets) == before + 250 and account.tickets[-1]["subject"] == "Printer 250 on fire"


def test_per_record_errors_become_record_failures_when_the_flow_says_go_on(account):
    rows = [{"name": "Ünïcødé Åsa 日本", "email": "asa@example.com", "external_id": "u-1"},
            {"name": "Bad Email", "email": "not-an-address", "external_id": "u-2"},
            {"name": None, "email": "nameless@example.com", "external_id": "u-3"}]
    result = write(account, "users", rows, writeOperationType="INSERT",
                   errorHandlingConfig={"failOnFirstDestinationError": False})
    assert result.records_written == 1
    assert [(f.where, f.reason) for f in result.failures] == [
        ("record 2", "Zendesk refused it: RecordInvalid: Email: not-an-address is not properly formatted"),
        ("record 3", "Zendesk refused it: RecordInvalid: Name: is too short (minimum one character)")]
    assert result.failures[0].record == rows[1]
    assert account.users[-1]["name"] == "Ünïcødé Åsa 日本"
    assert "name" not in account.bodies[0]["users"][2]  # a null is not sent


def test_the_first_refused_record_stops_the_run_by_default_and_says_what_stays(account):
    rows = [new_ticket(n) for n in range(1, 151)]
    rows[120]["priority"] = "whenever"
    with pytest.raises(ConnectorError) as caught:
        write(account, "tickets", rows, writeOperationType="INSERT")
    message = caught.value.message
    assert message.startswith("record 121: Zendesk refused it: RecordInvalid: Priority: whenever is not a valid")
    assert "149 records Zendesk accepted before it stay written" in message
    assert caught.value.records_committed == 149  # the run's written counter says so too
    assert len(writes(account)) == 2


def test_a_record_checked_here_fails_before_anything_is_sent(account):
    with pytest.raises(ConnectorError, match="record 2: has no id, which UPDATE needs.*Nothing was written"):
        write(account, "tickets", [{"id": 1, "status": "solved"}, {"id": None, "status": "solved"}],
              writeOperationType="UPDATE", idFieldNames=["id"])
    assert writes(account) == []


def test_update_by_id_reports_a_ticket_that_does_not_exist(account):
    result = write(account, "tickets", [{"id": 3, "status": "solved", "comment": "Fixed"},
                                        {"id": 99999, "status": "solved", "comment": "Fixed"}],
                   writeOperationType="UPDATE", idFieldNames=["id"],
                   errorHandlingConfig={"failOnFirstDestinationError": False})
    assert writes(account) == ["PUT /api/v2/tickets/update_many.json"]
    assert account.bodies[0]["tickets"][0] == {"id": 3, "status": "solved", "comment": {"body": "Fixed"}}
    assert result.records_written == 1 and account.tickets[2]["status"] == "solved"
    assert [(f.where, f.reason) for f in result.failures] == [
        ("record 2", "Zendesk refused it: RecordNotFound: Ticket not found")]


def test_upsert_users_by_external_id(account):
    account.users[0]["external_id"] = "emp-1"
    result = write(account, "users", [{"id": 424242, "external_id": "emp-1", "name": "Renamed", "user_field_vip": True},
                                      {"external_id": "emp-900", "name": "New Person", "email": "new@example.com"}],
                   writeOperationType="UPSERT", idFieldNames=["external_id"])
    assert result.records_written == 2
    assert writes(account) == ["POST /api/v2/users/create_or_update_many.json"]
    assert account.bodies[0]["users"][0] == {"external_id": "emp-1", "name": "Renamed", "user_fields": {"vip": True}}
    assert account.users[0]["name"] == "Renamed" and account.users[-1]["external_id"] == "emp-900"


def test_a_429_on_a_bulk_write_is_waited_out(account):
    account.fail_next.append((429, {"Retry-After": "1"}))
    started = time.monotonic()
    result = write(account, "organizations", [{"name": "Globex", "domain_names": "globex.com, globex.io"}],
                   writeOperationType="INSERT")
    assert result.records_written == 1 and time.monotonic() - started >= 1
    assert writes(account) == ["POST /api/v2/organizations/create_many.json"] * 2
    assert account.organizations[-1]["domain_names"] == ["globex.com", "globex.io"]


def test_a_long_retry_after_fails_the_write_as_transient(account):
    account.fail_next.append((429, {"Retry-After": "3600"}))
    with pytest.raises(ConnectorError) as caught:
        write(account, "organizations", [{"name": "Globex"}], writeOperationType="INSERT")
    assert not caught.value.permanent and caught.value.retry_after == 3600


def test_a_failing_source_sends_nothing(account):
    def batches():
        yield pa.Table.from_pylist([new_ticket(1)])
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError):
        ZendeskConnector().write(conn_for(account), "tickets", batches(), {"object": "tickets"})
    assert writes(account) == []


@pytest.mark.parametrize("props, where, text", [
    ({"object": "tickets", "writeOperationType": "UPSERT", "idFieldNames": ["external_id"]}, "writeOperationType",
     "no bulk upsert for tickets"),
    ({"object": "users", "writeOperationType": "UPSERT", "idFieldNames": ["id"]}, "idFieldNames",
     "one of email, external_id"),
    ({"object": "tickets", "writeOperationType": "UPDATE"}, "idFieldNames", "one of id"),
    ({"object": "macros"}, "object", '"macros" is not an object'),
    ({"object": "users", "writeOperationType": "DELETE"}, "writeOperationType", "one of INSERT"),
])
def test_destination_properties_are_checked(props, where, text):
    problems = dict(ZendeskConnector.check_destination_properties(props))
    assert text in problems[where]


def test_good_destination_properties():
    assert ZendeskConnector.check_destination_properties(
        {"object": "users", "writeOperationType": "UPSERT", "idFieldNames": ["email"],
         "errorHandlingConfig": {"failOnFirstDestinationError": False}}) == []


# --- OAuth: Zendesk wants the client id and secret in the token request's body ------------------

def test_zendesk_takes_the_client_credentials_in_the_body(account):
    assert ZendeskConnector.oauth_client_auth == "client_secret_post"
    _, token_url = ZendeskConnector.oauth_endpoints({"subdomain": "acme", "baseUrl": account.base})
    account.codes.add("code-1")
    tokens = client.exchange_code(token_url, code="code-1", verifier="v" * 43, redirect_uri="https://s/cb",
                                  client_id="sluice", client_secret="zd-client-secret",
                                  client_auth=ZendeskConnector.oauth_client_auth)
    request = account.token_requests[-1]
    assert not request["basic"] and request["form"]["client_secret"] == "zd-client-secret"
    assert request["form"]["grant_type"] == "authorization_code" and request["form"]["code_verifier"] == "v" * 43
    fresh = client.refresh(token_url, refresh_token=tokens["refreshToken"], client_id="sluice",
                           client_secret="zd-client-secret", client_auth="client_secret_post")
    assert fresh["accessToken"] in account.tokens and fresh["expiresAt"] > time.time() + 3600


def test_http_basic_alone_is_refused_by_zendesk(account):
    account.codes.add("code-2")
    with pytest.raises(client.OAuthError) as caught:
        client.exchange_code(account.base + "oauth/tokens", code="code-2", verifier="v" * 43,
                             redirect_uri="https://s/cb", client_id="sluice", client_secret="zd-client-secret")
    assert caught.value.error == "invalid_client" and account.token_requests[-1]["basic"]


@pytest.mark.django_db
def test_connect_and_refresh_go_through_the_hook(signed_in, account):
    from django.urls import reverse

    from connections.models import Connection
    from connections.oauth import tokens

    response = signed_in.post(reverse("connections:oauth_start", args=["Zendesk"]), {
        "connection_name": "support", "subdomain": "acme", "clientId": "sluice", "clientSecret": "zd-client-secret",
        "baseUrl": account.base, "connection_mode": "Public"})
    assert response.status_code == 302, response.content.decode()[:2000]
    query = {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
    assert query["scope"] == "read write"
    account.codes.add("consent-code")
    response = signed_in.get(reverse("connections:oauth_callback", args=["Zendesk"]),
                             {"state": query["state"], "code": "consent-code"})
    assert response.status_code == 302
    connection = Connection.objects.get(name="support")
    assert connection.credentials["accessToken"] in account.tokens
    assert [r["basic"] for r in account.token_requests] == [False]

    credentials = connection.credentials | {"expiresAt": int(time.time()) - 1}
    connection.credentials = credentials
    connection.save()
    info = tokens.runtime_info(connection)
    assert info.credentials["accessToken"] != credentials["accessToken"]
    assert [r["form"]["grant_type"] for r in account.token_requests] == ["authorization_code", "refresh_token"]
    assert not account.token_requests[-1]["basic"]


def test_a_401_on_a_write_refreshes_once_then_sends_again(account):
    asked = []

    def refresh(stale):
        asked.append(stale)
        account.tokens.append("fresh")
        return {"accessToken": "fresh"}

    conn = ConnectionInfo("zd", "Zendesk", "", {"subdomain": "acme", "baseUrl": account.base},
                          {"accessToken": "expired"}, refresh=refresh)
    result = ZendeskConnector().write(conn, "organizations", iter([pa.Table.from_pylist([{"name": "Initech"}])]),
                                      {"object": "organizations"})
    assert result.records_written == 1 and asked == ["expired"]
    assert writes(account) == ["POST /api/v2/organizations/create_many.json"] * 2


def test_a_transient_failure_after_some_writes_is_not_retried_automatically(account):
    real = account.bulk

    def busy_on_the_second_call(name, action, records):
        if len(account.bodies) == 2:
            return 503, {"error": "ServiceUnavailable", "description": "Maintenance"}
        return real(name, action, records)

    account.bulk = busy_on_the_second_call
    with pytest.raises(ConnectorError) as caught:
        write(account, "tickets", [new_ticket(n) for n in range(1, 151)], writeOperationType="INSERT")
    assert caught.value.permanent
    assert "100 records were written to Zendesk before this; the run is not retried" in caught.value.message
    assert caught.value.records_committed == 100 and caught.value.bytes_committed > 0
    assert len(writes(account)) == 2  # a 5xx on a write is not repeated


def test_a_run_that_lost_its_lease_sends_no_more_calls(account):
    answers = iter([True, False])  # the lease is lost after the first call
    with pytest.raises(fencing.LeaseLost), fencing.held(1, lambda: next(answers)):
        write(account, "tickets", [new_ticket(n) for n in range(1, 151)], writeOperationType="INSERT")
    assert len(writes(account)) == 1
