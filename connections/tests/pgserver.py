"""A scratch PostgreSQL database for connector tests, created once per test process.

The server is SLUICE_TEST_PG_HOST:SLUICE_TEST_PG_PORT (default 127.0.0.1:5432) as
SLUICE_TEST_PG_USER (default postgres, password from SLUICE_TEST_PG_PASSWORD). The database is
named after the process id so that parallel runs (several checkouts on one machine) never meet,
and dropped when the process exits. Tests call `need_postgres()`: they skip without a server,
and fail under CI=true."""

from __future__ import annotations

import atexit
import os
import uuid
from functools import cache

import psycopg
from psycopg import sql

from conftest import need
from connections.connectors.base import ConnectionInfo

HOST = os.environ.get("SLUICE_TEST_PG_HOST", "127.0.0.1")
PORT = int(os.environ.get("SLUICE_TEST_PG_PORT", "5432"))
USER = os.environ.get("SLUICE_TEST_PG_USER", "postgres")
PASSWORD = os.environ.get("SLUICE_TEST_PG_PASSWORD", "")
# several checkouts on one machine can keep their scratch databases apart by prefix
PREFIX = os.environ.get("SLUICE_TEST_DB_PREFIX", "sluice_test")


def _admin() -> psycopg.Connection:
    return psycopg.connect(
        host=HOST, port=PORT, user=USER, password=PASSWORD, dbname="postgres", autocommit=True, connect_timeout=3
    )


@cache
def _available() -> bool:
    try:
        _admin().close()
    except psycopg.Error:
        return False
    return True


@cache
def scratch_database() -> str:
    name = f"{PREFIX}_{os.getpid()}"
    with _admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    atexit.register(_drop, name)
    return name


def _drop(name: str) -> None:
    try:
        with _admin() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    except psycopg.Error:
        pass  # the server went away first; nothing left to clean


def need_postgres() -> str:
    """The scratch database's name; skips the test when no PostgreSQL answers."""
    need(_available(), f"PostgreSQL at {HOST}:{PORT}")
    return scratch_database()


def fresh_schema() -> str:
    """A new empty schema in the scratch database, so tests never see each other's tables."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with sql_connection() as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    return schema


def sql_connection() -> psycopg.Connection:
    return psycopg.connect(
        host=HOST, port=PORT, user=USER, password=PASSWORD, dbname=need_postgres(), autocommit=True
    )


def connection_info(name: str = "pg", **overrides) -> ConnectionInfo:
    properties = {"host": HOST, "port": str(PORT), "database": need_postgres(), "sslMode": "prefer"}
    credentials = {"username": USER, "password": PASSWORD}
    for key, value in overrides.items():
        (credentials if key in credentials else properties)[key] = value
    return ConnectionInfo(name, "CustomConnector", "PostgreSQL", properties, credentials)
