"""State changes of flows and executions: each one function, in a transaction, recording who did it.

Views, the CLI and the worker call these; nothing else turns requests into Flow/Execution rows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

import audit
from accounts import access
from connections.models import Connection
from console.errors import Conflict, NotFound, Unsupported, UserError
from flows import notifications, queue, quotas
from flows.document import DocumentInvalid, canonical_connector_type, check_flow_document, runs_only_on_events
from flows.document.validate import DESCRIBE_FLOW_KEYS
from flows.models import Execution, ExecutionLog, Flow, FlowActivity, FlowVersion
from flows.schedules import (
    DEFAULT_FIRST_PULL,
    ScheduleConfig,
    ScheduleError,
    next_slot,
)


def _connection_names(document: dict) -> list[tuple[str, dict]]:
    """(path, config) for the source and every destination of a document."""
    pairs = [("sourceFlowConfig", document["sourceFlowConfig"])]
    pairs += [
        (f"destinationFlowConfigList[{i}]", config)
        for i, config in enumerate(document["destinationFlowConfigList"])
    ]
    return pairs


def resolve_connections(document: dict) -> list[Connection]:
    """The connections a document names, checked against the connector types it declares."""
    errors, found = [], []
    for path, config in _connection_names(document):
        name = config.get("connectorProfileName")
        if not name:
            continue
        connection = Connection.objects.filter(name=name).first()
        if connection is None:
            errors.append(
                f'{path}.connectorProfileName: no connection named "{name}". '
                "Create it first (Connections, or `sluice create-connector-profile`)."
            )
            continue
        # AppFlow spells some types two ways (ServiceNow / Servicenow): compare canonical forms.
        declared = (canonical_connector_type(config.get("connectorType")), config.get("connectorLabel") or "")
        actual = (canonical_connector_type(connection.connector_type), connection.connector_label)
        if declared[0] != actual[0] or (declared[0] == "CustomConnector" and declared[1] != actual[1]):
            errors.append(
                f'{path}.connectorProfileName: the connection "{name}" is a '
                f"{'/'.join(filter(None, actual))} connection, not {'/'.join(filter(None, declared))}"
            )
        found.append(connection)
    if errors:
        raise UserError(*errors)
    return found


def fill_connector_labels(document: Any) -> Any:
    """AppFlow keeps a custom connector's label on the connection, so its documents (and their
    CloudFormation form) name only the connection: take the label from there when it is missing."""
    if not isinstance(document, dict):
        return document
    configs = [document.get("sourceFlowConfig"), *(document.get("destinationFlowConfigList") or [])]
    for config in configs:
        if (
            isinstance(config, dict)
            and config.get("connectorType") == "CustomConnector"
            and not config.get("connectorLabel")
            and isinstance(config.get("connectorProfileName"), str)
        ):
            connection = Connection.objects.filter(name=config["connectorProfileName"]).first()
            if connection is not None and connection.connector_label:
                config["connectorLabel"] = connection.connector_label
    return document


def validate_document(document: Any) -> dict:
    document = fill_connector_labels(document)
    try:
        document = check_flow_document(document)
    except DocumentInvalid as exc:
        raise UserError(*(str(error) for error in exc.errors)) from None
    resolve_connections(document)
    return document


def without_describe_keys(document: Any) -> Any:
    """describe-flow output can be pasted back as a document; its state keys (flowArn,
    flowStatus, createdAt...) describe the old flow, not the new one, so they are not stored."""
    if not isinstance(document, dict):
        return document
    return {key: value for key, value in document.items() if key not in DESCRIBE_FLOW_KEYS}


@audit.audited("flow.create")
@transaction.atomic
def create_flow(document: Any, *, user=None) -> Flow:
    document = validate_document(without_describe_keys(document))
    access.check_uses(user, resolve_connections(document))
    name = document["flowName"]
    if Flow.objects.filter(name=name).exists():
        raise Conflict(f'A flow named "{name}" already exists. Choose another flowName.')
    quotas.check_new_flow()
    trigger_type = document["triggerConfig"]["triggerType"]
    flow = Flow.objects.create(
        name=name,
        description=document.get("description", ""),
        trigger_type=trigger_type,
        # As in AppFlow, scheduled and event flows wait in Draft until activated.
        status=Flow.Status.ACTIVE if trigger_type == "OnDemand" else Flow.Status.DRAFT,
        created_by=user,
        team=access.team_for_new(user),
    )
    _add_version(flow, document, user)
    audit.record("flow.create", flow, changes=audit.diff({}, document), user=user)
    return flow


# What an edit may not change, as in AppFlow's UpdateFlow: the name, where data comes from and
# where it goes. (The source's incrementalPullConfig belongs to the trigger, so it may change.)
def _fixed_parts(document: dict) -> dict[str, Any]:
    source = {k: v for k, v in (document.get("sourceFlowConfig") or {}).items()
              if k != "incrementalPullConfig"}
    return {
        "flowName": ("the name", document.get("flowName")),
        "sourceFlowConfig": ("the source", source),
        "destinationFlowConfigList": ("the destination", document.get("destinationFlowConfigList")),
        "kmsArn": ("the encryption key", document.get("kmsArn")),
    }


@audit.audited("flow.update")
@transaction.atomic
def update_flow(flow: Flow, document: Any, *, user=None) -> FlowVersion:
    """Save an edited definition as the flow's next version. Mapping, validations, filters,
    trigger, description and tags may change; name, source, destination and key may not."""
    document = validate_document(without_describe_keys(document))
    access.check_uses(user, resolve_connections(document))
    flow = Flow.objects.select_for_update().get(pk=flow.pk)
    before, after = _fixed_parts(flow.definition), _fixed_parts(document)
    changed = [label for key, (label, value) in after.items() if before[key][1] != value]
    if changed:
        raise UserError(
            f'An edit cannot change {", ".join(changed)} of the flow "{flow.name}" (as in AppFlow). '
            "Create another flow for that."
        )
    trigger_type = document["triggerConfig"]["triggerType"]
    changes = audit.diff(flow.definition, document)
    update = ["description", "updated_at"]
    flow.description = document.get("description", "")
    if trigger_type != flow.trigger_type:
        # Another kind of trigger starts over: on demand is ready at once, a schedule or an event
        # waits in Draft to be activated, as a new flow would.
        flow.trigger_type = trigger_type
        flow.status = Flow.Status.ACTIVE if trigger_type == "OnDemand" else Flow.Status.DRAFT
        flow.status_message, flow.next_run_at = "", None
        update += ["trigger_type", "status", "status_message", "next_run_at"]
    flow.save(update_fields=update)
    version = _add_version(flow, document, user)
    audit.record("flow.update", flow, changes={**changes, "version": version.number}, user=user)
    record(flow, FlowActivity.Action.VERSION_SAVED, f"Version {version.number} saved{_who(user)}.", user)
    return version


def searchable_parts(document: dict) -> tuple[str, str, str]:
    """The source and destination connector keys and the tags of a (valid) document, as the flows
    list filters and searches them (Flow.source_connector, .destination_connector, .tags_text)."""
    def key(config: Any) -> str:
        config = config if isinstance(config, dict) else {}
        return str(config.get("connectorLabel") if config.get("connectorType") == "CustomConnector"
                   else config.get("connectorType") or "")
    destinations = document.get("destinationFlowConfigList") or [{}]
    tags = document.get("tags") or {}
    return (key(document.get("sourceFlowConfig")), key(destinations[0]),
            "\n".join(f"{name}={value}" for name, value in sorted(tags.items())))


def _add_version(flow: Flow, document: dict, user) -> FlowVersion:
    last = flow.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = FlowVersion.objects.create(
        flow=flow, number=last + 1, document=json.dumps(document, ensure_ascii=False), created_by=user
    )
    flow.current_version = version
    flow.source_connector, flow.destination_connector, flow.tags_text = searchable_parts(document)
    flow.save(update_fields=["current_version", "source_connector", "destination_connector", "tags_text",
                             "updated_at"])
    flow.connections.set(resolve_connections(document))
    if flow.status == Flow.Status.ACTIVE and flow.trigger_type == "Scheduled":
        # A new version may change the schedule: the next slot follows the new one.
        flow.next_run_at = next_run_after(flow, timezone.now())
        flow.save(update_fields=["next_run_at"])
    return version


def get_flow(name: str) -> Flow:
    try:
        return Flow.objects.select_related("current_version").get(name=name)
    except Flow.DoesNotExist:
        raise NotFound(f'No flow named "{name}".') from None


def log(execution: Execution, message: str, level: str = "INFO") -> None:
    try:
        with transaction.atomic():
            ExecutionLog.objects.create(execution=execution, level=level, message=message)
    except IntegrityError:
        # A forced delete took the execution away while its worker was still running: the
        # worker stops at its next batch; its last lines have nowhere to go.
        if Execution.objects.filter(pk=execution.pk).exists():
            raise


Window = tuple[datetime | None, datetime | None]


@audit.audited("flow.run", when=lambda kw: kw.get("trigger", Execution.Trigger.ON_DEMAND) == "OnDemand")
@transaction.atomic
def start_flow(flow: Flow, *, user=None, trigger: str = Execution.Trigger.ON_DEMAND,
               scheduled_for: datetime | None = None, window: Window | None = None) -> Execution:
    """Record an InProgress execution and hand its id to a worker once the row is committed.
    `window` is the incremental data pull window (start, end); `scheduled_for` the schedule slot."""
    if flow.current_version is None:
        raise UserError(f'The flow "{flow.name}" has no saved definition to run.')
    if trigger != Execution.Trigger.EVENT and runs_only_on_events(flow.current_version.definition):
        # Its records are the events the subscriber receives: a run started any other way would
        # read nothing and fail. AppFlow activates such a flow on StartFlow and never runs it.
        raise Conflict(f'The flow "{flow.name}" runs on events: each run starts when its source delivers '
                       "events, so it cannot be run by hand or backfilled. Activate it (Activate on its "
                       "page, or start-flow without a data pull window) and its runs follow the events.")
    if flow.status == Flow.Status.SUSPENDED and trigger == Execution.Trigger.ON_DEMAND:
        raise Conflict(f'The flow "{flow.name}" is suspended: {flow.status_message} Fix it, then run it.')
    # Held until commit: two starts of one flow count each other's runs (the per-flow quota).
    Flow.objects.select_for_update().filter(pk=flow.pk).values_list("pk", flat=True).first()
    quotas.check_new_run(flow)
    action = "flow.backfill" if window is not None else "flow.run"  # a window a person gave
    if window is None and trigger == Execution.Trigger.ON_DEMAND:
        window = _window_of_a_manual_run(flow)
    start, end = window or (None, None)
    execution = Execution.objects.create(
        flow=flow, version=flow.current_version, trigger=trigger, started_by=user,
        scheduled_for=scheduled_for, data_pull_start=start, data_pull_end=end,
    )
    who = f" by {user.get_username()}" if user else ""
    slot = f" for the slot {scheduled_for:%Y-%m-%d %H:%M:%S} UTC" if scheduled_for else ""
    log(execution, f"Queued{who} ({trigger}{slot}), flow version {flow.current_version.number}.")
    if window:
        log(execution, f"Data pull window: {_moment(start)} to {_moment(end)}.")
    if trigger == Execution.Trigger.ON_DEMAND:  # a person's run; the schedule's runs are in the history
        audit.record(action, flow, user=user,
                     changes={"execution": str(execution.pk), **_window_change(window)})

    queue.run_execution(execution.id)
    return execution


@audit.audited("flow.retry")
@transaction.atomic
def retry_rejected_records(execution: Execution, *, user=None) -> Execution:
    """A new on-demand run of the same flow version over exactly the records `execution`'s
    destination rejected: read back from its rejects location (errorHandlingConfig), written to
    the same destination (flows/reprocess.py)."""
    if not execution.rejects_location:
        raise UserError("This execution has no rejected records to retry: its destination refused none, or "
                        "the flow's errorHandlingConfig names no bucket or folder to keep them in.")
    if not execution.is_finished:
        raise Conflict("This execution is still running: retry its rejected records once it has finished.")
    flow = execution.flow
    Flow.objects.select_for_update().filter(pk=flow.pk).values_list("pk", flat=True).first()
    quotas.check_new_run(flow)
    retry = Execution.objects.create(flow=flow, version=execution.version,
                                     trigger=Execution.Trigger.ON_DEMAND, started_by=user,
                                     reprocess_of=execution)
    log(retry, f"Queued{_who(user)} (OnDemand): a retry of the records execution {execution.pk} rejected, "
               f"flow version {execution.version.number}.")
    audit.record("flow.retry", flow, user=user,
                 changes={"execution": str(retry.pk), "retry_of": str(execution.pk)})

    queue.run_execution(retry.id)
    return retry


@audit.audited("flow.cancel")
@transaction.atomic
def cancel_executions(flow: Flow, execution_ids: list[str] | None = None, *, user=None) -> list[str]:
    """InProgress -> CancelStarted; the worker stops at the next batch and marks it Canceled."""
    running = flow.executions.filter(status=Execution.Status.IN_PROGRESS)
    if execution_ids:
        known = {str(i) for i in flow.executions.filter(id__in=execution_ids).values_list("id", flat=True)}
        missing = [i for i in execution_ids if i not in known]
        if missing:
            raise NotFound(f'No execution {", ".join(missing)} in the flow "{flow.name}".')
        running = running.filter(id__in=execution_ids)
    ids = [str(i) for i in running.values_list("id", flat=True)]
    Execution.objects.filter(id__in=ids, status=Execution.Status.IN_PROGRESS).update(
        status=Execution.Status.CANCEL_STARTED, updated_at=timezone.now()
    )
    who = f" by {user.get_username()}" if user else ""
    for execution in Execution.objects.filter(id__in=ids):
        log(execution, f"Cancel requested{who}.")
    audit.record("flow.cancel", flow, changes={"executions": ids}, user=user)
    return ids


@audit.audited("flow.delete")
@transaction.atomic
def delete_flow(flow: Flow, *, force: bool = False, user=None) -> list[str]:
    """Delete the flow with its versions and history. Runs in progress refuse it, unless forced:
    then they are cancelled first (their worker sees the cancel, or the row gone, at its next
    batch and stops). Returns the ids of the runs it cancelled."""
    running = flow.executions.exclude(status__in=Execution.FINISHED).count()
    if running and not force:
        raise Conflict(
            f'The flow "{flow.name}" has {running} execution(s) in progress. '
            "Cancel them first, or force the delete."
        )
    canceled = cancel_executions(flow, user=user) if running else []
    audit.record("flow.delete", flow, user=user,
                 changes={"canceled_executions": canceled} if canceled else None)
    flow.delete()
    return canceled


# --- activation ----------------------------------------------------------------------------------


def schedule_config(flow: Flow) -> ScheduleConfig | None:
    """The flow's schedule, read from its current version; None unless it is a Scheduled flow."""
    trigger = flow.definition.get("triggerConfig") or {}
    if trigger.get("triggerType") != "Scheduled":
        return None
    properties = (trigger.get("triggerProperties") or {}).get("Scheduled") or {}
    try:
        return ScheduleConfig.from_properties(properties)
    except ScheduleError as exc:
        raise UserError(f"triggerConfig.triggerProperties.Scheduled.{exc.key}: {exc.message}") from None


def next_run_after(flow: Flow, moment: datetime) -> datetime | None:
    config = schedule_config(flow)
    if config is None:
        return None
    return next_slot(config, moment, anchor=flow.activated_at or moment)


def record(flow: Flow, action: str, message: str, user=None) -> FlowActivity:
    return FlowActivity.objects.create(flow=flow, action=action, message=message, user=user)


def _moment(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else "(open)"


def record_skipped_slot(flow: Flow, slot: datetime, reason: str) -> Execution:
    """A schedule slot that did not run, kept in the history with its reason."""
    now = timezone.now()
    execution = Execution.objects.create(
        flow=flow, version=flow.current_version, trigger=Execution.Trigger.SCHEDULED,
        status=Execution.Status.SKIPPED, scheduled_for=slot, started_at=None, finished_at=now,
        error_message=reason,
    )
    log(execution, reason, "WARNING")
    return execution


def backfill_window(start: datetime | None, end: datetime | None) -> Window | None:
    """A window a person asked for (an on-demand backfill), checked. None when neither end is given."""
    if start is None and end is None:
        return None
    now = timezone.now()
    if start is None:
        raise UserError("Backfill window: give a start time (the end defaults to now).")
    end = end or now
    if start >= end:
        raise UserError(f"Backfill window: the start ({_moment(start)}) must be before the end "
                        f"({_moment(end)}).")
    if end > now:
        raise UserError(f"Backfill window: the end ({_moment(end)}) is in the future; records from then do "
                        "not exist yet. Leave it empty to pull up to now.")
    return start, end


def _window_of_a_manual_run(flow: Flow) -> Window | None:
    """Run now on an incremental scheduled flow pulls what is new since the last success, as the
    next scheduled run would, so the watermark stays right."""
    try:
        config = schedule_config(flow)
    except UserError:
        return None
    return incremental_window(flow, config, timezone.now()) if config and config.incremental else None


def watermarks(flow_ids: list[int]) -> dict[int, datetime]:
    """Each flow's incremental watermark: the end of its last *successful* run's window."""
    rows = (
        Execution.objects.filter(flow_id__in=flow_ids, status=Execution.Status.SUCCESSFUL,
                                 data_pull_end__isnull=False)
        .values("flow_id").annotate(last_end=Max("data_pull_end")).values_list("flow_id", "last_end")
    )
    return dict(rows)


def incremental_window(flow: Flow, config: ScheduleConfig, now: datetime, *,
                       watermark: datetime | None | bool = False) -> Window:
    """AppFlow's incremental window: from the watermark (the first run: firstExecutionFrom, else 30
    days back) to now minus the offset. A failed or lost run does not move the watermark, so the
    next run covers its window too. `watermark` may be given when already known (the dispatcher
    reads them for a whole batch at once)."""
    end = now - config.offset
    last_end = watermarks([flow.pk]).get(flow.pk) if watermark is False else watermark
    start = last_end or config.first_from or (now - DEFAULT_FIRST_PULL)
    return min(start, end), end


def _window_change(window: Window | None) -> dict:
    if not window:
        return {}
    return {"window": {"from": _moment(window[0]), "to": _moment(window[1])}}


def _who(user) -> str:
    return f" by {user.get_username()}" if user else ""


@audit.audited("flow.activate")
@transaction.atomic
def activate_flow(flow: Flow, *, user=None) -> Flow:
    """StartFlow for a Scheduled or Event flow: it runs on its trigger from now on."""
    flow = Flow.objects.select_for_update(of=("self",)).select_related("current_version").get(pk=flow.pk)
    if flow.trigger_type == "OnDemand":
        raise Conflict(f'The flow "{flow.name}" runs on demand: it has nothing to activate. Run it instead.')
    if flow.current_version is None:
        raise UserError(f'The flow "{flow.name}" has no saved definition to activate.')
    if flow.status == Flow.Status.ACTIVE:
        return flow
    now = timezone.now()
    next_run = None
    if flow.trigger_type == "Scheduled":
        # The first slot may be now itself (a rate schedule with no start time starts at once).
        next_run = next_slot(schedule_config(flow), now - timedelta(microseconds=1), anchor=now)
        if next_run is None:
            raise Conflict(f'The schedule of "{flow.name}" has ended (scheduleEndTime is past): no run is '
                           "left. Save a version with a later end time, then activate it.")
    before = flow.status
    flow.status, flow.status_message = Flow.Status.ACTIVE, ""
    flow.activated_at, flow.next_run_at = now, next_run
    flow.save(update_fields=["status", "status_message", "activated_at", "next_run_at", "updated_at"])
    when = f" Next run: {next_run:%Y-%m-%d %H:%M:%S} UTC." if next_run else ""
    record(flow, FlowActivity.Action.ACTIVATED, f"Activated{_who(user)}.{when}", user)
    audit.record("flow.activate", flow, changes={"status": {"from": before, "to": flow.status}}, user=user)
    return flow


MAX_TRANSIENT_RETRIES = 10


@audit.audited("flow.settings")
@transaction.atomic
def set_transient_retries(flow: Flow, retries: Any, *, user=None) -> Flow:
    """How many times a run retries a transient connector failure before it fails (per flow)."""
    try:
        value = int(str(retries).strip())
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_TRANSIENT_RETRIES:
        raise UserError(
            f"Retries: must be a whole number from 0 to {MAX_TRANSIENT_RETRIES}, not {str(retries)[:20]!r}."
        )
    flow = Flow.objects.select_for_update().get(pk=flow.pk)
    if flow.transient_retries != value:
        audit.record("flow.settings", flow, user=user,
                     changes={"transient_retries": {"from": flow.transient_retries, "to": value}})
        flow.transient_retries = value
        flow.save(update_fields=["transient_retries", "updated_at"])
        record(flow, FlowActivity.Action.SETTINGS_CHANGED,
               f"Retries on transient errors set to {value}{_who(user)}.", user)
    return flow


@audit.audited("flow.deactivate")
@transaction.atomic
def deactivate_flow(flow: Flow, *, user=None, reason: str = "", status: str = Flow.Status.SUSPENDED,
                    action: str = FlowActivity.Action.DEACTIVATED) -> Flow:
    """StopFlow: no more scheduled or event runs until activated again. History and the
    incremental watermark (the last successful window) are kept; runs in progress go on."""
    flow = Flow.objects.select_for_update().get(pk=flow.pk)
    if flow.trigger_type == "OnDemand":
        raise Unsupported(f'The flow "{flow.name}" runs on demand: there is nothing to deactivate.')
    if flow.status not in (Flow.Status.ACTIVE, Flow.Status.DRAFT) and not reason:
        return flow
    now = timezone.now()
    message = reason or f"Deactivated{_who(user)} at {now:%Y-%m-%d %H:%M} UTC. Activate it to resume."
    audit.record("flow.deactivate", flow, changes={"status": {"from": flow.status, "to": status}},
                 message=reason, user=user)
    flow.status, flow.status_message, flow.next_run_at = status, message, None
    flow.save(update_fields=["status", "status_message", "next_run_at", "updated_at"])
    record(flow, action, message, user)
    if action == FlowActivity.Action.AUTO_DEACTIVATED:
        notifications.flow_deactivated(flow, message, now)
    return flow
