"""The read-only connection pages: honest about what is set, silent about secrets."""

from __future__ import annotations

import pytest
from django.urls import reverse

from console.tests.pages import SECRET, connection_with_secret, flow_document
from flows import services as flow_services

pytestmark = pytest.mark.django_db


def test_list_shows_every_connection_with_its_flow_count(signed_in, demo):
    connection_with_secret(str(demo["root"]))
    response = signed_in.get(reverse("connections:list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "demo-local-files" in html
    assert "secret-files" in html
    assert reverse("connections:detail", args=["demo-local-files"]) in html


def test_list_has_an_empty_state(signed_in):
    html = signed_in.get(reverse("connections:list")).content.decode()
    assert "No connections yet" in html


def test_detail_shows_properties_and_the_flows_that_use_it(signed_in, demo):
    response = signed_in.get(reverse("connections:detail", args=["demo-local-files"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "rootPath" in html
    assert str(demo["root"]) in html
    assert "Public" in html
    assert "not set" in html  # the demo connection has no credentials
    assert reverse("flows:detail", args=[demo["flow"].name]) in html


def test_detail_says_credentials_are_set_but_never_shows_them(signed_in, demo):
    connection = connection_with_secret(str(demo["root"]))
    flow_services.create_flow(flow_document("uses-secret", connection=connection.name))
    html = signed_in.get(reverse("connections:detail", args=[connection.name])).content.decode()
    assert "set" in html and "never shown" in html
    assert SECRET not in html
    assert connection.credentials_encrypted not in html
    assert "password" not in html
    assert "uses-secret" in html


def test_a_secret_saved_as_a_property_by_mistake_is_not_shown(signed_in, demo):
    connection = connection_with_secret(str(demo["root"]))
    connection.properties = {**connection.properties, "password": SECRET}
    connection.save()
    html = signed_in.get(reverse("connections:detail", args=[connection.name])).content.decode()
    # Only when the connector declares "password" secret; the Local files connector may not.
    from connections.connectors.registry import get_connector_class

    if "password" in get_connector_class("LocalFiles").secret_field_names():
        assert SECRET not in html


def test_unknown_connection_is_404(signed_in):
    assert signed_in.get(reverse("connections:detail", args=["nope"])).status_code == 404


def test_names_with_a_slash_work(signed_in, demo):
    connection_with_secret(str(demo["root"]), name="team/files")
    assert signed_in.get(reverse("connections:detail", args=["team/files"])).status_code == 200


def test_list_does_a_fixed_number_of_queries(signed_in, demo, django_assert_max_num_queries):
    for i in range(8):
        connection_with_secret(str(demo["root"]), name=f"conn-{i}")
    # 7: one asks which connector packages are registered (the catalog lists them too), one the
    # user's roles (accounts/access.py)
    with django_assert_max_num_queries(7):
        assert signed_in.get(reverse("connections:list")).status_code == 200
