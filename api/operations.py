"""Each AppFlow operation -> the function the CLI's verb calls (flows/cli/*_verbs.py, api/tags.py):
one service layer for the console, the CLI and the API. The request's members become the verb's
options under the CLI's names (botocore's xform_name: connectorProfileName -> connector_profile_name),
which are the AWS CLI's option names too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore import xform_name
from django.db import IntegrityError, transaction

from accounts import access
from api import tags
from api.models import StartToken
from api.wire import ApiError
from console.errors import UserError
from flows import services as flow_services
from flows.cli import connector_verbs, flow_verbs, profile_verbs, registration_verbs, shapes


class Options(dict):
    """A verb's options: a member the request left out reads as None, as an option not given."""

    def __missing__(self, key: str) -> None:
        return None


def options_of(params: dict[str, Any], user) -> Options:
    options = Options({xform_name(name): value for name, value in params.items()})
    options["user"] = user
    return options


def flow_request(params: dict[str, Any]) -> dict[str, Any]:
    # clientToken makes a request idempotent; it is not part of the flow's document.
    return {k: v for k, v in params.items() if k != "clientToken"}


def create_flow(options: Options, params: dict[str, Any]) -> Any:
    return flow_verbs.create_flow(Options(options, document=flow_request(params)))


def update_flow(options: Options, params: dict[str, Any]) -> Any:
    return flow_verbs.update_flow(Options(options, document=flow_request(params)))


def start_flow(options: Options, params: dict[str, Any]) -> Any:
    """clientToken: the same token for the same flow answers the run it started, once."""
    token = params.get("clientToken")
    if not token:
        return flow_verbs.start_flow(options)
    flow = flow_services.get_flow(options["flow_name"])
    try:
        with transaction.atomic():
            # Reserved first, so two requests with one token cannot both start a run.
            reserved = StartToken.objects.create(flow=flow, client_token=token, execution_id="")
            answer = flow_verbs.start_flow(options)
            reserved.execution_id = answer.get("executionId", "")
            reserved.save(update_fields=["execution_id"])
            return answer
    except IntegrityError:
        earlier = StartToken.objects.get(flow=flow, client_token=token)
        flow.refresh_from_db(fields=["status"])
        return shapes.compact({"flowArn": shapes.flow_arn(flow.name), "flowStatus": flow.status,
                               "executionId": earlier.execution_id or None})


def _verb(function: Callable[[dict[str, Any]], Any]) -> Callable[[Options, dict[str, Any]], Any]:
    return lambda options, params: function(options)


OPERATIONS: dict[str, Callable[[Options, dict[str, Any]], Any]] = {
    "CreateFlow": create_flow,
    "UpdateFlow": update_flow,
    "DescribeFlow": _verb(flow_verbs.describe_flow),
    "ListFlows": _verb(flow_verbs.list_flows),
    "DeleteFlow": _verb(flow_verbs.delete_flow),
    "StartFlow": start_flow,
    "StopFlow": _verb(flow_verbs.stop_flow),
    "CancelFlowExecutions": _verb(flow_verbs.cancel_flow_executions),
    "DescribeFlowExecutionRecords": _verb(flow_verbs.describe_flow_execution_records),
    "CreateConnectorProfile": _verb(profile_verbs.create_connector_profile),
    "UpdateConnectorProfile": _verb(profile_verbs.update_connector_profile),
    "DescribeConnectorProfiles": _verb(profile_verbs.describe_connector_profiles),
    "DeleteConnectorProfile": _verb(profile_verbs.delete_connector_profile),
    "ResetConnectorMetadataCache": _verb(profile_verbs.reset_connector_metadata_cache),
    "DescribeConnectors": _verb(connector_verbs.describe_connectors),
    "DescribeConnector": _verb(connector_verbs.describe_connector),
    "ListConnectors": _verb(connector_verbs.list_connectors),
    "ListConnectorEntities": _verb(connector_verbs.list_connector_entities),
    "DescribeConnectorEntity": _verb(connector_verbs.describe_connector_entity),
    "TagResource": _verb(tags.tag_resource),
    "UntagResource": _verb(tags.untag_resource),
    "ListTagsForResource": _verb(tags.list_tags_for_resource),
    "RegisterConnector": _verb(registration_verbs.register_connector),
    "UnregisterConnector": _verb(registration_verbs.unregister_connector),
    "UpdateConnectorRegistration": _verb(registration_verbs.update_connector_registration),
}


def run_operation(name: str, params: dict[str, Any], user) -> Any:
    try:
        access.check_operation(user, name, params)  # the same rules as the console and the CLI
        answer = OPERATIONS[name](options_of(params, user), params)
    except UserError as exc:
        raise ApiError(exc.code, "; ".join(exc.errors)) from None
    # The CLI's start-flow --wait returns an Outcome; the API never waits.
    return getattr(answer, "output", answer)
