"""Salesforce (source and destination): connector.py (the connector), client.py (the calls),
catalog.py (objects, fields, types), soql.py (queries), reading.py (REST and Bulk API 2.0 reads),
writing.py (sObject Collections and Bulk API 2.0 ingest)."""

from .connector import SalesforceConnector

__all__ = ["SalesforceConnector"]
