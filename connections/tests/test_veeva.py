"""The Veeva Vault source against a local Vault speaking the Vault REST API and VQL
(connections/tests/veeva_server.py): sign-in, entities from the metadata API, VQL paging by
next_page, the modified_date__v window in the WHERE, session expiry, the API limit and a malformed
page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError, MissingAtSource, Window
from connections.connectors.veeva import VeevaConnector, vql
from connections.connectors.veeva.client import vault_url
from connections.tests.veeva_server import BASE_TIME, parse_where, serve

USER, PASSWORD = "integration@pharma.com", "Pässwörd'1"


@pytest.fixture
def vault(monkeypatch):
    return serve(monkeypatch, USER, PASSWORD)


def conn_for(vault, password: str = PASSWORD) -> ConnectionInfo:
    return ConnectionInfo("vv", "Veeva", "", {"instanceUrl": vault.base}, {"username": USER, "password": password})


def read(vault, entity="documents", fields=None, window=None, options=None):
    batches = list(VeevaConnector().read(conn_for(vault), entity, fields, [], window or Window(), options or {}))
    return batches, [row for b in batches for row in b.table.to_pylist()]


@pytest.mark.parametrize("given, expected", [
    ("myvault.veevavault.com", "https://myvault.veevavault.com/"),
    ("MyVault.VeevaVault.com/", "https://myvault.veevavault.com/"),
    ("https://myvault.veevavault.com/ui/#home", "https://myvault.veevavault.com/"),
])
def test_the_vault_address_from_what_people_type(given, expected):
    assert vault_url({"instanceUrl": given}) == expected


@pytest.mark.parametrize("bad", ["", "my vault", "myvault", "a_b.com"])
def test_a_wrong_vault_name_is_named(bad):
    with pytest.raises(ConnectorError, match="instanceUrl"):
        vault_url({"instanceUrl": bad})


def test_the_ssrf_guard_refuses_an_internal_vault_address():
    conn = ConnectionInfo("vv", "Veeva", "", {"instanceUrl": "http://169.254.169.254"},
                          {"username": USER, "password": PASSWORD})
    with pytest.raises(net.BlockedAddress):
        VeevaConnector().test(conn)


def test_the_connection_test_signs_in(vault):
    VeevaConnector().test(conn_for(vault))
    assert vault.sign_ins == 1


def test_a_wrong_password_is_named_not_a_stack_trace(vault):
    with pytest.raises(ConnectorError) as caught:
        VeevaConnector().test(conn_for(vault, "nope"))
    assert "USERNAME_OR_PASSWORD_INCORRECT" in caught.value.message
    assert "user name and password" in caught.value.message
    assert "nope" not in caught.value.message and PASSWORD not in caught.value.message


def test_entities_are_documents_and_objects_from_the_metadata_api(vault):
    entities = VeevaConnector().list_entities(conn_for(vault))
    assert [(e.name, e.label) for e in entities] == [
        ("documents", "Documents [documents]"), ("product__v", "Product [product__v]"),
        ("study__v", "Study [study__v]")]


def test_document_fields_are_the_queryable_properties_typed(vault):
    fields = {f.name: f for f in VeevaConnector().describe_entity(conn_for(vault), "documents")}
    assert "binder_metadata__v" not in fields  # not queryable: VQL would refuse it
    assert list(fields)[0] == "id" and fields["id"].primary_key and fields["id"].data_type == "integer"
    assert fields["modified_date__v"].data_type == "datetime" and fields["modified_date__v"].timestamp_for_incremental
    assert fields["size__v"].data_type == "double" and fields["major_version_number__v"].data_type == "integer"


def test_an_object_that_is_gone_is_named(vault):
    with pytest.raises(MissingAtSource, match="no object \"gone__c\""):
        VeevaConnector().describe_entity(conn_for(vault), "gone__c")


def test_documents_are_read_page_by_page_following_next_page(vault):
    batches, rows = read(vault)
    assert len(batches) == 3 and len(rows) == 25  # pages of 10, 10, 5
    assert [r["id"] for r in rows] == list(range(1, 26))
    assert rows[0]["name__v"] == "Cholecap brochure 1 — ü’s" and rows[3]["title__v"] is None
    assert rows[0]["modified_date__v"] == "2024-03-01T09:00:00.000Z"
    assert rows[0]["product__v"] == '["00P000000000101"]'
    assert vault.queries == ["SELECT id, document_creation_date__v, major_version_number__v, minor_version_number__v, "
                             "modified_date__v, name__v, product__v, size__v, status__v, title__v, type__v "
                             "FROM documents ORDER BY id ASC"]
    assert batches[-1].notes == ["Veeva Vault API limits left after the read: burstlimitremaining 1999, "
                                 "dailylimitremaining 99999."]


def test_a_next_page_on_another_host_is_followed_on_the_vault_only(vault):
    vault.next_page_host = "https://collector.example"  # the session id must not go there
    _, rows = read(vault)
    assert len(rows) == 25


def test_object_records_are_typed(vault):
    _, rows = read(vault, "product__v")
    assert len(rows) == 12
    assert rows[0] == {"id": "00P000000000001", "active__c": False, "launch_date__c": "2024-01-02",
                       "modified_date__v": "2024-03-01T08:01:00.000Z", "name__v": "Product 1 日本",
                       "price__c": 2.5, "status__v": '["active__v"]'}


def test_the_modified_date_window_is_pushed_into_the_where(vault):
    window = Window(BASE_TIME + timedelta(hours=5), BASE_TIME + timedelta(hours=9))
    _, rows = read(vault, fields=["id", "modified_date__v"], window=window)
    assert [r["id"] for r in rows] == [5, 6, 7, 8]
    assert vault.queries == ["SELECT id, modified_date__v FROM documents WHERE modified_date__v >= "
                             "'2024-03-01T13:00:00.000Z' AND modified_date__v < '2024-03-01T17:00:00.000Z' "
                             "ORDER BY id ASC"]


def test_the_document_type_is_quoted_and_escaped(vault):
    _, rows = read(vault, fields=["id", "type__v"], options={"object": "documents", "documentType": "Reviewer's Guide"})
    assert {r["type__v"] for r in rows} == {"Reviewer's Guide"} and len(rows) == 8
    assert "WHERE type__v = 'Reviewer\\'s Guide'" in vault.queries[0]


@pytest.mark.parametrize("value", ["O'Brien", "a\\' OR id >= '0", "back\\slash", "x' OR '1'='1"])
def test_a_quoted_value_stays_one_value(value):
    assert parse_where(f"name__v = {vql.quote(value)}") == [("name__v", "=", value)]


def test_a_window_end_with_a_fraction_keeps_its_millisecond():
    columns = {"modified_date__v": type("C", (), {"data_type": "datetime", "vault_type": "DateTime"})()}
    end = datetime(2024, 3, 1, 10, 0, 0, 500, tzinfo=UTC)
    assert vql.window_conditions(Window(None, end), columns) == ["modified_date__v <= '2024-03-01T10:00:00.000Z'"]


def test_an_expired_session_signs_in_once_more_and_carries_on(vault):
    vault.expire_after = 1  # the second page finds the session ended
    _, rows = read(vault)
    assert len(rows) == 25 and vault.sign_ins == 2


def test_the_api_limit_is_transient_and_named(vault):
    vault.limit_at = 2
    with pytest.raises(ConnectorError) as caught:
        read(vault)
    assert caught.value.permanent is False and "API_LIMIT_EXCEEDED" in caught.value.message
    assert "burstlimitremaining=1999" in caught.value.message


def test_a_malformed_page_fails_naming_vault_and_page(vault):
    vault.malformed_at = 2
    with pytest.raises(ConnectorError, match=r"Veeva Vault .* page 2 of the VQL query on documents"):
        read(vault)


def test_a_vault_failure_answer_is_shown_with_its_type(vault):
    with pytest.raises(MissingAtSource):
        read(vault, fields=["id", "nope__c"])


@pytest.mark.parametrize("props, key", [
    ({}, "object"),
    ({"object": "Documents; DROP"}, "object"),
    ({"object": "product__v", "includeSourceFiles": True}, "includeSourceFiles"),
    ({"object": "documents", "includeRenditions": "yes"}, "includeRenditions"),
    ({"object": "product__v", "documentType": "Reference"}, "documentType"),
    ({"object": "documents", "region": "x"}, "region"),
])
def test_source_blocks_are_checked_naming_the_key(props, key):
    assert key in [k for k, _ in VeevaConnector.check_source_properties(props)]


def test_a_metadata_only_document_block_is_fine():
    assert VeevaConnector.check_source_properties(
        {"object": "documents", "documentType": "Reference", "includeAllVersions": True,
         "includeSourceFiles": False, "includeRenditions": False}) == []


@pytest.mark.django_db
def test_the_catalog_lists_veeva_vault_with_its_auth_and_schedule(signed_in):
    from django.urls import reverse

    html = signed_in.get(reverse("connections:list")).content.decode()
    entry = html[html.index("Veeva Vault"):][:1500]
    assert "every 1 min" in entry and "modified_date__v" in entry


def test_a_document_block_with_files_is_fine_and_hands_over_files():
    props = {"object": "documents", "includeSourceFiles": True, "includeRenditions": True}
    assert VeevaConnector.check_source_properties(props) == []
    assert VeevaConnector.hands_over_files(props)
    assert not VeevaConnector.hands_over_files({"object": "documents", "includeSourceFiles": False})


def test_document_files_and_renditions_come_with_their_records(vault):
    vault.expire_after = 1  # the session ends after the first query page, in the middle of the downloads
    batches, rows = read(vault, fields=["name__v"],
                         options={"object": "documents", "includeSourceFiles": True, "includeRenditions": True})
    files = {f.name: f for b in batches for f in b.files}
    try:
        assert len(rows) == 25 and set(rows[0]) == {"name__v"}  # the version fields stay out of the records
        assert Path(files["1/1.1/source/brochure-1.pdf"].path).read_bytes() == \
            b"%PDF-1.4 document 1 version 1.1\n" * 50
        assert "7/1.1/source/Broschüre 7.pdf" in files  # RFC 6266 filename*
        assert "1/1.1/renditions/viewable_rendition__v/brochure-1-viewable.pdf" in files
        assert not any(name.startswith("2/") and "renditions" in name for name in files)
        assert not any(name.startswith("5/") and "/source/" in name for name in files)  # a placeholder
        warnings = [w for b in batches for w in b.warnings]
        assert any("document 5 version 2.1" in w and "without the file" in w for w in warnings), warnings
        assert all(f.size == Path(f.path).stat().st_size for f in files.values())
        assert vault.sign_ins == 2  # the ended session was renewed once
    finally:
        for handed in files.values():
            Path(handed.path).unlink(missing_ok=True)


def test_a_failed_download_deletes_the_files_of_its_page(vault, monkeypatch):
    from connections.connectors.veeva import documents

    made = []
    real = documents._download

    def download(api, path, folder, what):
        if len(made) == 3:
            raise ConnectorError("Veeva Vault answered HTTP 503 for a file", permanent=False)
        made.append(real(api, path, folder, what))
        return made[-1]

    monkeypatch.setattr(documents, "_download", download)
    with pytest.raises(ConnectorError, match="503"):
        read(vault, options={"object": "documents", "includeSourceFiles": True})
    assert len(made) == 3 and not any(Path(f.path).exists() for f in made)
