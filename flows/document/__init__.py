"""The flow document: one JSON object in the shape of AppFlow's CreateFlow request.

This package is the one validator for it (used by the wizard, the JSON API, the CLI, import and the
engine) and the CloudFormation import. It imports nothing from Django. See docs/flow-document.md.
"""

from __future__ import annotations

from .cloudformation import from_cloudformation, looks_like_cloudformation
from .endpoints import canonical_connector_type, connector_for, properties_key, runs_only_on_events
from .errors import DocumentError, DocumentInvalid
from .notices import flow_document_warnings
from .parse import parse_flow_json
from .validate import check_flow_document, validate_flow_document

__all__ = [
    "DocumentError",
    "DocumentInvalid",
    "canonical_connector_type",
    "check_flow_document",
    "connector_for",
    "flow_document_warnings",
    "from_cloudformation",
    "looks_like_cloudformation",
    "parse_flow_json",
    "properties_key",
    "runs_only_on_events",
    "validate_flow_document",
]
