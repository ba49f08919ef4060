"""Every error class of AppFlow's model, provoked once through boto3 and caught as its typed
exception; and bad input sent by hand (what boto3 would refuse to send): each a clear AppFlow
error, nothing changed."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from api import keys
from api.models import AccessKey
from api.operations import OPERATIONS
from api.tests.conftest import Key, client_for, send, sign
from connections.connectors.base import ConnectorError
from connections.connectors.localfiles import LocalFilesConnector
from connections.models import Connection

pytestmark = pytest.mark.django_db(transaction=True)


def local_files(root) -> dict:
    return {"connectorProfileProperties": {"CustomConnector": {"profileProperties": {"rootPath": str(root)}}}}


def create_files_profile(client, name: str, root) -> dict:
    return client.create_connector_profile(
        connectorProfileName=name, connectorType="CustomConnector", connectorLabel="LocalFiles",
        connectionMode="Public", connectorProfileConfig=local_files(root),
    )


def test_validation_not_found_conflict_and_quota(appflow, data_dir, settings):
    with pytest.raises(appflow.exceptions.ResourceNotFoundException) as missing:
        appflow.describe_flow(flowName="nope")
    assert 'No flow named "nope"' in str(missing.value)
    create_files_profile(appflow, "files", data_dir)
    with pytest.raises(appflow.exceptions.ConflictException):
        create_files_profile(appflow, "files", data_dir)
    with pytest.raises(appflow.exceptions.ValidationException) as invalid:
        appflow.list_flows(nextToken="garbage")
    settings.SLUICE_MAX_CONNECTIONS = 1
    with pytest.raises(appflow.exceptions.ServiceQuotaExceededException):
        create_files_profile(appflow, "files-2", data_dir)
    assert "nextToken" in str(invalid.value)


def test_a_failed_connection_test_and_a_connector_server_error(appflow, data_dir, monkeypatch):
    # A connection without credentials cannot fail to authenticate: a wrong folder is a
    # validation error (the Demo CRM's refused token is test_embed's ConnectorAuthenticationException).
    with pytest.raises(appflow.exceptions.ValidationException) as refused:
        create_files_profile(appflow, "gone", data_dir / "no-such-folder")
    assert "connection test failed" in str(refused.value)
    assert not Connection.objects.filter(name="gone").exists()
    create_files_profile(appflow, "files", data_dir)

    def down(self, conn, parent=None):
        raise ConnectorError("The file server did not answer.", permanent=False)

    monkeypatch.setattr(LocalFilesConnector, "list_entities", down)
    with pytest.raises(appflow.exceptions.ConnectorServerException) as server:
        appflow.list_connector_entities(connectorProfileName="files")
    assert "did not answer" in str(server.value)


def test_unsupported_access_denied_throttling_internal(appflow, live_server, settings, monkeypatch, demo):
    with pytest.raises(appflow.exceptions.UnsupportedOperationException) as unsupported:
        appflow.stop_flow(flowName=demo["flow"].name)
    assert "runs on demand" in str(unsupported.value)
    with pytest.raises(appflow.exceptions.AccessDeniedException) as not_staff:
        appflow.register_connector(connectorLabel="mine", connectorProvisioningType="LAMBDA")
    assert "Only staff users register" in str(not_staff.value)
    stranger = client_for(live_server, Key("SLKNOSUCHKEY0000000", "x" * 40))
    with pytest.raises(stranger.exceptions.AccessDeniedException) as denied:
        stranger.list_flows()
    assert "SLKNOSUCHKEY0000000" in str(denied.value)

    def broken(options, params):
        raise RuntimeError("a bug")

    monkeypatch.setitem(OPERATIONS, "ListFlows", broken)
    with pytest.raises(appflow.exceptions.InternalServerException) as internal:
        appflow.list_flows()
    assert "a bug" not in str(internal.value)
    settings.SLUICE_API_REQUESTS_PER_MINUTE = 0
    with pytest.raises(appflow.exceptions.ThrottlingException) as throttled:
        appflow.describe_connectors()
    assert throttled.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"].isdigit()


def create_profile_body(root, name: str = "raw") -> dict:
    return {"connectorProfileName": name, "connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
            "connectionMode": "Public", "connectorProfileConfig": local_files(root)}


def test_malformed_json_unknown_members_and_wrong_types(live_server, api_key, data_dir):
    path = "/create-connector-profile"
    answer = send(live_server, path, b'{"connectorProfileName": ', key=api_key)
    assert (answer.status, answer.code) == (400, "ValidationException")
    assert "not valid JSON" in answer.body["message"]

    body = create_profile_body(data_dir) | {"color": "blue"}
    answer = send(live_server, path, json.dumps(body).encode(), key=api_key)
    assert answer.code == "ValidationException"
    assert "color: is not a member of CreateConnectorProfileRequest" in answer.body["message"]

    body = create_profile_body(data_dir) | {"connectionMode": 7}
    body["connectorProfileConfig"]["connectorProfileProperties"]["CustomConnector"]["profileProperties"] = []
    answer = send(live_server, path, json.dumps(body).encode(), key=api_key)
    message = answer.body["message"]
    assert "connectionMode: must be a string" in message
    assert "connectorProfileConfig.connectorProfileProperties.CustomConnector.profileProperties: must be a " \
           "JSON object" in message
    assert not Connection.objects.exists()


def test_an_oversized_body_is_refused_before_it_is_read(live_server, api_key, data_dir):
    body = json.dumps(create_profile_body(data_dir) | {"pad": "x" * (1024 * 1024)}).encode()
    answer = send(live_server, "/create-connector-profile", body, key=api_key)
    assert (answer.status, answer.code) == (413, "ValidationException")
    assert "larger than 1024 KiB" in answer.body["message"]
    assert not Connection.objects.exists()


@pytest.fixture
def refusal_log():
    """What the API logs about refused requests, caught at its own logger: what an earlier test in
    the same process did to logging (a logging.config call disables the loggers that existed then;
    seen in the full suite) must not hide the lines."""
    logger = logging.getLogger("sluice.api")
    was = logger.disabled, logger.level
    text = io.StringIO()
    handler = logging.StreamHandler(text)
    logger.disabled = False
    logger.setLevel(logging.WARNING)
    logger.addHandler(handler)
    yield text
    logger.removeHandler(handler)
    logger.disabled, logger.level = was


def test_signatures_over_another_body_expired_deactivated_and_replayed(live_server, api_key, owner, data_dir,
                                                                       refusal_log):
    url = live_server.url + "/api/appflow/create-connector-profile"
    body = json.dumps(create_profile_body(data_dir)).encode()
    other = json.dumps(create_profile_body(data_dir, "other")).encode()
    answer = send(live_server, "/create-connector-profile", other, sign(url, api_key, body))
    assert answer.code == "AccessDeniedException"
    assert "signature does not match" in answer.body["message"]

    past = datetime.now(UTC) - timedelta(minutes=16)
    with mock.patch("botocore.auth.get_current_datetime", return_value=past.replace(tzinfo=None)):
        old = sign(url, api_key, body)
    answer = send(live_server, "/create-connector-profile", body, old)
    assert answer.code == "AccessDeniedException"
    assert "more than 15 minutes" in answer.body["message"]
    assert not Connection.objects.exists()

    signed = sign(url, api_key, body)
    assert send(live_server, "/create-connector-profile", body, signed).status == 200
    replay = send(live_server, "/create-connector-profile", body, signed)
    assert replay.code == "AccessDeniedException"
    assert "already received" in replay.body["message"]
    assert Connection.objects.count() == 1

    keys.set_active(AccessKey.objects.get(access_key_id=api_key.id), False)
    answer = send(live_server, "/list-flows", b"{}", key=api_key)
    assert answer.code == "AccessDeniedException"
    assert "not an active Sluice access key" in answer.body["message"]
    # Refusals are logged by key id, never with the secret or the signature.
    logged = refusal_log.getvalue()
    assert api_key.id in logged
    assert api_key.secret not in logged
    assert signed.headers["Authorization"].split("Signature=")[1] not in logged


def test_a_request_for_another_region_or_service_is_refused(live_server, api_key):
    url = live_server.url + "/api/appflow/list-flows"
    request = sign(url, api_key, b"{}")
    request.headers.replace_header(
        "Authorization", request.headers["Authorization"].replace("/us-east-1/", "/eu-west-1/"))
    answer = send(live_server, "/list-flows", b"{}", request)
    assert answer.code == "AccessDeniedException"
    assert "eu-west-1" in answer.body["message"]


def test_a_payload_hash_header_that_is_not_the_bodys_is_refused(live_server, api_key, data_dir):
    import hashlib

    url = live_server.url + "/api/appflow/create-connector-profile"
    body = json.dumps(create_profile_body(data_dir)).encode()
    # Signed over a hash header that names another body: the signature matches, the hash does not.
    request = sign(url, api_key, body, headers={"X-Amz-Content-SHA256": hashlib.sha256(b"{}").hexdigest()})
    answer = send(live_server, "/create-connector-profile", body, request)
    assert answer.code == "AccessDeniedException"
    assert "does not match the body" in answer.body["message"]
    assert not Connection.objects.exists()


def test_unknown_paths_and_wrong_methods(client):
    unknown = client.post("/api/appflow/create-pipeline", "{}", content_type="application/json")
    assert (unknown.status_code, unknown["x-amzn-ErrorType"]) == (404, "UnsupportedOperationException")
    wrong = client.get("/api/appflow/create-flow")
    assert (wrong.status_code, wrong["x-amzn-ErrorType"]) == (405, "ValidationException")
    assert "takes POST" in wrong.json()["message"]
    unsigned = client.post("/api/appflow/list-flows", "{}", content_type="application/json")
    assert (unsigned.status_code, unsigned["x-amzn-ErrorType"]) == (403, "AccessDeniedException")
    assert "Signature Version 4" in unsigned.json()["message"]


def test_an_oauth_authorization_code_alone_is_not_exchanged():
    from connections.services import split_profile_config
    from console.errors import UserError

    config = {"connectorProfileCredentials": {"CustomConnector": {"authenticationType": "OAUTH2", "oauth2": {
        "clientId": "sluice", "clientSecret": "s", "oAuthRequest": {"authCode": "code", "redirectUri": "x"}}}}}
    with pytest.raises(UserError, match="authCode alone is not exchanged"):
        split_profile_config("CustomConnector", config)
    config["connectorProfileCredentials"]["CustomConnector"]["oauth2"] |= {"accessToken": "a", "refreshToken": "r"}
    properties, credentials = split_profile_config("CustomConnector", config)
    assert properties == {"clientId": "sluice"}
    assert credentials == {"clientSecret": "s", "accessToken": "a", "refreshToken": "r"}
