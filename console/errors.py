"""Errors raised by the service layer for a person to read (views, the API and the CLI show them)."""

from __future__ import annotations


class UserError(Exception):
    """Something the user asked for cannot be done; `errors` says what and how to fix it."""

    code = "ValidationException"

    def __init__(self, *errors: str):
        super().__init__("; ".join(errors))
        self.errors = list(errors)


class NotFound(UserError):
    code = "ResourceNotFoundException"


class Conflict(UserError):
    code = "ConflictException"


class AccessDenied(UserError):
    code = "AccessDeniedException"


class QuotaExceeded(UserError):
    code = "ServiceQuotaExceededException"


class Unsupported(UserError):
    code = "UnsupportedOperationException"


class ConnectorAuthenticationFailed(UserError):
    """The connection's credentials were refused (a connection test on create or update)."""

    code = "ConnectorAuthenticationException"


class ConnectorServerFailed(UserError):
    """The application behind a connection failed to answer (listing its objects or fields)."""

    code = "ConnectorServerException"
