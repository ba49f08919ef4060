"""A stored secret never follows an edited address: changing a field that decides where
credentials are sent (ConfigField.sends_credentials_to) clears them, and they are typed again
(OAuth: re-authorized). Nothing stored reaches the new host — checked with servers that record
every request — and every connector declares its host-like fields."""

from __future__ import annotations

import re
import socket
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from connections import services
from connections.connectors.base import ConnectorError
from connections.connectors.registry import CONNECTORS, get_connector_class
from connections.models import Connection
from connections.oauth import tokens
from connections.tests import local_server, pgserver, s3server
from connections.tests.democrm_server import CLIENT_ID, CLIENT_SECRET, serve
from connections.tests.test_oauth import allow, authorized
from connections.tests.test_postgresql import _error_response, _recv

HOST_LIKE = re.compile(r"host|url|endpoint|port|subdomain|instance|region", re.IGNORECASE)


# --- the declaration --------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(CONNECTORS))
def test_every_host_like_field_declares_whether_it_decides_where_credentials_go(key):
    cls = get_connector_class(key)
    for field in cls.config_fields:
        if HOST_LIKE.search(field.name):
            assert field.sends_credentials_to is not None, (
                f"{key}.{field.name} looks like an address: declare sends_credentials_to=True (changing it "
                "must clear the stored credentials) or False")
        if field.sends_credentials_to:
            assert not field.secret, f"{key}.{field.name}: an address is a plain property, not a secret"
    if cls.secret_field_names() or cls.auth_kind == "oauth2":
        assert cls.credential_destination_fields(), f"{key} keeps credentials but declares no field that says where they go"


def test_the_declarations_of_the_issue():
    declared = {key: {f.name for f in get_connector_class(key).credential_destination_fields()} for key in CONNECTORS}
    assert declared["PostgreSQL"] == declared["MySQL"] == {"host", "port"}
    assert declared["Redshift"] == {"databaseUrl", "region", "endpointUrl"}
    assert declared["S3"] == {"region", "endpointUrl"}
    assert declared["Salesforce"] == {"environment", "loginUrl"}
    assert declared["Zendesk"] == {"subdomain", "baseUrl"}
    assert declared["Servicenow"] == declared["DemoCRM"] == declared["Slack"] == {"instanceUrl"}


def test_a_missing_value_is_the_default_not_a_change():
    pg = get_connector_class("PostgreSQL")
    assert services.moved_destination_fields(pg, {"host": "db"}, {"host": "db", "port": 5432}) == []
    assert services.moved_destination_fields(pg, {"host": "db", "port": "5432"}, {"host": "db", "port": 5432}) == []
    assert [f.name for f in services.moved_destination_fields(pg, {"host": "db"}, {"host": "evil"})] == ["host"]
    s3 = get_connector_class("S3")
    assert [f.name for f in services.moved_destination_fields(s3, {}, {"region": "eu-west-1"})] == ["region"]


# --- servers that record what reaches them --------------------------------------------------------


class RecordingHttp:
    """An HTTP server that answers 200 to everything and remembers every request's headers."""

    def __init__(self, monkeypatch):
        self.requests: list[dict] = []
        recorder = self

        class Handler(local_server.JsonHandler):
            def answer(self):
                recorder.requests.append({"method": self.command, "path": self.path, **dict(self.headers),
                                          "body": self.body().decode(errors="replace")})
                return self.reply(200, {"ok": True, "user": "owner", "objects": []})

            do_GET = do_POST = do_PUT = do_HEAD = answer  # noqa: N815

        self.base = local_server.start(Handler, monkeypatch)
        # Every loopback port: the new address is one the network policy allows, as an on-premise
        # host would be. What keeps the secret home is the edit rule, not the SSRF guard.
        monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1,localhost")

    def authorizations(self) -> list[str]:
        return [r["Authorization"] for r in self.requests if "Authorization" in r]


class RecordingPostgres:
    """A TCP listener that records every startup packet sent to it (a PostgreSQL client sends the
    user name there), then refuses the login so the client does not wait."""

    def __init__(self):
        self.packets: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import struct

        with self.listener:
            while True:
                try:
                    client, _ = self.listener.accept()
                except OSError:
                    return
                with client:
                    while True:
                        header = _recv(client, 8)
                        if len(header) < 8:
                            break
                        length, code = struct.unpack("!ii", header)
                        self.packets.append(header + _recv(client, length - 8))
                        if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: "not here"
                            client.sendall(b"N")
                            continue
                        client.sendall(_error_response("28P01", "password authentication failed"))
                        break

    def close(self) -> None:
        self.listener.close()


def edit(client, name: str, **data):
    return client.post(reverse("connections:edit", args=[name]), {"connection_mode": "Public", **data})


# --- Demo CRM (OAuth) -------------------------------------------------------------------------


@pytest.mark.django_db
class TestDemoCrm:
    @pytest.fixture
    def setup(self, signed_in, monkeypatch):
        provider = serve(monkeypatch)
        attacker = RecordingHttp(monkeypatch)
        return signed_in, provider, attacker, authorized(provider)

    def test_the_form_says_so_before_saving(self, setup):
        client, *_ = setup
        html = client.get(reverse("connections:edit", args=["crm"])).content.decode()
        assert "Changing it clears the stored credentials: type every secret again and re-authorize." in html
        assert "unless you change Demo CRM address: then type it again" in html

    def test_a_new_address_with_blank_secrets_is_refused_and_sends_nothing(self, setup):
        client, provider, attacker, connection = setup
        before = connection.credentials
        response = edit(client, "crm", instanceUrl=attacker.base + "/demo-saas/", clientId=CLIENT_ID, clientSecret="")
        assert response.status_code == 400
        html = response.content.decode()
        assert "Demo CRM address (instanceUrl) changed, so the stored credentials are cleared" in html
        assert "Enter Client secret (clientSecret) again, then re-authorize" in html
        assert attacker.requests == []  # before the fix: GET /api/v1/me with "Bearer <stored token>"
        stored = Connection.objects.get(name="crm")
        assert stored.credentials == before and stored.properties["instanceUrl"] == provider.base

    def test_a_new_address_with_the_secret_typed_needs_re_authorization_and_sends_nothing(self, setup):
        client, provider, attacker, connection = setup
        response = edit(client, "crm", instanceUrl=attacker.base + "/demo-saas/", clientId=CLIENT_ID,
                        clientSecret="the-new-hosts-secret")
        assert response.status_code == 302
        stored = Connection.objects.get(name="crm")
        assert stored.status == Connection.Status.NEEDS_REAUTHORIZATION
        assert stored.credentials == {"clientSecret": "the-new-hosts-secret"}  # no token, no refresh token
        assert "stored credentials cleared (address changed)" in stored.changes.first().fields
        detail = client.get(response["Location"]).content.decode()
        assert "Needs re-authorization" in detail and "Choose Re-authorize to connect it at the new address" in detail
        # A run or a test of the connection now stops before sending anything anywhere.
        with pytest.raises(ConnectorError, match=r"needs re-authorization: Demo CRM address \(instanceUrl\) "
                                                 "changed, so the stored tokens were cleared"):
            tokens.runtime_info(stored)
        assert attacker.requests == [] and attacker.authorizations() == []
        assert provider.token_calls == [] and provider.requests == []

    def test_an_expired_token_is_not_refreshed_on_the_way_to_a_new_address(self, setup):
        client, provider, attacker, connection = setup
        connection.credentials = {**connection.credentials, "expiresAt": int(time.time())}
        connection.save()
        expired = connection.credentials  # before the fix, the edit refreshed it first
        edit(client, "crm", instanceUrl=attacker.base + "/demo-saas/", clientId=CLIENT_ID, clientSecret="")
        assert Connection.objects.get(pk=connection.pk).credentials == expired
        edit(client, "crm", instanceUrl=attacker.base + "/demo-saas/", clientId=CLIENT_ID, clientSecret="s")
        assert provider.token_calls == [] and attacker.requests == []

    def test_re_authorizing_at_the_new_address_makes_it_work_again(self, setup, monkeypatch):
        client, old_provider, attacker, connection = setup
        new_provider = serve(monkeypatch)
        monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1,localhost")
        response = edit(client, "crm", instanceUrl=new_provider.base, clientId=CLIENT_ID, clientSecret=CLIENT_SECRET)
        assert response.status_code == 302
        response = client.post(reverse("connections:oauth_start", args=["DemoCRM"]), {"connection": "crm"})
        assert response["Location"].startswith(new_provider.base + "oauth/authorize")
        query = {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
        assert allow(client, new_provider, query).status_code == 302
        stored = Connection.objects.get(name="crm")
        assert stored.status == Connection.Status.AVAILABLE and stored.pk == connection.pk
        assert stored.credentials["accessToken"] in new_provider.access_tokens
        assert old_provider.token_calls == [] and old_provider.requests == [] and attacker.requests == []

    def test_the_same_address_keeps_the_tokens(self, setup):
        client, provider, attacker, connection = setup
        response = edit(client, "crm", instanceUrl=provider.base, clientId=CLIENT_ID, clientSecret="")
        assert response.status_code == 302
        stored = Connection.objects.get(name="crm")
        assert stored.credentials == connection.credentials and stored.status == Connection.Status.AVAILABLE
        assert provider.requests and attacker.requests == []


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.mark.django_db
class TestPostgres:
    PASSWORD = "pg-canary-password-41"

    @pytest.fixture
    def setup(self, signed_in):
        database = pgserver.need_postgres()
        services.create_connection(
            name="pg", connector_type="CustomConnector", connector_label="PostgreSQL",
            properties={"host": pgserver.HOST, "database": database, "sslMode": "disable"},  # port: default
            credentials={"username": pgserver.USER, "password": self.PASSWORD},
        )
        return signed_in, database

    def form(self, database: str, **changes) -> dict:
        return {"host": pgserver.HOST, "port": str(pgserver.PORT), "database": database, "sslMode": "disable",
                "username": "", "password": "", **changes}

    def test_a_new_port_with_blank_secrets_is_refused_and_nothing_reaches_it(self, setup):
        client, database = setup
        server = RecordingPostgres()
        try:
            response = edit(client, "pg", **self.form(database, port=str(server.port)))
        finally:
            server.close()
        assert response.status_code == 400
        html = response.content.decode()
        assert "Port (port) changed, so the stored credentials are cleared" in html
        assert "Enter User name (username) and Password (password) again" in html
        assert server.packets == []  # before the fix: a startup packet naming the stored user
        assert Connection.objects.get(name="pg").credentials["password"] == self.PASSWORD

    def test_a_new_host_takes_only_the_credentials_typed_for_it(self, setup):
        client, database = setup
        response = edit(client, "pg", **self.form(database, host="localhost"))
        assert response.status_code == 400
        response = edit(client, "pg", **self.form(database, host="localhost", username=pgserver.USER))
        assert response.status_code == 400 and "Enter Password (password) again" in response.content.decode()
        response = edit(client, "pg", **self.form(database, host="localhost", username=pgserver.USER,
                                                   password="typed-for-localhost"))
        assert response.status_code == 302
        stored = Connection.objects.get(name="pg")
        assert stored.properties["host"] == "localhost"
        assert stored.credentials == {"username": pgserver.USER, "password": "typed-for-localhost"}

    def test_the_default_port_written_out_is_not_a_change(self, setup):
        client, database = setup
        assert edit(client, "pg", **self.form(database)).status_code == 302  # port 5432 explicit now
        assert Connection.objects.get(name="pg").credentials["password"] == self.PASSWORD


# --- S3 ---------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestS3:
    @pytest.fixture
    def setup(self, signed_in):
        endpoint = s3server.need_s3()
        services.create_connection(
            name="s3", connector_type="S3", properties={"region": s3server.REGION, "endpointUrl": endpoint},
            credentials={"accessKeyId": s3server.ACCESS_KEY, "secretAccessKey": s3server.SECRET_KEY},
        )
        return signed_in, endpoint

    def form(self, endpoint: str, **changes) -> dict:
        return {"region": s3server.REGION, "endpointUrl": endpoint, "accessKeyId": "", "secretAccessKey": "",
                **changes}

    def test_a_new_endpoint_with_blank_keys_is_refused_and_nothing_reaches_it(self, setup, monkeypatch):
        client, endpoint = setup
        attacker = RecordingHttp(monkeypatch)
        response = edit(client, "s3", **self.form(attacker.base))
        assert response.status_code == 400
        html = response.content.decode()
        assert "Endpoint URL (endpointUrl) changed, so the stored credentials are cleared" in html
        assert "Enter Access key id (accessKeyId) and Secret access key (secretAccessKey) again" in html
        assert attacker.requests == []  # before the fix: a request signed with the stored key
        assert Connection.objects.get(name="s3").credentials["secretAccessKey"] == s3server.SECRET_KEY

    def test_a_new_region_clears_the_keys_too(self, setup):
        client, endpoint = setup
        response = edit(client, "s3", **self.form(endpoint, region="eu-west-1"))
        assert response.status_code == 400 and "Region (region) changed" in response.content.decode()

    def test_a_new_endpoint_with_keys_typed_again_is_saved(self, setup):
        client, endpoint = setup
        moved = endpoint.replace("127.0.0.1", "localhost")
        response = edit(client, "s3", **self.form(moved, accessKeyId=s3server.ACCESS_KEY,
                                                   secretAccessKey=s3server.SECRET_KEY))
        assert response.status_code == 302
        stored = Connection.objects.get(name="s3")
        assert stored.properties["endpointUrl"] == moved
        assert stored.credentials == {"accessKeyId": s3server.ACCESS_KEY, "secretAccessKey": s3server.SECRET_KEY}
