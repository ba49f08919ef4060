"""Dynatrace (source): problems, events, audit logs, monitored entities by type and metric data
points, read through the Environment API v2 with an API token, from a SaaS or Managed environment."""

from .connector import DynatraceConnector

__all__ = ["DynatraceConnector"]
