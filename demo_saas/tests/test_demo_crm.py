"""The bundled Demo CRM: consent page, token endpoint (PKCE, rotation), paged API, and off
unless enabled."""

from __future__ import annotations

import base64
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.urls import reverse

from demo_saas import data
from demo_saas.oauth import ensure_client

pytestmark = pytest.mark.django_db
REDIRECT = "http://testserver/connections/oauth/DemoCRM/callback/"
VERIFIER = "v" * 64


@pytest.fixture(autouse=True)
def enabled(settings):
    settings.SLUICE_DEMO_SAAS = True


@pytest.fixture
def app():
    return ensure_client(REDIRECT)


def authorize_query(app, **changes) -> dict:
    query = {"response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT,
             "scope": "crm.read", "state": "s1", "code_challenge": create_s256_code_challenge(VERIFIER),
             "code_challenge_method": "S256"}
    query.update(changes)
    return query


def basic(app) -> str:
    return "Basic " + base64.b64encode(f"{app.client_id}:{app.client_secret}".encode()).decode()


def get_tokens(client, owner, app) -> dict:
    client.force_login(owner)
    url = reverse("demo_saas:authorize") + "?" + "&".join(f"{k}={v}" for k, v in authorize_query(app).items())
    response = client.post(url, {"decision": "allow"})
    code = parse_qs(urlsplit(response["Location"]).query)["code"][0]
    response = client.post(reverse("demo_saas:token"), {"grant_type": "authorization_code", "code": code,
                           "redirect_uri": REDIRECT, "code_verifier": VERIFIER}, HTTP_AUTHORIZATION=basic(app))
    assert response.status_code == 200, response.content
    return response.json()


def test_the_consent_page_asks_to_read_accounts(client, owner, app):
    client.force_login(owner)
    html = client.get(reverse("demo_saas:authorize"), authorize_query(app)).content.decode()
    assert "Sluice wants to read your accounts" in html
    assert "Allow" in html and "Deny" in html


def test_deny_sends_access_denied_back(client, owner, app):
    client.force_login(owner)
    url = reverse("demo_saas:authorize") + "?" + "&".join(f"{k}={v}" for k, v in authorize_query(app).items())
    response = client.post(url, {"decision": "deny"})
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["s1"]


def test_pkce_is_required(client, owner, app):
    client.force_login(owner)
    response = client.get(reverse("demo_saas:authorize"), authorize_query(app, code_challenge="",
                                                                           code_challenge_method=""))
    assert response.status_code == 400
    assert "code_challenge" in response.content.decode()


def test_an_unregistered_redirect_uri_is_refused(client, owner, app):
    client.force_login(owner)
    response = client.get(reverse("demo_saas:authorize"),
                          authorize_query(app, redirect_uri="https://evil.example/cb"))
    assert response.status_code == 400


def test_code_for_tokens_with_the_verifier_then_the_api(client, owner, app):
    tokens = get_tokens(client, owner, app)
    assert tokens["expires_in"] == 3600 and tokens["refresh_token"]
    client.logout()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    assert client.get(reverse("demo_saas:api_me"), **auth).json()["user"] == "owner"
    page = client.get(reverse("demo_saas:api_records", args=["Accounts"]), {"limit": 100}, **auth).json()
    assert len(page["records"]) == 100 and page["next_cursor"] == 100
    assert page["records"][0]["id"] == "ACC-00001"
    assert client.get(reverse("demo_saas:api_me")).status_code == 401


def test_refresh_rotates_and_the_old_refresh_token_dies(client, owner, app):
    tokens = get_tokens(client, owner, app)
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    fresh = client.post(reverse("demo_saas:token"), form, HTTP_AUTHORIZATION=basic(app)).json()
    assert fresh["refresh_token"] != tokens["refresh_token"]
    again = client.post(reverse("demo_saas:token"), form, HTTP_AUTHORIZATION=basic(app))
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_paging_and_modified_since():
    everything = []
    cursor = 0
    while cursor is not None:
        rows, cursor = data.page("Contacts", cursor=cursor, limit=700)
        everything += rows
    assert len(everything) == 3000 and len({r["id"] for r in everything}) == 3000
    since = datetime.fromisoformat(everything[2000]["modified_at"].replace("Z", "+00:00"))
    rows, _ = data.page("Contacts", modified_since=since, limit=1000)
    assert rows[0]["id"] == everything[2000]["id"]
    assert all(r["modified_at"] >= everything[2000]["modified_at"] for r in rows)


def test_off_unless_enabled(client, owner, settings, app):
    settings.SLUICE_DEMO_SAAS = False
    client.force_login(owner)
    assert client.get(reverse("demo_saas:home")).status_code == 404
    assert client.post(reverse("demo_saas:token")).status_code == 404


def test_the_home_page_shows_the_app_credentials_to_copy(client, owner, app):
    client.force_login(owner)
    html = client.get(reverse("demo_saas:home")).content.decode()
    assert app.client_id in html and REDIRECT in html
