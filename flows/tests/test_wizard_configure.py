"""Step 2, Configure flow: source and destination chosen one after the other, their options, the
problems the document validator names shown next to the right field, connector errors shown as a
message, "Create connection" coming back with the connection chosen, and "Refresh fields"."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from django.urls import reverse

from connections import metadata
from connections.models import Connection
from console.tests.pages import SECRET, connection_with_secret
from flows.models import FlowDraft
from flows.tests.test_wizard_frame import configure_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(signed_in, owner) -> FlowDraft:
    return FlowDraft.objects.create(owner=owner, step="configure",
                                    document=json.dumps({"flowName": "cfg-flow", "tags": {}}))


def url(draft) -> str:
    return reverse("flows:wizard-step", args=[draft.pk, "configure"])


def test_good_local_files_to_local_files(signed_in, draft, demo):
    response = signed_in.post(url(draft), configure_data(demo["connection"].name, file_type="PARQUET"))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.step == "map"
    document = draft.data
    assert document["flowName"] == "cfg-flow"
    assert document["sourceFlowConfig"] == {
        "connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
        "connectorProfileName": "demo-local-files",
        "sourceConnectorProperties": {"CustomConnector": {"entityName": "accounts.csv"}}}
    assert document["destinationFlowConfigList"][0]["destinationConnectorProperties"] == {
        "CustomConnector": {"entityName": "out/wizard", "customProperties": {"fileType": "PARQUET"}}}
    assert document["triggerConfig"] == {"triggerType": "OnDemand"}
    assert document["tasks"] == []


def test_a_file_source_may_read_blank_csv_cells_as_empty_text(signed_in, draft, demo):
    response = signed_in.post(url(draft), configure_data(demo["connection"].name, blank_is_text="1"))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.data["sourceFlowConfig"]["sourceConnectorProperties"] == {"CustomConnector": {
        "entityName": "accounts.csv", "customProperties": {"blankCells": "EMPTY_TEXT"}}}
    page = signed_in.get(url(draft)).content.decode()
    assert 'name="blank_is_text" value="1" checked' in page and "A blank CSV cell is empty text" in page


def test_nothing_chosen_names_each_missing_choice(signed_in, draft):
    response = signed_in.post(url(draft), {"trigger_type": "OnDemand"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose a source connector." in html and "Choose a destination connector." in html
    draft.refresh_from_db()
    assert draft.step == "configure" and "sourceFlowConfig" not in draft.data


def test_a_connection_of_another_connector_is_not_taken(signed_in, draft, demo):
    data = configure_data(demo["connection"].name, source_connector="DemoCRM")
    response = signed_in.post(url(draft), data)
    assert response.status_code == 400
    assert "Choose a source connection, or create one." in response.content.decode()


def test_missing_objects_are_named_on_each_side(signed_in, draft, demo):
    data = configure_data(demo["connection"].name, source_object="", destination_object="")
    html = signed_in.post(url(draft), data).content.decode()
    assert "Choose the source object." in html and "Choose the destination object." in html


def test_a_problem_the_connector_finds_is_shown_at_its_field(signed_in, draft, demo):
    # Local files refuse a destination path that leaves the connection's root folder.
    data = configure_data(demo["connection"].name, destination_object="../outside")
    response = signed_in.post(url(draft), data)
    assert response.status_code == 400
    html = response.content.decode()
    picker = html[html.index('id="destination-title"'):]
    assert "field-error" in picker[:picker.index("File format")]


def test_htmx_refresh_rerenders_with_dependent_choices_and_saves_nothing(signed_in, draft, demo):
    response = signed_in.post(url(draft), {"refresh": "1", "source_connector": "LocalFiles"},
                              HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="source_connection"' in html and "demo-local-files" in html
    assert 'name="source_object"' not in html  # no connection chosen yet: no objects
    response = signed_in.post(url(draft), {"refresh": "1", "source_connector": "LocalFiles",
                                           "source_was": "LocalFiles|",
                                           "source_connection": "demo-local-files", "trigger_type": "OnDemand"},
                              HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'value="accounts.csv"' in html
    assert "field-error" not in html
    draft.refresh_from_db()
    assert "sourceFlowConfig" not in draft.data


def test_another_connection_drops_the_object_chosen_under_the_old_one(signed_in, draft, demo, data_dir):
    other = Connection.objects.create(name="other-files", connector_type="CustomConnector",
                                      connector_label="LocalFiles", properties={"rootPath": str(data_dir)})
    response = signed_in.post(url(draft), {"refresh": "1", "source_connector": "LocalFiles",
                                           "source_was": "LocalFiles|demo-local-files",
                                           "source_connection": other.name, "source_object": "accounts.csv"})
    assert "Chosen: <span class=\"muted\">nothing yet" in response.content.decode()


def test_search_narrows_the_object_list(signed_in, draft, demo):
    (demo["root"] / "orders.csv").write_text("id\n1\n")
    base = {"refresh": "1", "source_connector": "LocalFiles", "source_was": "LocalFiles|demo-local-files",
            "source_connection": "demo-local-files"}
    html = signed_in.post(url(draft), {**base, "source_search": "ORD"}).content.decode()
    assert 'value="orders.csv"' in html and 'value="accounts.csv"' not in html
    html = signed_in.post(url(draft), {**base, "source_search": "nothing-like-this"}).content.decode()
    assert "No object matches" in html


def test_nested_objects_open_as_folders(signed_in, draft, demo):
    (demo["root"] / "2026").mkdir()
    (demo["root"] / "2026" / "jan.csv").write_text("id\n1\n")
    base = {"refresh": "1", "source_connector": "LocalFiles", "source_was": "LocalFiles|demo-local-files",
            "source_connection": "demo-local-files"}
    html = signed_in.post(url(draft), base).content.decode()
    assert 'aria-label="Open 2026"' in html
    html = signed_in.post(url(draft), {**base, "source_parent": "2026", "browse": "1"}).content.decode()
    assert 'value="2026/jan.csv"' in html and 'value="accounts.csv"' not in html


def test_a_connector_error_is_a_message_not_a_500(signed_in, draft, demo, data_dir):
    gone = Connection.objects.create(name="gone-files", connector_type="CustomConnector",
                                     connector_label="LocalFiles",
                                     properties={"rootPath": str(data_dir / "not-there")})
    response = signed_in.post(url(draft), {"refresh": "1", "source_connector": "LocalFiles",
                                           "source_was": "LocalFiles|gone-files",
                                           "source_connection": gone.name, "source_object": "a.csv"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "not-there" in html and 'role="alert"' in html


def test_refresh_fields_asks_the_connection_again(signed_in, draft, demo, monkeypatch):
    asked = []
    real = metadata.refreshed_fields

    def spy(connection, entity):
        asked.append(entity)
        return real(connection, entity)

    monkeypatch.setattr(metadata, "refreshed_fields", spy)
    data = {**configure_data(demo["connection"].name), "source_was": "LocalFiles|demo-local-files"}
    html = signed_in.post(url(draft), {**data, "refresh_fields": "1"}).content.decode()
    assert asked == ["accounts.csv"]
    assert "Fields of accounts.csv" in html and "BillingCity" in html


def test_changing_the_source_starts_the_mapping_over_but_keeping_it_does_not(signed_in, draft, demo):
    signed_in.post(url(draft), configure_data(demo["connection"].name))
    draft.refresh_from_db()
    draft.document = json.dumps({**draft.data, "tasks": [{"taskType": "Map"}]})
    draft.save()
    signed_in.post(url(draft), configure_data(demo["connection"].name, destination_object="out/other"))
    draft.refresh_from_db()
    assert draft.data["tasks"] == [{"taskType": "Map"}]
    (demo["root"] / "orders.csv").write_text("id\n1\n")
    signed_in.post(url(draft), configure_data(demo["connection"].name, source_object="orders.csv"))
    draft.refresh_from_db()
    assert draft.data["tasks"] == []


def test_the_draft_names_connections_and_never_holds_their_secrets(signed_in, draft, data_dir):
    connection = connection_with_secret(str(data_dir))
    (data_dir / "a.csv").write_text("id\n1\n")
    response = signed_in.post(url(draft), configure_data(connection.name, source_object="a.csv"))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert SECRET not in draft.document and connection.name in draft.document
    assert SECRET not in signed_in.get(url(draft)).content.decode()


def test_s3_destination_shows_the_key_pattern_it_will_write(signed_in, draft, demo):
    Connection.objects.create(name="lake", connector_type="S3",
                              properties={"endpointUrl": "http://127.0.0.1:9"})
    data = configure_data(demo["connection"].name, destination_connector="S3", destination_connection="lake",
                          destination_was="S3|lake", destination_object="bucket/exports",
                          file_type="CSV", prefix_type="PATH", prefix_format="DAY", hierarchy="EXECUTION_ID",
                          refresh="1")
    html = signed_in.post(url(draft), data).content.decode()
    assert "s3://bucket/exports/2026/11/21/&lt;execution id&gt;/part-00000.csv" in html
    data.pop("refresh")
    response = signed_in.post(url(draft), data)
    assert response.status_code == 302
    draft.refresh_from_db()
    props = draft.data["destinationFlowConfigList"][0]["destinationConnectorProperties"]["S3"]
    assert props == {"bucketName": "bucket", "bucketPrefix": "exports", "s3OutputFormatConfig": {
        "fileType": "CSV", "prefixConfig": {"prefixType": "PATH", "prefixFormat": "DAY",
                                            "pathPrefixHierarchy": ["EXECUTION_ID"]}}}


def test_s3_aggregation_size_out_of_range_is_named(signed_in, draft, demo):
    Connection.objects.create(name="lake", connector_type="S3", properties={})
    data = configure_data(demo["connection"].name, destination_connector="S3", destination_connection="lake",
                          destination_was="S3|lake", destination_object="bucket", file_type="JSON",
                          aggregation="SingleFile", target_file_size="0")
    response = signed_in.post(url(draft), data)
    assert response.status_code == 400
    assert "must be a whole number of MB, 1 to 100000" in response.content.decode()


def test_upsolver_destination_offers_the_s3_output_options(signed_in, draft, demo):
    Connection.objects.create(name="ups", connector_type="Upsolver", properties={"endpointUrl": "http://127.0.0.1:9"})
    data = configure_data(demo["connection"].name, destination_connector="Upsolver", destination_connection="ups",
                          destination_was="Upsolver|ups", destination_object="upsolver-appflow-demo/flows",
                          file_type="PARQUET", prefix_type="PATH", prefix_format="HOUR", hierarchy_shown="1",
                          hierarchy="SCHEMA_VERSION", aggregation="SingleFile", target_file_size="64", refresh="1")
    html = signed_in.post(url(draft), data).content.decode()
    assert 'value="PARQUET" selected' in html and 'name="prefix_type"' in html
    assert "its name must start with &quot;upsolver-appflow&quot;" in html
    assert "s3://upsolver-appflow-demo/flows/2026/11/21/13/schema-1/" in html
    data.pop("refresh")
    assert signed_in.post(url(draft), data).status_code == 302
    draft.refresh_from_db()
    props = draft.data["destinationFlowConfigList"][0]["destinationConnectorProperties"]["Upsolver"]
    assert props == {"bucketName": "upsolver-appflow-demo", "bucketPrefix": "flows", "s3OutputFormatConfig": {
        "fileType": "PARQUET", "prefixConfig": {"prefixType": "PATH", "prefixFormat": "HOUR",
                                                "pathPrefixHierarchy": ["SCHEMA_VERSION"]},
        "aggregationConfig": {"aggregationType": "SingleFile", "targetFileSize": 64}}}


def test_upsolver_without_a_time_prefix_still_has_its_required_prefix_config(signed_in, draft, demo):
    Connection.objects.create(name="ups", connector_type="Upsolver", properties={})
    data = configure_data(demo["connection"].name, destination_connector="Upsolver", destination_connection="ups",
                          destination_was="Upsolver|ups", destination_object="upsolver-appflow-demo", file_type="CSV")
    assert signed_in.post(url(draft), data).status_code == 302
    draft.refresh_from_db()
    props = draft.data["destinationFlowConfigList"][0]["destinationConnectorProperties"]["Upsolver"]
    assert props == {"bucketName": "upsolver-appflow-demo",
                     "s3OutputFormatConfig": {"fileType": "CSV", "prefixConfig": {}}}
    html = signed_in.get(url(draft)).content.decode()  # and back: the same choices on the page
    assert 'value="CSV" selected' in html and 'value="" selected>No time prefix' in html
    data["destination_object"] = "my-bucket"
    response = signed_in.post(url(draft), data)
    assert response.status_code == 400 and "is not an Upsolver bucket" in response.content.decode()


def test_create_connection_comes_back_with_the_connection_chosen(signed_in, draft, demo, data_dir):
    html = signed_in.get(url(draft) + "?").content.decode()
    assert "Create connection" not in html  # only once a connector is chosen
    html = signed_in.post(url(draft), {"refresh": "1", "source_connector": "LocalFiles"}).content.decode()
    link = f"/connections/-/new/LocalFiles/?next={quote(url(draft), safe='/')}%3Fside%3Dsource%26connector%3DLocalFiles"
    assert link in html
    create = f"/connections/-/new/LocalFiles/?next={quote(url(draft) + '?side=source&connector=LocalFiles')}"
    response = signed_in.post(create, {"connection_name": "made-in-wizard", "rootPath": str(data_dir),
                                       "connection_mode": "Public"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert response.url == url(draft) + "?side=source&connector=LocalFiles&connection=made-in-wizard"
    html = signed_in.get(response.url).content.decode()
    assert '<option value="made-in-wizard" selected>' in html


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_create_connection_ignores_a_next_that_leaves_the_site(signed_in, data_dir, target):
    response = signed_in.post(f"/connections/-/new/LocalFiles/?next={quote(target)}",
                              {"connection_name": "safe", "rootPath": str(data_dir), "connection_mode": "Public"})
    assert response.status_code == 302
    assert response.url == reverse("connections:detail", args=["safe"])


@pytest.fixture
def warehouse() -> Connection:
    """A PostgreSQL connection nobody answers at: enough for the form, and its object list fails."""
    return Connection.objects.create(name="warehouse", connector_type="CustomConnector",
                                     connector_label="PostgreSQL",
                                     properties={"host": "127.0.0.1", "port": 9, "database": "dw"})


def database_destination(demo, **extra) -> dict:
    return configure_data(demo["connection"].name, destination_connector="PostgreSQL",
                          destination_connection="warehouse", destination_was="PostgreSQL|warehouse",
                          destination_object="public.accounts", **extra)


def test_upsert_needs_id_fields_named_at_the_id_field(signed_in, draft, demo, warehouse):
    response = signed_in.post(url(draft), database_destination(demo, write_operation="UPSERT", id_fields=""))
    assert response.status_code == 400
    html = response.content.decode()
    assert "UPSERT needs the fields that identify a record" in html
    field = html[html.index('id="id_id_fields"'):]
    assert "UPSERT needs the fields" in field[:1500]


def test_upsert_with_ids_and_continue_on_errors_is_saved(signed_in, draft, demo, warehouse):
    response = signed_in.post(url(draft), database_destination(
        demo, write_operation="UPSERT", id_fields="Id, Name", on_error="continue",
        rejects_connection=demo["connection"].name, rejects_bucket="rejects", rejects_prefix="accounts"))
    assert response.status_code == 302, response.content.decode()[-3000:]
    draft.refresh_from_db()
    props = draft.data["destinationFlowConfigList"][0]["destinationConnectorProperties"]["CustomConnector"]
    assert props == {"entityName": "public.accounts", "writeOperationType": "UPSERT", "idFieldNames": ["Id", "Name"],
                     "errorHandlingConfig": {"failOnFirstDestinationError": False,
                                             "connectorProfileName": "demo-local-files",
                                             "bucketName": "rejects", "bucketPrefix": "accounts"}}
    html = signed_in.get(url(draft)).content.decode()
    assert 'value="Id, Name"' in html and 'value="continue" checked' in html


def test_a_database_that_does_not_answer_is_a_message(signed_in, draft, demo, warehouse):
    response = signed_in.post(url(draft), {**database_destination(demo), "refresh": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    section = html[html.index('id="destination-title"'):]
    assert 'class="field-error small" role="alert"' in section


def test_s3_source_takes_its_file_type(signed_in, draft, demo):
    Connection.objects.create(name="lake", connector_type="S3", properties={})
    data = configure_data(demo["connection"].name, source_connector="S3", source_connection="lake",
                          source_was="S3|lake", source_object="bucket/in", source_file_type="JSON")
    response = signed_in.post(url(draft), data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    draft.refresh_from_db()
    assert draft.data["sourceFlowConfig"]["sourceConnectorProperties"] == {
        "S3": {"bucketName": "bucket", "bucketPrefix": "in", "s3InputFormatConfig": {"s3InputFileType": "JSON"}}}
    html = signed_in.get(url(draft)).content.decode()
    assert '<option value="JSON" selected>' in html


def test_a_source_offers_its_own_options_veeva_document_files(signed_in, draft, demo, monkeypatch):
    from connections.tests.veeva_server import serve

    vault = serve(monkeypatch)
    connection = Connection(name="vault", connector_type="Veeva", properties={"instanceUrl": vault.base})
    connection.credentials = {"username": vault.user, "password": vault.password}
    connection.save()
    data = configure_data(demo["connection"].name, source_connector="Veeva", source_connection="vault",
                          source_was="Veeva|vault", source_object="documents",
                          source_opt_documentType=" Reference ", source_opt_includeSourceFiles="on")
    page = signed_in.post(url(draft), {**data, "refresh": "1"}).content.decode()
    assert 'name="source_opt_includeRenditions"' in page and "Document metadata and source files" in page

    response = signed_in.post(url(draft), data)

    assert response.status_code == 302, response.content.decode()[-3000:]
    draft.refresh_from_db()
    assert draft.data["sourceFlowConfig"]["sourceConnectorProperties"] == {
        "Veeva": {"object": "documents", "documentType": "Reference", "includeSourceFiles": True}}
    html = signed_in.get(url(draft)).content.decode()
    assert 'id="id_source_opt_includeSourceFiles" checked' in html
    assert 'name="source_opt_documentType" id="id_source_opt_documentType" value="Reference"' in html
    assert 'id="id_source_opt_includeRenditions" aria-describedby' in html  # not ticked
