"""The connections console: catalog, create, view, edit, copy, delete, quota."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from connections.connectors.registry import CONNECTORS, connector_keys, get_connector_class
from connections.models import Connection, ConnectionChange
from connections.tests.fakes import WRONG
from console.tests.pages import flow_document
from flows import services as flow_services
from flows.models import Flow

pytestmark = pytest.mark.django_db
PASSWORD = "hunter2-correct-password"


def create_form(**overrides) -> dict:
    data = {
        "connection_name": "crm-prod",
        "instanceUrl": "https://crm.example.test",
        "environment": "Production",
        "username": "ada",
        "password": PASSWORD,
        "connection_mode": "Public",
    }
    data.update(overrides)
    return data


def create(client, **overrides):
    return client.post(reverse("connections:create", args=["TestPassword"]), create_form(**overrides))


def test_catalog_lists_every_registered_connector_with_its_facts(signed_in, demo):
    html = signed_in.get(reverse("connections:list")).content.decode()
    for key in connector_keys():
        cls = get_connector_class(key)
        assert cls.display_name in html
        assert reverse("connections:create", args=[key]) in html
    assert "1 connection" in html  # the demo's Local files connection
    assert "of 100 connections used" in html


def test_choosing_a_connector_lists_only_its_connections(signed_in, demo, password_connector):
    create(signed_in)
    html = signed_in.get(reverse("connections:list") + "?connector=TestPassword").content.decode()
    assert "crm-prod" in html and "demo-local-files" not in html
    html = signed_in.get(reverse("connections:list") + "?connector=LocalFiles").content.decode()
    assert "crm-prod" not in html and "demo-local-files" in html


@pytest.mark.parametrize("key", list(CONNECTORS))  # the built-ins: collection may not query the database
def test_the_create_form_has_every_declared_field_of_every_connector(signed_in, key):
    html = signed_in.get(reverse("connections:create", args=[key])).content.decode()
    for field in get_connector_class(key).config_fields:
        assert f'name="{field.name}"' in html
        assert (field.label or field.name) in html
        if field.help:
            assert escape(field.help[:40]) in html
        if field.secret:
            assert 'type="password"' in html


def test_the_form_shows_choices_and_help_from_the_connector(signed_in, password_connector):
    html = signed_in.get(reverse("connections:create", args=["TestPassword"])).content.decode()
    assert "Sandbox" in html and "Production or Sandbox" in html
    assert "Secrets" in html


def test_create_tests_then_saves_and_records_who_and_from_where(signed_in, owner, password_connector):
    response = create(signed_in)
    assert response.status_code == 302
    assert response["Location"] == reverse("connections:detail", args=["crm-prod"])
    connection = Connection.objects.get(name="crm-prod")
    assert connection.properties == {"instanceUrl": "https://crm.example.test", "environment": "Production",
                                     "username": "ada"}
    assert connection.credentials == {"password": PASSWORD}
    assert connection.status == Connection.Status.AVAILABLE
    assert connection.last_test_ok_at is not None
    assert connection.created_by == owner
    change = ConnectionChange.objects.get(connection=connection)
    assert (change.action, change.user, change.address) == ("created", owner, "127.0.0.1")
    assert "password (secret)" in change.fields
    assert PASSWORD not in str(change.fields) + change.detail


def test_a_failing_test_shows_the_message_by_the_form_and_saves_nothing(signed_in, password_connector):
    response = create(signed_in, password=WRONG)
    assert response.status_code == 400
    html = response.content.decode()
    assert "The connection was not saved" in html
    assert "The user name or password is not right" in html
    assert 'value="ada"' in html  # what was typed stays, except the secret
    assert WRONG not in html
    assert not Connection.objects.exists()
    assert not ConnectionChange.objects.exists()


def test_field_errors_name_the_field(signed_in, password_connector):
    response = create(signed_in, connection_name="has space", instanceUrl="", password="")
    html = response.content.decode()
    assert response.status_code == 400
    assert "no spaces" in html
    assert html.count("This field is required.") == 2
    assert not Connection.objects.exists()


def test_a_duplicate_name_is_refused(signed_in, password_connector):
    create(signed_in)
    response = create(signed_in)
    assert response.status_code == 400
    assert "already exists" in response.content.decode()


def test_the_quota_is_a_clear_message(signed_in, settings, password_connector):
    settings.SLUICE_MAX_CONNECTIONS = 1
    create(signed_in)
    response = create(signed_in, connection_name="second")
    assert response.status_code == 400
    assert "limit of 1 connections" in response.content.decode()
    assert Connection.objects.count() == 1


def test_the_view_shows_status_last_test_used_by_and_changes(signed_in, demo):
    html = signed_in.get(reverse("connections:detail", args=["demo-local-files"])).content.decode()
    assert "Available" in html
    assert "Last successful test" in html
    assert demo["flow"].name in html
    assert "Created" in html and "Test connection" in html
    assert "Copy to new connection" in html


def test_edit_with_a_blank_secret_keeps_the_old_one(signed_in, owner, password_connector):
    create(signed_in)
    url = reverse("connections:edit", args=["crm-prod"])
    html = signed_in.get(url).content.decode()
    assert "Leave blank to keep the current value" in html
    assert PASSWORD not in html
    data = create_form(username="grace", password="")
    del data["connection_name"]
    assert signed_in.post(url, data).status_code == 302
    connection = Connection.objects.get(name="crm-prod")
    assert connection.properties["username"] == "grace"
    assert connection.credentials == {"password": PASSWORD}
    assert connection.updated_by == owner
    change = connection.changes.first()
    assert change.action == "updated" and change.fields == ["username"]


def test_edit_replaces_a_secret_typed_anew_and_a_failing_test_changes_nothing(signed_in, password_connector):
    create(signed_in)
    url = reverse("connections:edit", args=["crm-prod"])
    data = create_form(password=WRONG, username="grace")
    del data["connection_name"]
    response = signed_in.post(url, data)
    assert response.status_code == 400
    assert "not right" in response.content.decode()
    connection = Connection.objects.get(name="crm-prod")
    assert connection.properties["username"] == "ada" and connection.credentials == {"password": PASSWORD}
    data["password"] = "new-password"
    assert signed_in.post(url, data).status_code == 302
    connection.refresh_from_db()
    assert connection.credentials == {"password": "new-password"}
    assert "password (secret, replaced)" in connection.changes.first().fields


def test_copy_takes_the_settings_but_no_secret(signed_in, password_connector):
    create(signed_in)
    url = reverse("connections:create", args=["TestPassword"]) + "?copy=crm-prod"
    html = signed_in.get(url).content.decode()
    assert 'value="crm-prod-copy"' in html
    assert 'value="https://crm.example.test"' in html and 'value="ada"' in html
    assert PASSWORD not in html


def test_delete_an_unused_connection_after_confirmation(signed_in, password_connector):
    create(signed_in)
    url = reverse("connections:delete", args=["crm-prod"])
    assert "cannot be undone" in signed_in.get(url).content.decode()
    assert signed_in.post(url).status_code == 302
    assert not Connection.objects.exists()
    change = ConnectionChange.objects.get(action="deleted")
    assert change.connection is None and change.connection_name == "crm-prod"


def test_delete_is_refused_while_flows_use_it_unless_forced(signed_in, demo):
    url = reverse("connections:delete", args=["demo-local-files"])
    html = signed_in.get(url).content.decode()
    assert demo["flow"].name in html and "Delete anyway" in html
    response = signed_in.post(url)
    assert response.status_code == 409
    assert "is used by the flows" in response.content.decode()
    assert Connection.objects.filter(name="demo-local-files").exists()
    response = signed_in.post(url, {"force": "on"})
    assert response.status_code == 302
    flow = Flow.objects.get(name=demo["flow"].name)
    assert flow.status == Flow.Status.SUSPENDED
    assert "demo-local-files" in flow.status_message and "deleted" in flow.status_message
    assert "suspended flows: demo-accounts-to-jsonl" in ConnectionChange.objects.get(action="deleted").detail


def test_forced_delete_suspends_every_flow_and_they_say_why(signed_in, demo):
    flow_services.create_flow(flow_document("second-user"))
    signed_in.post(reverse("connections:delete", args=["demo-local-files"]), {"force": "on"})
    html = signed_in.get(reverse("flows:detail", args=["second-user"])).content.decode()
    assert "Suspended" in html
    assert Flow.objects.filter(status=Flow.Status.SUSPENDED).count() == 2


def test_unknown_connector_is_404(signed_in):
    assert signed_in.get(reverse("connections:create", args=["Nope"])).status_code == 404
