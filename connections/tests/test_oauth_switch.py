"""Editing an existing connection over to OAuth 2.0 (SAP OData's Authentication choice, a Generic
REST spec whose auth says oauth2) goes on to the consent page, as a new connection does; the
connection keeps its old settings and secrets until the provider has issued tokens, then has the
edited settings, the tokens and the client secret, and none of the old way's secrets."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from connections.models import Connection, ConnectionChange
from connections.tests import rest_servers
from connections.tests.rest_servers import HUBSPOT_CLIENT_ID, HUBSPOT_SECRET, STRIPE_KEY
from connections.tests.sapodata_server import AUTHORIZE, CLIENT_ID, CLIENT_SECRET, SCOPES, serve
from connections.tests.test_genericrest import example
from connections.tests.test_sapodata_run import consent, sap_connection

pytestmark = pytest.mark.django_db


def test_sap_odata_basic_edited_to_oauth2_goes_through_consent(monkeypatch, signed_in):
    gateway = serve(monkeypatch)
    sap_connection(gateway)  # Basic: a user name and password
    before = Connection.objects.get(name="sap")
    parts = urlsplit(gateway.base)
    edit = {"connection_mode": "Public", "authentication": "OAuth2", "applicationHostUrl": f"http://{parts.hostname}",
            "portNumber": parts.port, "applicationServicePath": before.properties["applicationServicePath"],
            "clientNumber": "100", "logonLanguage": "EN", "oAuthScopes": SCOPES, "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET}
    response = signed_in.post(reverse("connections:edit", args=["sap"]), edit)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert response["Location"].startswith(gateway.base + AUTHORIZE + "?")
    waiting = Connection.objects.get(name="sap")  # nothing saved before the consent
    assert waiting.properties == before.properties and waiting.credentials == before.credentials

    done = signed_in.get(reverse("connections:oauth_callback", args=["SAPOData"]), consent(response["Location"]))

    assert done.status_code == 302 and done["Location"].endswith("/sap/"), done.content.decode()[:2000]
    saved = Connection.objects.get(name="sap")
    assert saved.properties["authentication"] == "OAuth2" and saved.properties["clientId"] == CLIENT_ID
    assert saved.credentials["accessToken"] in gateway.access_tokens
    assert saved.credentials["clientSecret"] == CLIENT_SECRET
    assert "password" not in saved.credentials and "username" not in saved.credentials
    assert saved.status == Connection.Status.AVAILABLE
    change = saved.changes.filter(action=ConnectionChange.Action.UPDATED).first()
    assert change and "now OAuth 2.0" in str(change.fields)


def test_generic_rest_spec_edited_to_oauth2_goes_through_consent_and_a_refusal_saves_nothing(monkeypatch,
                                                                                              signed_in):
    hubspot = rest_servers.serve("hubspot", monkeypatch, count=3)
    rest = Connection(name="rest", connector_type="CustomConnector", connector_label="GenericREST",
                      properties={"spec": example("stripe", "http://127.0.0.1:9")})  # a bearer API key
    rest.credentials = {"apiKey": STRIPE_KEY}
    rest.save()
    edit = {"connection_mode": "Public", "spec": example("hubspot", hubspot.base), "clientId": HUBSPOT_CLIENT_ID,
            "clientSecret": HUBSPOT_SECRET}

    def to_consent() -> dict[str, str]:
        answer = signed_in.post(reverse("connections:edit", args=["rest"]), edit)
        assert answer.status_code == 302, answer.content.decode()[-3000:]
        assert answer["Location"].startswith(hubspot.base + "/oauth/authorize?")
        return {k: v[0] for k, v in parse_qs(urlsplit(answer["Location"]).query).items()}

    refused = signed_in.get(reverse("connections:oauth_callback", args=["GenericREST"]),
                            {"state": to_consent()["state"], "error": "access_denied"}, follow=True)
    assert "Nothing was saved" in refused.content.decode()
    kept = Connection.objects.get(name="rest")
    assert "stripe" in kept.properties["spec"].lower() and kept.credentials["apiKey"] == STRIPE_KEY

    query = to_consent()
    hubspot.codes["code-1"] = query["redirect_uri"]  # the person allowed access
    done = signed_in.get(reverse("connections:oauth_callback", args=["GenericREST"]),
                         {"state": query["state"], "code": "code-1"})

    assert done.status_code == 302 and done["Location"].endswith("/rest/"), done.content.decode()[:2000]
    saved = Connection.objects.get(name="rest")
    assert saved.properties["spec"] == edit["spec"] and saved.credentials["accessToken"] == hubspot.access_token
    assert "apiKey" not in saved.credentials
