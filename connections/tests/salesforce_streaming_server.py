"""The Streaming API (CometD / Bayeux) of the local Salesforce org, for tests only: served by
salesforce_server.serve() at /cometd/62.0.

It answers the documented Bayeux messages: /meta/handshake (clientId, advice with timeout /
interval / reconnect, the BAYEUX_BROWSER cookie), /meta/subscribe with the replay extension
(-1 new events, -2 all retained, a replay id; one no longer retained is refused with Salesforce's
400 text), /meta/connect held open until an event or the advice timeout, events as
{"channel", "data": {"schema", "payload", "event": {"replayId"}}}, `403::Unknown client` with
advice reconnect=handshake for a session it does not know, and /meta/disconnect. Pages followed:
https://developer.salesforce.com/docs/atlas.en-us.api_streaming.meta/api_streaming/using_streaming_api_client_connection.htm
https://developer.salesforce.com/docs/atlas.en-us.api_streaming.meta/api_streaming/using_streaming_api_durability.htm
https://developer.salesforce.com/docs/atlas.en-us.api_streaming.meta/api_streaming/streaming_handling_errors.htm

Tests publish with `bus.publish_change(...)` / `bus.publish(channel, payload)`, and can ask for one
`403::Unknown client` (`bus.forget_clients_after`) and one dropped connection (`bus.drop_after`)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

SCHEMA = "IeRuaY6cbI_HsV8Rv1Mc5g"


class EventBus:
    """The org's retained events and its Bayeux sessions."""

    def __init__(self):
        self.events: list[dict] = []  # {"channel", "replayId", "payload", "at"}
        self.clients: dict[str, dict] = {}  # clientId -> {"subs": {channel: after replay id}}
        self.changed = threading.Condition()
        self.next_replay = 4000  # Salesforce's replay ids are opaque, increasing numbers
        self.timeout_ms = 1000  # advice.timeout: how long a /meta/connect is held (110000 at Salesforce)
        self.connects = 0
        self.forget_clients_after: int | None = None  # that many connects, then 403::Unknown client once
        self.drop_after: int | None = None  # that many connects, then one connection closed unanswered
        self.handshakes = 0
        self.subscribes: list[tuple[str, int]] = []
        self.retention = timedelta(hours=72)

    # publishing ------------------------------------------------------------------------------

    def publish(self, channel: str, payload: dict) -> int:
        with self.changed:
            self.next_replay += 1
            self.events.append({"channel": channel, "replayId": self.next_replay, "payload": payload,
                                "at": datetime.now(UTC)})
            self.changed.notify_all()
            return self.next_replay

    def publish_change(self, n: int, entity: str = "Account", change: str = "UPDATE", **fields) -> int:
        """A Change Data Capture event of record n, shaped like Salesforce's example payload."""
        record_id = f"001{n:015d}"[:18]
        header = {"entityName": entity, "recordIds": [record_id], "changeType": change,
                  "changeOrigin": "com/salesforce/api/rest/62.0", "transactionKey": uuid.uuid4().hex,
                  "sequenceNumber": 1, "commitTimestamp": int(time.time() * 1000), "commitNumber": 10000 + n,
                  "commitUser": "005xx000001Sv6AAAS", "changedFields": sorted(fields) or ["Name"]}
        return self.publish(f"/data/{entity}ChangeEvent",
                            {"ChangeEventHeader": header, **(fields or {"Name": f"Account {n}"})})

    # the Bayeux endpoint ---------------------------------------------------------------------

    def answer(self, messages: list[dict]) -> list[dict] | None:
        """The answers to one POST; None: drop the connection without answering."""
        out: list[dict] = []
        for message in messages:
            channel = message.get("channel")
            if channel == "/meta/handshake":
                out.append(self._handshake(message))
            elif channel == "/meta/subscribe":
                out.append(self._subscribe(message))
            elif channel == "/meta/connect":
                answer = self._connect(message)
                if answer is None:
                    return None
                out.extend(answer)
            elif channel == "/meta/disconnect":
                self.clients.pop(str(message.get("clientId")), None)
                out.append({"channel": channel, "id": message.get("id"), "successful": True})
        return out

    def _handshake(self, message: dict) -> dict:
        client_id = uuid.uuid4().hex[:26]
        with self.changed:
            self.handshakes += 1
            self.clients[client_id] = {"subs": {}}
        return {"channel": "/meta/handshake", "id": message.get("id"), "version": "1.0",
                "minimumVersion": "1.0", "clientId": client_id, "supportedConnectionTypes": ["long-polling"],
                "advice": {"interval": 0, "timeout": self.timeout_ms, "reconnect": "retry"}, "successful": True,
                "ext": {"replay": True, "payload.format": True}}

    def _subscribe(self, message: dict) -> dict:
        base = {"channel": "/meta/subscribe", "id": message.get("id"), "subscription": message.get("subscription"),
                "clientId": message.get("clientId")}
        client = self.clients.get(str(message.get("clientId")))
        if client is None:
            return {**base, "successful": False, "error": "403::Unknown client",
                    "advice": {"reconnect": "handshake", "interval": 0}}
        channel = str(message.get("subscription"))
        replay = int(((message.get("ext") or {}).get("replay") or {}).get(channel, -1))
        with self.changed:
            retained = [e for e in self.events if e["at"] > datetime.now(UTC) - self.retention]
            self.subscribes.append((channel, replay))
            if replay == -2:
                after = retained[0]["replayId"] - 1 if retained else self.next_replay
            elif replay == -1:
                after = self.next_replay
            elif replay not in {e["replayId"] for e in retained}:
                return {**base, "successful": False,
                        "error": f"400::The replayId {{{replay}}} you provided was invalid.  Please provide a valid "
                                 "ID, -2 to replay all events, or -1 to replay only new events."}
            else:
                after = replay
            client["subs"][channel] = after
        return {**base, "successful": True}

    def _connect(self, message: dict) -> list[dict] | None:
        client_id = str(message.get("clientId"))
        with self.changed:
            self.connects += 1
            if self.drop_after is not None and self.connects > self.drop_after:
                self.drop_after = None
                return None
            if self.forget_clients_after is not None and self.connects > self.forget_clients_after:
                self.forget_clients_after = None
                self.clients.clear()
            client = self.clients.get(client_id)
            if client is None:
                return [{"channel": "/meta/connect", "id": message.get("id"), "clientId": client_id,
                         "successful": False, "error": "403::Unknown client",
                         "advice": {"interval": 0, "reconnect": "handshake"}}]
            deadline = time.monotonic() + self.timeout_ms / 1000
            while not (found := self._pending(client)) and time.monotonic() < deadline:
                self.changed.wait(max(deadline - time.monotonic(), 0.001))
            for event in found:
                for channel, after in client["subs"].items():
                    if _matches(channel, event["channel"]) and event["replayId"] > after:
                        client["subs"][channel] = event["replayId"]
        delivered = [{"channel": e["channel"], "data": {"schema": SCHEMA, "payload": e["payload"],
                                                         "event": {"replayId": e["replayId"]}}} for e in found]
        return [*delivered, {"channel": "/meta/connect", "id": message.get("id"), "clientId": client_id,
                             "successful": True, "advice": {"interval": 0, "timeout": self.timeout_ms,
                                                            "reconnect": "retry"}}]

    def _pending(self, client: dict) -> list[dict]:
        return [e for e in self.events
                if any(_matches(c, e["channel"]) and e["replayId"] > after for c, after in client["subs"].items())][:200]


def _matches(subscribed: str, channel: str) -> bool:
    return subscribed == channel or (subscribed == "/data/ChangeEvents" and channel.startswith("/data/"))
