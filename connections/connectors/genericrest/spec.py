"""A Generic REST spec: the JSON or YAML text a connection keeps, read and checked.

One function, `load(text)`, turns the text into a `Spec` or raises `SpecError` listing every
problem with the line it is on ("line 12: streams[0].paging.type: 'pages' is not one of ..."), so
the console can show them next to the editor. The shape is schema.json (JSON Schema 2020-12,
checked with `jsonschema`); what a schema cannot say (a JMESPath expression that does not compile,
a cursor field that is not a declared field) is checked here too. Django-free."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jmespath
import jsonschema
import yaml
from jmespath.exceptions import JMESPathError

from connections.connectors.base import ConnectorError

SCHEMA: dict[str, Any] = json.loads((Path(__file__).with_name("schema.json")).read_text())
_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
MAX_SPEC_CHARS = 200_000

# The auth types of a spec, as the connection form, OAuth views and services call them
# (Connector.auth_kind_for).
AUTH_KINDS = {
    "none": "none",
    "api_key": "api_key",
    "bearer": "api_key",
    "basic": "basic",
    "oauth2_client_credentials": "client_credentials",
    "oauth2": "oauth2",
}


class SpecError(ConnectorError):
    """The spec is not usable; `problems` are "line N: path: message" texts, first line first."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        super().__init__(f"spec: {shown}", permanent=True)


@dataclass(frozen=True)
class Spec:
    """A checked spec: the document, plus the streams by name."""

    document: Mapping[str, Any]

    @property
    def base_url(self) -> str:
        return str(self.document["base_url"]).rstrip("/")

    @property
    def auth(self) -> Mapping[str, Any]:
        return self.document.get("auth") or {"type": "none"}

    @property
    def streams(self) -> dict[str, Mapping[str, Any]]:
        return {s["name"]: s for s in self.document["streams"]}

    def stream(self, name: str) -> Mapping[str, Any]:
        try:
            return self.streams[name]
        except KeyError:
            raise ConnectorError(
                f'The spec has no stream "{name}". Streams: {", ".join(self.streams)}.'
            ) from None


def auth_kind(text: str) -> str:
    """The connection's authentication kind by its spec; "none" while the spec does not parse (the
    form then shows the spec's errors, and no OAuth consent page is started for it)."""
    try:
        return AUTH_KINDS[load(text).auth["type"]]
    except SpecError:
        return "none"


def load(text: Any) -> Spec:
    if not isinstance(text, str) or not text.strip():
        raise SpecError(["line 1: the spec is empty: paste a JSON or YAML spec (see docs/generic-rest.md)"])
    return _load(text)


@lru_cache(maxsize=64)
def _load(text: str) -> Spec:
    if len(text) > MAX_SPEC_CHARS:
        raise SpecError([f"line 1: the spec is longer than {MAX_SPEC_CHARS} characters"])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise SpecError([f"line {line}: not valid JSON or YAML: {exc.problem or exc}"]) from None
    except yaml.YAMLError as exc:
        raise SpecError([f"line 1: not valid JSON or YAML: {exc}"]) from None
    if not isinstance(document, dict):
        raise SpecError(["line 1: the spec must be an object (a mapping) with version, base_url and streams"])
    problems: list[tuple[int, str]] = []
    for error in _VALIDATOR.iter_errors(document):
        path = list(error.absolute_path)
        problems.append((_line(node, path), f"{_dotted(path) or 'the spec'}: {error.message}"))
    if not problems:
        problems = _semantic_problems(document, node)
    if problems:
        problems.sort(key=lambda p: p[0])
        raise SpecError([f"line {line}: {message}" for line, message in problems])
    return Spec(document)


# A header, parameter or body key by these names carries a credential; a value starting with an
# authorization scheme is one whatever its name. Placeholders ({window_start}) are not values.
SECRET_NAME = re.compile(r"authorization|cookie|token|secret|passw|api[-_]?key|apikey|access[-_]?key|"
                         r"private[-_]?key|signature|session", re.IGNORECASE)
SECRET_VALUE = re.compile(r"^\s*(bearer|basic|token|digest)\s+\S", re.IGNORECASE)
NO_SECRETS = ("must not hold secrets (a spec is shown, kept in versions and exported): describe the "
              "credential in auth (api_key, bearer, basic, oauth2) and type it in the connection's secret "
              "fields, stored encrypted")


def secret_problems(document: Mapping[str, Any], node: yaml.Node | None) -> list[tuple[int, str]]:
    """Where the spec holds a credential: a header, parameter or body value that is one, or a
    user name and password inside base_url. The spec is never a place for secrets."""
    places: list[tuple[list, Any]] = [(["headers"], document.get("headers"))]
    for index, stream in enumerate(document.get("streams") or []):
        if isinstance(stream, Mapping):
            places += [(["streams", index, key], stream.get(key)) for key in ("headers", "params", "body")]
    problems = []
    for path, mapping in places:
        for name, value in (mapping.items() if isinstance(mapping, Mapping) else ()):
            literal = isinstance(value, str | int) and not (isinstance(value, str) and "{" in value)
            if literal and (SECRET_NAME.search(str(name)) or SECRET_VALUE.match(str(value))):
                problems.append((_line(node, [*path, name]), f"{_dotted([*path, name])}: {NO_SECRETS}"))
    if urlsplit(str(document.get("base_url") or "")).password is not None:
        problems.append((_line(node, ["base_url"]),
                         f"base_url: a user name and password in the address: {NO_SECRETS}"))
    return problems


def _semantic_problems(document: Mapping[str, Any], node: yaml.Node) -> list[tuple[int, str]]:
    problems = secret_problems(document, node)
    names: set[str] = set()
    for index, stream in enumerate(document["streams"]):
        where = ["streams", index]
        if stream["name"] in names:
            problems.append(
                (_line(node, [*where, "name"]), f'streams[{index}].name: "{stream["name"]}" repeats')
            )
        names.add(stream["name"])
        expressions = [("records", stream.get("records"))]
        expressions += [
            (f"fields[{i}].path", f.get("path")) for i, f in enumerate(stream.get("fields") or [])
        ]
        paging = stream.get("paging") or {}
        expressions += [(f"paging.{k}", paging.get(k)) for k in ("cursor", "has_more", "next_url")]
        for key, expression in expressions:
            if expression is None:
                continue
            try:
                jmespath.compile(expression)
            except JMESPathError as exc:
                parts = key.replace("[", ".").replace("]", "").split(".")
                path = [*where, *(int(p) if p.isdigit() else p for p in parts)]
                problems.append(
                    (
                        _line(node, path),
                        f"streams[{index}].{key}: not a JMESPath expression ({str(exc).splitlines()[0]})",
                    )
                )
        declared = [f["name"] for f in stream.get("fields") or []]
        cursor = stream.get("cursor_field")
        if cursor and declared and cursor not in declared:
            problems.append(
                (
                    _line(node, [*where, "cursor_field"]),
                    f'streams[{index}].cursor_field: "{cursor}" is not one of its fields',
                )
            )
        for key in stream.get("primary_key") or []:
            if declared and key not in declared:
                problems.append(
                    (
                        _line(node, [*where, "primary_key"]),
                        f'streams[{index}].primary_key: "{key}" is not one of its fields',
                    )
                )
        if paging.get("type") == "cursor" and not (paging.get("cursor") or paging.get("cursor_header")):
            problems.append(
                (
                    _line(node, [*where, "paging"]),
                    f"streams[{index}].paging: a cursor paging needs cursor (a JMESPath in the body) "
                    "or cursor_header",
                )
            )
        if stream.get("window") and not cursor:
            problems.append(
                (_line(node, [*where, "window"]), f"streams[{index}].window: needs the stream's cursor_field")
            )
    return problems


def _dotted(path: list) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line(node: yaml.Node | None, path: list) -> int:
    """The 1-based line of the value at `path`, or of its nearest parent that exists."""
    line = (node.start_mark.line + 1) if node is not None else 1
    for part in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((value for key, value in node.value if key.value == part), None)
            if child is not None:
                # a key's own line (the value of a block may start on the next one)
                key_node = next(key for key, value in node.value if value is child)
                line = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
