"""The Infor Nexus connector: its HMAC_1 signature against a fixed vector (Infor Nexus publishes no
example signature; the expected value was computed independently with
`printf '%s' <signing base> | openssl dgst -sha256 -hmac <secret> -binary | base64`), and reads from
the local REST API (infornexus_server.py), which checks every signature with its own code: paging,
the modifyTimestamp window as OQL, values as text, and its failures as clear messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError, Window
from connections.connectors.infornexus import signing
from connections.connectors.registry import get_connector
from connections.tests.infornexus_server import CREDENTIALS, START, serve

OPEN = Window()
URL = "https://network.infornexus.com/rest/3.1/OrderDetail/query?oql=1%3D1&limit=2&offset=0"


def test_the_signature_matches_a_fixed_vector():
    base = signing.signing_base("GET", URL, "2026-01-02T03:04:05Z")
    assert base == "2026-01-02t03:04:05zget/rest/3.1/orderdetail/query?oql=1%3d1&limit=2&offset=0"
    assert signing.signature("s3cr3t-ACCESS", base) == "DSwYDz0mpu/UHXLuLcVlqg8YwugvyyV9aF2QJ5tS5zg="
    headers = signing.signed_headers("GET", URL, access_key_id="AK", user_id="me@1", secret_access_key="s3cr3t-ACCESS",
                                     datakey="dk", now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert headers == {"Authorization": "HMAC_1 AK:DSwYDz0mpu/UHXLuLcVlqg8YwugvyyV9aF2QJ5tS5zg=:me@1",
                       "x-dapi-date": "2026-01-02T03:04:05Z", "datakey": "dk"}


def test_a_post_body_is_part_of_the_signing_base():
    assert signing.signing_base("POST", "https://h/rest/3.1/X", "2026-01-02T03:04:05Z", '{"A":1}') == \
        '2026-01-02t03:04:05zpost/rest/3.1/x{"a":1}'


def connection(fake, **changes) -> ConnectionInfo:
    return ConnectionInfo("nexus", "Infornexus", "", {"instanceUrl": fake.base}, {**CREDENTIALS, **changes})


def rows(fake, entity="OrderDetail", fields=None, window=OPEN, **changes) -> list[dict]:
    batches = get_connector("Infornexus").read(connection(fake, **changes), entity, fields, [], window, {})
    return [r for b in batches for r in b.table.to_pylist()]


def test_orders_are_paged_by_offset_until_has_more_is_false(monkeypatch):
    fake = serve(monkeypatch)
    found = rows(fake, fields=["uid", "poNumber"])
    assert [r["poNumber"] for r in found] == [f"PO-{i:05d}" for i in range(1, 251)]
    assert [(r["query"]["offset"], r["query"]["limit"]) for r in fake.requests] == [
        ("0", "100"), ("100", "100"), ("200", "100")]
    assert {r["query"]["oql"] for r in fake.requests} == {"1=1"}
    assert fake.requests[0]["headers"]["authorization"].startswith(f"HMAC_1 {CREDENTIALS['accessKeyId']}:")
    assert CREDENTIALS["secretAccessKey"] not in str(fake.requests)


def test_fields_come_from_the_records_and_values_stay_as_sent(monkeypatch):
    fake = serve(monkeypatch, count=3)
    names = [f.name for f in get_connector("Infornexus").describe_entity(connection(fake), "OrderDetail")]
    assert names[:3] == ["uid", "createTimestamp", "modifyTimestamp"]
    assert {"poNumber", "totalAmount", "buyer", "notes", "lineItems"} <= set(names)
    first, second, _ = rows(fake)
    assert first["uid"] == "280110000001" and first["modifyTimestamp"] == "2026-01-01T00:00:30.000Z"
    assert first["totalAmount"] == "1234.5" and second["totalAmount"] == "10" and first["notes"] is None
    assert first["buyer"] == '{"name": "Zoë Bäcker 日本", "partyUid": "5717989018077705"}'


def test_a_window_is_pushed_down_as_oql_on_modify_timestamp(monkeypatch):
    fake = serve(monkeypatch)
    window = Window(START + timedelta(minutes=10), START + timedelta(minutes=20))
    found = rows(fake, fields=["poNumber"], window=window)
    assert [r["poNumber"] for r in found] == [f"PO-{i:05d}" for i in range(11, 21)]
    assert fake.requests[0]["query"]["oql"] == (
        "modifyTimestamp >= '2026-01-01T00:10:00.000Z' AND modifyTimestamp < '2026-01-01T00:20:00.000Z'")
    with pytest.raises(ConnectorError, match='"poNumber".*use modifyTimestamp'):
        rows(fake, window=Window(START, None, field="poNumber"))


def test_a_wrong_secret_is_refused_and_never_shown(monkeypatch):
    fake = serve(monkeypatch)
    with pytest.raises(ConnectorError) as caught:
        get_connector("Infornexus").test(connection(fake, secretAccessKey="wrong-secret-42"))
    assert "refused the request signature" in caught.value.message and caught.value.permanent
    assert "wrong-secret-42" not in caught.value.message
    get_connector("Infornexus").test(connection(fake))


def test_a_key_revoked_mid_run_fails_naming_the_page(monkeypatch):
    fake = serve(monkeypatch, revoke_after=1)
    with pytest.raises(ConnectorError, match="refused the request signature for OrderDetail page 2"):
        rows(fake, fields=["uid"])


def test_the_rate_limit_answer_is_transient_with_retry_after(monkeypatch):
    fake = serve(monkeypatch, rate_limited={2})
    with pytest.raises(ConnectorError) as caught:
        rows(fake, fields=["uid"])
    assert not caught.value.permanent and caught.value.retry_after == 1.0
    assert "rate limiting" in caught.value.message and "OrderDetail page 2" in caught.value.message


def test_a_malformed_page_names_the_vendor_and_the_page(monkeypatch):
    fake = serve(monkeypatch, malformed_at=3)
    with pytest.raises(ConnectorError, match="Infor Nexus answered OrderDetail page 3 with something other"):
        rows(fake, fields=["uid"])


def test_an_empty_object_reads_nothing(monkeypatch):
    fake = serve(monkeypatch)
    assert rows(fake, "Party", fields=["uid"]) == []


def test_properties_and_source_are_checked():
    cls = type(get_connector("Infornexus"))
    assert cls.check_connection_properties({"instanceUrl": "network.infornexus.com"}) == []
    assert cls.check_connection_properties({})[0].startswith("instanceUrl: is required")
    assert cls.check_connection_properties({"instanceUrl": "bad host!"})[0].startswith("instanceUrl:")
    assert cls.check_source_properties({"object": "$IssueT3"}) == []
    assert cls.check_source_properties({"object": "Order Detail; drop"})[0][0] == "object"
    from connections.connectors.infornexus.client import api_base
    assert api_base({"instanceUrl": "network.infornexus.com"}) == "https://network.infornexus.com/rest/3.1"
    assert api_base({"instanceUrl": "network"}) == "https://network.gtnexus.com/rest/3.1"
    assert api_base({"instanceUrl": "https://h.example/rest/3.1.0/"}) == "https://h.example/rest/3.1.0"


def test_the_instance_goes_through_the_ssrf_guard():
    conn = ConnectionInfo("n", "Infornexus", "", {"instanceUrl": "http://169.254.169.254"}, CREDENTIALS)
    with pytest.raises(net.BlockedAddress):
        get_connector("Infornexus").test(conn)


def test_an_appflow_connector_profile_imports_unchanged():
    from connections import services

    cls = type(get_connector("Infornexus"))
    properties, credentials = services.split_profile_config("Infornexus", {
        "connectorProfileProperties": {"InforNexus": {"instanceUrl": "network"}},
        "connectorProfileCredentials": {"InforNexus": dict(CREDENTIALS)}})
    services.check_fields(cls, properties, credentials)
    assert credentials == CREDENTIALS and properties == {"instanceUrl": "network"}
