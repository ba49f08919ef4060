"""`python manage.py sluice <verb> [options]`: the `aws appflow` command line, for Sluice.

Verbs and option names are AppFlow's; output is AppFlow's response JSON. See docs/cli.md."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

import audit
from accounts import access
from api import tags
from console.errors import UserError
from flows.cli import connector_verbs, flow_verbs, new_connector, profile_verbs, registration_verbs
from flows.cli.outcome import (
    EXIT_INTERRUPTED,
    EXIT_SERVICE_ERROR,
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    CliExit,
    Outcome,
    ParamError,
    service_error_text,
)
from flows.cli.params import json_param, max_results, seconds, timestamp
from flows.models import Execution


class CliParser(CommandParser):
    """Usage errors exit 252, as the AWS CLI's do (argparse would say 2)."""

    def error(self, message: str):
        if self.called_from_command_line:
            self.print_usage(sys.stderr)
            self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")
        raise CommandError(f"Error: {message}", returncode=EXIT_USAGE)


Verb = Callable[[dict[str, Any]], Any]
AS_HELP = "act as this user, with their teams and roles (default: the first superuser)"


def add_paging(parser: CliParser) -> None:
    parser.add_argument("--max-results", type=max_results, help="1-100 per page (default 20)")
    parser.add_argument("--next-token", help="the nextToken of the previous page")


def add_verb(subparsers, name: str, operation: str, run: Verb, help_text: str) -> CliParser:
    parser = subparsers.add_parser(name, help=help_text, description=help_text, allow_abbrev=False)
    parser.set_defaults(operation=operation, run=run)
    # Also after the verb; SUPPRESS keeps a --as given before the verb.
    parser.add_argument("--as", dest="as_user", metavar="USER", default=argparse.SUPPRESS, help=AS_HELP)
    return parser


def add_profile_verbs(subparsers) -> None:
    p = add_verb(
        subparsers, "create-connector-profile", "CreateConnectorProfile",
        profile_verbs.create_connector_profile, "Create a connection, after testing it.",
    )
    p.add_argument("--connector-profile-name", required=True)
    p.add_argument("--connector-type", required=True, help="e.g. CustomConnector")
    p.add_argument("--connector-label", help="for CustomConnector, e.g. LocalFiles")
    p.add_argument("--connection-mode", required=True, choices=["Public", "Private"])
    p.add_argument("--connector-profile-config", required=True, help="JSON, or file://path")

    p = add_verb(
        subparsers, "update-connector-profile", "UpdateConnectorProfile",
        profile_verbs.update_connector_profile,
        "Change a connection (as the console's edit), after testing it. Secrets left out are kept.",
    )
    p.add_argument("--connector-profile-name", required=True)
    p.add_argument("--connection-mode", required=True, choices=["Public", "Private"])
    p.add_argument("--connector-profile-config", required=True, help="JSON, or file://path")

    p = add_verb(
        subparsers, "describe-connector-profiles", "DescribeConnectorProfiles",
        profile_verbs.describe_connector_profiles, "List connections (never their credentials).",
    )
    p.add_argument("--connector-profile-names", nargs="+", metavar="NAME")
    p.add_argument("--connector-type")
    p.add_argument("--connector-label")
    add_paging(p)

    p = add_verb(
        subparsers, "delete-connector-profile", "DeleteConnectorProfile",
        profile_verbs.delete_connector_profile, "Delete a connection.",
    )
    p.add_argument("--connector-profile-name", required=True)
    p.add_argument("--force-delete", action="store_true", help="even if flows use it (they are suspended)")

    p = add_verb(
        subparsers, "reset-connector-metadata-cache", "ResetConnectorMetadataCache",
        profile_verbs.reset_connector_metadata_cache,
        "Forget a connection's cached objects and fields: they are asked for again next time.",
    )
    p.add_argument("--connector-profile-name", required=True)
    p.add_argument("--connector-type", help="checked against the connection's, when given")
    p.add_argument("--connector-entity-name", help="only the fields of this object")
    p.add_argument("--entities-path", help='only the objects under this parent ("" for the top level)')


def add_connector_verbs(subparsers) -> None:
    p = add_verb(subparsers, "describe-connectors", "DescribeConnectors", connector_verbs.describe_connectors,
                 "The installed connectors and what each can do.")
    p.add_argument("--connector-types", nargs="+", metavar="TYPE", help="e.g. Salesforce CustomConnector")
    add_paging(p)

    p = add_verb(subparsers, "describe-connector", "DescribeConnector", connector_verbs.describe_connector,
                 "One connector: its settings, triggers, operators and write operations.")
    p.add_argument("--connector-type", required=True)
    p.add_argument("--connector-label", help="for CustomConnector, e.g. LocalFiles")

    p = add_verb(subparsers, "list-connectors", "ListConnectors", connector_verbs.list_connectors,
                 "List the installed connectors.")
    add_paging(p)

    p = add_verb(subparsers, "list-connector-entities", "ListConnectorEntities",
                 connector_verbs.list_connector_entities, "The objects a connection offers.")
    p.add_argument("--connector-profile-name", required=True)
    p.add_argument("--connector-type", help="checked against the connection's, when given")
    p.add_argument("--entities-path", help="the objects under this parent (e.g. a folder)")
    p.add_argument("--api-version", help="accepted for AppFlow compatibility; not used")
    add_paging(p)

    p = add_verb(subparsers, "describe-connector-entity", "DescribeConnectorEntity",
                 connector_verbs.describe_connector_entity, "The fields of one object of a connection.")
    p.add_argument("--connector-entity-name", required=True)
    p.add_argument("--connector-profile-name", required=True)
    p.add_argument("--connector-type", help="checked against the connection's, when given")
    p.add_argument("--api-version", help="accepted for AppFlow compatibility; not used")



def add_registration_verbs(subparsers) -> None:
    p = add_verb(subparsers, "register-connector", "RegisterConnector", registration_verbs.register_connector,
                 "Make an installed connector package a connector: import it, check it against the contract.")
    p.add_argument("--connector-label", required=True, help="the package's sluice.connectors entry point")
    p.add_argument("--description")
    p.add_argument("--connector-provisioning-type", choices=["LAMBDA"], help="accepted, as in AppFlow")

    p = add_verb(subparsers, "update-connector-registration", "UpdateConnectorRegistration",
                 registration_verbs.update_connector_registration,
                 "Check and take the version of a registered connector's package installed now.")
    p.add_argument("--connector-label", required=True)
    p.add_argument("--description")

    p = add_verb(subparsers, "unregister-connector", "UnregisterConnector",
                 registration_verbs.unregister_connector,
                 "Stop offering a registered connector (refused while connections use it).")
    p.add_argument("--connector-label", required=True)
    p.add_argument("--force-delete", action="store_true", help="accepted; one in use is still refused")

    p = add_verb(subparsers, "new-connector", "NewConnector", new_connector.new_connector,
                 "Sluice extension: write a connector package skeleton (docs/connector-sdk.md).")
    p.add_argument("name", help="the connector's name, e.g. Tickets")
    p.add_argument("--directory", default=".", help="where to create the package folder (default: here)")


def add_tag_verbs(subparsers) -> None:
    p = add_verb(subparsers, "tag-resource", "TagResource", tags.tag_resource,
                 "Add or change tags of a flow or connection (by ARN).")
    p.add_argument("--resource-arn", required=True)
    p.add_argument("--tags", required=True, type=json_object("--tags"), help='JSON: {"key": "value"}')

    p = add_verb(subparsers, "untag-resource", "UntagResource", tags.untag_resource,
                 "Remove tags of a flow or connection.")
    p.add_argument("--resource-arn", required=True)
    p.add_argument("--tag-keys", required=True, nargs="+", metavar="KEY")

    p = add_verb(subparsers, "list-tags-for-resource", "ListTagsForResource", tags.list_tags_for_resource,
                 "The tags of a flow or connection.")
    p.add_argument("--resource-arn", required=True)


def json_object(option: str):
    def parse(value: str) -> dict:
        try:
            parsed = json_param(option, value)
        except ParamError as exc:
            raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[1]) from None
        if not isinstance(parsed, dict):
            raise argparse.ArgumentTypeError('must be a JSON object, e.g. {"team": "sales"}')
        return parsed
    return parse


def add_flow_verbs(subparsers) -> None:
    p = add_verb(subparsers, "create-flow", "CreateFlow", flow_verbs.create_flow, "Create a flow.")
    p.add_argument("--cli-input-json", help="the whole CreateFlow request: JSON, or file://path")
    p.add_argument("--flow-name")
    p.add_argument("--description")
    for option in ("--trigger-config", "--source-flow-config", "--tasks", "--tags"):
        p.add_argument(option, help="JSON, or file://path")
    p.add_argument(
        "--destination-flow-config-list", "--destination-flow-config",
        dest="destination_flow_config_list", help="JSON list, or file://path",
    )

    p = add_verb(subparsers, "update-flow", "UpdateFlow", flow_verbs.update_flow,
                 "Save a new version of a flow (as the console's edit); its tags are kept.")
    p.add_argument("--cli-input-json", help="the whole UpdateFlow request: JSON, or file://path")
    p.add_argument("--flow-name")
    p.add_argument("--description")
    for option in ("--trigger-config", "--source-flow-config", "--tasks"):
        p.add_argument(option, help="JSON, or file://path")
    p.add_argument(
        "--destination-flow-config-list", "--destination-flow-config",
        dest="destination_flow_config_list", help="JSON list, or file://path",
    )

    p = add_verb(
        subparsers, "describe-flow", "DescribeFlow", flow_verbs.describe_flow,
        "Show a flow: its document as given, its status and its last run.",
    )
    p.add_argument("--flow-name", required=True)

    p = add_verb(subparsers, "list-flows", "ListFlows", flow_verbs.list_flows, "List flows.")
    add_paging(p)

    p = add_verb(subparsers, "start-flow", "StartFlow", flow_verbs.start_flow,
                 "Run an on-demand flow now; activate a scheduled or event flow.")
    p.add_argument("--flow-name", required=True)
    p.add_argument("--wait", action="store_true", help="wait for the run to end; exit 0 only if Successful")
    p.add_argument("--timeout", type=seconds, metavar="SECONDS", help="with --wait: give up after this long")
    p.add_argument("--data-pull-start-time", type=timestamp, metavar="TIME",
                   help="Sluice extension: run now over this window (a backfill), from (epoch/ISO)")
    p.add_argument("--data-pull-end-time", type=timestamp, metavar="TIME",
                   help="with --data-pull-start-time: up to (default now)")

    p = add_verb(subparsers, "stop-flow", "StopFlow", flow_verbs.stop_flow,
                 "Deactivate a scheduled or event flow (history and watermark are kept).")
    p.add_argument("--flow-name", required=True)

    p = add_verb(
        subparsers, "describe-flow-execution-records", "DescribeFlowExecutionRecords",
        flow_verbs.describe_flow_execution_records, "A flow's runs, newest first.",
    )
    p.add_argument("--flow-name", required=True)
    add_paging(p)
    p.add_argument("--execution-ids", nargs="+", metavar="ID", help="Sluice extension: only these runs")
    p.add_argument(
        "--status", nargs="+", choices=Execution.Status.values, help="Sluice extension: only runs in these"
    )
    p.add_argument("--started-after", type=timestamp, help="Sluice extension: started at/after (epoch/ISO)")
    p.add_argument("--started-before", type=timestamp, help="Sluice extension: started before (epoch/ISO)")

    p = add_verb(
        subparsers, "cancel-flow-executions", "CancelFlowExecutions", flow_verbs.cancel_flow_executions,
        "Cancel runs in progress (all of the flow's, or the ids given).",
    )
    p.add_argument("--flow-name", required=True)
    p.add_argument("--execution-ids", nargs="+", metavar="ID")

    p = add_verb(subparsers, "delete-flow", "DeleteFlow", flow_verbs.delete_flow, "Delete a flow.")
    p.add_argument("--flow-name", required=True)
    p.add_argument("--force-delete", action="store_true", help="even while it runs")


def acting_user(name: str | None):
    """Who the command acts as: --as USER (an active user), else the first superuser, else nobody
    in particular (a fresh install before its admin exists; the shell's owner holds the database
    anyway). Their name is what the flow's activity and runs record."""
    users = get_user_model().objects
    if name:
        user = users.filter(username=name, is_active=True).first()
        if user is None:
            raise access.AccessDenied(f'--as: there is no active user named "{name}". '
                                      "Create one with `python manage.py add_user`.")
        return user
    return users.filter(is_superuser=True, is_active=True).order_by("pk").first()


class Command(BaseCommand):
    help = "Sluice's `aws appflow` command line: python manage.py sluice <verb> --help. See docs/cli.md."
    # A one-shot CLI call should not pay for (or fail on) the project's system checks.
    requires_system_checks: list[str] = []

    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # Django builds the top parser itself; swap its class so that a usage error at the top level
        # (no verb, unknown verb) exits 252 like one inside a verb. CliParser adds no state.
        parser.__class__ = CliParser
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as", dest="as_user", metavar="USER", help=AS_HELP)
        subparsers = parser.add_subparsers(
            dest="verb", required=True, metavar="VERB", parser_class=CliParser, title="verbs"
        )
        add_profile_verbs(subparsers)
        add_connector_verbs(subparsers)
        add_registration_verbs(subparsers)
        add_flow_verbs(subparsers)
        add_tag_verbs(subparsers)

    def execute(self, *args, **options):
        """From a terminal, end with the exit code instead of Django's "CommandError: ..." line."""
        from_terminal = getattr(self, "_called_from_command_line", False)
        try:
            return super().execute(*args, **options)
        except CliExit as exc:
            if from_terminal:
                sys.exit(exc.returncode)
            raise
        except KeyboardInterrupt:
            if from_terminal:
                sys.exit(EXIT_INTERRUPTED)
            raise
        except Exception as exc:
            if not from_terminal or options.get("traceback") or isinstance(exc, CommandError):
                raise
            self.stderr.write(
                f"Sluice hit an unexpected error: {type(exc).__name__}: {exc}\n"
                "Run the command again with --traceback before the verb to see where."
            )
            sys.exit(EXIT_UNEXPECTED)

    def handle(self, *args, operation: str, run: Verb, as_user: str | None = None, **options) -> None:
        # The CLI acts as a named user (the one `--as` names, else the first administrator): the
        # same rules as the console's decide what it may do, and the audit log records it as such.
        try:
            options["user"] = acting_user(as_user)
            access.check_operation(options["user"], operation, options)
            with audit.acting_as(options["user"], via="cli"):
                outcome = run(options)
        except ParamError as exc:
            self.fail(EXIT_USAGE, str(exc))
        except UserError as exc:
            self.fail(EXIT_SERVICE_ERROR, service_error_text(exc, operation))
        if not isinstance(outcome, Outcome):
            outcome = Outcome(outcome)
        if outcome.output is not None:
            self.stdout.write(json.dumps(outcome.output, indent=4, ensure_ascii=False))
        if outcome.exit_code:
            self.fail(outcome.exit_code, outcome.message)

    def fail(self, exit_code: int, message: str):
        if message:
            self.stderr.write(message)
        raise CliExit(exit_code)
