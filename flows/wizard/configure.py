"""Step 2, Configure flow: source (connector -> connection -> object -> options), destination
(the same plus file format, write operation, error handling) and the trigger (5c's TriggerForm).

One code path for every request: the form's flat fields come from the draft's document (GET) or
the posted form (POST), the step builds the document parts from them, and the flow document's
own validator names the problems, which are shown next to the field they are about. An htmx
change (or a browse button) re-renders the form with the dependent choices updated; only Next
saves. On edit, source and destination are shown but cannot change (AppFlow's rule)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils.datastructures import MultiValueDict

from accounts import access
from connections import metadata
from connections.connectors.base import Connector, ConnectorError, Entity, EntityField
from connections.models import Connection
from flows.document import validate_flow_document
from flows.models import FlowDraft
from flows.wizard import frame, options, shape
from flows.wizard.trigger import TriggerForm

SLUG = "configure"
MAX_LISTED = 200  # objects listed at once; search narrows a longer list
SIDES = ("source", "destination")


@dataclass
class Side:
    """One end of the flow as the form describes it, with what the page offers for it."""

    name: str
    connector: type[Connector] | None = None
    connection: Connection | None = None
    entity: str = ""
    parent: str = ""
    search: str = ""
    connectors: list = field(default_factory=list)
    connections: list = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    more: int = 0
    browse_error: str = ""
    fields: list[EntityField] = field(default_factory=list)
    fields_error: str = ""
    fields_note: str = ""  # what Refresh fields saw (Connector.fields_note)
    errors: dict = field(default_factory=dict)  # "connector" | "connection" | "object" -> messages

    @property
    def key(self) -> str:
        # Templates call callables, classes included: they compare registry keys, not classes.
        return self.connector.key() if self.connector else ""

    @property
    def label(self) -> str:
        return "Source" if self.name == "source" else "Destination"

    @property
    def path_parts(self) -> list[str]:
        return [p for p in self.parent.split("/") if p]


def initial_data(document: dict) -> MultiValueDict:
    """The form's fields for the document the draft holds."""
    data: dict[str, Any] = {}
    for side in SIDES:
        cfg = shape.config(document, side)
        key = shape.connector_key(cfg)
        cls = shape.connector_class(key)
        props = shape.properties(cfg, side)
        data[f"{side}_connector"] = key
        data[f"{side}_connection"] = cfg.get("connectorProfileName", "")
        data[f"{side}_object"] = shape.entity(cfg, side)
        data.update(options.source_initial(cls, props) if side == "source"
                    else options.destination_initial(cls, props))
    return MultiValueDict({k: v if isinstance(v, list) else [v] for k, v in data.items()})


def read_side(data, side: str, *, browse: bool, user) -> Side:
    """The side the form describes; a connection of another connector, or an object of another
    connection, is dropped (the form posted what was chosen before the change)."""
    s = Side(side, connectors=shape.connector_classes(side))
    s.connector = shape.connector_class(data.get(f"{side}_connector", ""))
    if s.connector and s.connector not in s.connectors:
        s.connector = None
    if s.connector is None:
        return s
    s.connections = list(connections_of(s.connector, user))
    chosen = data.get(f"{side}_connection", "")
    s.connection = next((c for c in s.connections if c.name == chosen), None)
    same = data.get(f"{side}_was", None)
    now = f"{s.connector.key()}|{chosen}"
    s.entity = (data.get(f"{side}_object") or "").strip() if same in (None, now) else ""
    s.parent = (data.get(f"{side}_parent") or "").strip("/") if same in (None, now) else ""
    s.search = (data.get(f"{side}_search") or "").strip()
    if s.connection and browse:
        list_entities(s, refresh=bool(data.get("refresh_objects")))
    return s


def connections_of(cls: type[Connector], user):
    """The connections of this connector the user may use in a flow (settings not needed)."""
    found = access.usable(user, Connection.objects.filter(connector_type=cls.connector_type)).order_by("name")
    if cls.connector_type == "CustomConnector":
        found = found.filter(connector_label=cls.connector_label)
    return found


def list_entities(s: Side, *, refresh: bool) -> None:
    try:
        found = metadata.entities(s.connection, s.parent or None, refresh=refresh)
    except ConnectorError as exc:
        s.browse_error = exc.message
        return
    if s.search:
        needle = s.search.lower()
        found = [e for e in found if needle in e.name.lower() or needle in (e.label or "").lower()]
    s.entities, s.more = found[:MAX_LISTED], max(0, len(found) - MAX_LISTED)


def load_fields(s: Side, *, refresh: bool) -> None:
    if not (s.connection and s.entity):
        return
    try:
        if refresh:
            s.fields, s.fields_note = metadata.refreshed_fields(s.connection, s.entity)
        else:
            s.fields = metadata.fields(s.connection, s.entity)
    except ConnectorError as exc:
        s.fields_error = exc.message


def build(document: dict, source: Side, destination: Side, data) -> dict:
    """The document with this step's source and destination set from the form."""
    document = copy.deepcopy(document)
    for s in (source, destination):
        if not (s.connector and s.connection):
            continue
        props = shape.entity_properties(s.connector, s.entity) if s.entity else {}
        props.update(options.source_options(s.connector, data, s.entity) if s.name == "source"
                     else options.destination_options(s.connector, data))
        cfg = shape.endpoint(s.connector, s.connection.name, s.name, props)
        if s.name == "source":
            old = document.get("sourceFlowConfig") or {}
            if isinstance(old, dict) and old.get("incrementalPullConfig"):
                cfg["incrementalPullConfig"] = old["incrementalPullConfig"]
            document["sourceFlowConfig"] = cfg
        else:
            document["destinationFlowConfigList"] = [cfg]
    return document


# Where a problem the validator names belongs on the page, by the last steps of its path.
FIELD_OF_KEY = {
    "entityName": "object", "object": "object", "bucketName": "object", "bucketPrefix": "object",
    "s3InputFileType": "file_type", "fileType": "file_type", "prefixConfig": "prefix",
    "prefixType": "prefix", "prefixFormat": "prefix", "pathPrefixHierarchy": "prefix",
    "aggregationConfig": "aggregation", "aggregationType": "aggregation", "targetFileSize": "aggregation",
    "writeOperationType": "write_operation", "idFieldNames": "id_fields",
    "errorHandlingConfig": "on_error", "connectorProfileName": "connection",
    "connectorType": "connector", "connectorLabel": "connector",
}


def problems(document: dict, source: Side, destination: Side) -> dict[str, list[str]]:
    """Problems keyed by the form field they are about ("source_object", "trigger", "general")."""
    found: dict[str, list[str]] = {}

    def add(key: str, message: str) -> None:
        found.setdefault(key, []).append(message)

    for s in (source, destination):
        if s.connector is None:
            add(f"{s.name}_connector", f"Choose a {s.name} connector.")
        elif s.connection is None:
            add(f"{s.name}_connection", f"Choose a {s.name} connection, or create one.")
        elif not s.entity:
            add(f"{s.name}_object", f"Choose the {s.name} object.")
    if found:
        return found
    checked = dict(document, tasks=document.get("tasks") or [])
    checked.setdefault("flowName", "placeholder")
    for error in validate_flow_document(checked):
        path = error.path
        if path.startswith("sourceFlowConfig"):
            side = "source"
        elif path.startswith("destinationFlowConfigList"):
            side = "destination"
        elif path.startswith("triggerConfig"):
            add("trigger", f"{path}: {error.message}")
            continue
        else:
            continue
        steps = [part.split("[")[0] for part in path.replace('"]', "").split(".")]
        key = next((FIELD_OF_KEY[p] for p in reversed(steps) if p in FIELD_OF_KEY), "")
        if "errorHandlingConfig" in steps:
            key = "on_error"
        if side == "source" and key == "file_type":
            key = "source_file_type"
        field_name = f"{side}_{key}" if key in ("object", "connection", "connector") else key or "general"
        add(field_name, error.message if field_name != "general" else f"{path}: {error.message}")
    return found


def view(request: HttpRequest, draft: FlowDraft) -> HttpResponse:
    document = draft.data
    editing = draft.flow_id is not None
    posted = request.method == "POST"
    data = initial_data(document)
    if posted and not editing:
        data = request.POST
    elif not posted and request.GET.get("side") in SIDES and request.GET.get("connection") and not editing:
        # Back from "Create connection" (?side=source&connector=S3&connection=name): selected.
        side = request.GET["side"]
        data = data.copy()
        data.setlist(f"{side}_connector", [request.GET.get("connector", "")])
        data.setlist(f"{side}_connection", [request.GET["connection"]])
        data.setlist(f"{side}_object", [""])
    source = read_side(data, "source", browse=not editing, user=request.user)
    destination = read_side(data, "destination", browse=not editing, user=request.user)
    refresh_fields = posted and bool(request.POST.get("refresh_fields"))
    load_fields(source, refresh=refresh_fields)
    candidate = build(document, source, destination, data) if not editing else document
    trigger = TriggerForm(request.POST if posted else None, document=candidate,
                          source_connector_cls=source.connector, source_fields=source.fields)
    just_looking = not posted or any(
        request.POST.get(k) for k in ("refresh", "refresh_fields", "refresh_objects", "browse"))
    if just_looking:
        return page(request, draft, source, destination, trigger, data, {})
    trigger_ok = trigger.is_valid()
    if trigger_ok:
        candidate = trigger.apply(candidate)
    found = problems(candidate, source, destination)
    if not trigger_ok:
        # The trigger form shows its own errors next to its fields; "triggerConfig is required"
        # (it was not applied) would only repeat them, less clearly.
        found.pop("trigger", None)
        found.setdefault("trigger_form", [])
    if found:
        return page(request, draft, source, destination, trigger, data, found, status=400)
    if not editing and shape.source_signature(candidate) != shape.source_signature(document):
        # Another source means other fields: the mapping, filters and validations start over.
        candidate["tasks"] = []
    return frame.advance(request, draft, SLUG, candidate)


def page(request, draft, source, destination, trigger, data, errors, *, status: int = 200) -> HttpResponse:
    destination_props = {}
    if destination.connector and destination.entity:
        destination_props = shape.entity_properties(destination.connector, destination.entity)
        destination_props.update(options.destination_options(destination.connector, data))
    for s in (source, destination):
        s.errors = {key[len(s.name) + 1:]: messages for key, messages in errors.items()
                    if key.startswith(f"{s.name}_")}
    context = {
        "create_next": request.path,
        "hierarchy": options.hierarchy_of(data),
        "source": source,
        "destination": destination,
        "trigger_form": trigger,
        "data": data,
        "errors": errors,
        "general_errors": errors.get("general", []) + errors.get("trigger", []),
        "file_types": options.file_types(destination.connector),
        "source_is_s3": options.is_s3(source.connector),
        "source_options": options.source_option_inputs(source.connector, source.entity, data),
        "source_reads_files": options.reads_files(source.connector),
        "s3_layout": options.writes_s3_layout(destination.connector),
        "bucket_rule": options.bucket_rule(destination.connector),
        "handles_errors": options.handles_errors(destination.connector),
        "key_pattern": (options.key_pattern(destination_props)
                        if options.writes_s3_layout(destination.connector) else ""),
        "prefix_types": options.PREFIX_TYPES,
        "prefix_formats": options.PREFIX_FORMATS,
        # errorHandlingConfig writes rejected records to S3 or Local files (connectors/rejects.py).
        "reject_connections": access.usable(request.user, Connection.objects.all()).filter(
            Q(connector_type="S3") | Q(connector_type="CustomConnector", connector_label="LocalFiles")),
    }
    return frame.render_step(request, draft, SLUG, "flows/wizard/configure.html", context, status=status)
