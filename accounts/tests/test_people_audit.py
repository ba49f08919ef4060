"""People changes in the audit log (who created, deactivated, reset, set or removed a role, gave
Manage), deactivation ending sessions and access keys at once, and SSO's teams applied."""

from __future__ import annotations

import json

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts import people
from accounts.models import ConnectionGrant, Membership, Role, Team
from api import keys
from api.tests.conftest import Key, sign
from audit.models import AuditEvent
from console.tests.pages import PASSWORD

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a brand new long passphrase 42"


def rows(**filters) -> list[tuple]:
    return list(AuditEvent.objects.filter(**filters).order_by("id")
                .values_list("actor", "action", "object_name", "changes", "outcome"))


def test_add_user_records_the_user_the_team_and_the_role_once(owner):
    call_command("add_user", "ana", "--team", "sales", "--role", "Operator", "--password", NEW_PASSWORD)
    call_command("add_user", "ana", "--team", "sales", "--role", "Operator")  # changes nothing
    assert [r[1:3] for r in rows()] == [("user.create", "ana"), ("team.create", "sales"), ("user.role_set", "ana")]
    assert rows(action="user.role_set")[0][3] == {"team": "sales", "role": {"from": None, "to": "Operator"}}
    call_command("add_user", "ana", "--team", "sales", "--role", "Editor")
    assert rows(action="user.role_set")[-1][3]["role"] == {"from": "Operator", "to": "Editor"}
    assert NEW_PASSWORD not in json.dumps(list(AuditEvent.objects.values()), default=str)


@pytest.fixture
def admin_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def editor(django_user_model, owner):
    user = django_user_model.objects.create_user("eve", password=PASSWORD)
    Membership.objects.create(user=user, team=Team.objects.get(name="default"), role=Role.EDITOR)
    return user


def act(client, person, **data):
    response = client.post(reverse("accounts:person", args=[person.pk]), data)
    assert response.status_code == 302
    return response


def test_the_person_page_records_each_change_as_the_admin(admin_client, owner, editor, demo):
    team, connection = Team.objects.get(name="default"), demo["connection"]
    other = Team.objects.create(name="ops")
    Membership.objects.create(user=owner, team=other, role=Role.ADMIN)
    AuditEvent.objects.all().delete()
    act(admin_client, editor, do="role", team=other.pk, role="Viewer")
    act(admin_client, editor, do="remove", team=other.pk)
    act(admin_client, editor, do="password", password=NEW_PASSWORD)
    act(admin_client, editor, do="grant", connection=connection.pk)
    act(admin_client, editor, do="revoke", connection=connection.pk)
    act(admin_client, editor, do="password", password="123")  # too short: refused, and recorded
    assert [(r[0], r[1], r[4]) for r in rows()] == [
        ("owner", "user.role_set", "ok"), ("owner", "user.role_removed", "ok"),
        ("owner", "user.password_reset", "ok"), ("owner", "connection.grant", "ok"),
        ("owner", "connection.revoke", "ok"), ("owner", "user.password_reset", "refused"),
    ]
    assert rows(action="user.role_removed")[0][3] == {"team": "ops", "role": {"from": "Viewer", "to": None}}
    assert rows(action="connection.grant")[0][2:4] == (connection.name, {"manage": {"from": None, "to": "eve"}})
    assert AuditEvent.objects.filter(via="console").count() == 6
    assert NEW_PASSWORD not in json.dumps(list(AuditEvent.objects.values()), default=str)
    assert Membership.objects.get(user=editor).team == team
    assert not ConnectionGrant.objects.filter(user=editor).exists()


def test_manage_is_given_to_editors_only_with_a_clear_refusal(admin_client, demo, django_user_model):
    viewer = django_user_model.objects.create_user("vic")
    Membership.objects.create(user=viewer, team=demo["flow"].team, role=Role.VIEWER)
    response = admin_client.post(reverse("accounts:person", args=[viewer.pk]),
                                 {"do": "grant", "connection": demo["connection"].pk}, follow=True)
    assert "vic is not an Editor of the team default; give them that role first." in response.content.decode()
    assert rows(action="connection.grant")[-1][4] == "refused"  # (the first: the demo creator's)


def test_a_superuser_creates_a_team_recorded(client, admin_user_):
    client.force_login(admin_user_)
    client.post(reverse("accounts:teams"), {"name": "finance"})
    client.post(reverse("accounts:teams"), {"name": "finance"})  # exists: refused
    assert [(r[0], r[1], r[2], r[4]) for r in rows(action="team.create")] == [
        ("root", "team.create", "finance", "ok"), ("root", "team.create", "finance", "refused")]


def test_deactivation_ends_sessions_and_access_keys_at_once(admin_client, editor):
    browsers = [Client(), Client()]
    for browser in browsers:
        browser.force_login(editor)
        assert browser.get(reverse("flows:list")).status_code == 200
    key, secret = keys.create_key(editor, "automation")
    body = b"{}"

    def list_flows():
        url = "http://testserver/api/appflow/list-flows"
        signed = sign(url, Key(key.access_key_id, secret), body)
        headers = {"Host": "testserver", **{k: v for k, v in signed.headers.items() if k.lower() != "content-type"}}
        return Client().post("/api/appflow/list-flows", body, content_type="application/x-amz-json-1.1",
                                 headers=headers)

    assert list_flows().status_code == 200
    act(admin_client, editor, do="deactivate")
    assert not [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(editor.pk)]
    for browser in browsers:
        assert browser.get(reverse("flows:list")).status_code == 302  # to the login page
    refused = list_flows()
    assert refused.status_code == 403 and "not an active Sluice access key" in refused.json()["message"]
    assert rows(action="user.deactivate")[0][3] == {"active": {"from": True, "to": False}, "sessions ended": 2}
    act(admin_client, editor, do="activate")
    assert list_flows().status_code == 200


def test_sso_teams_are_applied_created_and_others_kept(owner):
    Team.objects.create(name="Data")
    Membership.objects.create(user=owner, team=Team.objects.create(name="Kept"), role=Role.VIEWER)
    people.apply_sso_teams(owner, [["Data", "Editor"], ["New", "Viewer"]])
    roles = dict(Membership.objects.filter(user=owner).values_list("team__name", "role"))
    assert roles == {"default": Role.ADMIN, "Data": Role.EDITOR, "New": Role.VIEWER, "Kept": Role.VIEWER}
    people.apply_sso_teams(owner, [["Data", "Editor"], ["New", "Viewer"]])  # again: nothing new
    assert [r[1:3] for r in rows()] == [("user.role_set", "owner"), ("team.create", "New"),
                                        ("user.role_set", "owner")]
