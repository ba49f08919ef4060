"""Generic REST against local GitHub-, Stripe- and HubSpot-style APIs (rest_servers.py): the spec's
checks with line numbers, each paging kind of the examples, the window sent and kept, rate limits,
OAuth refresh after a 401, and hostile specs and services refused with a clear error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connections.connectors.base import ConnectionInfo, ConnectorError, Window
from connections.connectors.genericrest import api, spec
from connections.connectors.genericrest.connector import GenericRestConnector, infer_type
from connections.tests import rest_servers
from connections.tests.rest_servers import HUBSPOT_CLIENT_ID, HUBSPOT_SECRET, STRIPE_KEY, TOKEN

EXAMPLES = Path(spec.__file__).with_name("examples")
VENDOR = {
    "github": "https://api.github.com",
    "stripe": "https://api.stripe.com",
    "hubspot": "https://api.hubapi.com",
}


def example(kind: str, base: str, **replace: str) -> str:
    """An example spec pointed at a local server (every vendor address: API, token, consent page)."""
    text = (EXAMPLES / f"{kind}.yaml").read_text().replace(VENDOR[kind], base)
    text = text.replace("https://app.hubspot.com", base)
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def connection(text: str, **credentials) -> ConnectionInfo:
    return ConnectionInfo(
        "rest", "CustomConnector", "GenericREST", {"spec": text, "clientId": HUBSPOT_CLIENT_ID}, credentials
    )


def rows(conn: ConnectionInfo, entity: str, window: Window | None = None, fields=None) -> list[dict]:
    batches = GenericRestConnector().read(conn, entity, fields, [], window or Window(), {})
    return [r for b in batches for r in b.table.to_pylist()]


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(api, "pause", waits.append)
    return waits


# --- the spec ----------------------------------------------------------------------------------


def test_spec_errors_name_the_line_and_the_path():
    text = (
        "version: 1\nbase_url: https://api.example.com\nstreams:\n  - name: a\n    path: /a\n"
        "    paging:\n      type: pages\n  - name: b\n    path: b\n"
    )
    with pytest.raises(spec.SpecError) as caught:
        spec.load(text)
    assert caught.value.problems[0].startswith("line 7: streams[0].paging.type: 'pages' is not one of")
    assert caught.value.problems[1] == "line 9: streams[1].path: 'b' does not match '^/'"


@pytest.mark.parametrize("where, words", [
    ("headers:\n  Authorization: Bearer sk_live_abc\n", "line 4: headers.Authorization: "),
    ("headers:\n  X-Api-Key: abc123\n", "line 4: headers.X-Api-Key: "),
    ("headers:\n  Accept: Bearer sk_live_abc\n", "line 4: headers.Accept: "),
    ("streams:\n  - {name: a, path: /a, params: {api_key: abc123}}\n", "line 4: streams[0].params.api_key: "),
])
def test_a_spec_never_holds_secrets(where, words):
    text = "version: 1\nbase_url: https://api.example.com\n" + where
    if "streams" not in where:
        text += "streams:\n  - {name: a, path: /a}\n"
    with pytest.raises(spec.SpecError) as caught:
        spec.load(text)
    assert caught.value.problems[0].startswith(words), caught.value.problems
    assert "must not hold secrets" in caught.value.problems[0] and "abc" not in caught.value.problems[0]


def test_headers_and_placeholders_that_are_not_secrets_pass():
    spec.load("version: 1\nbase_url: https://api.example.com\nheaders:\n  Accept: application/json\n"
              "streams:\n  - {name: a, path: /a, params: {since: '{window_start}', limit: 10}}\n")
    with pytest.raises(spec.SpecError, match="line 2: base_url: a user name and password"):
        spec.load("version: 1\nbase_url: https://me:pw@api.example.com\nstreams:\n  - {name: a, path: /a}\n")


def test_json_specs_and_their_errors_too():
    with pytest.raises(spec.SpecError, match=r"line 3: not valid JSON or YAML"):
        spec.load('{"version": 1,\n "base_url": "https://x.example",\n "streams": [}')
    text = (
        '{"version": 1,\n "base_url": "https://x.example",\n "streams": [{"name": "a", "path": "/a",\n'
        '   "records": "data[?"}]}'
    )
    with pytest.raises(spec.SpecError, match=r"line 4: streams\[0\].records: not a JMESPath expression"):
        spec.load(text)


def test_the_examples_are_valid_and_the_auth_kind_follows_the_spec():
    kinds = {
        p.stem: GenericRestConnector.auth_kind_for({"spec": p.read_text()}) for p in EXAMPLES.glob("*.yaml")
    }
    assert kinds == {"github": "api_key", "stripe": "api_key", "hubspot": "oauth2"}
    assert GenericRestConnector.auth_kind_for({"spec": "not: [a spec"}) == "none"
    assert GenericRestConnector.oauth_scopes_for({"spec": (EXAMPLES / "hubspot.yaml").read_text()}) == (
        "crm.objects.contacts.read",
    )


def test_editing_a_stream_keeps_the_credential_address_moving_the_host_does_not():
    field = GenericRestConnector.config_fields[0]
    text = (EXAMPLES / "github.yaml").read_text()
    address = GenericRestConnector.credential_address(field, {"spec": text})
    edited = text.replace("state: all", "state: open")
    assert GenericRestConnector.credential_address(field, {"spec": edited}) == address
    moved = text.replace("https://api.github.com", "https://api.github.com.evil.example")
    assert GenericRestConnector.credential_address(field, {"spec": moved}) != address


def test_types_inferred_from_a_sample():
    assert infer_type([1, 2, None]) == "integer"
    assert infer_type([1, 2.5]) == "double"
    assert infer_type(["2026-01-05T10:00:00Z", None]) == "datetime"
    assert infer_type([{"a": 1}]) == "string" and infer_type([True, 1]) == "string"


# --- the examples ------------------------------------------------------------------------------


def test_github_style_link_header_paging_and_since(monkeypatch):
    server = rest_servers.serve("github", monkeypatch, count=25)
    conn = connection(example("github", server.base, **{"size: 100": "size: 10"}), apiKey=TOKEN)
    found = rows(conn, "issues")
    assert len(found) == 25 and len({r["id"] for r in found}) == 25
    assert [r["params"].get("page") for r in server.requests] == [None, "2", "3"]
    first = found[0]
    assert first["author"] in {"user0", "user1", "user2"} and first["labels"] in ('["bug"]', "[]")
    start = datetime.now(UTC) - timedelta(days=2, minutes=5, seconds=30)
    recent = rows(conn, "issues", Window(start, None, None))
    assert len(recent) == 5  # updated at now - 2 days - 1..5 minutes
    assert server.requests[-1]["params"]["since"] == start.isoformat(timespec="seconds").replace(
        "+00:00", "Z"
    )


def test_stripe_style_cursor_and_has_more_with_a_429_waited_out(monkeypatch, no_sleep):
    server = rest_servers.serve("stripe", monkeypatch, count=25)
    server.rate_limited = {2}
    conn = connection(example("stripe", server.base, **{"size: 100": "size: 10"}), apiKey=STRIPE_KEY)
    found = rows(conn, "customers")
    assert len(found) == 25 and found[0]["id"] == "cus_00000024"
    assert [r["params"].get("starting_after") for r in server.requests] == [
        None,
        "cus_00000015",
        "cus_00000015",
        "cus_00000005",
    ]
    assert no_sleep and no_sleep[0] >= 1  # Retry-After: 1
    assert isinstance(found[0]["created"], int) and found[0]["delinquent"] is False


def test_hubspot_style_body_cursor_and_a_refreshed_token(monkeypatch):
    server = rest_servers.serve("hubspot", monkeypatch, count=25)
    refreshed = []

    def refresh(stale: str):
        refreshed.append(stale)
        return {"accessToken": server.access_token, "clientSecret": HUBSPOT_SECRET}

    text = example("hubspot", server.base, **{"size: 100": "size: 10"})
    conn = ConnectionInfo(
        "rest",
        "CustomConnector",
        "GenericREST",
        {"spec": text, "clientId": HUBSPOT_CLIENT_ID},
        {"accessToken": "expired", "clientSecret": HUBSPOT_SECRET},
        refresh=refresh,
    )
    found = rows(conn, "contacts")
    assert refreshed == ["expired"]
    assert len(found) == 25 and found[0]["email"].endswith("@example.org")
    bodies = [r["body"] for r in server.requests]
    assert [b.get("after") for b in bodies] == [None, None, "10", "20"]  # 401, then the retry
    assert bodies[0]["filterGroups"][0]["filters"][0]["value"] == 0 and bodies[0]["limit"] == 10


def test_declared_fields_and_inferred_ones(monkeypatch):
    server = rest_servers.serve("stripe", monkeypatch, count=3)
    text = example("stripe", server.base)
    connector = GenericRestConnector()
    declared = connector.describe_entity(connection(text, apiKey=STRIPE_KEY), "customers")
    assert connector.fields_note == f"{len(declared)} fields declared in the spec's stream customers."
    assert [(f.name, f.data_type) for f in declared][:4] == [
        ("id", "string"),
        ("email", "string"),
        ("name", "string"),
        ("created", "integer"),
    ]
    assert next(f for f in declared if f.name == "created").timestamp_for_incremental
    bare = text[: text.index("    fields:")]
    inferred = connector.describe_entity(connection(bare, apiKey=STRIPE_KEY), "customers")
    types = {f.name: f.data_type for f in inferred}
    # what "Refresh fields" says it saw: the sample and the types, in the order first seen
    assert connector.fields_note.startswith(f"Inferred {len(inferred)} fields from 3 records of page 1: id string, ")
    assert "created integer" in connector.fields_note
    assert (
        types["created"] == "integer" and types["delinquent"] == "boolean" and types["metadata"] == "string"
    )


# --- hostile specs and services ----------------------------------------------------------------


def test_a_next_link_to_another_host_is_refused(monkeypatch):
    server = rest_servers.serve("github", monkeypatch, count=25)
    server.next_host = "http://attacker.example:8080"
    conn = connection(example("github", server.base, **{"size: 100": "size: 10"}), apiKey=TOKEN)
    with pytest.raises(
        ConnectorError, match="points to http://attacker.example:8080, not the spec's base_url host"
    ):
        rows(conn, "issues")
    assert len(server.requests) == 1


@pytest.mark.parametrize("address", ["http://169.254.169.254", "http://10.1.2.3:8080", "http://0x7f.1"])
def test_an_internal_address_is_refused_before_connecting(address, monkeypatch):
    monkeypatch.delenv("SLUICE_NET_ALLOW", raising=False)  # the test setup lets the local servers through
    conn = connection(example("github", address), apiKey=TOKEN)
    with pytest.raises(ConnectorError, match="Sluice does not connect there"):
        rows(conn, "issues")


def test_a_records_expression_that_selects_nothing_is_an_error(monkeypatch):
    server = rest_servers.serve("stripe", monkeypatch, count=3)
    conn = connection(
        example("stripe", server.base, **{"records: data": "records: customers"}), apiKey=STRIPE_KEY
    )
    with pytest.raises(
        ConnectorError,
        match=r'stream customers, page 1: the records expression "customers" '
        r"selects nothing in the answer \(it has: object, url, has_more, data\)",
    ):
        rows(conn, "customers")


def test_a_paging_loop_is_stopped(monkeypatch):
    server = rest_servers.serve("stripe", monkeypatch, count=25)
    server.repeat = True
    conn = connection(example("stripe", server.base, **{"size: 100": "size: 10"}), apiKey=STRIPE_KEY)
    with pytest.raises(ConnectorError, match="the service sent back the cursor it was given .*a paging loop"):
        rows(conn, "customers")
    assert len(server.requests) == 2


def test_max_pages_bounds_a_stream(monkeypatch):
    server = rest_servers.serve("github", monkeypatch, count=25)
    text = example(
        "github",
        server.base,
        **{"size: 100": "size: 5", "rate_limit:": "limits: {max_pages: 3}\nrate_limit:"},
    )
    with pytest.raises(ConnectorError, match=r"stopped after 3 pages \(limits.max_pages\)"):
        rows(connection(text, apiKey=TOKEN), "issues")


def test_a_50_mb_answer_is_refused_at_the_cap_without_holding_it(monkeypatch):
    server = rest_servers.serve("stripe", monkeypatch, count=3)
    server.huge_bytes = 50 * 1024 * 1024
    monkeypatch.setenv("SLUICE_REST_MAX_RESPONSE_BYTES", str(2 * 1024 * 1024))
    conn = connection(example("stripe", server.base), apiKey=STRIPE_KEY)
    with pytest.raises(ConnectorError, match=r"the answer is larger than 2097152 bytes"):
        rows(conn, "customers")


def test_missing_secrets_and_unauthorized_oauth_are_said_plainly(monkeypatch):
    server = rest_servers.serve("stripe", monkeypatch, count=3)
    with pytest.raises(ConnectorError, match="auth type bearer needs API key or token"):
        GenericRestConnector().test(connection(example("stripe", server.base)))
    with pytest.raises(ConnectorError, match="not authorized yet"):
        GenericRestConnector().test(connection(example("hubspot", server.base), clientSecret="s"))
    with pytest.raises(ConnectorError, match="refused the credentials"):
        GenericRestConnector().test(connection(example("stripe", server.base), apiKey="sk_wrong"))
