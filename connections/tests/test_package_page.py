"""The "Connector packages" page: staff only (others get a 403 that says why), every installed
package with what it declares and its state, Register / Update / Unregister through the same
functions as the CLI, a refusal's reason shown, unregister refused while connections use it.

Packages are installed with pip into a temporary target on sys.path, as
test_connector_packages.py does; each install takes a few seconds, so each test installs once."""

from __future__ import annotations

import shutil

import pytest
from django.urls import reverse

from connections.connectors.registry import connector_keys
from connections.models import Connection, ConnectorRegistration
from connections.tests.test_connector_packages import SAMPLE, forget, pip_install, sample  # noqa: F401

pytestmark = pytest.mark.django_db
PAGE = reverse("connections:packages")


@pytest.fixture
def staff(client, admin_user_):
    client.force_login(admin_user_)
    return client


def follow(response, client):
    assert response.status_code == 302 and response["Location"] == PAGE
    return client.get(PAGE).content.decode()


def test_only_staff_see_the_page_and_its_buttons(signed_in):
    for response in (signed_in.get(PAGE),
                     signed_in.post(reverse("connections:package-register", args=["SampleHelpdesk"])),
                     signed_in.get(reverse("connections:package-unregister", args=["SampleHelpdesk"]))):
        assert response.status_code == 403
        # refused by the one module of rules (accounts/access.py) before the page's own staff check
        assert "You may not open this page: it is for staff accounts" in response.content.decode()
    assert not ConnectorRegistration.objects.exists()
    assert PAGE not in signed_in.get(reverse("connections:list")).content.decode()


def test_nothing_installed_says_how_to_install_one(staff):
    assert PAGE in staff.get(reverse("connections:list")).content.decode()  # linked from the catalog
    html = staff.get(PAGE).content.decode()
    assert "No connector packages are installed. Install one with pip, then register it here." in html
    assert "docs/connector-sdk.md" in html and "Installing and registering" in html


def test_register_refuse_unregister_in_use_update_and_unregister(staff, sample):  # noqa: F811
    html = staff.get(PAGE).content.decode()
    assert "Sample Helpdesk" in html and "sluice-connector-sample" in html and "1.0.0" in html
    assert "sluice_connector_sample.connector:SampleHelpdeskConnector" in html
    assert "Not registered" in html and "API key" in html and "OnDemand, Scheduled" in html
    assert "<code>instanceUrl</code>, <code>apiKey</code>" in html
    assert reverse("connections:package-register", args=["SampleHelpdesk"]) in html
    assert "SampleHelpdesk" not in connector_keys()

    register = reverse("connections:package-register", args=["SampleHelpdesk"])
    assert staff.get(register).status_code == 405  # a change is a POST (with its CSRF token)
    html = follow(staff.post(register), staff)
    assert "passed the checks and is registered" in html and "Registered at 1.0.0" in html
    row = ConnectorRegistration.objects.get()
    assert (row.version, row.registered_by) == ("1.0.0", "root")
    assert "SampleHelpdesk" in connector_keys()

    # Registering again is refused, with the reason.
    html = follow(staff.post(register), staff)
    assert "A connector &quot;SampleHelpdesk&quot; is registered already." in html

    Connection.objects.create(name="helpdesk", connector_type="CustomConnector", connector_label="SampleHelpdesk",
                              properties={"instanceUrl": "https://helpdesk.example.test"})
    unregister = reverse("connections:package-unregister", args=["SampleHelpdesk"])
    confirm = staff.get(unregister).content.decode()
    assert "Unregister the connector SampleHelpdesk?" in confirm and "so Sluice will refuse" in confirm
    assert reverse("connections:detail", args=["helpdesk"]) in confirm
    refused = staff.post(unregister)
    assert refused.status_code == 409
    assert "is in use by the connector profiles helpdesk" in refused.content.decode()
    assert ConnectorRegistration.objects.exists()

    sample.release("1.1.0", "Tickets from a Sample Helpdesk account (1.1).")
    html = staff.get(PAGE).content.decode()
    assert "Registered at 1.0.0, 1.1.0 installed" in html and "Update to 1.1.0" in html
    html = follow(staff.post(reverse("connections:package-update", args=["SampleHelpdesk"])), staff)
    assert "now runs sluice-connector-sample 1.1.0 (was 1.0.0)" in html and "Registered at 1.1.0" in html
    assert ConnectorRegistration.objects.get().version == "1.1.0"

    Connection.objects.all().delete()
    assert "No connection uses it" in staff.get(unregister).content.decode()
    html = follow(staff.post(unregister), staff)
    assert "is unregistered" in html and "Not registered" in html
    assert not ConnectorRegistration.objects.exists() and "SampleHelpdesk" not in connector_keys()


def test_a_package_that_fails_the_checks_is_refused_with_the_reason(staff, tmp_path, monkeypatch):
    source = tmp_path / "leaky"
    shutil.copytree(SAMPLE, source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    module = source / "sluice_connector_sample" / "connector.py"
    module.write_text(module.read_text().replace('"API key", secret=True,', '"API key",'))
    pip_install(source, tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    try:
        html = follow(staff.post(reverse("connections:package-register", args=["SampleHelpdesk"])), staff)
    finally:
        forget("sluice_connector_sample")
    assert 'The connector &quot;SampleHelpdesk&quot; (sluice-connector-sample 1.0.0) was refused' in html
    assert "config field apiKey looks secret: mark it secret=True" in html
    assert "Not registered" in html and not ConnectorRegistration.objects.exists()
