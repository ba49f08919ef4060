"""Connecting to Snowflake with snowflake-connector-python: where (the account's host, through the
SSRF guard), as whom (user + password, or key-pair authentication with an RSA private key) and
how its errors read.

The host is `<accountName>.snowflakecomputing.com`, as Snowflake's account identifiers work
(https://docs.snowflake.com/en/user-guide/admin-account-identifier: `<orgname>-<account_name>` or
the legacy `<locator>.<region>.<cloud>`, both followed by `.snowflakecomputing.com`). The SSRF
guard checks that name right before the driver connects; the driver then opens its own HTTPS
connections to the same name (it takes no address to connect to), so a DNS answer that changes
between the check and the connect is not covered: the same limit as any driver that resolves
names itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import snowflake.connector
from cryptography.hazmat.primitives import serialization
from snowflake.connector import errors as sf_errors

from ..base import ConnectionInfo, ConnectorError
from ..hosts import check_host, checked_address

HOST_SUFFIX = ".snowflakecomputing.com"
# letters, digits, _ and -, with dots between the legacy locator's parts
_ACCOUNT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,254})(?:\.[A-Za-z0-9][A-Za-z0-9_-]{0,62}){0,3}")
# what Snowflake accepts unquoted as a warehouse or role name
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,254}")
_PEM = re.compile(r"-----BEGIN ([A-Z ]+)-----(.+?)-----END \1-----", re.S)
# driver errors that mean the credentials or the account are wrong, not a passing outage
_PERMANENT_ERRNOS = {390100, 390101, 390102, 390144, 390189, 250001, 251005, 2003, 2043}


@dataclass(frozen=True)
class Login:
    """Where and as whom; the password and key never appear in a message."""

    account: str
    host: str
    user: str
    warehouse: str
    database: str
    schema: str
    role: str = ""
    password: str = field(default="", repr=False)
    private_key: bytes = field(default=b"", repr=False)  # DER (PKCS#8)

    def scrub(self, text: str) -> str:
        if self.password:
            text = text.replace(self.password, "***")
        return text


def login_from(conn: ConnectionInfo) -> Login:
    props: Mapping[str, Any] = conn.properties
    creds: Mapping[str, Any] = conn.credentials
    account = str(props.get("accountName") or "").strip()
    if not _ACCOUNT.fullmatch(account):
        raise ConnectorError(
            f'accountName: "{account[:100]}" is not a Snowflake account identifier: give the part '
            f"before {HOST_SUFFIX} of your Snowflake URL (e.g. myorg-myaccount or xy12345.us-east-2.aws)."
        )
    host = check_host(f"{account}{HOST_SUFFIX}", "accountName")
    user = str(creds.get("username") or "").strip()
    if not user:
        raise ConnectorError("username: is required.")
    password = str(creds.get("password") or "")
    key_text = str(creds.get("privateKey") or "")
    if not password and not key_text.strip():
        raise ConnectorError(
            "password: give the user's password, or a privateKey for key-pair authentication."
        )
    warehouse = check_name(str(props.get("warehouse") or ""), "warehouse")
    role = str(props.get("role") or "").strip()
    return Login(
        account=account,
        host=host,
        user=user,
        warehouse=warehouse,
        database=check_name(str(props.get("database") or ""), "database"),
        schema=check_name(str(props.get("schema") or "PUBLIC"), "schema"),
        role=check_name(role, "role") if role else "",
        password="" if key_text.strip() else password,
        private_key=private_key_der(key_text, str(creds.get("privateKeyPassphrase") or ""))
        if key_text.strip()
        else b"",
    )


def check_name(value: str, field_name: str) -> str:
    value = value.strip()
    if not _NAME.fullmatch(value):
        raise ConnectorError(
            f'{field_name}: "{value[:100]}" is not a Snowflake name (letters, digits, _ and $, '
            "starting with a letter or _)."
        )
    return value


def private_key_der(text: str, passphrase: str) -> bytes:
    """The PKCS#8 DER bytes the driver takes from a PEM private key. A key pasted into a one-line
    password box has lost its line breaks: the base64 body is rebuilt from the PEM markers."""
    match = _PEM.search(text.strip())
    if not match:
        raise ConnectorError(
            "privateKey: is not a PEM private key "
            "(-----BEGIN PRIVATE KEY----- ... -----END PRIVATE KEY-----)."
        )
    kind, body = match.group(1), "".join(match.group(2).split())
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    pem = f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----\n".encode()
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase.encode() or None)
    except (ValueError, TypeError) as exc:
        hint = (
            "wrong or missing privateKeyPassphrase?"
            if "encrypt" in str(exc).lower() or "password" in str(exc).lower()
            else "not a readable RSA key"
        )
        raise ConnectorError(f"privateKey: the key cannot be read ({hint}).") from None
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def connect(login: Login) -> Any:
    """An open connection (autocommit off: the run's statements are one transaction), after the
    SSRF guard let the account's host through."""
    checked_address(login.host, 443)
    params: dict[str, Any] = {
        "account": login.account,
        "host": login.host,
        "user": login.user,
        "warehouse": login.warehouse,
        "database": login.database,
        "schema": login.schema,
        "autocommit": False,
        "login_timeout": 30,
        "network_timeout": 600,
        "application": "Sluice",
    }
    if login.role:
        params["role"] = login.role
    if login.private_key:
        params["private_key"] = login.private_key
    else:
        params["password"] = login.password
    try:
        # called through the module so the test stand-in (fakesnow) can take its place
        return snowflake.connector.connect(**params)
    except sf_errors.Error as exc:
        raise query_error(exc, login, f"Connecting to Snowflake account {login.account}") from None


def query_error(exc: Exception, login: Login, doing: str) -> ConnectorError:
    """The driver's error as a message for a person: what Sluice was doing, Snowflake's words
    (its message names the object or value), never the password."""
    errno = getattr(exc, "errno", None)
    message = str(getattr(exc, "raw_msg", "") or exc).strip().splitlines()
    text = login.scrub(" ".join(line.strip() for line in message if line.strip()))[:1000]
    permanent = errno in _PERMANENT_ERRNOS or isinstance(exc, sf_errors.ProgrammingError)
    return ConnectorError(f"{doing}: {text}", permanent=permanent)
