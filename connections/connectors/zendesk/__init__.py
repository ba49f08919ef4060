"""Zendesk Support: connector.py (the connector), client.py (the API calls)."""

from .connector import ZendeskConnector

__all__ = ["ZendeskConnector"]
