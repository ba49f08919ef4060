"""Datadog (source): logs, events, incidents, monitors and metric timeseries, read through Datadog's
API with an API key and an application key, on the site (US1 ... US1-FED) the connection names."""

from .connector import DatadogConnector

__all__ = ["DatadogConnector"]
