"""Marketo (source and destination): client.py (token, calls, Marketo's error codes), bulk.py (Bulk
Extract jobs and streamed CSV files), catalog.py (objects and fields), writing.py (leads and
custom objects), connector.py (the connector)."""

from .connector import MarketoConnector

__all__ = ["MarketoConnector"]
