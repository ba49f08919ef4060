"""MySQL / MariaDB connector."""

from __future__ import annotations

from .connector import MySQLConnector

__all__ = ["MySQLConnector"]
