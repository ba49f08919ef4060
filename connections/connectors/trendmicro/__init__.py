"""Trend Micro Cloud One Workload Security / Deep Security (source): client.py (the API calls and
their ID paging), objects.py (the objects and their fields), connector.py (the connector)."""

from .connector import TrendMicroConnector

__all__ = ["TrendMicroConnector"]
