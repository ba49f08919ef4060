"""Helpers shared by the page tests (console, connections, flows): rows made the way the tests need
them, and the list of every page a signed-in person can open."""

from __future__ import annotations

import copy
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from connections.models import Connection
from console.demo import demo_flow_document
from flows.models import Execution, Flow

PASSWORD = "correct horse battery staple"
SECRET = "s3cr3t-Pa55word-that-must-never-show"


def flow_document(name: str, connection: str = "demo-local-files", **changes) -> dict:
    """The demo document under another name (and connection), with top-level keys replaced."""
    document = copy.deepcopy(demo_flow_document())
    document["flowName"] = name
    document["sourceFlowConfig"]["connectorProfileName"] = connection
    document["destinationFlowConfigList"][0]["connectorProfileName"] = connection
    document.update(changes)
    return document


def make_execution(flow: Flow, *, minutes_ago: float = 0, status: str = Execution.Status.SUCCESSFUL,
                   **fields) -> Execution:
    """A recorded execution, created at a known time (auto_now_add would make ties likely)."""
    execution = Execution.objects.create(flow=flow, version=flow.current_version, status=status, **fields)
    created = timezone.now() - timedelta(minutes=minutes_ago)
    Execution.objects.filter(pk=execution.pk).update(created_at=created)
    execution.created_at = created
    return execution


def connection_with_secret(root: str, name: str = "secret-files") -> Connection:
    """A connection whose encrypted credentials hold SECRET. Saved directly: no connector in the
    registry has a secret field yet, and the point is what the pages show, not how it was made."""
    connection = Connection(
        name=name,
        connector_type="CustomConnector",
        connector_label="LocalFiles",
        properties={"rootPath": root},
    )
    connection.credentials = {"password": SECRET}
    connection.save()
    return connection


def every_page(flow: Flow, execution: Execution, connection: Connection) -> list[str]:
    """Every page a signed-in person can GET."""
    return [
        reverse("home"),
        reverse("connections:list"),
        reverse("connections:detail", args=[connection.name]),
        reverse("connections:edit", args=[connection.name]),
        reverse("connections:delete", args=[connection.name]),
        reverse("connections:facts", args=[connection.name]),
        reverse("connections:create", args=[connection.connector_key]),
        reverse("connections:create", args=[connection.connector_key]) + f"?copy={connection.name}",
        reverse("flows:list"),
        reverse("flows:detail", args=[flow.name]),
        reverse("flows:download", args=[flow.name]),
        reverse("flows:delete", args=[flow.name]),
        reverse("flows:version-diff", args=[flow.name]),
        reverse("flows:execution", args=[flow.name, execution.id]),
        reverse("flows:import"),
    ]
