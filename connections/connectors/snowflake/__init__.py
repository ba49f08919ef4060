"""Snowflake connector (destination: staged in S3, loaded with COPY INTO)."""

from __future__ import annotations

from .connector import SnowflakeConnector

__all__ = ["SnowflakeConnector"]
