"""A test double: a connector with a user name and password, so that form, edit and redaction
tests have a secret field to work with. Registered only inside tests (the `password_connector`
fixture in conftest.py); never in the product's registry."""

from __future__ import annotations

import logging

from connections.connectors.base import ConfigField, ConnectionInfo, Connector, ConnectorError

logger = logging.getLogger("connections.tests.fakes")
WRONG = "wrong-password"


class PasswordConnector(Connector):
    connector_type = "CustomConnector"
    connector_label = "TestPassword"
    display_name = "Test password app"
    description = "A test application reached with a user name and password."
    can_be_source = True
    auth_kind = "basic"
    config_fields = (
        ConfigField("instanceUrl", "url", "Instance URL", help="e.g. https://example.test",
                    sends_credentials_to=True),
        ConfigField("environment", "choice", "Environment", choices=("Production", "Sandbox"),
                    default="Production", help="Production or Sandbox, as in Salesforce's dialog."),
        ConfigField("username", "string", "User name"),
        ConfigField("password", "secret", "Password", secret=True),
    )

    def test(self, conn: ConnectionInfo) -> None:
        # Like a real client, it logs what it does, with the connection's name only.
        logger.info("testing connection %s as %s", conn.name, conn.properties.get("username"))
        if conn.credentials.get("password") == WRONG:
            raise ConnectorError("The user name or password is not right. Check them and save again.")
