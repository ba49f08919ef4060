"""The Slack connector against a local server speaking Slack's Web API (slack_server.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from connections.connectors.base import ConnectionInfo, ConnectorError, Window
from connections.connectors.slack import SlackConnector
from connections.connectors.slack import connector as slack_module
from connections.oauth import client
from connections.tests import slack_server
from connections.tests.slack_server import FIRST_TS, HISTORY_CHANNEL

TOKEN = "xoxp-test-token"
MESSAGES = f"conversations/{HISTORY_CHANNEL}"


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(slack_module, "PAGE_SIZE", 4)


def connection(base: str, token: str = TOKEN, refresh=None) -> ConnectionInfo:
    return ConnectionInfo("slack", "Slack", "", {"instanceUrl": base, "clientId": "cid"},
                          {"clientSecret": "s", "accessToken": token}, refresh=refresh)


def read_all(conn: ConnectionInfo, entity: str, fields=None, window: Window | None = None) -> pa.Table:
    batches = list(SlackConnector().read(conn, entity, fields, [], window or Window(), {"object": entity}))
    return pa.concat_tables([b.table for b in batches])


def test_declares_slack_oauth_v2_with_the_user_scopes_of_the_seeds():
    assert SlackConnector.oauth_endpoints({}) == ("https://slack.com/oauth/v2/authorize",
                                                  "https://slack.com/api/oauth.v2.access")
    assert SlackConnector.oauth_endpoints({"instanceUrl": "http://127.0.0.1:9/"})[1] == \
        "http://127.0.0.1:9/api/oauth.v2.access"
    assert set(SlackConnector.oauth_scopes) == {
        "channels:history", "channels:read", "groups:history", "groups:read",
        "im:history", "im:read", "mpim:history", "mpim:read"}
    assert SlackConnector.auth_kind == "oauth2" and SlackConnector.can_be_source
    assert not SlackConnector.can_be_destination


def test_source_properties_are_checked():
    check = SlackConnector.check_source_properties
    assert check({"object": "conversations/C012AB3CD"}) == []
    assert check({"object": "users"}) == []
    assert check({}) == [("object", "is required (conversations, users or conversations/<channel id>)")]
    assert check({"object": "channels"})[0][0] == "object"
    assert check({"object": "users", "extra": 1}) == [("extra", "is not a property of a Slack source (only object)")]


def test_lists_entities_and_the_channels_under_conversations(monkeypatch, small_pages):
    slack = slack_server.serve(monkeypatch, channels=9)
    conn = connection(slack.base)
    top = SlackConnector().list_entities(conn)
    assert [(e.name, e.has_children) for e in top] == [("conversations", True), ("users", False)]
    channels = SlackConnector().list_entities(conn, "conversations")
    assert [e.name for e in channels][:2] == ["conversations/C012AB3CD", "conversations/C061EG9T2"]
    assert len(channels) == 9 and channels[0].label == "#general"
    # public and private channels, archived ones too, three pages
    lists = [q for m, q in slack.calls if m == "conversations.list"]
    assert len(lists) == 3
    assert all(q["types"] == "public_channel,private_channel" and q["limit"] == "4" for q in lists)


def test_describe_gives_types_and_ts_for_incremental():
    fields = {f.name: f for f in SlackConnector().describe_entity(ConnectionInfo("x", "Slack"), MESSAGES)}
    assert fields["ts"].data_type == "datetime" and fields["ts"].timestamp_for_incremental
    assert fields["ts"].primary_key and fields["reply_count"].data_type == "integer"
    users = {f.name: f for f in SlackConnector().describe_entity(ConnectionInfo("x", "Slack"), "users")}
    assert users["id"].primary_key and users["deleted"].data_type == "boolean"
    assert users["updated"].timestamp_for_incremental
    with pytest.raises(ConnectorError, match='no object "files"'):
        SlackConnector().describe_entity(ConnectionInfo("x", "Slack"), "files")


def test_reads_messages_across_several_pages(monkeypatch, small_pages):
    slack = slack_server.serve(monkeypatch, messages=25)
    conn = connection(slack.base)
    batches = list(SlackConnector().read(conn, MESSAGES, None, [], Window(), {"object": MESSAGES}))
    assert len(batches) == 7  # 25 messages, 4 a page
    table = pa.concat_tables([b.table for b in batches])
    assert table.num_rows == 25 and len(set(table.column("message_ts").to_pylist())) == 25
    assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    first = [r for r in table.to_pylist() if r["message_ts"] == "1512085950.000216"][0]
    assert first["ts"] == datetime(2017, 11, 30, 23, 52, 30, 216, tzinfo=UTC)
    assert first["text"] == "I find you punny and would like to smell your nose letter"
    assert first["channel"] == HISTORY_CHANNEL and first["subtype"] is None and first["reactions"] is None
    cursors = [q.get("cursor") for m, q in slack.calls if m == "conversations.history"]
    assert cursors[0] is None and all(cursors[1:]) and len(cursors) == 7


def test_the_incremental_window_reaches_slack_as_oldest_and_latest(monkeypatch, small_pages):
    slack = slack_server.serve(monkeypatch, messages=25)
    conn = connection(slack.base)
    # generated message i is at FIRST_TS + 60 i + i µs: i = 3 .. 9 are inside; i = 10 sits exactly on
    # the end, which Slack sends (inclusive) and the connector leaves out (the end is exclusive)
    start = datetime.fromtimestamp(FIRST_TS + 180, UTC)
    end = datetime.fromtimestamp(FIRST_TS + 600.000010, UTC)
    table = read_all(conn, MESSAGES, ["message_ts", "text"], Window(start, end, "ts"))
    assert sorted(table.column("text").to_pylist()) == [f"message {i}" for i in range(3, 10)]
    assert table.column_names == ["message_ts", "text"]
    history = [q for m, q in slack.calls if m == "conversations.history"]
    assert history[0]["oldest"] == f"{FIRST_TS + 180}.000000"
    assert history[0]["latest"] == f"{FIRST_TS + 600}.000010"
    assert history[0]["inclusive"] == "true"
    assert len(history) == 2  # Slack sent only the window: 8 messages, 2 pages


def test_the_window_start_alone_and_the_default_field(monkeypatch):
    slack = slack_server.serve(monkeypatch, messages=25)
    start = datetime.fromtimestamp(FIRST_TS + 60 * 20, UTC)
    table = read_all(connection(slack.base), MESSAGES, ["text"], Window(start=start))
    assert sorted(table.column("text").to_pylist()) == [f"message {i}" for i in range(20, 23)]
    query = [q for m, q in slack.calls if m == "conversations.history"][0]
    assert "latest" not in query and query["oldest"] == f"{FIRST_TS + 1200}.000000"


def test_a_window_on_users_is_kept_here(monkeypatch):
    slack = slack_server.serve(monkeypatch, users=7)
    table = read_all(connection(slack.base), "users", ["id"],
                     Window(datetime(2017, 1, 1, tzinfo=UTC), None, "updated"))
    assert table.column("id").to_pylist() == ["W012A3CDE"] + [f"U0GEN{i:04d}" for i in range(5)]
    with pytest.raises(ConnectorError, match='"name" is not a time field of Slack users'):
        read_all(connection(slack.base), "users", None, Window(datetime(2017, 1, 1, tzinfo=UTC), None, "name"))


def test_users_with_unicode_and_nulls(monkeypatch, small_pages):
    slack = slack_server.serve(monkeypatch, users=7)
    slack.users.append({"id": "U0UNICODE", "name": "zoë", "real_name": "Zoë Ørsted 山田 🚀", "deleted": None,
                        "profile": {"display_name": None, "email": None}, "updated": None, "tz": None})
    table = read_all(connection(slack.base), "users")
    rows = {r["id"]: r for r in table.to_pylist()}
    assert len(rows) == 8
    assert rows["U0UNICODE"]["real_name"] == "Zoë Ørsted 山田 🚀"
    assert rows["U0UNICODE"]["deleted"] is None and rows["U0UNICODE"]["updated"] is None
    assert rows["U0UNICODE"]["email"] is None and rows["U0UNICODE"]["team_id"] is None
    assert rows["W07QCRPA4"]["display_name"] == "Glinda the Fairly Good"
    assert rows["W012A3CDE"]["email"] == "spengler@ghostbusters.example.com"
    assert rows["W012A3CDE"]["updated"] == datetime.fromtimestamp(1502138686, UTC)


def test_conversations_read(monkeypatch):
    slack = slack_server.serve(monkeypatch, channels=3)
    rows = read_all(connection(slack.base), "conversations").to_pylist()
    assert [r["name"] for r in rows] == ["general", "random", "private-0"]
    assert rows[0]["topic"] == "Company-wide announcements and work-based matters"
    assert rows[2]["is_private"] is True and rows[2]["is_archived"] is True
    assert rows[0]["created"] == datetime.fromtimestamp(1449252889, UTC)


def test_unknown_field_is_named(monkeypatch):
    slack = slack_server.serve(monkeypatch)
    with pytest.raises(ConnectorError, match="have no field colour"):
        read_all(connection(slack.base), "users", ["id", "colour"])


def test_a_429_with_retry_after_is_transient(monkeypatch):
    slack = slack_server.serve(monkeypatch)
    slack.queued.append((429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}))
    with pytest.raises(ConnectorError) as caught:
        read_all(connection(slack.base), MESSAGES)
    assert not caught.value.permanent and caught.value.retry_after == 30
    assert "rate limiting" in caught.value.message and "30 s" in caught.value.message


def test_ok_false_ratelimited_and_5xx_are_transient(monkeypatch):
    slack = slack_server.serve(monkeypatch)
    slack.queued.append((200, {"ok": False, "error": "ratelimited"}, {"Retry-After": "3"}))
    with pytest.raises(ConnectorError) as caught:
        read_all(connection(slack.base), "users")
    assert not caught.value.permanent and caught.value.retry_after == 3
    slack.queued.append((503, {"ok": False, "error": "service_unavailable"}, {}))
    with pytest.raises(ConnectorError) as caught:
        read_all(connection(slack.base), "users")
    assert not caught.value.permanent


def test_a_rate_limit_on_a_later_page_stops_the_read_as_transient(monkeypatch, small_pages):
    slack = slack_server.serve(monkeypatch, messages=10)
    reader = SlackConnector().read(connection(slack.base), MESSAGES, None, [], Window(), {})
    assert next(reader).table.num_rows == 4
    slack.queued.append((429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}))
    with pytest.raises(ConnectorError) as caught:
        next(reader)
    assert not caught.value.permanent and caught.value.retry_after == 1


@pytest.mark.parametrize("error, words", [
    ("invalid_auth", "does not accept the access token"),
    ("token_revoked", "was revoked"),
    ("account_inactive", "was deactivated"),
])
def test_refused_tokens_are_permanent_and_say_to_reauthorize(monkeypatch, error, words):
    slack = slack_server.serve(monkeypatch)
    slack.queued.append((200, {"ok": False, "error": error}, {}))
    with pytest.raises(ConnectorError) as caught:
        SlackConnector().test(connection(slack.base))
    assert caught.value.permanent
    assert words in caught.value.message and "Re-authorize" in caught.value.message and error in caught.value.message


def test_a_revoked_token(monkeypatch):
    slack = slack_server.serve(monkeypatch)
    slack.revoked.add(TOKEN)
    with pytest.raises(ConnectorError, match="revoked") as caught:
        read_all(connection(slack.base), "conversations")
    assert caught.value.permanent


def test_an_invalid_token_is_refreshed_once_when_the_connection_can(monkeypatch):
    slack = slack_server.serve(monkeypatch)
    asked: list[str] = []

    def refresh(refused: str):
        asked.append(refused)
        slack.tokens.add("xoxe-new")
        return {"accessToken": "xoxe-new"}

    table = read_all(connection(slack.base, token="xoxp-stale", refresh=refresh), "users", ["id"])
    assert table.num_rows == 7 and asked == ["xoxp-stale"]


def test_channel_not_found_names_the_channel(monkeypatch):
    slack = slack_server.serve(monkeypatch)
    with pytest.raises(ConnectorError, match='no channel "C0GONE123"') as caught:
        read_all(connection(slack.base), "conversations/C0GONE123")
    assert caught.value.permanent


def test_missing_scope_names_the_scope(monkeypatch):
    slack = slack_server.serve(monkeypatch)
    slack.queued.append((200, {"ok": False, "error": "missing_scope", "needed": "groups:read",
                               "provided": "channels:read"}, {}))
    with pytest.raises(ConnectorError, match="lacks the scope groups:read"):
        read_all(connection(slack.base), "conversations")


def test_the_instance_url_goes_through_the_ssrf_guard(monkeypatch):
    monkeypatch.delenv("SLUICE_NET_ALLOW", raising=False)
    with pytest.raises(ConnectorError):
        SlackConnector().test(connection("http://169.254.169.254"))


def test_auth_test_checks_the_connection(monkeypatch):
    slack = slack_server.serve(monkeypatch)
    SlackConnector().test(connection(slack.base))
    assert slack.calls == [("auth.test", {})]
    with pytest.raises(ConnectorError, match="not authorized yet"):
        SlackConnector().test(connection(slack.base, token=""))


def test_the_consent_url_asks_for_user_scopes():
    url = client.authorization_url(SlackConnector.oauth_endpoints({})[0], client_id="cid",
                                   redirect_uri="https://sluice.example/oauth/callback",
                                   scopes=SlackConnector.oauth_scopes, state="st", pkce=client.Pkce.new(),
                                   scope_param=SlackConnector.oauth_scope_param)
    assert url.startswith("https://slack.com/oauth/v2/authorize?")
    assert "user_scope=channels%3Ahistory+channels%3Aread+groups%3Ahistory" in url
    assert "&scope=" not in url


def test_the_code_exchange_takes_the_user_token_from_authed_user(monkeypatch):
    slack = slack_server.serve(monkeypatch)
    slack.codes["code-1"] = "xoxp-from-consent"
    _, token_url = SlackConnector.oauth_endpoints({"instanceUrl": slack.base})
    tokens = client.exchange_code(token_url, code="code-1", verifier="v", redirect_uri="https://x/cb",
                                  client_id="cid", client_secret="csecret",
                                  unwrap=SlackConnector.oauth_token_payload)
    assert tokens["accessToken"] == "xoxp-from-consent" and tokens["expiresAt"] == 0
    SlackConnector().test(connection(slack.base, token=tokens["accessToken"]))


def test_a_refused_code_is_an_oauth_error(monkeypatch):
    slack = slack_server.serve(monkeypatch)
    _, token_url = SlackConnector.oauth_endpoints({"instanceUrl": slack.base})
    with pytest.raises(client.OAuthError) as caught:
        client.exchange_code(token_url, code="nope", verifier="v", redirect_uri="https://x/cb",
                             client_id="cid", client_secret="csecret", unwrap=SlackConnector.oauth_token_payload)
    assert caught.value.error == "invalid_code"
