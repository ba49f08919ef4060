"""What the SaaS connectors (Demo CRM, Slack, Zendesk, Salesforce, ServiceNow) have in common,
written once so that a new one declares data instead of copying methods: a source block that names
one object, OAuth endpoints under an address the connection's properties give, and a connection
test that first says plainly when the connection has not been authorized yet.

Only what is the same in all of them lives here; each connector keeps its own checks of the
object it reads (SaasConnector.check_source_values) and its own API calls."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pyarrow as pa

from connections.connectors.base import ConnectionInfo, Connector, ConnectorError

# The Filter operators that change or validate values rather than choose records, in AppFlow's
# order: every SaaS connector takes all of them, after the record filters it supports.
VALUE_OPERATORS: tuple[str, ...] = (
    "ADDITION", "MULTIPLICATION", "DIVISION", "SUBTRACTION", "MASK_ALL", "MASK_FIRST_N", "MASK_LAST_N",
    "VALIDATE_NON_NULL", "VALIDATE_NON_ZERO", "VALIDATE_NON_NEGATIVE", "VALIDATE_NUMERIC", "NO_OP",
)

# Sluice data type -> column type, for the connectors that keep dates and times as the ISO text the
# API sent (Demo CRM, Zendesk, ServiceNow); Slack and Salesforce read them into Arrow times.
TEXT_TIME_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(), "integer": pa.int64(), "double": pa.float64(), "boolean": pa.bool_(),
    "date": pa.string(), "datetime": pa.string(),
}


class SaasConnector(Connector):
    """A connector to a SaaS API whose source block names one object (entity_key)."""

    # The sourceConnectorProperties key that names the entity ("entityName" for the Demo CRM).
    entity_key: ClassVar[str] = "object"
    # The other keys a source block may hold (Salesforce's dataTransferApi, ...). With none, an
    # unknown key's message says which one key the block takes.
    source_options: ClassVar[frozenset[str]] = frozenset()
    # OAuth 2.0: the (authorization, token) paths below oauth_address(properties).
    oauth_paths: ClassVar[tuple[str, str]] = ("", "")
    # Where a person authorizes the connection, as the "not authorized yet" message names it.
    consent_page: ClassVar[str] = "the consent page"

    @staticmethod
    def oauth_address(properties: Mapping[str, Any]) -> str:
        """The address both OAuth endpoints are under, from the connection's properties (the
        account's own address, or its environment's); a connector sets staticmethod(its function)."""
        raise NotImplementedError  # a connector without OAuth 2.0 (ServiceNow's basic auth)

    @classmethod
    def oauth_endpoints(cls, properties: Mapping[str, Any]) -> tuple[str, str]:
        base = cls.oauth_address(properties)
        authorize, token = cls.oauth_paths
        return base + authorize, base + token

    @classmethod
    def entity_name(cls, props: Mapping[str, Any]) -> str:
        return str(props.get(cls.entity_key) or "") if isinstance(props, Mapping) else ""

    @classmethod
    def check_source_properties(cls, props: Any) -> list[tuple[str, str]]:
        if not isinstance(props, Mapping):
            return [("", "must be a JSON object")]
        allowed = {cls.entity_key, *cls.source_options}
        only = "" if cls.source_options else f" (only {cls.entity_key})"
        problems = [(k, f"is not a property of a {cls.display_name} source{only}")
                    for k in props if k not in allowed]
        return problems + cls.check_source_values(props)

    @classmethod
    def check_source_values(cls, props: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Problems with the values of a source block (its keys are checked already): the object
        it names first, as (key, message) pairs."""
        return []

    def require_authorized(self, conn: ConnectionInfo) -> None:
        """Before the first API call of a connection test: without an access token the call could
        only fail with the provider's less helpful refusal."""
        if not conn.credentials.get("accessToken"):
            raise ConnectorError(f"The connection is not authorized yet: connect it through "
                                 f"{self.consent_page}.")
