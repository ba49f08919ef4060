"""The Demo CRM card's "Connect the demo": the address from the request (never an assumed :8000),
the client Sluice registered for itself, straight to the real consent page; the secret stays on
the server. The browser walk-through is in connections/tests/test_browser_oauth.py."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from connections.models import PendingAuthorization
from demo_saas.models import DemoClient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_on(settings):
    settings.SLUICE_DEMO_SAAS = True
    settings.SLUICE_BASE_URL = ""


def test_the_card_offers_it(signed_in):
    page = signed_in.get(reverse("connections:list")).content.decode()
    assert "Connect the demo" in page and reverse("connect-demo") in page


def test_one_click_goes_to_the_consent_page_at_the_requests_address(signed_in):
    response = signed_in.post(reverse("connect-demo"), HTTP_HOST="127.0.0.1:8765")
    assert response.status_code == 302
    consent = urlsplit(response["Location"])
    assert (consent.netloc, consent.path) == ("127.0.0.1:8765", "/demo-saas/oauth/authorize")
    query = parse_qs(consent.query)
    app = DemoClient.objects.get()
    callback = "http://127.0.0.1:8765/connections/oauth/DemoCRM/callback/"
    assert query["client_id"] == [app.client_id] and query["redirect_uri"] == [callback]
    assert callback in app.redirect_uri_list()  # registered for this address, so the consent accepts it
    assert app.client_secret not in response["Location"]
    pending = PendingAuthorization.objects.get()
    assert pending.name == "demo-crm"
    assert pending.properties["instanceUrl"] == "http://127.0.0.1:8765/demo-saas/"

    # The consent page is the real one, and accepts the request.
    page = signed_in.get(consent.path + "?" + consent.query, HTTP_HOST="127.0.0.1:8765").content.decode()
    assert "Sluice wants to read your accounts" in page


def test_a_taken_name_gets_the_next_free_one(signed_in, demo):
    from connections import services

    services.create_connection(name="demo-crm", connector_type="CustomConnector", connector_label="LocalFiles",
                               properties={"rootPath": str(demo["root"])})
    signed_in.post(reverse("connect-demo"))
    assert PendingAuthorization.objects.get().name == "demo-crm-2"


def test_off_when_the_demo_crm_is_off(signed_in, settings):
    settings.SLUICE_DEMO_SAAS = False
    assert "Connect the demo" not in signed_in.get(reverse("connections:list")).content.decode()
    assert signed_in.post(reverse("connect-demo")).status_code == 404
    assert signed_in.get(reverse("connect-demo")).status_code == 405
