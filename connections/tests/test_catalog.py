"""The connector catalog of "Manage connections": a distinct icon per connector, search and filters
as GET parameters."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from connections.catalog import ICONS
from connections.connectors.registry import CONNECTORS, connector_keys, get_connector_class

LIST = reverse("connections:list")
CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "sluice.css"


def test_every_connector_has_an_icon_of_its_own():
    # the built-in connectors; a registered package's connector shows its initials on grey
    assert set(ICONS) == set(CONNECTORS), "add the new connector to connections/catalog.py ICONS"
    monograms = [monogram for monogram, _ in ICONS.values()]
    assert len(set(monograms)) == len(monograms)
    assert all(len(monogram) == 2 for monogram in monograms)
    # Names that start alike must not look alike: one colour per first letter.
    by_letter: dict[str, list[str]] = {}
    for key, (_, colour) in ICONS.items():
        name = get_connector_class(key).display_name or key
        by_letter.setdefault(name[0].upper(), []).append(colour)
    assert all(len(set(colours)) == len(colours) for colours in by_letter.values()), by_letter
    styled = set(re.findall(r"\.logo\.logo-([a-z]+) \{", CSS.read_text()))
    assert {colour for _, colour in ICONS.values()} | {"grey"} <= styled


def catalog(html: str) -> list[str]:
    return re.findall(r'<li class="catalog-item[^"]*" data-connector="([^"]+)"', html)


@pytest.mark.django_db
def test_the_catalog_shows_each_icon(signed_in):
    html = signed_in.get(LIST).content.decode()
    assert catalog(html) == connector_keys()
    assert '<span class="logo logo-sky" aria-hidden="true">SF</span>' in html
    assert '<span class="logo logo-plum" aria-hidden="true">Sl</span>' in html
    assert '<span class="logo logo-green" aria-hidden="true">SN</span>' in html


@pytest.mark.django_db
@pytest.mark.parametrize("params, expected", [
    ({"q": "salesforce"}, ["Salesforce", "Pardot"]),          # name (Salesforce Pardot)
    ({"q": "  SLACK  "}, ["Slack"]),
    ({"role": "destination", "auth": "basic"}, ["PostgreSQL", "MySQL", "Redshift", "Snowflake"]),
    ({"role": "destination", "auth": "client_credentials"}, ["Marketo"]),
    ({"role": "source", "q": "amazon"}, ["S3"]),
    ({"auth": "none"}, ["LocalFiles"]),
    ({"role": "nonsense"}, None),                            # not offered: ignored
])
def test_catalog_search_and_filters(signed_in, params, expected):
    html = signed_in.get(LIST, params).content.decode()
    assert catalog(html) == (expected if expected is not None else connector_keys())


@pytest.mark.django_db
def test_nothing_matches_says_so_and_choosing_a_connector_keeps_the_filters(signed_in, demo):
    html = signed_in.get(LIST, {"q": "no such thing"}).content.decode()
    assert catalog(html) == []
    assert f'No connectors match — <a href="{LIST}">clear filters</a>' in html

    html = signed_in.get(LIST, {"role": "destination", "q": "local"}).content.decode()
    assert catalog(html) == ["LocalFiles"]
    assert 'href="?role=destination&amp;q=local&amp;connector=LocalFiles"' in html
    chosen = signed_in.get(LIST, {"role": "destination", "q": "local", "connector": "LocalFiles"}).content.decode()
    assert '<input type="hidden" name="connector" value="LocalFiles">' in chosen
    assert demo["connection"].name in chosen
    assert 'href="?role=destination&amp;q=local">Show all</a>' in chosen


@pytest.mark.django_db
def test_sap_odata_offers_basic_and_oauth_in_the_catalog_and_describe_connectors(signed_in):
    from connections.connectors.registry import get_connector_class
    from flows.cli.connector_verbs import connector_configuration

    for auth in ("basic", "oauth2"):
        assert "SAPOData" in catalog(signed_in.get(LIST, {"auth": auth, "q": "sap"}).content.decode())
    html = signed_in.get(LIST, {"q": "sap odata"}).content.decode()
    assert "Authentication: user name and password or OAuth 2.0" in html
    offered = connector_configuration(get_connector_class("SAPOData"))["authenticationConfig"]
    assert offered["isBasicAuthSupported"] and offered["isOAuth2Supported"] and not offered["isApiKeyAuthSupported"]
    form = signed_in.get(reverse("connections:create", args=["SAPOData"])).content.decode()
    assert "With OAuth 2.0 chosen" in form and reverse("connections:oauth_callback", args=["SAPOData"]) in form
