"""Salesforce's Streaming API: a Bayeux (CometD) long-polling client for Change Data Capture and
Platform Event channels, over HTTPS with the connection's OAuth token through the SSRF guard.

The protocol, as Salesforce documents it:
- How the client connects (handshake, subscribe after each successful handshake, connect loop,
  reconnect within 40 s after events / 110 s after an empty poll):
  https://developer.salesforce.com/docs/atlas.en-us.api_streaming.meta/api_streaming/using_streaming_api_client_connection.htm
- Clients and cookies (Content-Type application/json, `Authorization: Bearer`, send the cookies back):
  https://developer.salesforce.com/docs/atlas.en-us.api_streaming.meta/api_streaming/intro_client_specs.htm
- Errors (`401::Authentication invalid` with advice reconnect=none, `403::Handshake denied`,
  `403::Unknown client` -> handshake again and resubscribe):
  https://developer.salesforce.com/docs/atlas.en-us.api_streaming.meta/api_streaming/streaming_handling_errors.htm
- Message durability (the replay extension `ext.replay = {channel: replayId}`; -1 new events only,
  -2 every event retained; events are kept 72 hours):
  https://developer.salesforce.com/docs/atlas.en-us.api_streaming.meta/api_streaming/using_streaming_api_durability.htm

Django-free: the subscriber process (flows/salesforce_events.py) drives it and stores what it gets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connections import net
from connections.connectors.base import ConnectorError

from .client import SalesforceApi

NEW_EVENTS, ALL_RETAINED = -1, -2
RETENTION_HOURS = 72
# Salesforce holds an empty /meta/connect for up to 110 s; wait a little longer than that.
LONG_POLL_SECONDS = 130.0
CHANNEL = re.compile(r"^/(data/(\w+ChangeEvent|ChangeEvents)|event/\w+__e)$")


class AuthenticationInvalid(ConnectorError):
    """The org no longer accepts the token (revoked, session deleted) and a refresh did not help."""


class ReplayUnavailable(ConnectorError):
    """The replay id asked for is outside the retention window (older than 72 hours)."""


def channel_of(entity: str) -> str:
    """The Streaming API channel of an event object: /data/AccountChangeEvent, /data/ChangeEvents,
    /event/Order_Placed__e (the object's name alone is accepted too)."""
    name = (
        entity
        if entity.startswith("/")
        else (f"/event/{entity}" if entity.endswith("__e") else f"/data/{entity}")
    )
    if not CHANNEL.match(name):
        raise ConnectorError(
            f'"{entity[:100]}" is not a Salesforce event channel: use /data/<Object>ChangeEvent, '
            "/data/ChangeEvents or /event/<Name>__e."
        )
    return name


def is_event_object(entity: str) -> bool:
    return entity.startswith("/") or entity.endswith(("ChangeEvent", "ChangeEvents", "__e"))


@dataclass
class Received:
    channel: str
    replay_id: int
    payload: dict


@dataclass
class Subscription:
    """One subscriber's session with the org: handshake, subscribe with replay, connect."""

    api: SalesforceApi
    channel: str
    replay_from: int = NEW_EVENTS
    on_note: Callable[[str], None] = lambda message: None
    client_id: str = ""
    cookies: dict[str, str] = field(default_factory=dict)
    next_id: int = 0
    interval_ms: int = 0

    @property
    def url(self) -> str:
        return f"{self.api.base}/cometd/{self.api.version.lstrip('v')}"

    def start(self) -> None:
        """Handshake, then subscribe from `replay_from` (a new session always resubscribes:
        a handshake clears the server's subscriptions)."""
        answer = self._one(
            {
                "channel": "/meta/handshake",
                "version": "1.0",
                "minimumVersion": "1.0",
                "supportedConnectionTypes": ["long-polling"],
            }
        )
        if not answer.get("successful"):
            reason = (answer.get("ext") or {}).get("sfdc", {}).get("failureReason") or answer.get("error")
            if str(reason).startswith("401"):
                raise AuthenticationInvalid(self._auth_message(str(reason)))
            raise ConnectorError(
                f"Salesforce refused the Streaming API handshake: {reason}.", permanent=False
            )
        self.client_id = str(answer["clientId"])
        self._advice(answer)
        answer = self._one(
            {
                "channel": "/meta/subscribe",
                "clientId": self.client_id,
                "subscription": self.channel,
                "ext": {"replay": {self.channel: self.replay_from}},
            }
        )
        if not answer.get("successful"):
            error = str(answer.get("error") or "")
            if "replayId" in error or "replay" in error.lower():
                raise ReplayUnavailable(
                    f"Salesforce no longer has the events after replay id "
                    f"{self.replay_from} on {self.channel} ({error})."
                )
            if error.startswith("403::Unknown client"):
                self.client_id = ""
                raise ConnectorError(
                    "The Streaming API session ended before the subscription.", permanent=False
                )
            raise ConnectorError(
                f"Salesforce refused the subscription to {self.channel}: {error}. "
                "Check that the object's change events (or the platform event) are "
                "enabled and that the user may read them."
            )
        self.on_note(f"Subscribed to {self.channel} from replay id {self.replay_from}.")

    def poll(self) -> list[Received]:
        """One /meta/connect: the events delivered by it (possibly none). A lost session
        (`403::Unknown client`, advice reconnect=handshake) starts a new one from the last replay
        id seen; a dropped connection is raised as a transient error for the caller to retry."""
        if not self.client_id:
            self.start()
        messages = self._send(
            [{"channel": "/meta/connect", "clientId": self.client_id, "connectionType": "long-polling"}],
            timeout=LONG_POLL_SECONDS,
        )
        received = []
        for message in messages:
            channel = message.get("channel")
            if channel == "/meta/connect":
                self._advice(message)
                if not message.get("successful"):
                    self._connect_failed(message)
                continue
            data = message.get("data")
            if isinstance(data, dict):
                event = data.get("event") or {}
                replay = int(event.get("replayId", 0))
                received.append(Received(str(channel), replay, data.get("payload") or {}))
                self.replay_from = max(self.replay_from, replay)
        return received

    def stop(self) -> None:
        if self.client_id:
            try:
                self._send([{"channel": "/meta/disconnect", "clientId": self.client_id}], timeout=10)
            except ConnectorError:
                pass  # the session expires on its own
            self.client_id = ""

    # --- plumbing --------------------------------------------------------------------------

    def _connect_failed(self, message: dict) -> None:
        error = str(message.get("error") or "")
        reconnect = (message.get("advice") or {}).get("reconnect")
        if error.startswith("401"):
            raise AuthenticationInvalid(self._auth_message(error))
        if error.startswith("403::Unknown client") or reconnect == "handshake":
            self.on_note(
                f"Salesforce ended the Streaming API session ({error or 'advice: handshake'}); "
                f"handshaking again from replay id {self.replay_from}."
            )
            self.client_id = ""
            return
        raise ConnectorError(f"Salesforce's /meta/connect failed: {error}.", permanent=False)

    def _advice(self, message: dict) -> None:
        advice = message.get("advice") or {}
        if "interval" in advice:
            self.interval_ms = int(advice["interval"] or 0)

    def _auth_message(self, reason: str) -> str:
        return (
            f"Salesforce no longer accepts the connection's token for the Streaming API ({reason}). "
            "Open the connection and choose Re-authorize, then activate the flow again."
        )

    def _one(self, message: dict) -> dict:
        answers = self._send([message], timeout=30)
        for answer in answers:
            if answer.get("channel") == message["channel"]:
                return answer
        raise ConnectorError(f"Salesforce sent no answer on {message['channel']}.", permanent=False)

    def _send(self, messages: list[dict], timeout: float) -> list[dict]:
        for message in messages:
            self.next_id += 1
            message["id"] = str(self.next_id)
        body = json.dumps(messages).encode()
        response = self._post(body, timeout)
        if response.status == 401 and self.api.conn.refresh is not None:
            # an expired access token: refreshed once (a revoked refresh token marks the connection)
            self.api.token = str(self.api.conn.refresh(self.api.token).get("accessToken") or "")
            self.client_id = "" if messages[0]["channel"] == "/meta/connect" else self.client_id
            response = self._post(body, timeout)
        if response.status == 401:
            raise AuthenticationInvalid(self._auth_message("HTTP 401"))
        if not response.ok:
            raise ConnectorError(
                f"Salesforce's Streaming API answered HTTP {response.status}.",
                permanent=response.status < 500 and response.status not in (408, 429),
            )
        cookie = response.headers.get("set-cookie")
        if cookie:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        try:
            answers = response.json()
        except ValueError:
            raise ConnectorError(
                "Salesforce's Streaming API answered something that is not JSON.", permanent=False
            ) from None
        return answers if isinstance(answers, list) else [answers]

    def _post(self, body: bytes, timeout: float) -> net.Response:
        self.api.calls += 1
        headers = {
            "Authorization": f"Bearer {self.api.token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return net.request("POST", self.url, headers=headers, body=body, timeout=timeout)


def flatten(payload: dict[str, Any], replay_id: int) -> dict[str, Any]:
    """An event as a record: its payload fields, the ChangeEventHeader's fields as
    ChangeEventHeader_<name> (lists and objects as JSON text), and replayId."""
    record: dict[str, Any] = {}
    for name, value in payload.items():
        if name == "ChangeEventHeader" and isinstance(value, dict):
            for key, part in value.items():
                record[f"ChangeEventHeader_{key}"] = (
                    json.dumps(part) if isinstance(part, list | dict) else part
                )
        else:
            record[name] = json.dumps(value) if isinstance(value, list | dict) else value
    record["replayId"] = replay_id
    return record


HEADER_FIELDS = (
    "entityName",
    "recordIds",
    "changeType",
    "changeOrigin",
    "transactionKey",
    "sequenceNumber",
    "commitTimestamp",
    "commitNumber",
    "commitUser",
    "changedFields",
)
