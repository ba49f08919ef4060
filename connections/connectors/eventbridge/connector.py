"""Amazon EventBridge as a destination, as AppFlow has it: each record becomes an event sent with
PutEvents to the partner event source's event bus named by `object` (an
aws.partner/... event source associated with a bus, or any bus name or ARN).

The event: Source `sluice.<flowName>`, DetailType the source object (AccountChangeEvent,
Order_Placed__e, ...), Detail the record as JSON. A call carries at most 10 entries and 256 KB
(batching.py). A record whose event would exceed 256 KB is written to the "large event handling"
bucket (errorHandlingConfig.bucketName / bucketPrefix, as AppFlow's console stores it) and the
event carries where: {"largeEvent": true, "s3Bucket", "s3Key", "sizeBytes"}. Entries EventBridge
refuses (FailedEntryCount) are record failures. PutEvents is not transactional: records are
spooled until the source ends (a failed source sends nothing), then sent; each call is checked
against the run's lease first (fencing.before_publish).

Connection: region, an optional endpointUrl (a local stand-in such as moto), and an access key
(or none: the environment's default credentials), as for Amazon S3.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

import boto3
import botocore.exceptions as bx
import orjson
import pyarrow as pa
from botocore.config import Config

from .. import apicalls, errorhandling, fencing
from ..base import ConfigField, ConnectionInfo, Connector, ConnectorError, Entity, RecordFailure, WriteResult
from ..s3.client import S3_ERRORS, make_client, s3_error, settings_from
from .batching import Entry, calls

DESTINATION_KEYS = {"object", "errorHandlingConfig"}
_TRANSIENT = {"ThrottlingException", "InternalException", "InternalFailure", "ServiceUnavailable"}


class EventBridgeConnector(Connector):
    connector_type: ClassVar[str] = "EventBridge"
    properties_key: ClassVar[str] = "EventBridge"
    display_name: ClassVar[str] = "Amazon EventBridge"
    description: ClassVar[str] = (
        "Each record as an event on an EventBridge partner event bus (PutEvents, 10 events and 256 KB "
        "a call); events over 256 KB go to an S3 bucket and the event says where."
    )
    can_be_destination: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "api_key"
    caches_metadata: ClassVar[bool] = False
    write_operations: ClassVar[tuple[str, ...]] = ("INSERT",)
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("region", label="Region", required=False, default="us-east-1", sends_credentials_to=True),
        ConfigField(
            "endpointUrl",
            kind="url",
            label="Endpoint URL",
            required=False,
            sends_credentials_to=True,
            help="Only for a local or compatible EventBridge endpoint, e.g. http://localhost:5000. "
            "Empty for Amazon EventBridge; the large-event bucket is reached at the same address.",
        ),
        ConfigField(
            "accessKeyId",
            label="Access key id",
            secret=True,
            required=False,
            help="Empty to use the environment's default credentials. The key needs "
            "events:PutEvents on the bus and s3:PutObject on the large-event bucket.",
        ),
        ConfigField("secretAccessKey", kind="secret", label="Secret access key", secret=True, required=False),
    )

    @classmethod
    def check_destination_properties(cls, props: Any) -> list[tuple[str, str]]:
        if not isinstance(props, Mapping):
            return [("", "must be a JSON object")]
        problems = [
            (k, "is not a property of an EventBridge destination") for k in props if k not in DESTINATION_KEYS
        ]
        target = props.get("object")
        if not isinstance(target, str) or not target.strip():
            problems.append(
                (
                    "object",
                    "is required: the partner event source (aws.partner/...) or the event "
                    "bus name or ARN the events go to",
                )
            )
        return problems + errorhandling.check(props.get("errorHandlingConfig"))

    def test(self, conn: ConnectionInfo) -> None:
        self._call(_client(conn), "list_event_buses", Limit=1)

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        """The event buses the key can see (partner buses are named after their event source)."""
        answer = self._call(_client(conn), "list_event_buses", Limit=100)
        return [Entity(b["Name"], b["Name"]) for b in answer.get("EventBuses", [])]

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list:
        return []  # an event takes any fields: the record is its Detail

    def write(
        self, conn: ConnectionInfo, entity: str, batches: Iterable[pa.Table], options: Mapping[str, Any]
    ) -> WriteResult:
        bus = entity.strip()
        if not bus:
            raise ConnectorError("object: name the partner event source or event bus the events go to.")
        source = f"sluice.{options.get('flowName') or 'flow'}"
        detail_type = str(options.get("sourceEntity") or "Sluice record").rsplit("/", 1)[-1]
        with tempfile.TemporaryFile() as spool:
            count = 0
            for table in batches:  # the source may still fail: nothing is sent before it ends
                for row in table.to_pylist():
                    spool.write(orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS, default=str) + b"\n")
                    count += 1
            result = WriteResult(location=f"EventBridge bus {bus}")
            if not count:
                return result
            spool.seek(0)
            sender = _Sender(conn, bus, options, result)
            entries = (
                Entry(n, source, detail_type, line.rstrip(b"\n").decode())
                for n, line in enumerate(spool, start=1)
            )
            for group in calls(sender.small(entries)):
                sender.put(group)
            return result

    @staticmethod
    def _call(client: Any, operation: str, **kwargs: Any) -> dict:
        try:
            return getattr(client, operation)(**kwargs)
        except (bx.BotoCoreError, bx.ClientError) as exc:
            raise _error(exc, operation) from None


class _Sender:
    """PutEvents calls for one run, and the large events' S3 objects."""

    def __init__(self, conn: ConnectionInfo, bus: str, options: Mapping[str, Any], result: WriteResult):
        self.conn, self.bus, self.result = conn, bus, result
        self.client = _client(conn)
        self.fail_first = errorhandling.fail_on_first(options)
        config = options.get("errorHandlingConfig") or {}
        self.bucket = str(config.get("bucketName") or "")
        self.prefix = str(config.get("bucketPrefix") or "").strip("/")
        self.execution = str(options.get("executionId") or "run")

    def small(self, entries: Iterable[Entry]) -> Iterator[Entry]:
        """Every entry within 256 KB: a larger one's Detail goes to S3 and the event points there."""
        for entry in entries:
            if not entry.too_large():
                yield entry
                continue
            if not self.bucket:
                self._failed(
                    entry,
                    f"its event is {entry.size} bytes, over EventBridge's 256 KB, and the "
                    "destination names no large-event bucket (errorHandlingConfig.bucketName)",
                )
                continue
            key = "/".join(
                p for p in (self.prefix, "large-events", self.execution, f"{entry.number}.json") if p
            )
            settings = settings_from(self.conn)
            try:
                fencing.before_publish()
                make_client(settings).put_object(
                    Bucket=self.bucket, Key=key, Body=entry.detail.encode(), ContentType="application/json"
                )
            except S3_ERRORS as exc:
                raise s3_error(exc, settings, "writing a large event", self.bucket) from None
            pointer = {"largeEvent": True, "s3Bucket": self.bucket, "s3Key": key, "sizeBytes": entry.size}
            yield Entry(entry.number, entry.source, entry.detail_type, orjson.dumps(pointer).decode())

    def put(self, group: list[Entry]) -> None:
        fencing.before_publish()
        answer = EventBridgeConnector._call(
            self.client,
            "put_events",
            Entries=[
                {
                    "Source": e.source,
                    "DetailType": e.detail_type,
                    "Detail": e.detail,
                    "EventBusName": self.bus,
                }
                for e in group
            ],
        )
        for entry, outcome in zip(group, answer.get("Entries", []), strict=False):
            if outcome.get("ErrorCode"):
                self._failed(
                    entry,
                    f"EventBridge refused it: {outcome['ErrorCode']}: "
                    f"{outcome.get('ErrorMessage', '')}".rstrip(": "),
                )
            else:
                self.result.records_written += 1
                self.result.bytes_written += len(entry.detail.encode())

    def _failed(self, entry: Entry, reason: str) -> None:
        if self.fail_first:
            raise ConnectorError(
                f"Record {entry.number}: {reason}. The records before it were sent "
                "(EventBridge has no transactions); set failOnFirstDestinationError false "
                "to send the others too."
            )
        self.result.failures.append(
            RecordFailure(f"record {entry.number}", reason, orjson.loads(entry.detail))
        )


def _client(conn: ConnectionInfo) -> Any:
    settings = settings_from(conn)  # the endpoint's host passes the SSRF guard there
    session = boto3.session.Session(
        aws_access_key_id=settings.access_key_id or None,
        aws_secret_access_key=settings.secret_access_key or None,
        region_name=settings.region or "us-east-1",
    )
    client = session.client(
        "events",
        endpoint_url=settings.endpoint_url or None,
        config=Config(connect_timeout=10, read_timeout=60, retries={"max_attempts": 4, "mode": "standard"}),
    )
    client.meta.events.register("before-send.events", apicalls.counter_here())
    return client


def _error(exc: Exception, operation: str) -> ConnectorError:
    code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, bx.ClientError) else ""
    if isinstance(exc, bx.ClientError):
        message = exc.response.get("Error", {}).get("Message", "")
        if code == "ResourceNotFoundException":
            return ConnectorError(
                f"EventBridge has no such event bus ({message}). Associate the partner event "
                "source with an event bus in EventBridge first, then run again."
            )
        return ConnectorError(
            f"EventBridge refused {operation}: {code}: {message}", permanent=code not in _TRANSIENT
        )
    return ConnectorError(f"EventBridge could not be reached for {operation}: {exc}", permanent=False)
