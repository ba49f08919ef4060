"""Pardot and Google Analytics 4 in the console: the catalog lists them with their authentication and
fastest schedule, and each is connected through the generic OAuth views against its local server
(Google with offline access, Pardot through the Salesforce login of its environment), tested on
the way, with no secret in the pages."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from connections.models import Connection
from connections.tests import ga4_server, pardot_server

pytestmark = pytest.mark.django_db


def test_the_catalog_lists_both_with_auth_and_fastest_schedule(signed_in):
    html = signed_in.get(reverse("connections:list")).content.decode()
    pardot = html[html.index("Salesforce Pardot"):]
    assert "Authentication: OAuth 2.0" in pardot[:1500] and "every 1 min" in pardot[:1500]
    ga = html[html.index("Google Analytics 4"):]
    assert "Authentication: OAuth 2.0" in ga[:1500] and "Fastest schedule: once a day" in ga[:1500]


def start(client, key: str, fields: dict) -> tuple[str, dict]:
    response = client.post(reverse("connections:oauth_start", args=[key]),
                           {"connection_name": key.lower(), "connection_mode": "Public", **fields})
    assert response.status_code == 302, response.content.decode()[:2000]
    location = urlsplit(response["Location"])
    return f"{location.scheme}://{location.netloc}{location.path}", {
        k: v[0] for k, v in parse_qs(location.query).items()}


def test_google_analytics_connects_with_offline_access(signed_in, monkeypatch):
    fake = ga4_server.serve(monkeypatch)
    address, query = start(signed_in, "Googleanalytics", {
        "clientId": ga4_server.CLIENT_ID, "clientSecret": ga4_server.CLIENT_SECRET, "apiBaseUrl": fake.base})
    assert address == fake.base + "/o/oauth2/v2/auth"
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert query["scope"] == "https://www.googleapis.com/auth/analytics.readonly"
    assert query["response_type"] == "code" and query["code_challenge_method"] == "S256"

    response = signed_in.get(reverse("connections:oauth_callback", args=["Googleanalytics"]),
                             {"state": query["state"], "code": "google-code"})

    assert response.status_code == 302, response.content.decode()[:2000]
    connection = Connection.objects.get(name="googleanalytics")
    assert connection.status == Connection.Status.AVAILABLE
    assert connection.credentials["refreshToken"] == "google-refresh"
    assert fake.token_calls[0]["client_secret"] == ga4_server.CLIENT_SECRET  # in the body, as Google says
    html = signed_in.get(reverse("connections:detail", args=["googleanalytics"])).content.decode()
    assert ga4_server.CLIENT_SECRET not in html and "google-refresh" not in html


def test_pardot_connects_through_the_sandbox_login(signed_in, monkeypatch):
    fake = pardot_server.serve(monkeypatch)
    address, _ = start(signed_in, "Pardot", {
        "businessUnitId": pardot_server.BUSINESS_UNIT, "isSandboxEnvironment": "on",
        "clientId": pardot_server.CLIENT_ID, "clientSecret": pardot_server.CLIENT_SECRET})
    assert address == "https://test.salesforce.com/services/oauth2/authorize"

    _, query = start(signed_in, "Pardot", {
        "connection_name": "pardot-local", "businessUnitId": pardot_server.BUSINESS_UNIT,
        "clientId": pardot_server.CLIENT_ID, "clientSecret": pardot_server.CLIENT_SECRET,
        "instanceUrl": fake.base, "loginUrl": fake.base})
    assert query["scope"] == "pardot_api refresh_token"
    response = signed_in.get(reverse("connections:oauth_callback", args=["Pardot"]),
                             {"state": query["state"], "code": "pardot-code"})

    assert response.status_code == 302, response.content.decode()[:2000]
    connection = Connection.objects.get(name="pardot-local")
    assert connection.status == Connection.Status.AVAILABLE
    assert fake.requests[-1]["object"] == "users"  # the connection test: one cheap authenticated call
    html = signed_in.get(reverse("connections:detail", args=["pardot-local"])).content.decode()
    assert pardot_server.CLIENT_SECRET not in html and pardot_server.BUSINESS_UNIT in html


def test_a_wrong_business_unit_id_is_refused_on_the_form(signed_in):
    response = signed_in.post(reverse("connections:oauth_start", args=["Pardot"]), {
        "connection_name": "p", "connection_mode": "Public", "businessUnitId": "OUV123",
        "clientId": "x", "clientSecret": "y"})
    assert response.status_code != 302  # not sent to Salesforce's login with a form that cannot work
    assert "is not a Pardot Business Unit ID (it starts with 0Uv" in response.content.decode()
