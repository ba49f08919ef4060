"""SAP OData (source): edmx.py ($metadata), values.py (SAP's value formats), query.py ($filter),
client.py (HTTP calls and paging), connector.py (the connector)."""

from .connector import SAPODataConnector

__all__ = ["SAPODataConnector"]
