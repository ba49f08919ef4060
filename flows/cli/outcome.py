"""Exit codes and the failures the CLI reports. The codes are the AWS CLI v2's, so a script written
against `aws appflow` reads Sluice's the same way (see docs/cli.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.management.base import CommandError

from console.errors import UserError

EXIT_OK = 0
EXIT_RUN_FAILED = 1  # start-flow --wait: the run ended Error or Canceled
EXIT_WAIT_TIMEOUT = 124  # start-flow --wait --timeout: gave up waiting (the `timeout` command's code)
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_USAGE = 252  # the command line could not be parsed: options, JSON values, file:// paths
EXIT_SERVICE_ERROR = 254  # parsed fine, but Sluice refused: validation, not found, conflict, quota
EXIT_UNEXPECTED = 255  # a bug or a broken installation


class ParamError(Exception):
    """An option value that cannot be read (bad JSON, missing file): found before any work is done,
    like the AWS CLI's "Error parsing parameter" errors."""

    def __init__(self, option: str, message: str):
        super().__init__(f"Error parsing parameter '{option}': {message}")
        self.option = option


class CliExit(CommandError):
    """The failure has already been written to stderr; only the exit code is left to give.

    A CommandError, so `call_command` callers see the usual exception type with `.returncode`."""

    def __init__(self, returncode: int):
        super().__init__(f"exit status {returncode}", returncode=returncode)


@dataclass
class Outcome:
    """What a verb produced: JSON for stdout (None prints nothing, like the AWS CLI for an empty
    response), and for a non-zero exit the line to write to stderr."""

    output: Any = None
    exit_code: int = EXIT_OK
    message: str = ""


def service_error_text(exc: UserError, operation: str) -> str:
    """The AWS CLI's one-line error, with each problem on its own line when there are several."""
    head = f"An error occurred ({exc.code}) when calling the {operation} operation: "
    if len(exc.errors) == 1:
        return head + exc.errors[0]
    lines = "\n".join(f"  {error}" for error in exc.errors)
    return f"{head}{len(exc.errors)} problems:\n{lines}"
