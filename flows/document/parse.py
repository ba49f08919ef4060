"""JSON text -> document, with errors a person can find in their editor (line and column)."""

from __future__ import annotations

import json
from typing import Any

from .checks import json_type
from .errors import ROOT, DocumentError, DocumentInvalid

_BOM = "\ufeff"


def parse_flow_json(text: str | bytes) -> dict:
    """The document in `text`, keys in the order written. Raises DocumentInvalid when the text is
    not UTF-8, not JSON, repeats a key, or is not a JSON object."""
    if isinstance(text, bytes | bytearray):
        text = _decode(bytes(text))
    duplicates: list[str] = []
    try:
        doc = json.loads(text.removeprefix(_BOM),  # editors on Windows save a BOM; it is not content
                         object_pairs_hook=lambda pairs: _object(pairs, duplicates),
                         parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise _invalid(f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except _NotJSON as exc:
        raise _invalid(f"not valid JSON: {exc} is not a JSON value (use null or a string)") from None
    except RecursionError:
        raise _invalid("not valid JSON: nested too deeply") from None
    if duplicates:
        # Python would keep the last value silently; which one the author meant is not ours to guess.
        raise DocumentInvalid([DocumentError(ROOT, f'the key "{key}" appears twice in one object; keep one')
                               for key in duplicates])
    if not isinstance(doc, dict):
        raise _invalid(f"must be a JSON object (a flow definition), not {json_type(doc)}")
    return doc


class _NotJSON(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NotJSON(name)  # NaN, Infinity, -Infinity: Python reads them, JSON does not have them


def _object(pairs: list[tuple[str, Any]], duplicates: list[str]) -> dict:
    obj: dict = {}
    for key, value in pairs:
        if key in obj and key not in duplicates:
            duplicates.append(key)
        obj[key] = value
    return obj


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid(f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                       "save the file as UTF-8") from None


def _invalid(message: str) -> DocumentInvalid:
    return DocumentInvalid([DocumentError(ROOT, message)])
