"""Veeva Vault (source): client.py (sessions and calls), catalog.py (objects, documents and their
fields from the metadata API), vql.py (the VQL query a read sends), connector.py (the connector)."""

from .connector import VeevaConnector

__all__ = ["VeevaConnector"]
