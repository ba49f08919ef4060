"""Sample Helpdesk: a Sluice connector package (see docs/connector-sdk.md in Sluice)."""

__version__ = "1.0.0"
