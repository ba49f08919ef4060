"""Singular (source): aggregated marketing statistics through the asynchronous Reporting API
(create a report, poll its status, download the result file), with an API key."""

from .connector import SingularConnector

__all__ = ["SingularConnector"]
