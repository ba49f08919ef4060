"""register-connector, unregister-connector, update-connector-registration: an admin makes an
installed connector package (entry point group `sluice.connectors`) a connector of this Sluice,
over connections/registrations.py. Through the API only staff users may; the CLI is run by whoever
runs the server. Documented in docs/connector-sdk.md and docs/cli.md."""

from __future__ import annotations

import getpass
from typing import Any

from connections import registrations
from console.errors import AccessDenied, UserError
from flows.cli.connector_verbs import connector_arn


def _admin(options: dict[str, Any]) -> str:
    """Who registers: a staff user of the API, or the operating system user of the CLI."""
    user = options.get("user")
    if user is None:
        try:
            return f"cli:{getpass.getuser()}"
        except (KeyError, OSError):  # no name for this uid (a container)
            return "cli"
    if not (user.is_active and user.is_staff):
        raise AccessDenied("Only staff users register, update or unregister connectors.")
    return user.get_username()


def _provisioning(options: dict[str, Any]) -> None:
    kind = options.get("connector_provisioning_type")
    if kind not in (None, "LAMBDA"):
        raise UserError("connectorProvisioningType: must be LAMBDA (AppFlow's only value) or left out.")
    config = options.get("connector_provisioning_config")
    if config:
        raise UserError("connectorProvisioningConfig: Sluice runs connectors from installed Python packages, "
                        "not Lambda functions: leave it out; the package is found by its connectorLabel "
                        "(its sluice.connectors entry point).")


def register_connector(options: dict[str, Any]) -> dict[str, Any]:
    by = _admin(options)
    _provisioning(options)
    row = registrations.register(options.get("connector_label") or "",
                                 description=options.get("description") or "", by=by)
    return {"connectorArn": connector_arn(row.connector_label)}


def update_connector_registration(options: dict[str, Any]) -> dict[str, Any]:
    by = _admin(options)
    _provisioning(options)
    row = registrations.update(options["connector_label"], description=options.get("description"), by=by)
    return {"connectorArn": connector_arn(row.connector_label)}


def unregister_connector(options: dict[str, Any]) -> dict[str, Any]:
    by = _admin(options)
    registrations.unregister(options["connector_label"], force=bool(options.get("force_delete")), by=by)
    return {}
