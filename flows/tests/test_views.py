"""Flow pages through the test client: list, flow page, execution page, run, cancel, import, delete."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from console.tests.pages import SECRET, connection_with_secret, every_page, flow_document, make_execution
from flows import services
from flows.models import Execution, Flow

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def flow_url(flow: Flow, route: str = "detail") -> str:
    return reverse(f"flows:{route}", args=[flow.name])


def execution_url(execution: Execution) -> str:
    return reverse("flows:execution", args=[execution.flow.name, execution.id])


# --- list and flow page -----------------------------------------------------------------------


def test_list_shows_status_trigger_endpoints_and_last_run(signed_in, demo):
    make_execution(demo["flow"], minutes_ago=5, status="Error")
    newest = make_execution(demo["flow"], minutes_ago=1)
    html = signed_in.get(reverse("flows:list")).content.decode()
    assert demo["flow"].name in html
    assert "Active" in html and "OnDemand" in html
    assert "accounts.csv" in html and "out/accounts" in html
    assert execution_url(newest) in html  # the last run links to the newest execution
    assert "badge-ok" in html


def test_list_has_an_empty_state(signed_in):
    assert "No flows yet" in signed_in.get(reverse("flows:list")).content.decode()


def test_list_is_paginated_with_a_fixed_number_of_queries(signed_in, demo, django_assert_max_num_queries):
    for i in range(30):
        flow = services.create_flow(flow_document(f"flow-{i:02d}"))
        make_execution(flow)
    with django_assert_max_num_queries(7):  # the registered connectors, the user's roles
        response = signed_in.get(reverse("flows:list"))
    assert response.status_code == 200
    assert response.content.decode().count('<tr>') == 1 + 25  # header + one page
    second = signed_in.get(reverse("flows:list") + "?page=2").content.decode()
    assert "flow-29" in second and "flow-00" not in second


def test_flow_page_shows_details_field_settings_document_and_history(signed_in, demo, owner):
    flow = demo["flow"]
    response = signed_in.get(flow_url(flow))
    assert response.status_code == 200
    html = response.content.decode()
    assert flow.description in html
    assert "OnDemand" in html
    assert "accounts.csv" in html and "out/accounts" in html and "JSONL" in html
    assert reverse("connections:detail", args=["demo-local-files"]) in html
    assert "<dt>Version</dt><dd>1, saved" in html and "by owner" in html
    assert "All fields" in html
    assert "&quot;flowName&quot;: &quot;demo-accounts-to-jsonl&quot;" in html  # pretty JSON, escaped
    assert "Run flow" in html and flow_url(flow, "run") in html
    assert flow_url(flow, "download") in html
    assert "This flow has not run yet" in html
    assert 'hx-trigger="every 1s"' not in html  # nothing running, nothing to poll


def test_field_settings_for_map_projection_and_other_tasks(signed_in, demo):
    tasks = [
        {"sourceFields": ["Id", "Name", "Phone"], "connectorOperator": {"CustomConnector": "PROJECTION"},
         "taskType": "Filter", "taskProperties": {}},
        {"sourceFields": ["Id"], "connectorOperator": {"CustomConnector": "NO_OP"}, "taskType": "Map",
         "destinationField": "account_id", "taskProperties": {}},
        {"sourceFields": ["Name"], "connectorOperator": {"CustomConnector": "NO_OP"}, "taskType": "Map",
         "destinationField": "Name", "taskProperties": {}},
        {"sourceFields": ["Phone"], "connectorOperator": {"CustomConnector": "MASK_ALL"}, "taskType": "Mask",
         "taskProperties": {"MASK_VALUE": "*"}},
    ]
    flow = services.create_flow(flow_document("mapped", tasks=tasks))
    html = signed_in.get(flow_url(flow)).content.decode()
    assert "account_id" in html
    assert "Fields read from the source" in html and "<code>Phone</code>" in html
    assert "Modify" in html and 'Mask every character of Phone with &quot;*&quot;' in html
    assert "MASK_VALUE" not in html.split("<h2>Flow document</h2>")[0]
    assert "All fields" not in html


def test_field_settings_speak_the_wizards_words(signed_in, demo):
    """A formula is 'label = Name + " @ " + BillingCity' on the field it writes (not "Name,BillingCity
    -> label" with "? -> string"); a filter made as "is one of" says so; a check as the wizard put it."""
    from flows.wizard.mapping import (
        FieldChoices,
        FieldMapping,
        FilterRule,
        Formula,
        ValidationRule,
        build_tasks,
    )

    choices = FieldChoices(
        maps=[FieldMapping("Name", "name"), FieldMapping("BillingCity", "city")],
        formulas=[Formula("concat", ["Name", "BillingCity"], "label", separator=" @ ")],
        validations=[ValidationRule("Name", "null", "stop")],
        filters=[FilterRule("BillingCountry", "one_of", ["France", "Canada"])],
    )
    flow = services.create_flow(flow_document("worded", tasks=build_tasks(choices, "CustomConnector")))
    page = signed_in.get(flow_url(flow)).content.decode().split("<h2>Flow document</h2>")[0]
    assert '<td class="mono">label</td><td>label = Name + &quot; @ &quot; + BillingCity</td>' in page
    assert "Name,BillingCity" not in page and "? →" not in page
    assert "BillingCountry is one of France, Canada" in page and "EQUAL_TO" not in page
    assert "When Name is null: Stop the run" in page and "DropDataset" not in page


def test_map_all_lists_the_excluded_fields(signed_in, demo):
    tasks = [{"sourceFields": [""], "connectorOperator": {"CustomConnector": "NO_OP"}, "taskType": "Map_all",
              "taskProperties": {"EXCLUDE_SOURCE_FIELDS_LIST": '["Phone","Website"]'}}]
    flow = services.create_flow(flow_document("most-fields", tasks=tasks))
    html = signed_in.get(flow_url(flow)).content.decode()
    assert "All fields</strong>, except: <code>Phone</code>, <code>Website</code>" in html


def test_download_gives_back_the_stored_document(signed_in, demo):
    response = signed_in.get(flow_url(demo["flow"], "download"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == 'attachment; filename="demo-accounts-to-jsonl.json"'
    assert response.content.decode() == demo["flow"].current_version.document  # byte for byte
    assert json.loads(response.content) == demo["flow"].definition


def test_unknown_flows_and_executions_are_404(signed_in, demo):
    other = services.create_flow(flow_document("other"))
    execution = make_execution(other)
    assert signed_in.get(reverse("flows:detail", args=["nope"])).status_code == 404
    assert signed_in.get(reverse("flows:download", args=["nope"])).status_code == 404
    assert signed_in.post(reverse("flows:run", args=["nope"])).status_code == 404
    assert signed_in.get(reverse("flows:delete", args=["nope"])).status_code == 404
    # An execution only exists under its own flow.
    wrong = reverse("flows:execution", args=[demo["flow"].name, execution.id])
    assert signed_in.get(wrong).status_code == 404
    assert signed_in.get(f"/flows/{demo['flow'].name}/executions/not-a-uuid/").status_code == 404


# --- history ------------------------------------------------------------------------------------


def test_history_is_newest_first_20_a_page(signed_in, demo, django_assert_max_num_queries):
    flow = demo["flow"]
    executions = [make_execution(flow, minutes_ago=i) for i in range(25)]  # [0] is the newest

    # one the runs chart's, one the registered connectors', two the user's roles and the flow's team
    with django_assert_max_num_queries(12):
        first = signed_in.get(flow_url(flow)).content.decode()
    second = signed_in.get(flow_url(flow) + "?page=2").content.decode()

    def shown(html: str) -> list[str]:
        return [str(e.id) for e in executions if f'data-execution="{e.id}"' in html]

    def order(html: str) -> list[str]:
        return sorted(shown(html), key=lambda i: html.index(f'data-execution="{i}"'))

    assert order(first) == [str(e.id) for e in executions[:20]]
    assert order(second) == [str(e.id) for e in executions[20:]]
    assert "Page 2 of 2" in second


def test_history_polls_while_a_run_is_in_progress(signed_in, demo):
    make_execution(demo["flow"], status="InProgress")
    html = signed_in.get(flow_url(demo["flow"])).content.decode()
    assert 'id="history" hx-get="' in html and 'hx-trigger="every 1s"' in html

    partial = signed_in.get(flow_url(demo["flow"]), HTTP_HX_TARGET="history", **HTMX).content.decode()
    assert partial.lstrip().startswith('<div id="history"')
    assert "<html" not in partial


# --- run and cancel -----------------------------------------------------------------------------


def test_run_flow_creates_an_in_progress_execution_and_shows_it(
    signed_in, demo, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        response = signed_in.post(flow_url(demo["flow"], "run"))
    execution = demo["flow"].executions.get()
    assert execution.status == "InProgress"
    assert execution.started_by == owner
    assert len(enqueued) == 1  # handed to a worker once the row is committed
    assert response.status_code == 302
    assert response["Location"] == execution_url(execution)

    page = signed_in.get(response["Location"]).content.decode()
    assert "Run started" in page
    assert "InProgress" in page and "badge-running" in page
    assert 'hx-trigger="every 1s"' in page
    assert "Queued by owner" in page


def test_run_flow_with_htmx_swaps_in_the_history(signed_in, demo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = signed_in.post(flow_url(demo["flow"], "run"), HTTP_HX_TARGET="history", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    execution = demo["flow"].executions.get()
    assert html.lstrip().startswith('<div id="history"')
    assert f'data-execution="{execution.id}"' in html and "InProgress" in html
    assert 'hx-trigger="every 1s"' in html
    assert 'id="messages" class="messages" aria-live="polite" hx-swap-oob="true"' in html
    assert "Run started" in html


def test_running_a_suspended_flow_says_why(signed_in, demo):
    Flow.objects.filter(pk=demo["flow"].pk).update(status="Suspended", status_message="Its connection went.")
    response = signed_in.post(flow_url(demo["flow"], "run"), follow=True)
    assert "is suspended" in response.content.decode()
    assert not demo["flow"].executions.exists()


def test_execution_page_shows_counters_times_and_log(signed_in, demo):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    execution = make_execution(
        demo["flow"], status="Successful", records_processed=500, records_written=498, record_failures=2,
        bytes_processed=123_456, bytes_written=2 * 1024 * 1024, output_location="/data/out/accounts/x",
        started_at=now - timedelta(seconds=3), finished_at=now,
        data_pull_start=now - timedelta(days=1), data_pull_end=now,
    )
    services.log(execution, "Read 500 records from accounts.csv.")
    services.log(execution, "Record 17: Phone is not a number.", "WARNING")
    html = signed_in.get(execution_url(execution)).content.decode()
    assert "badge-ok" in html and "Successful" in html
    assert ">500<" in html and ">498<" in html
    assert "120.6 KiB" in html and "123,456 bytes" in html
    assert "2.0 MiB" in html and "2,097,152 bytes" in html
    assert "3.00 s" in html
    assert "/data/out/accounts/x" in html
    assert "Incremental window" in html
    assert "Read 500 records from accounts.csv." in html and "WARNING" in html
    assert 'hx-trigger="every 1s"' not in html  # finished: no polling
    assert "Cancel</button>" not in html


def test_execution_page_shows_a_sample_of_rejected_records_with_reasons(signed_in, demo):
    sample = [{"where": f"record {n}", "reason": f"column amount: <b>{n}</b> is not a number"}
              for n in range(1, 21)]
    execution = make_execution(demo["flow"], record_failures=57, failure_sample=sample,
                               rejects_location="s3://lake/rejects/exec-1/")
    html = signed_in.get(execution_url(execution)).content.decode()
    assert "Rejected records" in html and "The first 20 of 57 record failures." in html
    assert '<td class="mono nowrap">record 17</td>' in html
    assert "column amount: &lt;b&gt;17&lt;/b&gt; is not a number" in html  # escaped, never markup
    assert "was written to <span class=\"mono\">s3://lake/rejects/exec-1/</span>" in html

    one = make_execution(demo["flow"], record_failures=1, failure_sample=sample[:1])
    html = signed_in.get(execution_url(one)).content.decode()
    assert "1 record failure." in html and "written to" not in html
    clean = signed_in.get(execution_url(make_execution(demo["flow"]))).content.decode()
    assert "Rejected records" not in clean


def test_execution_poll_answers_the_status_partial(signed_in, demo):
    execution = make_execution(demo["flow"], status="InProgress")
    partial = signed_in.get(execution_url(execution), HTTP_HX_TARGET="execution-status", **HTMX).content.decode()
    assert partial.lstrip().startswith('<div id="execution-status"')
    assert 'hx-trigger="every 1s"' in partial and "Cancel</button>" in partial

    Execution.objects.filter(pk=execution.pk).update(status="Successful", records_processed=500)
    partial = signed_in.get(execution_url(execution), HTTP_HX_TARGET="execution-status", **HTMX).content.decode()
    assert "Successful" in partial and ">500<" in partial
    assert 'hx-trigger="every 1s"' not in partial  # polling stops with the swap


def test_cancel_moves_in_progress_to_cancel_started(signed_in, demo):
    execution = make_execution(demo["flow"], status="InProgress")
    response = signed_in.post(reverse("flows:cancel", args=[demo["flow"].name, execution.id]))
    assert response.status_code == 302 and response["Location"] == execution_url(execution)
    execution.refresh_from_db()
    assert execution.status == "CancelStarted"
    page = signed_in.get(execution_url(execution)).content.decode()
    assert "CancelStarted" in page and "Cancel requested" in page
    assert 'hx-trigger="every 1s"' in page  # still polling until the worker says Canceled
    assert "Cancel</button>" not in page


def test_cancel_with_htmx_answers_the_status_partial(signed_in, demo):
    execution = make_execution(demo["flow"], status="InProgress")
    response = signed_in.post(reverse("flows:cancel", args=[demo["flow"].name, execution.id]), **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="execution-status"')
    assert "CancelStarted" in html and 'hx-swap-oob="true"' in html


def test_cancelling_a_finished_execution_says_nothing_changed(signed_in, demo):
    execution = make_execution(demo["flow"], status="Successful")
    response = signed_in.post(reverse("flows:cancel", args=[demo["flow"].name, execution.id]), follow=True)
    assert "Nothing to cancel" in response.content.decode()
    execution.refresh_from_db()
    assert execution.status == "Successful"


# --- import ------------------------------------------------------------------------------------


def test_import_page_renders(signed_in):
    html = signed_in.get(reverse("flows:import")).content.decode()
    assert 'name="document"' in html and 'name="file"' in html and 'enctype="multipart/form-data"' in html


def test_import_a_good_document(signed_in, demo, owner):
    response = signed_in.post(reverse("flows:import"), {"document": json.dumps(flow_document("imported"))})
    flow = Flow.objects.get(name="imported")
    assert flow.current_version.created_by == owner
    assert response.status_code == 302 and response["Location"] == flow_url(flow)
    assert "Imported the flow" in signed_in.get(response["Location"]).content.decode()


def test_import_an_uploaded_file(signed_in, demo):
    upload = SimpleUploadedFile("flow.json", json.dumps(flow_document("uploaded")).encode(), "application/json")
    response = signed_in.post(reverse("flows:import"), {"file": upload})
    assert response.status_code == 302
    assert Flow.objects.filter(name="uploaded").exists()


def test_import_a_cloudformation_block(signed_in, demo):
    resource = {
        "Type": "AWS::AppFlow::Flow",
        "Properties": {
            "FlowName": "from-cloudformation",
            "TriggerConfig": {"TriggerType": "OnDemand"},
            "SourceFlowConfig": {
                "ConnectorType": "CustomConnector", "ConnectorLabel": "LocalFiles",
                "ConnectorProfileName": "demo-local-files",
                "SourceConnectorProperties": {"CustomConnector": {"EntityName": "accounts.csv"}},
            },
            "DestinationFlowConfigList": [{
                "ConnectorType": "CustomConnector", "ConnectorLabel": "LocalFiles",
                "ConnectorProfileName": "demo-local-files",
                "DestinationConnectorProperties": {"CustomConnector": {
                    "EntityName": "out/cfn", "CustomProperties": {"fileType": "JSONL"}}},
            }],
            "Tasks": [{"SourceFields": [""], "ConnectorOperator": {"CustomConnector": "NO_OP"},
                       "TaskType": "Map_all",
                       "TaskProperties": [{"Key": "EXCLUDE_SOURCE_FIELDS_LIST", "Value": "[]"}]}],
        },
    }
    response = signed_in.post(reverse("flows:import"), {"document": json.dumps({"Resources": {"Flow": resource}})})
    errors = response.content.decode() if response.status_code == 200 else ""
    assert response.status_code == 302, errors
    assert Flow.objects.filter(name="from-cloudformation").exists()


def test_import_a_bad_document_lists_every_error_with_its_path(signed_in, demo):
    document = flow_document("typo")
    document["tasks"][0]["taskType"] = "Map_al"
    document["sourceFlowConfig"]["connectorProfileName"] = "no-such-connection"
    response = signed_in.post(reverse("flows:import"), {"document": json.dumps(document)})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<code class="path">tasks[0].taskType</code>' in html
    assert "Traceback" not in html
    assert not Flow.objects.filter(name="typo").exists()
    assert "Map_al" in html  # the pasted text stays in the textarea to be fixed


def test_import_names_a_missing_connection(signed_in, demo):
    document = flow_document("orphan", connection="no-such-connection")
    html = signed_in.post(reverse("flows:import"), {"document": json.dumps(document)}).content.decode()
    assert '<code class="path">sourceFlowConfig.connectorProfileName</code>' in html
    assert "no-such-connection" in html


def test_import_malformed_json_says_where(signed_in):
    response = signed_in.post(reverse("flows:import"), {"document": '{"flowName": "x",\n  "tasks": [}'})
    assert response.status_code == 200
    html = response.content.decode()
    assert "not valid JSON at line 2" in html
    assert "Traceback" not in html


def test_import_needs_a_document(signed_in):
    html = signed_in.post(reverse("flows:import"), {"document": "  "}).content.decode()
    assert "Paste a flow document" in html


def test_import_refuses_files_over_1_mb(signed_in):
    upload = SimpleUploadedFile("big.json", b" " * (1024 * 1024 + 1), "application/json")
    html = signed_in.post(reverse("flows:import"), {"file": upload}).content.decode()
    assert "the limit is 1 MB" in html


def test_import_refuses_pasted_text_over_1_mb(signed_in):
    html = signed_in.post(reverse("flows:import"), {"document": "[" + " " * (1024 * 1024) + "]"}).content.decode()
    assert "the limit is 1 MB" in html


def test_import_an_existing_name_is_a_conflict(signed_in, demo):
    document = flow_document(demo["flow"].name)
    html = signed_in.post(reverse("flows:import"), {"document": json.dumps(document)}).content.decode()
    assert "already exists" in html


# --- delete ------------------------------------------------------------------------------------


def test_delete_asks_then_deletes(signed_in, demo):
    flow = demo["flow"]
    make_execution(flow)
    page = signed_in.get(flow_url(flow, "delete")).content.decode()
    assert "Delete the flow" in page and "1 execution" in page
    assert 'name="force"' not in page
    response = signed_in.post(flow_url(flow, "delete"), {"confirm": "delete"})
    assert response.status_code == 302 and response["Location"] == reverse("flows:list")
    assert not Flow.objects.filter(name=flow.name).exists()
    assert "Deleted the flow" in signed_in.get(reverse("flows:list")).content.decode()


def test_delete_with_a_run_in_progress_offers_force(signed_in, demo):
    flow = demo["flow"]
    make_execution(flow, status="InProgress")
    page = signed_in.get(flow_url(flow, "delete")).content.decode()
    assert 'name="force"' in page and "1 execution is in progress" in page
    response = signed_in.post(flow_url(flow, "delete"), {"confirm": "delete"})
    assert response.status_code == 200
    assert "Cancel them first, or force the delete" in response.content.decode()
    assert Flow.objects.filter(name=flow.name).exists()
    response = signed_in.post(flow_url(flow, "delete"), {"force": "on", "confirm": "delete"})
    assert response.status_code == 302
    assert not Flow.objects.filter(name=flow.name).exists()


# --- secrets -----------------------------------------------------------------------------------


def test_no_page_ever_shows_a_secret(signed_in, demo):
    connection = connection_with_secret(str(demo["root"]))
    flow = services.create_flow(flow_document("secretive", connection=connection.name))
    execution = make_execution(flow, status="Error", error_message="It failed.")
    services.log(execution, "Something happened.")
    pages = every_page(flow, execution, connection) + every_page(demo["flow"], execution, demo["connection"])
    for url in pages:
        response = signed_in.get(url)
        if response.status_code == 404:  # the execution belongs to one flow only
            continue
        assert response.status_code == 200, url
        body = response.content.decode()
        assert SECRET not in body, url
        assert connection.credentials_encrypted not in body, url
    partial = signed_in.get(execution_url(execution), HTTP_HX_TARGET="execution-status", **HTMX).content.decode()
    assert SECRET not in partial
