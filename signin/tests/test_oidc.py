"""Single sign-on against a local OpenID Connect provider (signin/tests/oidc_provider.py): the
whole round trip over real HTTP, and each way an id token can be wrong refused with a clear
message."""

from __future__ import annotations

import http.client
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse
from joserfc.jwk import RSAKey

from accounts.models import Membership, Role, Team
from audit.models import AuditEvent
from signin import oidc
from signin.mapping import MappingInvalid, parse_rules, teams_for
from signin.models import SingleSignOnIdentity
from signin.tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(settings):
    server = Provider()
    settings.SLUICE_OIDC_ISSUER = server.issuer
    settings.SLUICE_OIDC_CLIENT_ID = CLIENT_ID
    settings.SLUICE_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.SLUICE_OIDC_PROVIDER_NAME = "Example SSO"
    settings.SLUICE_OIDC_ALLOWED_DOMAINS = ["example.com"]
    settings.SLUICE_OIDC_TEAM_MAPPING = (
        '[{"claim": "groups", "value": "data-eng", "team": "Data", "role": "Editor"}]'
    )
    oidc._discovery.clear()
    yield server
    server.close()


def sign_in(client, next_url: str = ""):
    """Start at Sluice, follow the provider's approval back, and return the callback's response."""
    start = client.get(reverse("signin:oidc-start"), {"next": next_url} if next_url else {})
    assert start.status_code == 302
    target = urlsplit(start["Location"])
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
    connection.request("GET", f"{target.path}?{target.query}")
    answer = connection.getresponse()
    assert answer.status == 302, answer.read()
    back = urlsplit(answer.getheader("Location"))
    assert back.path == reverse("signin:oidc-callback")
    return client.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()})


def refusal(client, response) -> str:
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_the_login_page_offers_the_provider(client, provider):
    assert "Sign in with Example SSO" in client.get(reverse("login")).content.decode()


def test_no_button_and_no_endpoints_without_an_issuer(client, settings):
    settings.SLUICE_OIDC_ISSUER = ""
    assert "Sign in with" not in client.get(reverse("login")).content.decode()
    assert client.get(reverse("signin:oidc-start")).status_code == 404


def test_a_person_signs_in_and_gets_a_user_with_the_mapped_teams(client, provider):
    response = sign_in(client, next_url="/flows/")
    assert response.status_code == 302 and response["Location"] == "/flows/"
    user = get_user_model().objects.get(email="ada@example.com")
    assert client.session["_auth_user_id"] == str(user.pk) and not user.has_usable_password()
    identity = SingleSignOnIdentity.objects.get(user=user)
    assert (identity.issuer, identity.subject, identity.teams) == (
        provider.issuer,
        "u-1001",
        [["Data", "Editor"]],
    )
    request = provider.token_requests[-1]
    assert request["grant_type"] == "authorization_code" and len(request["code_verifier"]) >= 43
    assert AuditEvent.objects.filter(action="user.sso_login", outcome="ok", actor=user.username).exists()
    # The mapping's team is created and the role given, by the installation ("system").
    membership = Membership.objects.get(user=user)
    assert (membership.team.name, membership.role) == ("Data", Role.EDITOR)
    assert AuditEvent.objects.filter(action="user.role_set", actor="system", object_name=user.username).exists()
    # The second time, the same subject is the same user (linked, not looked up by email again).
    client.logout()
    membership.role = Role.VIEWER  # changed in the console since: the mapping sets it back
    membership.save()
    Membership.objects.create(user=user, team=Team.objects.create(name="Kept"), role=Role.VIEWER)
    sign_in(client)
    assert get_user_model().objects.filter(email="ada@example.com").count() == 1
    assert dict(Membership.objects.filter(user=user).values_list("team__name", "role")) == {
        "Data": Role.EDITOR, "Kept": Role.VIEWER}


def test_an_existing_user_with_that_email_is_the_one_signed_in(client, provider, owner):
    owner.email = "ada@example.com"
    owner.save()
    sign_in(client)
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_a_wrong_audience_is_refused(client, provider):
    provider.overrides = {"aud": "another-app"}
    assert "meant for another application (audience)" in refusal(client, sign_in(client))


def test_a_provider_on_an_address_the_guard_refuses_is_named_not_fetched(client, provider, monkeypatch):
    monkeypatch.setenv("SLUICE_NET_ALLOW", "")  # the local provider is on loopback: refused now
    response = client.get(reverse("signin:oidc-start"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    message = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "list its host in SLUICE_NET_ALLOW" in message, message


def test_an_expired_id_token_is_refused(client, provider):
    provider.overrides = {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}
    assert "The id token has expired" in refusal(client, sign_in(client))


def test_a_bad_nonce_is_refused(client, provider):
    provider.overrides = {"nonce": "not-the-one-sluice-sent"}
    assert "does not answer this sign-in (nonce)" in refusal(client, sign_in(client))


def test_a_disallowed_domain_is_refused(client, provider):
    provider.claims["email"] = "mallory@elsewhere.org"
    message = refusal(client, sign_in(client))
    assert "Accounts of elsewhere.org may not sign in" in message
    assert not get_user_model().objects.filter(email="mallory@elsewhere.org").exists()
    row = AuditEvent.objects.get(action="user.sso_login")
    assert row.outcome == "refused" and "elsewhere.org" in row.message


def test_a_token_signed_by_another_key_is_refused(client, provider):
    provider.sign_with = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    assert "signature does not match" in refusal(client, sign_in(client))


def test_a_callback_that_was_not_started_here_is_refused(client, provider):
    response = client.get(reverse("signin:oidc-callback"), {"code": "x", "state": "forged"})
    assert "was not started here" in refusal(client, response)


def test_a_deactivated_user_cannot_sign_in(client, provider, owner):
    owner.email, owner.is_active = "ada@example.com", False
    owner.save()
    assert "is deactivated" in refusal(client, sign_in(client))


def test_the_team_mapping_is_a_pure_function():
    rules = parse_rules(
        '[{"claim": "groups", "value": "ops", "team": "Ops", "role": "Operator"},'
        '{"claim": "email_domain", "value": "example.com", "team": "All", "role": "Viewer"},'
        '{"claim": "groups", "value": "admins", "team": "Ops", "role": "Admin"}]'
    )
    claims = {"email": "a@example.com", "groups": ["ops", "admins"]}
    assert teams_for(claims, rules) == [("Ops", "Operator"), ("All", "Viewer")]
    assert teams_for({"email": "b@other.org"}, rules) == []
    with pytest.raises(MappingInvalid, match=r"\[0\]\.role: must be one of Viewer"):
        parse_rules('[{"claim": "groups", "value": "x", "team": "T", "role": "Owner"}]')
