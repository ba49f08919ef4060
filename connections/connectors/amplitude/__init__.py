"""Amplitude (source): a project's raw events through the Export API (basic auth with the project's
API key and secret key, US or EU data residency), hour by hour, each hour's zip of gzipped JSON
lines streamed to a temporary file and read from there."""

from .connector import AmplitudeConnector

__all__ = ["AmplitudeConnector"]
