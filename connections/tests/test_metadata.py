"""The metadata cache (connections/metadata.py) against a local server speaking Zendesk's API that
records every request: a second look costs no API call, refresh=True asks again, editing,
re-authorizing or deleting the connection forgets, and "Refresh metadata" / the CLI clear it."""

from __future__ import annotations

import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from connections import metadata, services
from connections.connectors.base import ConnectorError
from connections.models import Connection, ConnectionMetadata
from connections.tests import democrm_server
from connections.tests.zendesk_server import serve

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(monkeypatch):
    return serve(monkeypatch)


@pytest.fixture
def support(account) -> Connection:
    connection = Connection(name="support", connector_type="Zendesk",
                            properties={"subdomain": "acme", "clientId": "sluice", "baseUrl": account.base})
    connection.credentials = {"clientSecret": "s", "accessToken": "zd-token", "refreshToken": "r",
                              "expiresAt": int(time.time()) + 86400}
    connection.save()
    return connection


def calls(account) -> int:
    return len(account.requests)


def test_a_second_look_at_the_objects_makes_no_api_call(monkeypatch):
    provider = democrm_server.serve(monkeypatch)
    issued = provider._tokens()
    crm = Connection(name="crm", connector_type="CustomConnector", connector_label="DemoCRM",
                     properties={"instanceUrl": provider.base, "clientId": democrm_server.CLIENT_ID})
    crm.credentials = {"clientSecret": democrm_server.CLIENT_SECRET, "accessToken": issued["access_token"],
                       "refreshToken": issued["refresh_token"], "expiresAt": int(time.time()) + 3600}
    crm.save()
    first = metadata.entities(crm)
    assert len(provider.requests) == 1 and "Accounts" in [e.name for e in first]
    assert metadata.entities(crm) == first
    assert len(provider.requests) == 1
    metadata.entities(crm, refresh=True)
    assert len(provider.requests) == 2


def test_a_second_look_at_the_fields_makes_no_api_call(account, support):
    fields = metadata.fields(support, "tickets")
    asked = calls(account)
    assert asked >= 1
    again = metadata.fields(support, "tickets")
    assert calls(account) == asked
    assert again == fields  # the same dataclasses: types, keys, operators (tuples) and all
    updated = next(f for f in again if f.name == "updated_at")
    assert updated.timestamp_for_incremental and "GREATER_THAN" in updated.filter_operators
    assert isinstance(updated.filter_operators, tuple)


def test_refresh_asks_once_and_replaces(account, support):
    before = {f.name for f in metadata.fields(support, "tickets")}
    assert "custom_field_27642" in before
    account.ticket_fields = [f for f in account.ticket_fields if f["id"] != 27642]  # deleted in Zendesk
    assert {f.name for f in metadata.fields(support, "tickets")} == before  # still the cached answer

    asked = calls(account)
    after = {f.name for f in metadata.fields(support, "tickets", refresh=True)}
    assert calls(account) == asked + 1  # one call: the ticket fields
    assert after == before - {"custom_field_27642"}
    assert {f.name for f in metadata.fields(support, "tickets")} == after  # replaced, not added
    assert calls(account) == asked + 1


def test_an_entry_older_than_the_max_age_is_asked_again(account, support, settings):
    settings.SLUICE_METADATA_MAX_AGE_SECONDS = 600
    metadata.fields(support, "users")
    ConnectionMetadata.objects.update(fetched_at=timezone.now() - timedelta(seconds=601))
    asked = calls(account)
    metadata.fields(support, "users")
    assert calls(account) > asked


def test_errors_are_not_cached(account, support):
    account.fail_next.append((503, {}))
    with pytest.raises(ConnectorError):
        metadata.fields(support, "tickets")
    assert not ConnectionMetadata.objects.exists()
    assert metadata.fields(support, "tickets")


def test_editing_the_connection_forgets_what_it_had(account, support):
    metadata.entities(support)
    metadata.fields(support, "tickets")
    assert ConnectionMetadata.objects.filter(connection=support).count() == 2
    services.update_connection(support, properties={**support.properties, "clientId": "another-client"})
    assert not ConnectionMetadata.objects.filter(connection=support).exists()
    asked = calls(account)
    metadata.fields(support, "tickets")
    assert calls(account) > asked


def test_deleting_the_connection_deletes_its_cache(account, support):
    metadata.fields(support, "tickets")
    services.delete_connection(support)
    assert not ConnectionMetadata.objects.exists()


def test_connectors_that_are_cheap_to_ask_are_asked_every_time(data_dir):
    files = Connection.objects.create(name="files", connector_type="CustomConnector", connector_label="LocalFiles",
                                      properties={"rootPath": str(data_dir)})
    assert metadata.entities(files) == []
    (data_dir / "accounts.csv").write_text("Id,Name\n1,Acme\n")
    assert [e.name for e in metadata.entities(files)] == ["accounts.csv"]  # a new file shows at once
    assert not ConnectionMetadata.objects.exists()


def test_the_connection_page_shows_the_cache_and_refresh_metadata_clears_it(account, support, signed_in):
    url = reverse("connections:detail", args=["support"])
    html = signed_in.get(url).content.decode()
    assert "Refresh metadata" in html and "Nothing is cached" in html
    metadata.entities(support)
    metadata.fields(support, "tickets")
    html = signed_in.get(url).content.decode()
    assert "<td>Objects</td>" in html and "<td>Fields</td>" in html and ">tickets</td>" in html

    response = signed_in.post(reverse("connections:metadata_refresh", args=["support"]))
    assert response.status_code == 302 and response["Location"] == url
    assert not ConnectionMetadata.objects.exists()
    html = signed_in.get(url).content.decode()
    assert "Forgot 2 cached lists of objects and fields" in html and "Nothing is cached" in html
    assert signed_in.get(reverse("connections:metadata_refresh", args=["support"])).status_code == 405


def test_the_cli_resets_all_or_one_object(account, support):
    metadata.entities(support)
    metadata.fields(support, "tickets")
    metadata.fields(support, "users")

    def sluice(*args):
        out, err = StringIO(), StringIO()
        call_command("sluice", "reset-connector-metadata-cache", "--connector-profile-name", "support", *args,
                     stdout=out, stderr=err)
        return out.getvalue()

    assert sluice("--connector-entity-name", "tickets") == ""
    assert set(ConnectionMetadata.objects.values_list("kind", "key")) == {("entities", ""), ("fields", "users")}
    sluice("--entities-path", "")
    assert set(ConnectionMetadata.objects.values_list("kind", "key")) == {("fields", "users")}
    sluice()
    assert not ConnectionMetadata.objects.exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_refresh_metadata_in_the_browser(account, support, owner, page):
    from playwright.sync_api import expect

    from flows.tests.test_browser import log_in

    metadata.fields(support, "tickets")
    log_in(page)
    page.goto(reverse("connections:detail", args=["support"]))
    card = page.locator("#metadata")
    expect(card.get_by_role("heading", name="Objects and fields")).to_be_visible()
    expect(card.locator("tbody tr")).to_have_count(1)
    expect(card).to_contain_text("tickets")
    page.screenshot(path="/tmp/shots-issue-8x/connection-metadata.png", full_page=True)

    card.get_by_role("button", name="Refresh metadata").click()
    expect(page.locator("#messages")).to_contain_text("Forgot 1 cached list of objects and fields")
    expect(page.locator("#metadata")).to_contain_text("Nothing is cached")
    assert not ConnectionMetadata.objects.exists()


def test_re_authorizing_forgets_what_the_previous_user_could_see(account, support):
    from connections.connectors.zendesk import ZendeskConnector
    from connections.oauth.flow import _store_new_tokens

    metadata.fields(support, "tickets")
    account.tokens.append("new-token")
    _store_new_tokens(support.pk, ZendeskConnector, {"accessToken": "new-token", "refreshToken": "r2",
                                                     "expiresAt": int(time.time()) + 3600}, user=None, address=None)
    assert not ConnectionMetadata.objects.exists()
