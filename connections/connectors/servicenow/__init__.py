"""ServiceNow (source): client.py (Table API calls), catalog.py (tables and dictionary fields),
query.py (encoded queries), connector.py (the connector)."""

from .connector import ServiceNowConnector

__all__ = ["ServiceNowConnector"]
