"""The connector options of step 2, between the form's flat fields and the connector's block of
source/destinationConnectorProperties. What is offered follows what the connector declares
(write_operations, what its property check accepts), so a new connector needs no change here
unless it has options of its own (file formats: Local files; AppFlow's S3 output layout: S3 and
Upsolver)."""

from __future__ import annotations

from typing import Any

from connections.connectors.base import Connector
from connections.connectors.fileformats import BLANK_CELLS_KEY, BLANK_IS_EMPTY_TEXT, FILE_TYPES
from connections.connectors.s3.layout import HIERARCHY, PREFIX_FORMATS, PREFIX_TYPES, pattern
from connections.connectors.upsolver import BUCKET_RULE

S3_FILE_TYPES = ("CSV", "JSON", "PARQUET")
S3_EXTENSIONS = {"CSV": "csv", "JSON": "jsonl", "PARQUET": "parquet"}
# Destinations whose block has s3OutputFormatConfig (fileType, prefixConfig, aggregationConfig):
# S3, and Upsolver (UpsolverS3OutputFormatConfig, where prefixConfig is required).
S3_LAYOUT = ("S3", "Upsolver")


def file_types(cls: type[Connector] | None) -> tuple[str, ...]:
    """The output file types a file destination offers; () for the others."""
    if cls is None:
        return ()
    if cls.key() in S3_LAYOUT:
        return S3_FILE_TYPES
    if cls.key() == "LocalFiles":
        return tuple(FILE_TYPES)
    return ()


def is_s3(cls: type[Connector] | None) -> bool:
    return cls is not None and cls.key() == "S3"


def writes_s3_layout(cls: type[Connector] | None) -> bool:
    """A destination that takes s3OutputFormatConfig: file type, time prefix, files per run."""
    return cls is not None and cls.key() in S3_LAYOUT


def needs_prefix_config(cls: type[Connector] | None) -> bool:
    """Upsolver's output config requires prefixConfig (an empty one: no time prefix)."""
    return cls is not None and cls.key() == "Upsolver"


def bucket_rule(cls: type[Connector] | None) -> str:
    """What the bucket's name must be, for a destination that has a rule (Upsolver), or ""."""
    return BUCKET_RULE if needs_prefix_config(cls) else ""


def handles_errors(cls: type[Connector] | None) -> bool:
    """Whether the destination takes an errorHandlingConfig (its own check accepts one)."""
    if cls is None:
        return False
    problems = cls.check_destination_properties({"entityName": "x", "errorHandlingConfig": {}})
    return not any(path.startswith("errorHandlingConfig") for path, _ in problems)


def reads_files(cls: type[Connector] | None) -> bool:
    """A file source (S3, Local files): its CSV blank cells are nulls unless it says otherwise."""
    return cls is not None and cls.key() in ("S3", "LocalFiles")


def source_options(cls: type[Connector], data, entity: str = "") -> dict[str, Any]:
    props: dict[str, Any] = {}
    blank_is_text = reads_files(cls) and data.get("blank_is_text") == "1"
    if is_s3(cls):
        config: dict[str, Any] = {}
        if data.get("source_file_type"):
            config["s3InputFileType"] = data["source_file_type"]
        if blank_is_text:
            config[BLANK_CELLS_KEY] = BLANK_IS_EMPTY_TEXT
        if config:
            props["s3InputFormatConfig"] = config
    elif blank_is_text:
        props["customProperties"] = {BLANK_CELLS_KEY: BLANK_IS_EMPTY_TEXT}
    for option in cls.source_option_fields(entity):
        raw = (data.get(f"source_opt_{option.name}") or "").strip()
        if raw:
            props[option.name] = True if option.kind == "boolean" else raw
    return props


def source_initial(cls: type[Connector] | None, props: dict) -> dict[str, str]:
    data: dict[str, str] = {}
    holder = props.get("s3InputFormatConfig") if is_s3(cls) else props.get("customProperties")
    if reads_files(cls) and isinstance(holder, dict) and holder.get(BLANK_CELLS_KEY) == BLANK_IS_EMPTY_TEXT:
        data["blank_is_text"] = "1"
    if is_s3(cls):
        data["source_file_type"] = (props.get("s3InputFormatConfig") or {}).get("s3InputFileType", "CSV")
    if cls is not None:
        for option in cls.source_option_fields(cls.entity_name(props)):
            value = props.get(option.name)
            if value not in (None, False, ""):
                data[f"source_opt_{option.name}"] = "on" if option.kind == "boolean" else str(value)
    return data


def source_option_inputs(cls: type[Connector] | None, entity: str, data) -> list[dict[str, Any]]:
    """The source's own options as the page shows them, with what the form holds."""
    if cls is None or not entity:
        return []
    return [{"name": f"source_opt_{o.name}", "key": o.name, "kind": o.kind, "label": o.label or o.name,
             "help": o.help, "value": data.get(f"source_opt_{o.name}") or ""}
            for o in cls.source_option_fields(entity)]


def hierarchy_of(data) -> list[str]:
    """The folders chosen after the time prefix. Until the checkboxes were on the page (the time
    prefix was just chosen) AppFlow's default holds: the execution id."""
    if not data.get("hierarchy_shown"):
        return ["EXECUTION_ID"]
    return [h for h in HIERARCHY if h in data.getlist("hierarchy")]


def destination_options(cls: type[Connector], data) -> dict[str, Any]:
    """The destination properties (besides the entity) the posted form asks for."""
    props: dict[str, Any] = {}
    file_type = data.get("file_type") or ""
    if writes_s3_layout(cls):
        output: dict[str, Any] = {"fileType": file_type or "JSON"}
        if data.get("prefix_type"):
            prefix: dict[str, Any] = {"prefixType": data["prefix_type"],
                                      "prefixFormat": data.get("prefix_format") or "DAY"}
            prefix["pathPrefixHierarchy"] = hierarchy_of(data)
            output["prefixConfig"] = prefix
        elif needs_prefix_config(cls):
            output["prefixConfig"] = {}
        if data.get("aggregation") == "SingleFile":
            aggregation: dict[str, Any] = {"aggregationType": "SingleFile"}
            size = (data.get("target_file_size") or "").strip()
            if size:
                aggregation["targetFileSize"] = int(size) if size.isdigit() else size
            output["aggregationConfig"] = aggregation
        props["s3OutputFormatConfig"] = output
    elif file_types(cls):
        props["customProperties"] = {"fileType": file_type or file_types(cls)[0]}
    operation = data.get("write_operation") or ""
    if len(cls.write_operations) > 1 and operation:
        props["writeOperationType"] = operation
        if operation in ("UPSERT", "UPDATE", "DELETE"):
            ids = [name.strip() for name in (data.get("id_fields") or "").split(",") if name.strip()]
            props["idFieldNames"] = ids
    if handles_errors(cls):
        if data.get("on_error") == "continue":
            config: dict[str, Any] = {"failOnFirstDestinationError": False}
            for field, key in (("rejects_connection", "connectorProfileName"),
                               ("rejects_bucket", "bucketName"), ("rejects_prefix", "bucketPrefix")):
                if (data.get(field) or "").strip():
                    config[key] = data[field].strip()
            props["errorHandlingConfig"] = config
        else:
            props["errorHandlingConfig"] = {"failOnFirstDestinationError": True}
    return props


def destination_initial(cls: type[Connector] | None, props: dict) -> dict[str, Any]:
    """The form's fields for a destination block already in the document."""
    data: dict[str, Any] = {}
    if cls is None:
        return data
    if writes_s3_layout(cls):
        output = props.get("s3OutputFormatConfig") or {}
        prefix = output.get("prefixConfig") or {}
        aggregation = output.get("aggregationConfig") or {}
        data.update({
            "file_type": output.get("fileType", "JSON"),
            "prefix_type": prefix.get("prefixType", ""),
            "prefix_format": prefix.get("prefixFormat", "DAY"),
            "hierarchy": list(prefix.get("pathPrefixHierarchy", ["EXECUTION_ID"])),
            "hierarchy_shown": "1" if prefix else "",
            "aggregation": aggregation.get("aggregationType", "None"),
            "target_file_size": str(aggregation.get("targetFileSize", "")),
        })
    elif file_types(cls):
        data["file_type"] = (props.get("customProperties") or {}).get("fileType", file_types(cls)[0])
    if cls.write_operations:
        data["write_operation"] = props.get("writeOperationType", cls.write_operations[0])
        data["id_fields"] = ", ".join(props.get("idFieldNames") or [])
    errors = props.get("errorHandlingConfig") or {}
    data["on_error"] = "continue" if errors.get("failOnFirstDestinationError") is False else "stop"
    data["rejects_connection"] = errors.get("connectorProfileName", "")
    data["rejects_bucket"] = errors.get("bucketName", "")
    data["rejects_prefix"] = errors.get("bucketPrefix", "")
    return data


def key_pattern(props: dict) -> str:
    """Where an S3 destination's files land, e.g.
    s3://bucket/prefix/2026/11/21/<execution id>/part-00000.csv."""
    output = props.get("s3OutputFormatConfig") or {}
    file_type = str(output.get("fileType") or "JSON").upper()
    try:
        key = pattern(output, S3_EXTENSIONS.get(file_type, "jsonl"))
    except (KeyError, TypeError, ValueError, AttributeError):
        return ""
    parts = (props.get("bucketName", ""), str(props.get("bucketPrefix", "")).strip("/"))
    where = "/".join(p for p in parts if p)
    return "s3://" + key.replace("<bucketPrefix>", where or "<bucket>")


__all__ = ["HIERARCHY", "PREFIX_FORMATS", "PREFIX_TYPES", "file_types", "handles_errors", "key_pattern",
           "writes_s3_layout"]
