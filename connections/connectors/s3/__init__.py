"""Amazon S3 (and S3-compatible stores) connector."""

from __future__ import annotations

from .connector import S3Connector

__all__ = ["S3Connector"]
