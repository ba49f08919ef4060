"""Scratch MySQL/MariaDB databases for connector tests.

The server is SLUICE_TEST_MYSQL_HOST:SLUICE_TEST_MYSQL_PORT (default 127.0.0.1:3306) as
SLUICE_TEST_MYSQL_USER (default root, password SLUICE_TEST_MYSQL_PASSWORD, default empty).
Databases are named <SLUICE_TEST_DB_PREFIX>_my_<pid>_<n> so that parallel runs never meet; each
is dropped when its test ends (or, for the contract fixture's, when the process exits). Tests
call `need_mysql()`: they skip without a server and fail under CI=true."""

from __future__ import annotations

import atexit
import itertools
import os
from functools import cache

import pymysql

from conftest import need
from connections.connectors.base import ConnectionInfo
from connections.connectors.mysql.client import quote

HOST = os.environ.get("SLUICE_TEST_MYSQL_HOST", "127.0.0.1")
PORT = int(os.environ.get("SLUICE_TEST_MYSQL_PORT", "3306"))
USER = os.environ.get("SLUICE_TEST_MYSQL_USER", "root")
PASSWORD = os.environ.get("SLUICE_TEST_MYSQL_PASSWORD", "")
PREFIX = os.environ.get("SLUICE_TEST_DB_PREFIX", "sluice_test")
_numbers = itertools.count(1)


def admin(database: str | None = None) -> pymysql.Connection:
    return pymysql.connect(
        host=HOST, port=PORT, user=USER, password=PASSWORD, database=database, autocommit=True, connect_timeout=3
    )


@cache
def _available() -> bool:
    try:
        admin().close()
    except pymysql.Error:
        return False
    return True


def need_mysql() -> None:
    need(_available(), f"MySQL/MariaDB at {HOST}:{PORT}")


def create_database() -> str:
    need_mysql()
    name = f"{PREFIX}_my_{os.getpid()}_{next(_numbers)}"
    with admin() as connection, connection.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {quote(name)}")
        cur.execute(f"CREATE DATABASE {quote(name)} CHARACTER SET utf8mb4")
    return name


def drop_database(name: str) -> None:
    try:
        with admin() as connection, connection.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {quote(name)}")
    except pymysql.Error:
        pass  # the server went away first; nothing left to clean


def database_for_process() -> str:
    """One database for the whole process (the contract fixture has no teardown)."""
    return _process_database()


@cache
def _process_database() -> str:
    name = create_database()
    atexit.register(drop_database, name)
    return name


def execute(database: str, statement: str, params: tuple | list = ()) -> list[tuple]:
    with admin(database) as connection, connection.cursor() as cur:
        cur.execute(statement, params)
        return list(cur.fetchall())


def connection_info(database: str, **overrides) -> ConnectionInfo:
    properties = {"host": HOST, "port": str(PORT), "database": database, "sslMode": "prefer"}
    credentials = {"username": USER, "password": PASSWORD}
    for key, value in overrides.items():
        (credentials if key in credentials else properties)[key] = value
    return ConnectionInfo("my", "CustomConnector", "MySQL", properties, credentials)
