"""Infor Nexus (source): signing.py (the HMAC request signature), client.py (the REST calls and
their paging), connector.py (the connector)."""

from .connector import InforNexusConnector

__all__ = ["InforNexusConnector"]
