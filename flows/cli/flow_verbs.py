"""Flow and execution verbs: create-flow, describe-flow, list-flows, start-flow,
describe-flow-execution-records, cancel-flow-executions, delete-flow."""

from __future__ import annotations

import time
from typing import Any

from django.db.models import OuterRef, Subquery

from accounts import access
from console.errors import NotFound, UserError
from flows import services
from flows.cli import shapes
from flows.cli.outcome import (
    EXIT_INTERRUPTED,
    EXIT_RUN_FAILED,
    EXIT_WAIT_TIMEOUT,
    Outcome,
    ParamError,
)
from flows.cli.paging import keyset_page, request_fingerprint
from flows.cli.params import FILE_PREFIX, execution_ids, json_param, read_param
from flows.document import DocumentInvalid, from_cloudformation, looks_like_cloudformation, parse_flow_json
from flows.models import Execution, Flow

# The CreateFlow members that have an option of their own, in AppFlow's order: a document built
# from options alone has its keys in that order.
FLOW_OPTIONS: tuple[tuple[str, str, bool], ...] = (
    # (document key, option, value is JSON)
    ("flowName", "--flow-name", False),
    ("description", "--description", False),
    ("triggerConfig", "--trigger-config", True),
    ("sourceFlowConfig", "--source-flow-config", True),
    ("destinationFlowConfigList", "--destination-flow-config-list", True),
    ("tasks", "--tasks", True),
    ("tags", "--tags", True),
)
EXECUTION_ORDER = ("-created_at", "-id")  # newest first; the id breaks ties
POLL_FIRST_SECONDS = 0.2
POLL_MAX_SECONDS = 2.0


def dest(option: str) -> str:
    return option.lstrip("-").replace("-", "_")


def flow_document(options: dict[str, Any]) -> dict[str, Any]:
    """--cli-input-json, with any separate option replacing its member (as the AWS CLI does)."""
    document: dict[str, Any] = {}
    if options.get("cli_input_json") is not None:
        document = cli_input_document(options["cli_input_json"])
    for key, option, is_json in FLOW_OPTIONS:
        value = options.get(dest(option))
        if value is not None:
            document[key] = json_param(option, value) if is_json else read_param(option, value)
    if not document:
        raise ParamError(
            "--cli-input-json", "give the flow as --cli-input-json, or as --flow-name, --trigger-config, "
            "--source-flow-config, --destination-flow-config-list and --tasks."
        )
    return document


def cli_input_document(value: str) -> dict[str, Any]:
    """The CreateFlow request in --cli-input-json; a CloudFormation AWS::AppFlow::Flow (template,
    resource or Properties block) is converted, so an AppFlow user can paste either."""
    try:
        document = parse_flow_json(read_param("--cli-input-json", value))
    except DocumentInvalid as exc:
        where = f"{value}: " if value.startswith(FILE_PREFIX) else ""
        raise ParamError("--cli-input-json", where + "; ".join(e.message for e in exc.errors)) from None
    if looks_like_cloudformation(document):
        try:
            document = from_cloudformation(document)
        except DocumentInvalid as exc:
            raise UserError(*(str(error) for error in exc.errors)) from None
    return document


def create_flow(options: dict[str, Any]) -> dict[str, Any]:
    document = options["document"] if "document" in options else flow_document(options)
    flow = services.create_flow(document, user=options.get("user"))
    return {"flowArn": shapes.flow_arn(flow.name), "flowStatus": flow.status}


def update_flow(options: dict[str, Any]) -> dict[str, Any]:
    """UpdateFlow: a new version of the flow, as the console's edit. Its tags are kept (UpdateFlow
    has no tags member; TagResource changes them)."""
    document = options["document"] if "document" in options else flow_document(options)
    flow = services.get_flow(document.get("flowName") or options["flow_name"])
    if "tags" in flow.definition and "tags" not in document:
        document = {**document, "tags": flow.definition["tags"]}
    services.update_flow(flow, document, user=options.get("user"))
    flow.refresh_from_db(fields=["status"])
    return {"flowStatus": flow.status}


def latest_execution(flow: Flow) -> Execution | None:
    return flow.executions.order_by(*EXECUTION_ORDER).first()


def describe_flow(options: dict[str, Any]) -> dict[str, Any]:
    flow = services.get_flow(options["flow_name"])
    return shapes.flow_description(flow, latest_execution(flow))


def list_flows(options: dict[str, Any]) -> dict[str, Any]:
    newest = Execution.objects.filter(flow=OuterRef("pk")).order_by(*EXECUTION_ORDER).values("pk")[:1]
    flows = Flow.objects.select_related("current_version", "created_by").annotate(
        latest_execution_id=Subquery(newest)
    )
    if options.get("user") is not None:
        flows = access.visible(options["user"], flows)
    page, token = keyset_page(
        flows,
        order=("name",),
        max_results=options["max_results"],
        next_token=options["next_token"],
        fingerprint=request_fingerprint("ListFlows"),
    )
    # One query for every flow's last run, not one per flow.
    latest = Execution.objects.in_bulk([f.latest_execution_id for f in page if f.latest_execution_id])
    return shapes.compact({
        "flows": [shapes.flow_summary(flow, latest.get(flow.latest_execution_id)) for flow in page],
        "nextToken": token,
    })


def start_flow(options: dict[str, Any]) -> dict[str, Any] | Outcome:
    flow = services.get_flow(options["flow_name"])
    backfill = options.get("data_pull_start_time") or options.get("data_pull_end_time")
    if flow.trigger_type != "OnDemand" and not backfill:
        # AppFlow's StartFlow: a scheduled or event flow is activated, not run; no executionId.
        if options["wait"]:
            raise UserError(f'--wait: "{flow.name}" is a {flow.trigger_type} flow; start-flow activates it '
                            "and its runs come from its trigger, so there is no run to wait for.")
        flow = services.activate_flow(flow, user=options.get("user"))
        return {"flowArn": shapes.flow_arn(flow.name), "flowStatus": flow.status}
    window = services.backfill_window(options.get("data_pull_start_time"), options.get("data_pull_end_time"))
    execution = services.start_flow(flow, window=window, user=options.get("user"))
    flow.refresh_from_db(fields=["status"])
    if not options["wait"]:
        arn = shapes.flow_arn(flow.name)
        return {"flowArn": arn, "flowStatus": flow.status, "executionId": str(execution.pk)}
    return wait_for(execution, flow, options["timeout"])


def stop_flow(options: dict[str, Any]) -> dict[str, Any]:
    flow = services.deactivate_flow(services.get_flow(options["flow_name"]), user=options.get("user"))
    return {"flowArn": shapes.flow_arn(flow.name), "flowStatus": flow.status}


def wait_for(execution: Execution, flow: Flow, timeout: float | None) -> Outcome:
    """Poll the database until the execution finishes; the worker writes its progress there."""
    deadline = time.monotonic() + timeout if timeout else None
    delay = POLL_FIRST_SECONDS
    follow = (
        "python manage.py sluice cancel-flow-executions "
        f"--flow-name {flow.name} --execution-ids {execution.pk}"
    )
    try:
        while True:
            execution = Execution.objects.filter(pk=execution.pk).first()
            if execution is None:
                raise NotFound(f'The flow "{flow.name}" was deleted while the run was waited for.')
            if execution.is_finished:
                break
            if deadline is not None and time.monotonic() >= deadline:
                return Outcome(
                    shapes.execution_record(execution), EXIT_WAIT_TIMEOUT,
                    f"Stopped waiting after {timeout:g} s: execution {execution.pk} is still "
                    f"{execution.status}. It goes on running; to stop it: {follow}",
                )
            pause = delay if deadline is None else min(delay, max(deadline - time.monotonic(), 0.01))
            time.sleep(pause)
            delay = min(delay * 1.5, POLL_MAX_SECONDS)
    except KeyboardInterrupt:
        return Outcome(None, EXIT_INTERRUPTED, f"Stopped waiting: execution {execution.pk} goes on running; "
                       f"to stop it: {follow}")
    record = shapes.execution_record(execution)
    if execution.status == Execution.Status.SUCCESSFUL:
        return Outcome(record)
    return Outcome(
        record, EXIT_RUN_FAILED,
        f"Execution {execution.pk} ended {execution.status}: {shapes.execution_message(execution)}",
    )


def describe_flow_execution_records(options: dict[str, Any]) -> dict[str, Any]:
    flow = services.get_flow(options["flow_name"])
    ids = execution_ids(options["execution_ids"])
    statuses = options["status"] or []
    after, before = options["started_after"], options["started_before"]
    if after and before and after >= before:
        raise UserError("startedAfter: must be earlier than startedBefore.")
    executions = flow.executions.all()
    if ids:
        executions = executions.filter(pk__in=ids)
    if statuses:
        executions = executions.filter(status__in=statuses)
    if after:
        executions = executions.filter(created_at__gte=after)
    if before:
        executions = executions.filter(created_at__lt=before)
    page, token = keyset_page(
        executions,
        order=EXECUTION_ORDER,
        max_results=options["max_results"],
        next_token=options["next_token"],
        fingerprint=request_fingerprint(
            "DescribeFlowExecutionRecords", flow.name, sorted(ids), sorted(statuses), after, before
        ),
    )
    return shapes.compact({
        "flowExecutions": [shapes.execution_record(execution) for execution in page],
        "nextToken": token,
    })


def cancel_flow_executions(options: dict[str, Any]) -> dict[str, Any]:
    flow = services.get_flow(options["flow_name"])
    ids = execution_ids(options["execution_ids"])
    canceled = set(services.cancel_executions(flow, ids or None, user=options.get("user")))
    # As in AppFlow: the ids asked for that were not in progress, so could not be canceled.
    return {"invalidExecutions": [i for i in ids if i not in canceled]}


def delete_flow(options: dict[str, Any]) -> None:
    services.delete_flow(services.get_flow(options["flow_name"]), force=bool(options["force_delete"]),
                         user=options.get("user"))
