"""Registered connector packages: RegisterConnector, UnregisterConnector,
UpdateConnectorRegistration, and the registry's view of them.

An installed package (connections/connectors/packages.py) becomes a connector only here, when an
admin registers it: then, and only then, it is imported and its class checked against the
connector contract (connections/connectors/contract.py). The registration keeps the version that
was checked; another installed version runs only once UpdateConnectorRegistration checked it.
The console, the CLI and the API all call these functions.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import cache
from typing import Any

import botocore.session
from django.db import DatabaseError, transaction

from connections.connectors import packages
from connections.connectors.base import Connector, ConnectorError
from connections.connectors.contract import declaration_problems
from connections.connectors.registry import CONNECTORS, Registered, use_registered
from connections.models import Connection, ConnectorRegistration
from console.errors import Conflict, NotFound, UserError

logger = logging.getLogger("sluice.connectors")
audit = logging.getLogger("sluice.audit")

# (label, version, entry point) -> the checked class: one import per registered version a process uses.
_classes: dict[tuple[str, str, str], type[Connector]] = {}
_lock = threading.Lock()


@cache
def appflow_connector_types() -> frozenset[str]:
    """AppFlow's connectorType values: never a registered connector's label, so a document's
    connectorType is never mistaken for one (and is resolved without asking the database)."""
    model = botocore.session.get_session().get_service_model("appflow")
    return frozenset(model.shape_for("ConnectorType").enum)


def registrations() -> list[ConnectorRegistration]:
    return list(ConnectorRegistration.objects.all())


def registration(label: str) -> ConnectorRegistration:
    found = ConnectorRegistration.objects.filter(connector_label=label).first()
    if found is None:
        raise NotFound(f'No connector is registered as "{label}". ListConnectors shows the registered ones.')
    return found


def available() -> list[packages.InstalledConnector]:
    """Installed packages' connectors, with what their classes declare (read, not run)."""
    return [packages.describe(item) for item in packages.installed()]


def _installed(label: str) -> packages.InstalledConnector:
    item = packages.find(label)
    if item is None:
        names = ", ".join(i.label for i in packages.installed()) or "none"
        raise NotFound(f'No installed package offers a connector "{label}" (entry point group '
                       f'{packages.GROUP}). Install the package with pip first. Installed: {names}.')
    return item


def _checked(item: packages.InstalledConnector) -> type[Connector]:
    """Import the package's class and hold it to the contract; refused with the reason otherwise.
    The traceback of a failed import goes to the log, the reason to the person."""
    refused = f'The connector "{item.label}" ({item.package} {item.version}) was refused'
    try:
        cls = packages.load(item)
    except ConnectorError as exc:
        logger.warning("%s", exc.message, exc_info=exc.__cause__)
        raise UserError(f"{refused}: {exc.message}") from None
    problems = declaration_problems(cls)
    if not problems:
        if cls.connector_type != "CustomConnector" or cls.connector_label != item.label:
            problems.append(f'its class must declare connector_type = "CustomConnector" and '
                            f'connector_label = "{item.label}" (the entry point\'s name)')
        required = getattr(cls, "requires_sdk", "1.0")
        if not _sdk_compatible(required):
            from sluice_sdk import SDK_VERSION

            problems.append(f"it needs connector SDK {required}; this Sluice has SDK {SDK_VERSION}")
    if problems:
        raise UserError(f"{refused}: " + "; ".join(problems) + ".")
    return cls


def _sdk_compatible(required: Any) -> bool:
    from sluice_sdk import compatible  # the SDK imports connectors' modules; import it when needed

    return compatible(str(required))


def register(label: str, *, description: str = "", by: str = "") -> ConnectorRegistration:
    if not label:
        raise UserError("connectorLabel: is required: the name of the installed connector's entry point.")
    if label in CONNECTORS or label in appflow_connector_types():
        raise Conflict(f'"{label}" is a built-in connector or an AppFlow connector type; a package cannot be '
                       "registered under that name.")
    if ConnectorRegistration.objects.filter(connector_label=label).exists():
        raise Conflict(f'A connector "{label}" is registered already. UpdateConnectorRegistration picks up a '
                       "new installed version; UnregisterConnector removes it.")
    item = _installed(label)
    cls = _checked(item)
    with transaction.atomic():
        row = ConnectorRegistration.objects.create(
            connector_label=label, description=description or cls.description, package=item.package,
            version=item.version, entry_point=item.entry_point, registered_by=by)
    forget_labels()
    audit.info("connector %s registered (%s %s) by %s", label, item.package, item.version, by or "unknown")
    return row


def update(label: str, *, description: str | None = None, by: str = "") -> ConnectorRegistration:
    row = registration(label)
    item = _installed(label)
    cls = _checked(item)
    row.package, row.version, row.entry_point = item.package, item.version, item.entry_point
    if description is not None:
        row.description = description or cls.description
    row.save()
    audit.info("connector %s registration updated to %s %s by %s", label, item.package, item.version,
               by or "unknown")
    return row


def unregister(label: str, *, force: bool = False, by: str = "") -> None:
    row = registration(label)
    using = list(Connection.objects.filter(connector_type="CustomConnector", connector_label=label)
                 .values_list("name", flat=True))
    if using:
        again = " Sluice does not unregister a connector in use even with forceDelete." if force else ""
        raise Conflict(f'The connector "{label}" is in use by the connector profiles {", ".join(using)}. '
                       f"Delete those connections first, then unregister it.{again}")
    row.delete()
    forget_labels()
    audit.info("connector %s unregistered by %s", label, by or "unknown")


# The registered labels are asked for several times a page (catalog, names of connections, forms):
# kept for a moment instead of one query each time. This process forgets them at once when it
# registers or unregisters; another process (a worker) sees a change within LABELS_SECONDS.
LABELS_SECONDS = 2.0
_kept_labels: tuple[float, list[str]] | None = None


def forget_labels() -> None:
    global _kept_labels
    _kept_labels = None


def _labels() -> list[str]:
    global _kept_labels
    kept = _kept_labels
    if kept is not None and time.monotonic() - kept[0] < LABELS_SECONDS:
        return list(kept[1])
    try:
        labels = list(ConnectorRegistration.objects.values_list("connector_label", flat=True))
    except DatabaseError:  # before the first migrate (system checks, `manage.py migrate` itself)
        return []
    _kept_labels = (time.monotonic(), labels)
    return list(labels)


def _load(label: str) -> type[Connector] | None:
    """The registered class, for the registry. A registration whose package is gone or was changed
    on disk since it was checked raises ConnectorError saying what an admin does."""
    if label in appflow_connector_types():
        return None
    row = ConnectorRegistration.objects.filter(connector_label=label).first()
    if row is None:
        return None
    key = (row.connector_label, row.version, row.entry_point)
    with _lock:
        if key in _classes:
            return _classes[key]
        item = packages.find(label)
        if item is None or item.package != row.package:
            raise ConnectorError(f'The connector "{label}" is registered, but its package {row.package} is '
                                 f"not installed here. Install {row.package}=={row.version}, or unregister.")
        if item.version != row.version or item.entry_point != row.entry_point:
            raise ConnectorError(
                f'The connector "{label}" was registered at {row.package} {row.version}, but '
                f"{item.version} is installed. An admin checks and takes it with "
                f"update-connector-registration --connector-label {label}.")
        try:
            cls = packages.load(item)
        except ConnectorError as exc:
            logger.error("%s", exc.message, exc_info=exc.__cause__)
            raise ConnectorError(f'The connector "{label}" could not be loaded; the details are in the '
                                 "worker log.") from None
        _classes[key] = cls
        return cls


use_registered(Registered(labels=_labels, load=_load))
