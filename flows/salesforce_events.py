"""Flows that run on Salesforce events: the subscriber process and what runs know of it.

One process (`manage.py subscribe_events`, started and restarted by `./sluice up`) keeps a thread
per active Event flow whose source is a Salesforce event channel. The thread subscribes through
the Streaming API (connections/connectors/salesforce/streaming.py) from the flow's last
*committed* replay id, and stores every event it receives (ReceivedEvent, unique per flow and
replay id: a replayed event is stored once). The main loop gathers a flow's waiting events into
one execution once the oldest has waited SLUICE_EVENT_BATCH_SECONDS (or SLUICE_EVENT_BATCH_MAX
are waiting); the run reads them as its records (run_options), and once its destination has
committed (the run ended Successful), commit_replay moves the flow's replay id on. A crash
anywhere in between makes Salesforce send the events again from the committed replay id, and the
unique constraint drops the ones already stored: nothing lost, nothing twice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from django import db
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.utils import timezone

from connections.connectors.base import ConnectorError
from connections.connectors.salesforce import streaming
from connections.connectors.salesforce.client import SalesforceApi
from connections.models import Connection
from connections.oauth.tokens import runtime_info
from console.errors import QuotaExceeded
from flows import services
from flows.models import EventSubscription, Execution, Flow, ReceivedEvent

logger = logging.getLogger(__name__)


def event_channel(flow: Flow) -> str | None:
    """The Streaming API channel an Event flow runs on, or None for any other flow."""
    if flow.trigger_type != "Event" or flow.current_version is None:
        return None
    source = flow.current_version.definition.get("sourceFlowConfig") or {}
    entity = str(
        ((source.get("sourceConnectorProperties") or {}).get("Salesforce") or {}).get("object") or ""
    )
    if source.get("connectorType") != "Salesforce" or not streaming.is_event_object(entity):
        return None
    return streaming.channel_of(entity)


# --- what runs see ------------------------------------------------------------------------------


def event_records(execution: Execution) -> list[dict] | None:
    """The events an execution delivers, in replay order (None: it was not started by events)."""
    if execution.trigger != Execution.Trigger.EVENT:
        return None
    rows = list(execution.received_events.order_by("replay_id").values("replay_id", "payload"))
    return [{"replayId": r["replay_id"], "payload": r["payload"]} for r in rows] if rows else None


def commit_replay(execution_id) -> None:
    """After a successful run: its events are at the destination, so the subscription resumes
    after them from now on (the runner calls this once the run has ended)."""
    execution = Execution.objects.filter(pk=execution_id, status=Execution.Status.SUCCESSFUL).first()
    if execution is None:
        return
    last = execution.received_events.aggregate(last=Max("replay_id"))["last"]
    if last is None:
        return
    now = timezone.now()
    EventSubscription.objects.filter(flow_id=execution.flow_id).filter(
        db.models.Q(replay_id__isnull=True) | db.models.Q(replay_id__lt=last)
    ).update(replay_id=last, replay_at=now)


# --- the subscriber process ---------------------------------------------------------------------


class Subscriber:
    """The process's state: a thread per subscribed flow."""

    def __init__(self, *, batch_seconds: float | None = None, batch_max: int | None = None):
        self.batch_seconds = (
            batch_seconds if batch_seconds is not None else settings.SLUICE_EVENT_BATCH_SECONDS
        )
        self.batch_max = batch_max or settings.SLUICE_EVENT_BATCH_MAX
        self.threads: dict[int, FlowListener] = {}
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # a busy database now and then must not end the subscriber
                logger.exception("Event subscriber tick failed")
            stop.wait(0.2)
        for listener in self.threads.values():
            listener.stop.set()

    def tick(self) -> None:
        """Start and stop listeners as flows are activated and deactivated, beat, start runs."""
        wanted = {}
        for flow in Flow.objects.filter(status=Flow.Status.ACTIVE, trigger_type="Event").select_related(
            "current_version"
        ):
            channel = event_channel(flow)
            if channel:
                wanted[flow.pk] = (flow, channel)
        for pk in [
            pk
            for pk, listener in self.threads.items()
            if pk not in wanted or not listener.is_alive() or listener.channel != wanted[pk][1]
        ]:
            self.threads.pop(pk).stop.set()  # deactivated (or its thread ended): the subscription stops
        for pk, (flow, channel) in wanted.items():
            if pk not in self.threads:
                listener = FlowListener(flow.pk, channel, self.name)
                self.threads[pk] = listener
                listener.start()
        EventSubscription.objects.filter(flow_id__in=list(self.threads)).update(
            heartbeat_at=timezone.now(), subscriber=self.name
        )
        for flow, _ in wanted.values():
            self.start_run(flow)

    def start_run(self, flow: Flow) -> Execution | None:
        """One execution for the flow's waiting events, when the batching window has passed."""
        waiting = ReceivedEvent.objects.filter(flow=flow, execution__isnull=True)
        summary = waiting.aggregate(first=Min("received_at"), count=db.models.Count("pk"))
        if not summary["count"]:
            return None
        if summary["count"] < self.batch_max and summary["first"] > timezone.now() - timedelta(
            seconds=self.batch_seconds
        ):
            return None
        try:
            with transaction.atomic():
                ids = list(waiting.order_by("replay_id").values_list("pk", flat=True)[: self.batch_max])
                execution = services.start_flow(flow, trigger=Execution.Trigger.EVENT)
                taken = ReceivedEvent.objects.filter(pk__in=ids, execution__isnull=True).update(
                    execution=execution
                )
                if taken != len(ids):  # another subscriber took some: leave them all to it
                    raise IntegrityError("events taken meanwhile")
                services.log(execution, f"Started by {taken} Salesforce event{'s' if taken != 1 else ''}.")
        except (IntegrityError, QuotaExceeded):
            return None
        return execution


class FlowListener(threading.Thread):
    """One flow's subscription: receive, store (once), beat, until stopped."""

    def __init__(self, flow_pk: int, channel: str, name: str):
        super().__init__(name=f"events-{flow_pk}", daemon=True)
        self.flow_pk, self.channel, self.subscriber = flow_pk, channel, name
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            self.listen()
        except Exception:
            logger.exception("The event listener of flow %s stopped", self.flow_pk)
        finally:
            db.connections.close_all()

    def listen(self) -> None:
        state, _ = EventSubscription.objects.get_or_create(
            flow_id=self.flow_pk, defaults={"channel": self.channel}
        )
        replay = self.start_from(state)
        failures = 0
        session = None
        while not self.stop.is_set():
            try:
                if session is None:
                    session = self.session(replay)
                    session.start()
                    failures = 0
                for_flow = session.poll()
                self.store(for_flow)
                failures = 0
            except streaming.ReplayUnavailable as exc:
                self.note(
                    gap=f"{exc.message} Events between then and {timezone.now():%Y-%m-%d %H:%M} UTC "
                    "may not have been delivered; the subscription continues with every event "
                    "Salesforce still keeps."
                )
                replay, session = streaming.ALL_RETAINED, None
            except streaming.AuthenticationInvalid as exc:
                self.pause(exc.message, reauthorize=True)
                return
            except ConnectorError as exc:
                if exc.permanent:
                    self.pause(exc.message, reauthorize="re-authorization" in exc.message)
                    return
                failures += 1
                self.note(f"{exc.message} Trying again.")
                replay = session.replay_from if session is not None else replay
                session = None
                self.stop.wait(min(0.2 * 2**failures, 30))
        if session is not None:
            session.stop()

    def start_from(self, state: EventSubscription) -> int:
        """The committed replay id; before any commit, the first event received (it is stored:
        what follows it is sent again); -1 (new events) for a first subscription; every retained
        event (-2) with a gap reported when the committed one is older than Salesforce keeps."""
        if state.replay_id is None:
            first = ReceivedEvent.objects.filter(flow_id=self.flow_pk).aggregate(first=Min("replay_id"))[
                "first"
            ]
            return streaming.NEW_EVENTS if first is None else first
        retained_from = timezone.now() - timedelta(hours=streaming.RETENTION_HOURS)
        if state.replay_at and state.replay_at < retained_from:
            self.note(
                gap=f"The last delivered event (replay id {state.replay_id}) was received "
                f"{state.replay_at:%Y-%m-%d %H:%M} UTC, more than {streaming.RETENTION_HOURS} hours "
                "ago: events Salesforce no longer keeps may have been missed."
            )
            return streaming.ALL_RETAINED
        return state.replay_id

    def session(self, replay: int) -> streaming.Subscription:
        connection = Connection.objects.get(flows__pk=self.flow_pk, connector_type="Salesforce")
        api = SalesforceApi(runtime_info(connection))
        return streaming.Subscription(api, self.channel, replay_from=replay, on_note=self.note)

    def store(self, received: list[streaming.Received]) -> None:
        if received:
            ReceivedEvent.objects.bulk_create(
                [
                    ReceivedEvent(
                        flow_id=self.flow_pk, replay_id=e.replay_id, channel=e.channel, payload=e.payload
                    )
                    for e in received
                ],
                ignore_conflicts=True,
            )
        EventSubscription.objects.filter(flow_id=self.flow_pk).update(heartbeat_at=timezone.now())

    def note(self, message: str = "", *, gap: str = "") -> None:
        fields = {"heartbeat_at": timezone.now(), "subscriber": self.subscriber}
        if message:
            fields["note"] = message[:2048]
        if gap:
            fields["gap"] = gap[:2048]
        EventSubscription.objects.filter(flow_id=self.flow_pk).update(**fields)

    def pause(self, message: str, *, reauthorize: bool) -> None:
        """A revoked token (or a channel the org refuses): the flow stops with the reason."""
        if reauthorize:
            Connection.objects.filter(flows__pk=self.flow_pk, connector_type="Salesforce").update(
                status=Connection.Status.NEEDS_REAUTHORIZATION,
                status_message="Salesforce refused the token for the Streaming API.",
            )
        self.note(message)
        with transaction.atomic():
            services.deactivate_flow(Flow.objects.get(pk=self.flow_pk), reason=f"Paused: {message}")


def run(stop: threading.Event | None = None) -> None:
    """The process's main loop (manage.py subscribe_events)."""
    Subscriber().run_forever(stop or threading.Event())
