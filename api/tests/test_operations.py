"""The operations the embed sequence does not walk through, through boto3: paging, profiles
(update, delete, metadata cache), cancel, connectors, tags by query string."""

from __future__ import annotations

import pytest

from api.tests.test_errors import create_files_profile, local_files
from connections.models import ConnectionMetadata
from console.tests.pages import flow_document
from flows.models import Execution

pytestmark = pytest.mark.django_db(transaction=True)


def for_boto3(document: dict) -> dict:
    """AppFlow's model has no connectorLabel on a flow's endpoints: Sluice takes it from the connection."""
    for config in [document["sourceFlowConfig"], *document["destinationFlowConfigList"]]:
        config.pop("connectorLabel", None)
    return document


def test_list_flows_pages_with_max_results_and_next_token(appflow, demo):
    for index in range(4):
        appflow.create_flow(**for_boto3(flow_document(f"flow-{index}")))
    first = appflow.list_flows(maxResults=2)
    second = appflow.list_flows(maxResults=2, nextToken=first["nextToken"])
    third = appflow.list_flows(maxResults=2, nextToken=second["nextToken"])
    names = [f["flowName"] for page in (first, second, third) for f in page["flows"]]
    assert names == sorted(names) and len(set(names)) == 5  # the demo's flow too
    assert "nextToken" not in third
    with pytest.raises(appflow.exceptions.ValidationException) as wrong:
        appflow.list_flows(maxResults=101)
    assert "maxResults" in str(wrong.value)


def test_profiles_update_describe_reset_and_delete(appflow, data_dir, demo):
    create_files_profile(appflow, "files", data_dir)
    sub = data_dir / "sub"
    sub.mkdir()
    appflow.update_connector_profile(connectorProfileName="files", connectionMode="Public",
                                     connectorProfileConfig=local_files(sub))
    pages = appflow.describe_connector_profiles(maxResults=1)
    assert len(pages["connectorProfileDetails"]) == 1 and pages["nextToken"]
    files = appflow.describe_connector_profiles(connectorProfileNames=["files"])["connectorProfileDetails"][0]
    assert files["connectorProfileProperties"]["CustomConnector"]["profileProperties"]["rootPath"] == str(sub)

    appflow.list_connector_entities(connectorProfileName="demo-local-files")
    appflow.reset_connector_metadata_cache(connectorProfileName="demo-local-files")
    assert not ConnectionMetadata.objects.exists()

    with pytest.raises(appflow.exceptions.ConflictException) as used:
        appflow.delete_connector_profile(connectorProfileName="demo-local-files")
    assert "used by the flows" in str(used.value)
    appflow.delete_connector_profile(connectorProfileName="files")
    with pytest.raises(appflow.exceptions.ResourceNotFoundException):
        # (not the identical request again: within a second that is a replay, refused as such)
        appflow.delete_connector_profile(connectorProfileName="files", forceDelete=True)


def test_start_then_cancel_without_a_worker(appflow, demo):
    started = appflow.start_flow(flowName=demo["flow"].name)
    canceled = appflow.cancel_flow_executions(flowName=demo["flow"].name, executionIds=[started["executionId"]])
    assert canceled["invalidExecutions"] == []
    assert Execution.objects.get().status == Execution.Status.CANCEL_STARTED
    with pytest.raises(appflow.exceptions.UnsupportedOperationException):
        appflow.stop_flow(flowName=demo["flow"].name)


def test_connectors_and_tags_in_the_query_string(appflow, demo):
    connector = appflow.describe_connector(connectorType="CustomConnector", connectorLabel="DemoCRM")
    assert connector["connectorConfiguration"]["authenticationConfig"]["isOAuth2Supported"]
    listed = appflow.list_connectors(maxResults=100)["connectors"]
    assert {"LocalFiles", "DemoCRM"} <= {c.get("connectorLabel") for c in listed}
    arn = "arn:sluice:appflow:::connectorprofile/demo-local-files"
    appflow.tag_resource(resourceArn=arn, tags={"a": "1", "b": "2", "c": "3"})
    appflow.untag_resource(resourceArn=arn, tagKeys=["a", "c"])
    assert appflow.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "2"}
    with pytest.raises(appflow.exceptions.ResourceNotFoundException):
        appflow.list_tags_for_resource(resourceArn="arn:sluice:appflow:::flow/nope")
