"""`manage.py sluice <verb>`: every verb with good and bad input, through call_command, and the real
exit codes through a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from conftest import subprocess_database_url
from connections import services as connection_services
from connections.models import Connection
from console.demo import CONNECTION_NAME, FLOW_NAME, demo_flow_document
from flows import services
from flows.models import Execution, Flow

pytestmark = pytest.mark.django_db


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)


def sluice(*args: str) -> Result:
    out, err = StringIO(), StringIO()
    try:
        call_command("sluice", *args, stdout=out, stderr=err)
    except CommandError as exc:
        # Usage errors raised by argparse carry their message on the exception, not on stderr.
        message = "" if exc.args[0].startswith("exit status") else str(exc)
        return Result(exc.returncode, out.getvalue(), err.getvalue() + message)
    return Result(0, out.getvalue(), err.getvalue())


def local_files_config(root: Path) -> str:
    return json.dumps({"connectorProfileProperties": {"CustomConnector": {"profileProperties": {
        "rootPath": str(root)}}}})


def create_profile(name: str, config: str, *extra: str) -> Result:
    return sluice(
        "create-connector-profile", "--connector-profile-name", name,
        "--connector-type", "CustomConnector", "--connector-label", "LocalFiles",
        "--connection-mode", "Public", "--connector-profile-config", config, *extra,
    )


def flow_document(name: str = "cli-flow") -> dict:
    return demo_flow_document() | {"flowName": name}


def add_execution(flow: Flow, status: str, created_at: datetime, **fields) -> Execution:
    execution = Execution.objects.create(flow=flow, version=flow.current_version, status=status, **fields)
    # created_at is auto_now_add: set the time the test needs afterwards.
    Execution.objects.filter(pk=execution.pk).update(created_at=created_at)
    execution.refresh_from_db()
    return execution


# Connector profiles


def test_create_connector_profile_from_a_file(data_dir, tmp_path):
    (data_dir / "crm").mkdir()
    config = tmp_path / "profile.json"
    config.write_text(local_files_config(data_dir / "crm"))

    result = create_profile("crm-files", f"file://{config}")

    assert result.code == 0, result.err
    assert result.json == {"connectorProfileArn": "arn:sluice:appflow:::connectorprofile/crm-files"}
    connection = Connection.objects.get(name="crm-files")
    assert (connection.connector_type, connection.connector_label) == ("CustomConnector", "LocalFiles")
    assert connection.properties == {"rootPath": str(data_dir / "crm")}


def test_a_profile_outside_the_allowed_base_is_refused_and_nothing_is_saved(data_dir, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()

    result = create_profile("escape", local_files_config(outside))

    assert result.code == 254
    assert result.err.startswith(
        "An error occurred (ValidationException) when calling the CreateConnectorProfile operation: "
    )
    assert "Traceback" not in result.err
    assert not Connection.objects.exists()


def test_bad_json_names_the_option_and_the_position(data_dir, tmp_path):
    inline = create_profile("x", '{"connectorProfileProperties": }')
    assert inline.code == 252
    assert "Error parsing parameter '--connector-profile-config'" in inline.err
    assert "line 1, column 32" in inline.err

    config = tmp_path / "profile.json"
    config.write_text('{\n  "connectorProfileProperties": {\n    "CustomConnector" {}\n  }\n}\n')
    in_file = create_profile("x", f"file://{config}")
    assert in_file.code == 252
    assert f"file://{config}" in in_file.err and "line 3, column 23" in in_file.err
    assert not Connection.objects.exists()


def test_bad_json_is_never_echoed(data_dir):
    result = create_profile("x", '{"connectorProfileCredentials": {"password": "hunter2-secret"')
    assert result.code == 252
    assert "hunter2-secret" not in result.err


def test_a_file_that_does_not_exist_says_so(data_dir, tmp_path):
    result = create_profile("x", f"file://{tmp_path}/missing.json")
    assert result.code == 252
    assert "Unable to load paramfile" in result.err and "no such file" in result.err
    assert "missing.json" in result.err


def test_a_path_without_file_prefix_gets_a_hint(data_dir):
    result = create_profile("x", "profile.json")
    assert result.code == 252 and "file://" in result.err


def test_describe_connector_profiles_never_shows_a_credential(data_dir):
    for name in ("a-files", "b-files", "c-files"):
        (data_dir / name).mkdir()
        assert create_profile(name, local_files_config(data_dir / name)).code == 0
    secret = Connection.objects.get(name="b-files")
    secret.credentials = {"apiKey": "sk-live-very-secret-value"}
    secret.save()

    result = sluice("describe-connector-profiles")

    assert result.code == 0
    assert "sk-live-very-secret-value" not in result.out
    details = {d["connectorProfileName"]: d for d in result.json["connectorProfileDetails"]}
    assert list(details) == ["a-files", "b-files", "c-files"]
    b = details["b-files"]
    assert b["credentialsArn"] == "arn:sluice:appflow:::connectorprofile/b-files/credentials"
    assert "credentialsArn" not in details["a-files"]
    assert b["connectorProfileProperties"] == {
        "CustomConnector": {"profileProperties": {"rootPath": str(data_dir / "b-files")}}
    }
    assert (b["connectorType"], b["connectorLabel"], b["connectionMode"]) == (
        "CustomConnector", "LocalFiles", "Public",
    )
    assert isinstance(b["createdAt"], float) and isinstance(b["lastUpdatedAt"], float)


def test_describe_connector_profiles_filters_and_pages(data_dir):
    for name in ("a-files", "b-files", "c-files"):
        (data_dir / name).mkdir()
        create_profile(name, local_files_config(data_dir / name))

    def names(*args: str) -> list[str]:
        result = sluice("describe-connector-profiles", *args)
        assert result.code == 0, result.err
        return [d["connectorProfileName"] for d in result.json["connectorProfileDetails"]]

    assert names("--connector-profile-names", "c-files", "a-files", "nope") == ["a-files", "c-files"]
    assert names("--connector-type", "S3") == []
    assert names("--connector-label", "LocalFiles") == ["a-files", "b-files", "c-files"]

    first = sluice("describe-connector-profiles", "--max-results", "2").json
    assert [d["connectorProfileName"] for d in first["connectorProfileDetails"]] == ["a-files", "b-files"]
    assert names("--max-results", "2", "--next-token", first["nextToken"]) == ["c-files"]
    second = sluice("describe-connector-profiles", "--max-results", "2", "--next-token", first["nextToken"])
    assert "nextToken" not in second.json


def test_delete_connector_profile(demo):
    in_use = sluice("delete-connector-profile", "--connector-profile-name", CONNECTION_NAME)
    assert in_use.code == 254 and "(ConflictException)" in in_use.err and FLOW_NAME in in_use.err
    assert Connection.objects.filter(name=CONNECTION_NAME).exists()

    forced = sluice("delete-connector-profile", "--connector-profile-name", CONNECTION_NAME, "--force-delete")
    assert (forced.code, forced.out) == (0, "")
    assert not Connection.objects.filter(name=CONNECTION_NAME).exists()
    assert Flow.objects.get(name=FLOW_NAME).status == "Suspended"

    missing = sluice("delete-connector-profile", "--connector-profile-name", "nope")
    assert missing.code == 254
    assert missing.err.strip() == (
        "An error occurred (ResourceNotFoundException) when calling the DeleteConnectorProfile operation: "
        'No connection named "nope".'
    )


# Flows


def test_create_flow_from_cli_input_json(demo, tmp_path):
    request = tmp_path / "flow.json"
    request.write_text(json.dumps(flow_document("from-file"), indent=2))

    result = sluice("create-flow", "--cli-input-json", f"file://{request}")

    assert result.code == 0, result.err
    assert result.json == {"flowArn": "arn:sluice:appflow:::flow/from-file", "flowStatus": "Active"}
    assert Flow.objects.get(name="from-file").definition == flow_document("from-file")


def test_create_flow_from_separate_options(demo, tmp_path):
    document = flow_document("from-options")
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps(document["tasks"]))

    result = sluice(
        "create-flow", "--flow-name", "from-options", "--description", "built from options",
        "--trigger-config", json.dumps(document["triggerConfig"]),
        "--source-flow-config", json.dumps(document["sourceFlowConfig"]),
        "--destination-flow-config-list", json.dumps(document["destinationFlowConfigList"]),
        "--tasks", f"file://{tasks}",
    )

    assert result.code == 0, result.err
    stored = Flow.objects.get(name="from-options").definition
    assert list(stored) == [
        "flowName", "description", "triggerConfig", "sourceFlowConfig", "destinationFlowConfigList", "tasks",
    ]
    assert stored["tasks"] == document["tasks"] and stored["description"] == "built from options"


def test_create_flow_from_a_cloudformation_resource(demo):
    endpoint = {"ConnectorType": "CustomConnector", "ConnectorLabel": "LocalFiles",
                "ConnectorProfileName": CONNECTION_NAME}
    resource = {"Type": "AWS::AppFlow::Flow", "Properties": {
        "FlowName": "from-cloudformation",
        "TriggerConfig": {"TriggerType": "OnDemand"},
        "SourceFlowConfig": endpoint | {
            "SourceConnectorProperties": {"CustomConnector": {"EntityName": "accounts.csv"}}},
        "DestinationFlowConfigList": [endpoint | {"DestinationConnectorProperties": {"CustomConnector": {
            "EntityName": "out/cfn", "CustomProperties": {"fileType": "JSONL"}}}}],
        "Tasks": [{
            "SourceFields": [""], "ConnectorOperator": {"CustomConnector": "NO_OP"}, "TaskType": "Map_all",
            "TaskProperties": [{"Key": "EXCLUDE_SOURCE_FIELDS_LIST", "Value": "[]"}],
        }],
    }}

    result = sluice("create-flow", "--cli-input-json", json.dumps(resource))

    assert result.code == 0, result.err
    stored = Flow.objects.get(name="from-cloudformation").definition
    assert stored["tasks"][0]["taskProperties"] == {"EXCLUDE_SOURCE_FIELDS_LIST": "[]"}


def test_create_flow_accepts_destination_flow_config_as_an_alias(demo):
    document = flow_document("alias")
    result = sluice(
        "create-flow", "--cli-input-json", json.dumps(document | {"destinationFlowConfigList": []}),
        "--destination-flow-config", json.dumps(document["destinationFlowConfigList"]),
    )
    assert result.code == 0, result.err
    assert Flow.objects.get(name="alias").definition == document


def test_a_bad_document_lists_path_naming_errors_and_saves_nothing(demo):
    document = flow_document("broken")
    document["tasks"][0]["taskType"] = "Mapp"
    document["triggerConfig"] = {"triggerType": "Sometimes"}
    before = Flow.objects.count()

    result = sluice("create-flow", "--cli-input-json", json.dumps(document))

    assert result.code == 254
    assert result.err.startswith(
        "An error occurred (ValidationException) when calling the CreateFlow operation:"
    )
    assert "triggerConfig.triggerType:" in result.err
    assert "tasks[0].taskType:" in result.err
    assert "Traceback" not in result.err
    assert Flow.objects.count() == before


def test_create_flow_needs_a_document(demo):
    result = sluice("create-flow")
    assert result.code == 252 and "--cli-input-json" in result.err
    not_json = sluice("create-flow", "--cli-input-json", "{\n  \"flowName\": 'x'\n}")
    assert not_json.code == 252 and "line 2, column 15" in not_json.err


def test_describe_flow_returns_the_document_unchanged(demo):
    # Keys in an unusual order, nested too: describe-flow must give them back exactly so.
    source = flow_document("ordered")
    document = {key: source[key] for key in reversed(list(source))}
    document["sourceFlowConfig"] = dict(reversed(list(document["sourceFlowConfig"].items())))
    document["tasks"] = [dict(reversed(list(task.items()))) for task in document["tasks"]]
    assert sluice("create-flow", "--cli-input-json", json.dumps(document)).code == 0

    result = sluice("describe-flow", "--flow-name", "ordered")

    assert result.code == 0, result.err
    described = result.json
    state = ["flowArn", "flowStatus", "flowStatusMessage", "createdAt", "lastUpdatedAt",
             "lastRunExecutionDetails"]
    as_given = {key: value for key, value in described.items() if key not in state}
    assert json.dumps(as_given) == json.dumps(document)  # same keys, values and order, all the way down
    assert described["flowArn"] == "arn:sluice:appflow:::flow/ordered"
    assert described["flowStatus"] == "Active" and described["lastRunExecutionDetails"] == {}
    assert isinstance(described["createdAt"], float)


def test_describe_flow_shows_the_last_run(demo):
    flow = demo["flow"]
    add_execution(flow, "Successful", datetime(2025, 1, 1, tzinfo=UTC))
    add_execution(flow, "Error", datetime(2025, 1, 2, tzinfo=UTC), error_message="accounts.csv is gone")
    details = sluice("describe-flow", "--flow-name", FLOW_NAME).json["lastRunExecutionDetails"]
    assert details == {
        "mostRecentExecutionMessage": "accounts.csv is gone",
        "mostRecentExecutionTime": datetime(2025, 1, 2, tzinfo=UTC).timestamp(),
        "mostRecentExecutionStatus": "Error",
    }


def test_describe_flow_that_does_not_exist(db):
    result = sluice("describe-flow", "--flow-name", "x")
    assert result.code == 254
    assert result.err.strip() == (
        "An error occurred (ResourceNotFoundException) when calling the DescribeFlow operation: "
        'No flow named "x".'
    )


def test_list_flows_pages_and_refuses_garbage_tokens(demo, django_assert_max_num_queries):
    for name in ("b-flow", "c-flow"):
        services.create_flow(flow_document(name))
    add_execution(demo["flow"], "Successful", datetime(2025, 1, 1, tzinfo=UTC), records_processed=500)

    with django_assert_max_num_queries(3):
        first = sluice("list-flows", "--max-results", "2")
    assert first.code == 0, first.err
    page = first.json
    assert [f["flowName"] for f in page["flows"]] == ["b-flow", "c-flow"]
    summary = page["flows"][0]
    assert summary["flowArn"] == "arn:sluice:appflow:::flow/b-flow"
    assert summary["sourceConnectorType"] == "CustomConnector"
    assert summary["sourceConnectorLabel"] == "LocalFiles"
    assert summary["destinationConnectorLabel"] == "LocalFiles" and summary["triggerType"] == "OnDemand"
    assert summary["lastRunExecutionDetails"] == {}

    last = sluice("list-flows", "--max-results", "2", "--next-token", page["nextToken"]).json
    assert [f["flowName"] for f in last["flows"]] == [FLOW_NAME] and "nextToken" not in last
    assert last["flows"][0]["lastRunExecutionDetails"]["mostRecentExecutionStatus"] == "Successful"

    garbage = sluice("list-flows", "--next-token", "bm90IGEgdG9rZW4=")
    assert garbage.code == 254 and "nextToken" in garbage.err and "(ValidationException)" in garbage.err
    other = sluice("list-flows", "--max-results", "1").json["nextToken"]
    foreign = sluice("describe-flow-execution-records", "--flow-name", FLOW_NAME, "--next-token", other)
    assert foreign.code == 254 and "other options" in foreign.err
    assert sluice("list-flows", "--max-results", "0").code == 252
    assert sluice("list-flows", "--max-results", "101").code == 252


# Runs


def test_start_flow_returns_the_execution_id(demo):
    result = sluice("start-flow", "--flow-name", FLOW_NAME)
    assert result.code == 0, result.err
    execution = Execution.objects.get()
    assert result.json == {
        "flowArn": f"arn:sluice:appflow:::flow/{FLOW_NAME}",
        "flowStatus": "Active",
        "executionId": str(execution.pk),
    }


def test_start_flow_wait_timeout_leaves_the_run_going(demo):
    # No worker here: the run stays InProgress, so waiting gives up.
    result = sluice("start-flow", "--flow-name", FLOW_NAME, "--wait", "--timeout", "0.3")
    assert result.code == 124
    assert result.json["executionStatus"] == "InProgress"
    assert "still InProgress" in result.err and "cancel-flow-executions" in result.err
    assert sluice("start-flow", "--flow-name", FLOW_NAME, "--wait", "--timeout", "-1").code == 252


@pytest.mark.django_db(transaction=True)
def test_start_flow_wait_on_a_real_worker(celery_worker, demo):
    result = sluice("start-flow", "--flow-name", FLOW_NAME, "--wait", "--timeout", "120")

    assert result.code == 0, result.err
    record = result.json
    assert record["executionStatus"] == "Successful"
    assert record["executionResult"]["recordsProcessed"] == 500
    assert record["executionResult"]["errorInfo"] == {"putFailuresCount": 0, "executionMessage": ""}
    assert record["executionResult"]["bytesWritten"] > 0
    assert record["executionId"] == str(Execution.objects.get().pk)


@pytest.mark.django_db(transaction=True)
def test_start_flow_wait_exits_non_zero_when_the_run_fails(celery_worker, demo):
    demo["csv"].unlink()

    result = sluice("start-flow", "--flow-name", FLOW_NAME, "--wait", "--timeout", "120")

    assert result.code == 1
    assert result.json["executionStatus"] == "Error"
    assert "ended Error" in result.err and "accounts.csv" in result.err


@pytest.fixture
def history(demo) -> list[Execution]:
    """Five runs of the demo flow, a day apart, oldest first."""
    flow = demo["flow"]
    statuses = ["Successful", "Error", "Successful", "Canceled", "InProgress"]
    return [
        add_execution(flow, status, datetime(2025, 1, 1 + day, tzinfo=UTC), records_processed=100 * day)
        for day, status in enumerate(statuses)
    ]


def records(*args: str) -> Result:
    return sluice("describe-flow-execution-records", "--flow-name", FLOW_NAME, *args)


def ids(result: Result) -> list[str]:
    return [record["executionId"] for record in result.json["flowExecutions"]]


def test_execution_records_newest_first_with_paging(history):
    newest_first = [str(e.pk) for e in reversed(history)]
    seen, token = [], None
    for _ in range(3):
        page = records("--max-results", "2", *(["--next-token", token] if token else []))
        assert page.code == 0, page.err
        seen += ids(page)
        token = page.json.get("nextToken")
    assert seen == newest_first and token is None

    record = records("--max-results", "1").json["flowExecutions"][0]
    assert record["executionStatus"] == "InProgress"
    assert record["startedAt"] == datetime(2025, 1, 5, tzinfo=UTC).timestamp()
    assert record["executionResult"] == {
        "errorInfo": {"putFailuresCount": 0, "executionMessage": ""},
        "bytesProcessed": 0, "bytesWritten": 0, "recordsProcessed": 400, "numParallelProcesses": 1,
        "sluice": {"recordsWritten": 0, "recordsFiltered": 0, "recordsDropped": 0,
                   "apiCalls": {"source": 0, "destination": 0, "tokenRefreshes": 0}},
    }


def test_a_new_run_during_paging_does_not_repeat_rows(history, demo):
    first = records("--max-results", "2").json
    add_execution(demo["flow"], "InProgress", datetime(2025, 2, 1, tzinfo=UTC))
    second = records("--max-results", "2", "--next-token", first["nextToken"])
    assert ids(second) == [str(history[2].pk), str(history[1].pk)]


def test_execution_records_sluice_filters(history):
    assert ids(records("--status", "Successful")) == [str(history[2].pk), str(history[0].pk)]
    assert ids(records("--status", "Error", "Canceled")) == [str(history[3].pk), str(history[1].pk)]
    wanted = [str(history[1].pk).upper(), str(history[4].pk)]
    assert ids(records("--execution-ids", *wanted)) == [str(history[4].pk), str(history[1].pk)]
    window = records("--started-after", "2025-01-02T00:00:00Z", "--started-before", "2025-01-04")
    assert ids(window) == [str(history[2].pk), str(history[1].pk)]
    epoch = records("--started-after", str(datetime(2025, 1, 4, tzinfo=UTC).timestamp()))
    assert ids(epoch) == [str(history[4].pk), str(history[3].pk)]


def test_execution_records_bad_input(history):
    filtered = records("--status", "Successful", "--max-results", "1").json
    assert records("--next-token", filtered["nextToken"]).code == 254  # token of another filter
    bad_id = records("--execution-ids", "not-an-id")
    assert bad_id.code == 254 and 'executionIds[0]: "not-an-id" is not an execution id' in bad_id.err
    assert records("--started-after", "last tuesday").code == 252
    assert records("--status", "Done").code == 252
    assert records("--started-after", "2025-02-01", "--started-before", "2025-01-01").code == 254
    assert sluice("describe-flow-execution-records", "--flow-name", "nope").code == 254


def test_cancel_flow_executions(history):
    running, finished = history[4], history[0]

    result = sluice("cancel-flow-executions", "--flow-name", FLOW_NAME, "--execution-ids",
                    str(running.pk), str(finished.pk))

    assert result.code == 0, result.err
    assert result.json == {"invalidExecutions": [str(finished.pk)]}
    running.refresh_from_db()
    assert running.status == "CancelStarted"


def test_cancel_every_run_in_progress(history, demo):
    other = add_execution(demo["flow"], "InProgress", datetime(2025, 3, 1, tzinfo=UTC))
    result = sluice("cancel-flow-executions", "--flow-name", FLOW_NAME)
    assert result.json == {"invalidExecutions": []}
    assert set(Execution.objects.filter(status="CancelStarted").values_list("pk", flat=True)) == {
        history[4].pk, other.pk,
    }


def test_cancel_flow_executions_bad_input(history):
    import uuid

    too_many = [str(uuid.uuid4()) for _ in range(101)]
    result = sluice("cancel-flow-executions", "--flow-name", FLOW_NAME, "--execution-ids", *too_many)
    assert result.code == 254 and "at most 100" in result.err
    unknown = sluice("cancel-flow-executions", "--flow-name", FLOW_NAME, "--execution-ids", str(uuid.uuid4()))
    assert unknown.code == 254 and "(ResourceNotFoundException)" in unknown.err
    assert Execution.objects.get(pk=history[4].pk).status == "InProgress"


def test_delete_flow_refuses_while_running(history):
    refused = sluice("delete-flow", "--flow-name", FLOW_NAME)
    assert refused.code == 254
    assert "(ConflictException) when calling the DeleteFlow operation" in refused.err
    assert Flow.objects.filter(name=FLOW_NAME).exists()


def test_delete_flow_force_deletes_a_running_flow(history):
    forced = sluice("delete-flow", "--flow-name", FLOW_NAME, "--force-delete")
    assert (forced.code, forced.out) == (0, "")
    assert not Flow.objects.filter(name=FLOW_NAME).exists()
    assert sluice("delete-flow", "--flow-name", FLOW_NAME).code == 254


def test_delete_flow_when_nothing_runs(demo):
    assert sluice("delete-flow", "--flow-name", FLOW_NAME).code == 0
    assert not Flow.objects.exists()


# Real exit codes and stderr, as a shell sees them


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"DATABASE_URL": subprocess_database_url()}
    return subprocess.run(
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "sluice", *args],
        capture_output=True, text=True, env=env, timeout=120, cwd=settings.BASE_DIR,
    )


@pytest.mark.django_db(transaction=True)
def test_exit_codes_from_a_shell(demo):
    found = run_cli("describe-flow", "--flow-name", FLOW_NAME)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["flowName"] == FLOW_NAME

    missing = run_cli("describe-flow", "--flow-name", "nope")
    assert missing.returncode == 254
    assert missing.stderr.strip() == (
        "An error occurred (ResourceNotFoundException) when calling the DescribeFlow operation: "
        'No flow named "nope".'
    )
    assert missing.stdout == ""

    usage = run_cli("describe-flow")
    assert usage.returncode == 252 and "--flow-name" in usage.stderr
    assert run_cli().returncode == 252
    assert run_cli("frobnicate").returncode == 252

    bad_json = run_cli("create-flow", "--tasks", "[")
    assert bad_json.returncode == 252 and "Error parsing parameter '--tasks'" in bad_json.stderr
    for result in (missing, usage, bad_json):
        assert "Traceback" not in result.stderr


def test_connection_secrets_survive_only_encrypted(data_dir):
    # The describe output is built from the row; the credentials column itself is ciphertext.
    (data_dir / "s").mkdir()
    connection = connection_services.create_connection(
        name="s", connector_type="CustomConnector", connector_label="LocalFiles",
        properties={"rootPath": str(data_dir / "s")},
    )
    connection.credentials = {"token": "tok-123-secret"}
    connection.save()
    out = sluice("describe-connector-profiles", "--connector-profile-names", "s").out
    assert "tok-123-secret" not in out and "credentialsArn" in out
    assert (datetime.now(UTC) - timedelta(minutes=5)).timestamp() < json.loads(out)[
        "connectorProfileDetails"][0]["createdAt"]
