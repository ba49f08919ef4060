"""The API calls a run made, per side, counted by the shared HTTP layer (connections/connectors/
apicalls.py) and shown on the execution page, in its log, the CLI and the end-of-run event:
against local servers that record every request they answer, so the figure is checked against
what the service saw."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pyarrow as pa
import pytest
from django.core.management import call_command
from django.urls import reverse

from connections.connectors import apicalls
from connections.connectors.base import ConnectionInfo, Connector, SourceBatch, WriteResult
from connections.models import Connection
from connections.net import request
from connections.tests import democrm_server, zendesk_server
from flows import runner, services
from flows.engine import Endpoint, run_flow
from flows.models import Execution
from flows.tests.test_browser import page  # noqa: F401  (the Chromium page fixture)
from flows.tests.test_engine import document, map_all


@pytest.fixture(autouse=True)
def _stop_servers():
    yield
    democrm_server.stop_all()


def wait_for(execution: Execution, timeout: float = 60) -> Execution:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution.refresh_from_db()
        if execution.is_finished:
            return execution
        time.sleep(0.05)
    raise AssertionError(f"execution still {execution.status} after {timeout}s")


def local_files(name: str, root) -> Connection:
    root.mkdir(parents=True, exist_ok=True)
    return Connection.objects.create(name=name, connector_type="CustomConnector", connector_label="LocalFiles",
                                     properties={"rootPath": str(root)})


def flow_document(name: str, source: dict, destination_connection: str, operator_key: str) -> dict:
    return {
        "flowName": name,
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": source,
        "destinationFlowConfigList": [{
            "connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
            "connectorProfileName": destination_connection,
            "destinationConnectorProperties": {"CustomConnector": {
                "entityName": "out", "customProperties": {"fileType": "JSONL"}}},
        }],
        "tasks": [{"sourceFields": [""], "connectorOperator": {operator_key: "NO_OP"}, "taskType": "Map_all",
                   "taskProperties": {"EXCLUDE_SOURCE_FIELDS_LIST": "[]"}}],
    }


# -- the engine says whose calls they are ---------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self):  # noqa: N802
        type(self).seen.append(self.path)
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.seen
    server.shutdown()
    server.server_close()


class PagedApiSource(Connector):
    """One API call per page, made lazily: while the destination is pulling the batches."""

    connector_type = "PagedApi"
    can_be_source = True

    def __init__(self, url: str, pages: int):
        self.url, self.pages = url, pages

    def read(self, conn, entity, fields, filters, window, options) -> Iterator[SourceBatch]:
        for number in range(self.pages):
            request("GET", f"{self.url}/source?page={number}")
            yield SourceBatch(pa.table({"id": [number]}))


class ApiDestination(Connector):
    """One API call per batch it receives, and one to commit."""

    connector_type = "ApiDestination"
    can_be_destination = True

    def __init__(self, url: str):
        self.url = url

    def write(self, conn, entity, batches: Iterable[pa.Table], options) -> WriteResult:
        rows = 0
        for batch in batches:
            request("GET", f"{self.url}/destination?rows={batch.num_rows}")
            rows += batch.num_rows
        request("GET", f"{self.url}/destination?commit")
        return WriteResult(rows, 0)


def test_calls_made_while_the_destination_pulls_batches_are_the_sources(recorder):
    url, seen = recorder
    meter = apicalls.ApiCalls()
    with apicalls.metering(meter):
        result = run_flow(document([map_all()]), Endpoint(PagedApiSource(url, 3), ConnectionInfo("s", "PagedApi")),
                          Endpoint(ApiDestination(url), ConnectionInfo("d", "ApiDestination")), execution_id="x")
    assert result.counters.records_written == 3
    assert meter.source == len([p for p in seen if p.startswith("/source")]) == 3
    assert meter.destination == len([p for p in seen if p.startswith("/destination")]) == 4
    assert meter.token_refreshes == 0


def test_calls_outside_a_metered_run_count_nowhere(recorder):
    url, seen = recorder
    meter = apicalls.ApiCalls()
    request("GET", url + "/before")
    with apicalls.metering(meter):
        request("GET", url + "/no-side-said")  # e.g. the rejects file: neither side's service
        with apicalls.on_behalf_of(apicalls.SOURCE):
            request("GET", url + "/source")
    request("GET", url + "/after")
    assert len(seen) == 4 and meter.as_dict() == {"source": 1, "destination": 0, "token_refreshes": 0}


# -- a real run on a real worker ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_zendesk_run_shows_the_requests_zendesk_received(celery_worker, data_dir, monkeypatch, settings,
                                                           signed_in):
    settings.SLUICE_RETRY_BASE_SECONDS = 0.01
    account = zendesk_server.serve(monkeypatch)
    account.fail_next.append((503, {}))  # the first attempt fails and is retried: both are billed
    zd = Connection(name="support", connector_type="Zendesk",
                    properties={"subdomain": "acme", "clientId": "sluice", "baseUrl": account.base})
    zd.credentials = {"clientSecret": "s", "accessToken": "zd-token", "refreshToken": "r",
                      "expiresAt": int(time.time()) + 86400}
    zd.save()
    local_files("files", data_dir / "lake")
    flow = services.create_flow(flow_document("tickets-to-lake", {
        "connectorType": "Zendesk", "connectorProfileName": "support",
        "sourceConnectorProperties": {"Zendesk": {"object": "tickets"}}}, "files", "Zendesk"))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    assert execution.records_written == 250
    received = len(account.requests)
    # the refused first call, then the retry: the ticket fields and three pages of 100 tickets
    assert received == 5 and len([r for r in account.requests if r.startswith("/api/v2/tickets.json")]) == 3
    assert (execution.source_api_calls, execution.destination_api_calls, execution.token_refreshes) == (5, 0, 0)
    messages = list(execution.log_lines.values_list("message", flat=True))
    assert "API calls: 5 to the source, 0 to the destination, 0 token refreshes." in messages

    html = signed_in.get(reverse("flows:execution", args=[flow.name, execution.id])).content.decode()
    assert f'data-counter="source_api_calls">{received}</dd>' in html
    assert 'data-counter="destination_api_calls">0</dd>' in html

    out = StringIO()
    call_command("sluice", "describe-flow-execution-records", "--flow-name", flow.name, stdout=out)
    record = json.loads(out.getvalue())["flowExecutions"][0]
    assert record["executionResult"]["sluice"]["apiCalls"] == {"source": 5, "destination": 0, "tokenRefreshes": 0}
    end = execution.run_events.get(kind="AppFlow End Flow Run Report")
    assert end.detail["num-of-api-calls"] == {"source": 5, "destination": 0, "token-refreshes": 0}


@pytest.mark.django_db(transaction=True)
def test_token_refreshes_are_counted_apart(data_dir, monkeypatch, django_capture_on_commit_callbacks):
    provider = democrm_server.serve(monkeypatch)
    issued = provider._tokens()
    crm = Connection(name="crm", connector_type="CustomConnector", connector_label="DemoCRM",
                     properties={"instanceUrl": provider.base, "clientId": democrm_server.CLIENT_ID})
    crm.credentials = {"clientSecret": democrm_server.CLIENT_SECRET, "accessToken": issued["access_token"],
                       "refreshToken": issued["refresh_token"], "expiresAt": int(time.time()) + 30}
    crm.save()  # the token expires within the leeway: refreshed before the run
    local_files("files", data_dir / "lake")
    flow = services.create_flow(flow_document("crm-to-lake", {
        "connectorType": "CustomConnector", "connectorLabel": "DemoCRM", "connectorProfileName": "crm",
        "sourceConnectorProperties": {"CustomConnector": {"entityName": "Accounts"}}}, "files", "CustomConnector"))
    with django_capture_on_commit_callbacks(execute=False):
        execution = services.start_flow(flow)

    runner.run_execution(str(execution.id), worker="w")

    execution.refresh_from_db()
    assert execution.status == "Successful", execution.error_message
    assert len(provider.token_calls) == execution.token_refreshes == 1
    assert execution.source_api_calls == len(provider.requests) > 1
    assert execution.destination_api_calls == 0


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_execution_page_shows_the_api_calls(data_dir, monkeypatch, django_capture_on_commit_callbacks, owner,
                                                page):  # noqa: F811  (the fixture imported above)
    from playwright.sync_api import expect

    from flows.tests.test_browser import log_in

    account = zendesk_server.serve(monkeypatch)
    zd = Connection(name="support", connector_type="Zendesk",
                    properties={"subdomain": "acme", "clientId": "sluice", "baseUrl": account.base})
    zd.credentials = {"clientSecret": "s", "accessToken": "zd-token", "expiresAt": int(time.time()) + 86400}
    zd.save()
    local_files("files", data_dir / "lake")
    flow = services.create_flow(flow_document("tickets-to-lake", {
        "connectorType": "Zendesk", "connectorProfileName": "support",
        "sourceConnectorProperties": {"Zendesk": {"object": "users"}}}, "files", "Zendesk"))
    with django_capture_on_commit_callbacks(execute=False):
        execution = services.start_flow(flow)
    runner.run_execution(str(execution.id), worker="w")

    log_in(page)
    page.goto(reverse("flows:execution", args=[flow.name, execution.id]))
    expect(page.get_by_role("heading", name="API calls")).to_be_visible()
    expect(page.locator('[data-counter="source_api_calls"]')).to_have_text(str(len(account.requests)))
    expect(page.locator('[data-counter="token_refreshes"]')).to_have_text("0")
    expect(page.locator("table.log")).to_contain_text("API calls: 2 to the source")
    page.screenshot(path="/tmp/shots-issue-8x/execution-api-calls.png", full_page=True)


# -- S3 (boto3, not the shared HTTP layer) counts too ----------------------------------------------


class _CountingProxy(BaseHTTPRequestHandler):
    """Forwards every request to the S3 test server and records it: what the store received."""

    upstream = ""
    seen: list[str] = []

    def _forward(self):
        import http.client
        from urllib.parse import urlsplit

        type(self).seen.append(f"{self.command} {self.path}")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        target = urlsplit(self.upstream)
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        conn.request(self.command, self.path, body=body, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward  # noqa: N815

    def log_message(self, *args):
        pass


def test_s3_requests_count_for_their_side(data_dir):
    from connections.connectors.localfiles import LocalFilesConnector
    from connections.connectors.s3 import S3Connector
    from connections.tests import s3server

    bucket = s3server.new_bucket()
    _CountingProxy.upstream, _CountingProxy.seen = s3server.need_s3(), []
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _CountingProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        (data_dir / "accounts.csv").write_text("Id,Name\n1,Acme\n2,Globex\n")
        doc = {
            "sourceFlowConfig": {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
                                 "sourceConnectorProperties": {"CustomConnector": {"entityName": "accounts.csv"}}},
            "destinationFlowConfigList": [{"connectorType": "S3", "destinationConnectorProperties": {"S3": {
                "bucketName": bucket, "bucketPrefix": "crm", "s3OutputFormatConfig": {"fileType": "JSON"}}}}],
            "tasks": [{"taskType": "Map_all", "sourceFields": [""], "connectorOperator": {"S3": "NO_OP"},
                       "taskProperties": {}}],
        }
        files = Endpoint(LocalFilesConnector(), ConnectionInfo("files", "CustomConnector", "LocalFiles",
                                                               {"rootPath": str(data_dir)}))
        conn = s3server.connection_info(endpointUrl=f"http://127.0.0.1:{proxy.server_address[1]}")
        meter = apicalls.ApiCalls()
        with apicalls.metering(meter):
            result = run_flow(doc, files, Endpoint(S3Connector(), conn), execution_id="exec-calls")
        assert result.status == "Successful"
        assert meter.destination == len(_CountingProxy.seen) >= 2  # at least the upload and the publish
        assert meter.source == 0 and meter.token_refreshes == 0
    finally:
        proxy.shutdown()
        proxy.server_close()
