"""The CLI verbs added with the API, so that the CLI covers the same 25 operations through the same
functions: update-flow, update-connector-profile, the connector verbs, the tag verbs, registration."""

from __future__ import annotations

import json

import pytest

from api.models import ConnectionTag
from flows.cli.shapes import connector_profile_arn, flow_arn
from flows.models import Flow
from flows.tests.test_cli import create_profile, flow_document, local_files_config, sluice

pytestmark = pytest.mark.django_db


def test_update_flow_saves_a_new_version_and_keeps_the_tags(demo, tmp_path):
    document = flow_document("cli-flow") | {"tags": {"team": "sales"}}
    assert sluice("create-flow", "--cli-input-json", json.dumps(document)).code == 0
    changed = {k: v for k, v in document.items() if k != "tags"} | {"description": "second version"}
    result = sluice("update-flow", "--cli-input-json", json.dumps(changed))
    assert result.code == 0, result.err
    assert json.loads(result.out) == {"flowStatus": "Active"}
    flow = Flow.objects.get(name="cli-flow")
    assert flow.versions.count() == 2
    assert flow.definition["description"] == "second version"
    assert flow.definition["tags"] == {"team": "sales"}

    moved = changed | {"destinationFlowConfigList": []}
    refused = sluice("update-flow", "--cli-input-json", json.dumps(moved))
    assert refused.code == 254 and "(ValidationException)" in refused.err


def test_update_connector_profile_keeps_the_settings_rules(data_dir, tmp_path):
    assert create_profile("files", local_files_config(data_dir)).code == 0
    elsewhere = tmp_path / "data" / "sub"
    elsewhere.mkdir()
    result = sluice("update-connector-profile", "--connector-profile-name", "files", "--connection-mode", "Public",
                    "--connector-profile-config", local_files_config(elsewhere))
    assert result.code == 0, result.err
    assert json.loads(result.out) == {"connectorProfileArn": connector_profile_arn("files")}
    described = json.loads(sluice("describe-connector-profiles").out)["connectorProfileDetails"][0]
    assert described["connectorProfileProperties"]["CustomConnector"]["profileProperties"] == {
        "rootPath": str(elsewhere)}
    missing = sluice("update-connector-profile", "--connector-profile-name", "nope", "--connection-mode", "Public",
                     "--connector-profile-config", "{}")
    assert missing.code == 254 and "(ResourceNotFoundException)" in missing.err


def test_connector_verbs(demo):
    described = json.loads(sluice("describe-connectors", "--connector-types", "Salesforce").out)
    assert list(described["connectorConfigurations"]) == ["Salesforce"]
    assert described["connectorConfigurations"]["Salesforce"]["authenticationConfig"]["isOAuth2Supported"]
    one = json.loads(sluice("describe-connector", "--connector-type", "CustomConnector",
                            "--connector-label", "LocalFiles").out)["connectorConfiguration"]
    assert one["connectorLabel"] == "LocalFiles" and one["canUseAsDestination"]
    first = json.loads(sluice("list-connectors", "--max-results", "3").out)
    assert len(first["connectors"]) == 3 and first["nextToken"]
    rest = json.loads(sluice("list-connectors", "--next-token", first["nextToken"], "--max-results", "100").out)
    names = [c["connectorName"] for c in first["connectors"] + rest["connectors"]]
    assert len(names) == len(set(names)) and "nextToken" not in rest

    entities = json.loads(sluice("list-connector-entities", "--connector-profile-name", "demo-local-files").out)
    assert "accounts.csv" in {e["name"] for e in entities["connectorEntityMap"]["Objects"]}
    fields = json.loads(sluice("describe-connector-entity", "--connector-profile-name", "demo-local-files",
                               "--connector-entity-name", "accounts.csv").out)["connectorEntityFields"]
    assert fields and all("supportedFieldTypeDetails" in f for f in fields)
    unknown = sluice("describe-connector", "--connector-type", "Honeycode")
    assert unknown.code == 254 and "(ResourceNotFoundException)" in unknown.err


def test_tag_verbs_on_a_flow_and_a_connection(demo):
    arn = flow_arn(demo["flow"].name)
    assert sluice("tag-resource", "--resource-arn", arn, "--tags", '{"team": "sales", "tier": "1"}').code == 0
    assert sluice("untag-resource", "--resource-arn", arn, "--tag-keys", "tier").code == 0
    assert json.loads(sluice("list-tags-for-resource", "--resource-arn", arn).out) == {"tags": {"team": "sales"}}
    profile = connector_profile_arn("demo-local-files")
    assert sluice("tag-resource", "--resource-arn", profile, "--tags", '{"env": "prod"}').code == 0
    assert dict(ConnectionTag.objects.values_list("key", "value")) == {"env": "prod"}
    too_many = json.dumps({f"k{i}": "v" for i in range(51)})
    refused = sluice("tag-resource", "--resource-arn", profile, "--tags", too_many)
    assert refused.code == 254 and "at most 50 tags" in refused.err
    reserved = sluice("tag-resource", "--resource-arn", profile, "--tags", '{"aws:x": "y"}')
    assert reserved.code == 254 and 'not start with "aws:"' in reserved.err
    odd = sluice("tag-resource", "--resource-arn", profile, "--tags", '{"team name!": "a#b"}')
    assert odd.code == 254 and "the key" in odd.err and "the value" in odd.err
    bad = sluice("list-tags-for-resource", "--resource-arn", "arn:aws:s3:::bucket")
    assert bad.code == 254 and "is not the ARN of a Sluice flow or connection" in bad.err


def test_registration_verbs_name_what_is_missing():
    for verb in ("register-connector", "unregister-connector", "update-connector-registration"):
        assert sluice(verb).code == 252  # --connector-label is required
    missing = sluice("register-connector", "--connector-label", "NoSuchPackage")
    assert missing.code == 254 and "(ResourceNotFoundException)" in missing.err
    assert 'No installed package offers a connector "NoSuchPackage"' in missing.err
    built_in = sluice("register-connector", "--connector-label", "LocalFiles")
    assert built_in.code == 254 and "(ConflictException)" in built_in.err and "built-in connector" in built_in.err
    for verb in ("unregister-connector", "update-connector-registration"):
        result = sluice(verb, "--connector-label", "NoSuchPackage")
        assert result.code == 254 and 'No connector is registered as "NoSuchPackage"' in result.err


def test_the_cli_and_the_api_cover_every_operation_of_the_model():
    from api.operations import OPERATIONS
    from api.service_model import service_model
    from flows.management.commands.sluice import Command

    parser = Command().create_parser("manage.py", "sluice")
    verbs = next(a for a in parser._actions if a.dest == "verb").choices
    # new-connector is a Sluice extension that writes a package skeleton: no AppFlow operation.
    cli_operations = {sub.get_default("operation") for sub in verbs.values()} - {"NewConnector"}
    assert cli_operations == set(service_model().operation_names) == set(OPERATIONS)
