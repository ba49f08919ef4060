"""Salesforce Pardot (Account Engagement): connector.py (the connector), client.py (the API calls),
catalog.py (the v5 objects and their fields)."""

from .connector import PardotConnector

__all__ = ["PardotConnector"]
