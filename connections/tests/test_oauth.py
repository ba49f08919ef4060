"""OAuth 2.0 through the generic views, against a local provider: start, callback, state checks,
cancel, provider errors, refresh before expiry and on a 401, rotation under concurrent refreshes,
invalid_grant and Re-authorize."""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.db import connection
from django.urls import reverse

from connections.connectors.base import ConnectorError
from connections.connectors.democrm import DemoCrmConnector
from connections.models import Connection, PendingAuthorization
from connections.oauth import tokens
from connections.tests.democrm_server import CLIENT_ID, CLIENT_SECRET, serve

CALLBACK = reverse("connections:oauth_callback", args=["DemoCRM"])


@pytest.fixture
def provider(monkeypatch):
    return serve(monkeypatch)


def start(client, provider, name: str = "crm", query: str = "") -> dict[str, str]:
    """POST the connection form; returns the query of the provider URL Sluice redirected to."""
    response = client.post(reverse("connections:oauth_start", args=["DemoCRM"]) + query, {
        "connection_name": name, "instanceUrl": provider.base, "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET, "connection_mode": "Public",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == provider.base + "oauth/authorize"
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def allow(client, provider, query: dict[str, str]):
    """What the provider does on Allow: a code for the challenge, back to the redirect URI."""
    code = provider.issue_code(query["code_challenge"])
    return client.get(CALLBACK, {"state": query["state"], "code": code})


@pytest.mark.django_db
class TestStartAndCallback:
    def test_start_sends_pkce_s256_and_a_state_and_stores_nothing_yet(self, signed_in, provider):
        query = start(signed_in, provider)
        assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
        assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
        assert query["scope"] == "crm.read"
        assert query["redirect_uri"] == "http://testserver" + CALLBACK
        assert len(query["state"]) >= 40
        assert not Connection.objects.exists()
        pending = PendingAuthorization.objects.get()
        assert query["state"] not in pending.state_hash  # only its hash is kept
        assert pending.secrets["clientSecret"] == CLIENT_SECRET
        with connection.cursor() as cursor:  # stored encrypted
            cursor.execute("SELECT secrets_encrypted FROM connections_pendingauthorization")
            assert CLIENT_SECRET not in cursor.fetchone()[0]

    def test_the_form_shows_the_redirect_uri_to_register(self, signed_in):
        html = signed_in.get(reverse("connections:create", args=["DemoCRM"])).content.decode()
        assert "http://testserver" + CALLBACK in html
        assert "Continue to Demo CRM to authorize" in html

    def test_callback_success_stores_the_tokens_and_tests_the_connection(self, signed_in, provider, caplog):
        caplog.set_level(logging.DEBUG)
        query = start(signed_in, provider)
        code = provider.issue_code(query["code_challenge"])
        response = signed_in.get(CALLBACK, {"state": query["state"], "code": code})
        assert response.status_code == 302
        assert response["Location"] == reverse("connections:detail", args=["crm"])
        assert response["Referrer-Policy"] == "no-referrer"
        connection = Connection.objects.get(name="crm")
        credentials = connection.credentials
        assert credentials["accessToken"] in provider.access_tokens
        assert credentials["refreshToken"] and credentials["clientSecret"] == CLIENT_SECRET
        assert isinstance(credentials["expiresAt"], int) and credentials["expiresAt"] > time.time() + 3000
        assert connection.status == Connection.Status.AVAILABLE and connection.last_test_ok_at
        assert connection.properties == {"instanceUrl": provider.base, "clientId": CLIENT_ID}
        assert not PendingAuthorization.objects.exists()
        for secret in (code, credentials["accessToken"], credentials["refreshToken"], CLIENT_SECRET):
            assert all(secret not in r.getMessage() for r in caplog.records)
        html = signed_in.get(response["Location"]).content.decode()
        assert credentials["accessToken"] not in html and "is authorized and works" in html

    def test_a_connection_created_from_the_wizard_goes_back_to_it_chosen(self, signed_in, provider):
        wizard = "/flows/drafts/0b6c2a52-6f1e-4b8e-9a57-3c1f4f0f2f10/configure/?side=source"
        html = signed_in.get(reverse("connections:create", args=["DemoCRM"]), {"next": wizard}).content.decode()
        assert "start/?next=/flows/drafts/" in html  # the consent form carries the way back
        query = start(signed_in, provider, name="crm-wizard", query="?" + urlencode({"next": wizard}))
        response = allow(signed_in, provider, query)
        assert response.status_code == 302
        assert response["Location"] == wizard + "&connection=crm-wizard"
        # Not a way off the site: a next that names another host is ignored.
        query = start(signed_in, provider, name="crm-elsewhere", query="?next=//evil.example/x")
        assert allow(signed_in, provider, query)["Location"] == reverse("connections:detail", args=["crm-elsewhere"])

    def test_a_wrong_state_is_403_and_stores_nothing(self, signed_in, provider):
        query = start(signed_in, provider)
        code = provider.issue_code(query["code_challenge"])
        response = signed_in.get(CALLBACK, {"state": "not-the-state", "code": code})
        assert response.status_code == 403
        assert response["Referrer-Policy"] == "no-referrer"
        assert code not in response.content.decode()
        assert signed_in.get(CALLBACK, {"code": code}).status_code == 403  # no state at all
        assert not Connection.objects.exists()
        assert provider.token_calls == []

    def test_a_replayed_state_is_403(self, signed_in, provider):
        query = start(signed_in, provider)
        assert allow(signed_in, provider, query).status_code == 302
        response = allow(signed_in, provider, query)
        assert response.status_code == 403
        assert Connection.objects.count() == 1

    def test_a_state_from_another_user_is_403(self, client, signed_in, provider, django_user_model):
        query = start(signed_in, provider)
        other = django_user_model.objects.create_user("outsider", password="x" * 20)
        client.force_login(other)
        assert allow(client, provider, query).status_code == 403
        assert not Connection.objects.exists()

    def test_two_tabs_do_not_clobber_each_other(self, signed_in, provider):
        first = start(signed_in, provider, name="crm-one")
        second = start(signed_in, provider, name="crm-two")
        assert allow(signed_in, provider, second).status_code == 302
        assert allow(signed_in, provider, first).status_code == 302
        assert set(Connection.objects.values_list("name", flat=True)) == {"crm-one", "crm-two"}

    def test_access_denied_goes_back_to_the_form_saying_cancelled(self, signed_in, provider):
        query = start(signed_in, provider)
        response = signed_in.get(CALLBACK, {"state": query["state"], "error": "access_denied"})
        assert response.status_code == 302
        html = signed_in.get(response["Location"]).content.decode()
        assert "Authorization was cancelled" in html
        assert 'value="crm"' in html and f'value="{provider.base}"' in html  # what was typed
        assert CLIENT_SECRET not in html and CLIENT_SECRET not in response["Location"]
        assert not Connection.objects.exists()

    def test_a_provider_error_says_what_happened_and_how_to_retry(self, signed_in, provider):
        query = start(signed_in, provider)
        response = signed_in.get(CALLBACK, {"state": query["state"], "error": "server_error",
                                            "error_description": "The CRM is down for maintenance"})
        assert response.status_code == 400
        html = response.content.decode()
        assert "server_error" in html and "down for maintenance" in html and "try again" in html

    def test_a_code_the_provider_refuses_saves_nothing(self, signed_in, provider):
        query = start(signed_in, provider)
        response = signed_in.get(CALLBACK, {"state": query["state"], "code": "made-up"})
        assert response.status_code == 400
        assert "did not issue tokens" in response.content.decode()
        assert not Connection.objects.exists()


def authorized(provider, *, expires_in: int = 3600) -> Connection:
    """A Demo CRM connection holding tokens the provider issued."""
    issued = provider._tokens()
    connection = Connection(name="crm", connector_type="CustomConnector", connector_label="DemoCRM",
                            properties={"instanceUrl": provider.base, "clientId": CLIENT_ID})
    connection.credentials = {"clientSecret": CLIENT_SECRET, "accessToken": issued["access_token"],
                              "refreshToken": issued["refresh_token"], "expiresAt": int(time.time()) + expires_in}
    connection.save()
    return connection


@pytest.mark.django_db
class TestTokens:
    def test_a_token_about_to_expire_is_refreshed_before_the_run(self, provider):
        connection = authorized(provider, expires_in=30)
        old = connection.credentials
        info = tokens.runtime_info(connection)
        assert info.credentials["accessToken"] != old["accessToken"]
        stored = Connection.objects.get(pk=connection.pk).credentials
        assert stored["accessToken"] == info.credentials["accessToken"]
        assert stored["refreshToken"] != old["refreshToken"]  # the rotated one was saved
        assert [c["grant_type"] for c in provider.token_calls] == ["refresh_token"]

    def test_a_valid_token_is_not_refreshed(self, provider):
        tokens.runtime_info(authorized(provider))
        assert provider.token_calls == []

    def test_a_401_during_a_run_refreshes_once_and_retries(self, provider):
        connection = authorized(provider)
        info = tokens.runtime_info(connection)
        provider.access_tokens.remove(info.credentials["accessToken"])  # the provider revoked it
        rows = sum(b.table.num_rows for b in DemoCrmConnector().read(info, "Opportunities", None, [], _window(),
                                                                      {}))
        assert rows == 1500
        assert len(provider.token_calls) == 1

    def test_invalid_grant_marks_the_connection_and_fails_with_a_message(self, provider, signed_in):
        connection = authorized(provider, expires_in=0)
        provider.refresh_tokens.clear()  # the provider forgot every refresh token
        with pytest.raises(ConnectorError, match="needs re-authorization.*Re-authorize"):
            tokens.runtime_info(connection)
        connection.refresh_from_db()
        assert connection.status == Connection.Status.NEEDS_REAUTHORIZATION
        html = signed_in.get(reverse("connections:detail", args=["crm"])).content.decode()
        assert "Needs re-authorization" in html and "Re-authorize" in html
        with pytest.raises(ConnectorError, match="needs re-authorization"):
            tokens.runtime_info(connection)  # no second call to the provider
        assert len(provider.token_calls) == 1

    def test_re_authorize_keeps_the_same_connection(self, signed_in, provider):
        connection = authorized(provider)
        Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.NEEDS_REAUTHORIZATION)
        response = signed_in.post(reverse("connections:oauth_start", args=["DemoCRM"]), {"connection": "crm"})
        query = {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
        response = allow(signed_in, provider, query)
        assert response["Location"] == reverse("connections:detail", args=["crm"])
        fresh = Connection.objects.get(name="crm")
        assert fresh.pk == connection.pk and fresh.status == Connection.Status.AVAILABLE
        assert fresh.credentials["accessToken"] != connection.credentials["accessToken"]
        assert fresh.changes.filter(action="authorized").exists()


def _window():
    from connections.connectors.base import Window

    return Window()


@pytest.mark.django_db(transaction=True)
def test_two_workers_refreshing_at_once_spend_the_refresh_token_once(provider):
    crm = authorized(provider)
    stale = crm.credentials["accessToken"]
    provider.access_tokens.remove(stale)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def worker():
        try:
            barrier.wait()
            results.append(tokens.refresh_tokens(crm.pk, stale)["accessToken"])
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)
        finally:
            connection.close()  # this thread's own database connection

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(provider.token_calls) == 1  # the rotated refresh token was spent once
    assert results[0] == results[1] == Connection.objects.get(pk=crm.pk).credentials["accessToken"]


@pytest.mark.django_db
def test_the_test_button_refreshes_an_expired_token_first(provider, django_capture_on_commit_callbacks):
    from connections import services

    connection = authorized(provider, expires_in=0)
    with django_capture_on_commit_callbacks(execute=False):
        test = services.start_connection_test(connection)
    assert services.run_connection_test(str(test.pk)).status == "Passed"
    assert len(provider.token_calls) == 1


@pytest.mark.django_db
def test_editing_a_connection_with_an_expired_token_refreshes_it_before_the_re_test(provider):
    from connections import services

    connection = authorized(provider, expires_in=0)
    old = connection.credentials
    services.update_connection(connection, properties=dict(connection.properties), new_secrets={})
    stored = Connection.objects.get(pk=connection.pk).credentials
    assert [c["grant_type"] for c in provider.token_calls] == ["refresh_token"]
    assert stored["accessToken"] != old["accessToken"]
    assert stored["refreshToken"] != old["refreshToken"]  # the rotated token survived the edit's save
    assert stored["clientSecret"] == old["clientSecret"]
