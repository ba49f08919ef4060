"""PostgreSQL connector (and the code path Redshift shares)."""

from __future__ import annotations

from .connector import PostgreSQLConnector

__all__ = ["PostgreSQLConnector"]
