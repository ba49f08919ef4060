"""Google Analytics 4: connector.py (the connector), client.py (the API calls), names.py (GA4's
standard dimension and metric names, the per-flow caps, and Universal Analytics' `ga:` names)."""

from .connector import GoogleAnalyticsConnector

__all__ = ["GoogleAnalyticsConnector"]
