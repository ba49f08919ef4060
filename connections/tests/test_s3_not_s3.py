"""An S3 connection whose endpointUrl is not an S3 service (a web server, a redirect, garbage)
fails its connection test with a message naming endpointUrl, instead of botocore's TypeError or
RecursionError, or a silent "works" (botocore reads any 200 page as an empty bucket list)."""

from __future__ import annotations

import pytest

from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.connectors.s3 import S3Connector
from connections.tests import local_server

ANSWERS = {
    "a web page": (200, b"<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>", "text/html"),
    "garbage": (200, b"\x00\xff not S3 {{{", "application/octet-stream"),
    "json": (200, b'{"hello": "world"}', "application/json"),
    "a bare redirect": (301, b"<html>moved</html>", "text/html"),
    "an error page": (400, b"<html><body>Bad request</body></html>", "text/html"),
    "a listing with a bad date": (200, b"<ListAllMyBucketsResult><Buckets><Bucket><Name>b</Name><CreationDate>"
                                  b"yesterday</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>",
                                  "application/xml"),
}


def serving(answer, monkeypatch) -> ConnectionInfo:
    status, body, content_type = answer

    class Handler(local_server.JsonHandler):
        def do_GET(self):
            self.send(status, body, content_type)

        do_HEAD = do_GET

    url = local_server.start(Handler, monkeypatch)
    return ConnectionInfo(name="not-s3", connector_type="S3", properties={"endpointUrl": url},
                          credentials={"accessKeyId": "AKIDEXAMPLE", "secretAccessKey": "not-a-real-secret"})


@pytest.mark.parametrize("answer", ANSWERS)
def test_the_connection_test_says_the_endpoint_is_not_s3(answer, monkeypatch):
    conn = serving(ANSWERS[answer], monkeypatch)
    with pytest.raises(ConnectorError) as caught:
        S3Connector().test(conn)
    assert "does not answer like an S3 service" in caught.value.message
    assert "endpointUrl" in caught.value.message
    assert "not-a-real-secret" not in caught.value.message


def test_browsing_a_redirect_loop_says_so(monkeypatch):
    conn = serving(ANSWERS["a bare redirect"], monkeypatch)
    with pytest.raises(ConnectorError) as caught:
        S3Connector().list_entities(conn, "bucket")
    assert "does not answer like an S3 service" in caught.value.message
