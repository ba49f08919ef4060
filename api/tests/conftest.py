"""A real boto3 `appflow` client against the live server, signed with a real access key; and a
way to send hand-made signed requests that boto3 would refuse to send (unknown members...)."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from api import keys

REGION = "us-east-1"


@dataclass
class Key:
    id: str
    secret: str


@pytest.fixture
def api_key(owner) -> Key:
    key, secret = keys.create_key(owner, "tests")
    return Key(key.access_key_id, secret)


def client_for(live_server, key: Key):
    return boto3.client(
        "appflow", endpoint_url=live_server.url + "/api/appflow", region_name=REGION,
        aws_access_key_id=key.id, aws_secret_access_key=key.secret,
        # One attempt: a test provokes errors on purpose and wants to see each once.
        config=Config(retries={"total_max_attempts": 1}),
    )


@pytest.fixture
def appflow(live_server, api_key):
    return client_for(live_server, api_key)


@dataclass
class Answer:
    status: int
    code: str | None
    body: dict


def sign(url: str, key: Key, body: bytes, method: str = "POST", headers: dict | None = None) -> AWSRequest:
    request = AWSRequest(method=method, url=url, data=body,
                         headers={"Content-Type": "application/x-amz-json-1.1", **(headers or {})})
    SigV4Auth(Credentials(key.id, key.secret), "appflow", REGION).add_auth(request)
    return request


def send(live_server, path: str, body: bytes, request: AWSRequest | None = None, *, key: Key | None = None,
         method: str = "POST", headers: dict | None = None) -> Answer:
    """POST `body` to the API at `path`, signed with `key` (or with the given signed request's
    headers: sign one body, send another)."""
    url = live_server.url + "/api/appflow" + path
    if request is None:
        request = sign(url, key, body, method)
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        sent = {k: v for k, v in request.headers.items()}
        sent.update(headers or {})
        connection.request(method, parts.path, body=body, headers=sent)
        response = connection.getresponse()
        data = response.read()
        return Answer(response.status, response.getheader("x-amzn-ErrorType"),
                      json.loads(data) if data else {})
    finally:
        connection.close()
