"""The demo a fresh install gets: a generated Account data set, a Local files connection over the
data folder, and an on-demand flow that maps it to JSONL. Seeding twice changes nothing."""

from __future__ import annotations

import os

from django.http import HttpRequest

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


DEMO_CRM_KEY = "DemoCRM"
DEMO_CRM_CONNECTION = "demo-crm"


def demo_crm_connection_name() -> str:
    """"demo-crm", or the first free "demo-crm-N" when it is taken (connecting twice is fine)."""
    names = Connection.objects.filter(name__startswith=DEMO_CRM_CONNECTION).values_list("name", flat=True)
    taken = set(names)
    if DEMO_CRM_CONNECTION not in taken:
        return DEMO_CRM_CONNECTION
    return next(f"{DEMO_CRM_CONNECTION}-{n}" for n in range(2, len(taken) + 3)
                if f"{DEMO_CRM_CONNECTION}-{n}" not in taken)


def begin_demo_crm_connection(request: HttpRequest) -> str:
    """"Connect the demo": the Demo CRM's address from the request's own host and port (whatever
    the bind; never an assumed :8000), the client id and secret the Demo CRM registered for Sluice
    (read here, on the server: the secret never reaches the browser), this address's redirect URI
    registered with it, then the real OAuth consent — the URL to send the browser to."""
    from django.urls import reverse

    from connections.connectors.registry import get_connector_class
    from connections.oauth import flow
    from connections.oauth.views import _session_key, redirect_uri
    from demo_saas.oauth import ensure_client

    callback = redirect_uri(request, DEMO_CRM_KEY)
    app = ensure_client(redirect_uri=callback)
    return flow.begin(
        get_connector_class(DEMO_CRM_KEY),
        user=request.user, session_key=_session_key(request), redirect_uri=callback,
        name=demo_crm_connection_name(),
        properties={"instanceUrl": request.build_absolute_uri(reverse("demo_saas:home")),
                    "clientId": app.client_id},
        client_secret=app.client_secret,
        return_to="",
    )


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
