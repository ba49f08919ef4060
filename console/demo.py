"""The demo a fresh install gets: a generated Account data set, a Local files connection over the
data folder, and an on-demand flow that maps it to JSONL. Seeding twice changes nothing."""

from __future__ import annotations

import os

from connections import services as connection_services
from connections.connectors.localfiles import allowed_base
from connections.models import Connection
from console.demo_data import write_accounts_csv
from flows import services as flow_services
from flows.models import Flow

CONNECTION_NAME = "demo-local-files"
FLOW_NAME = "demo-accounts-to-jsonl"


def demo_flow_document() -> dict:
    return {
        "flowName": FLOW_NAME,
        "description": "The demo: CRM Account rows from accounts.csv to a JSONL file, all fields.",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {
            "connectorType": "CustomConnector",
            "connectorLabel": "LocalFiles",
            "connectorProfileName": CONNECTION_NAME,
            "sourceConnectorProperties": {"CustomConnector": {"entityName": "accounts.csv"}},
        },
        "destinationFlowConfigList": [
            {
                "connectorType": "CustomConnector",
                "connectorLabel": "LocalFiles",
                "connectorProfileName": CONNECTION_NAME,
                "destinationConnectorProperties": {
                    "CustomConnector": {
                        "entityName": "out/accounts",
                        "customProperties": {"fileType": "JSONL"},
                    }
                },
            }
        ],
        "tasks": [
            {
                "sourceFields": [""],
                "connectorOperator": {"CustomConnector": "NO_OP"},
                "taskType": "Map_all",
                "taskProperties": {"EXCLUDE_SOURCE_FIELDS_LIST": "[]"},
            }
        ],
        "tags": {},
    }


def seed_demo_crm() -> None:
    """The bundled Demo CRM, ready to connect: its OAuth app for Sluice registered with this
    deployment's redirect URI (the Demo CRM connector is in the catalog like any other)."""
    from django.conf import settings
    from django.urls import reverse

    from demo_saas.oauth import ensure_client

    if not settings.SLUICE_DEMO_SAAS:
        return
    base = settings.SLUICE_BASE_URL or "http://" + os.environ.get("SLUICE_BIND", "127.0.0.1:8000")
    ensure_client(redirect_uri=base + reverse("connections:oauth_callback", args=["DemoCRM"]))


def seed_demo(*, user=None, rows: int = 10_000) -> dict:
    seed_demo_crm()
    root = allowed_base() / "demo"
    root.mkdir(parents=True, exist_ok=True)
    csv_path = root / "accounts.csv"
    if not csv_path.exists():
        write_accounts_csv(csv_path, rows=rows)
    connection = Connection.objects.filter(name=CONNECTION_NAME).first()
    if connection is None:
        connection = connection_services.create_connection(
            name=CONNECTION_NAME,
            connector_type="CustomConnector",
            connector_label="LocalFiles",
            properties={"rootPath": str(root)},
            user=user,
        )
    flow = Flow.objects.filter(name=FLOW_NAME).first()
    if flow is None:
        flow = flow_services.create_flow(demo_flow_document(), user=user)
    return {"root": root, "csv": csv_path, "connection": connection, "flow": flow}
