"""Amazon Redshift connector (destination, over the PostgreSQL code path)."""

from __future__ import annotations

from .connector import RedshiftConnector

__all__ = ["RedshiftConnector"]
