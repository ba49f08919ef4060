"""The auth seam: a connector whose connections differ in how they authenticate (Generic REST: its
spec says) is asked per connection (Connector.auth_kind_for) by tokens, services, the OAuth views
and the connection pages; every other connector answers its class attribute."""

from __future__ import annotations

import pytest
from django.urls import reverse

from connections import services
from connections.connectors.registry import get_connector_class
from connections.models import Connection
from connections.oauth import tokens
from connections.tests import rest_servers
from connections.tests.rest_servers import STRIPE_KEY
from connections.tests.test_genericrest import EXAMPLES, example
from console.errors import UserError

pytestmark = pytest.mark.django_db


def rest(text: str, **credentials) -> Connection:
    connection = Connection(name="rest", connector_type="CustomConnector", connector_label="GenericREST",
                            properties={"spec": text, "clientId": "c"})
    connection.credentials = credentials
    connection.save()
    return connection


def test_every_other_connector_answers_its_class_attribute():
    for key in ("Salesforce", "Datadog", "LocalFiles", "Marketo"):
        cls = get_connector_class(key)
        assert cls.auth_kind_for({}) == cls.auth_kind
        assert cls.oauth_scopes_for({}) == cls.oauth_scopes
        assert cls.oauth_client_auth_for({}) == cls.oauth_client_auth


def test_tokens_treat_only_an_oauth2_spec_as_oauth():
    assert tokens.is_oauth(rest((EXAMPLES / "hubspot.yaml").read_text()))
    Connection.objects.all().delete()
    assert not tokens.is_oauth(rest((EXAMPLES / "stripe.yaml").read_text()))


def test_editing_a_stream_keeps_the_secret_moving_the_host_clears_it(monkeypatch):
    server = rest_servers.serve("stripe", monkeypatch, count=3)
    text = example("stripe", server.base)
    connection = services.create_connection(name="rest", connector_type="CustomConnector",
                                            connector_label="GenericREST", properties={"spec": text},
                                            credentials={"apiKey": STRIPE_KEY})
    edited = services.update_connection(connection, properties={"spec": text.replace("size: 100", "size: 50")})
    assert edited.credentials == {"apiKey": STRIPE_KEY}
    moved = text.replace(server.base, server.base.replace("127.0.0.1", "localhost"))
    with pytest.raises(UserError, match=r"Spec \(JSON or YAML\) \(spec\) changed, so the stored credentials are "
                                        r"cleared.*Enter API key or token \(apiKey\) again"):
        services.update_connection(edited, properties={"spec": moved})


def test_a_bad_spec_is_refused_with_its_lines():
    with pytest.raises(UserError) as caught:
        services.create_connection(name="rest", connector_type="CustomConnector", connector_label="GenericREST",
                                   properties={"spec": "version: 2\nbase_url: ftp://x\nstreams: []\n"})
    assert any(e.startswith("spec: line 1: version: 1 was expected") for e in caught.value.errors), caught.value.errors


def test_the_pages_speak_of_the_connection_s_auth_kind(signed_in):
    rest((EXAMPLES / "hubspot.yaml").read_text(), clientSecret="s", accessToken="a")
    detail = signed_in.get(reverse("connections:detail", args=["rest"])).content.decode()
    assert "Re-authorize" in detail
    edit = signed_in.get(reverse("connections:edit", args=["rest"])).content.decode()
    assert "Authentication: OAuth 2.0." in edit and "type every secret again and re-authorize" in edit
    Connection.objects.all().delete()
    rest((EXAMPLES / "stripe.yaml").read_text(), apiKey="k")
    assert "Re-authorize" not in signed_in.get(reverse("connections:detail", args=["rest"])).content.decode()
    start = signed_in.post(reverse("connections:oauth_start", args=["GenericREST"]), {"connection": "rest"})
    assert start.status_code == 404  # nothing to authorize: the spec says bearer
    catalog = signed_in.get(reverse("connections:list")).content.decode()
    assert "Generic REST" in catalog and "as each connection&#x27;s spec says" in catalog
