"""A second real client: the AWS CLI (`aws appflow`, awscli from PyPI) against the live server."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def aws(live_server, api_key, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": api_key.id, "AWS_SECRET_ACCESS_KEY": api_key.secret,
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_MAX_ATTEMPTS": "1", "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.run(
        [sys.executable, "-m", "awscli", "appflow", *args, "--endpoint-url", live_server.url + "/api/appflow"],
        capture_output=True, text=True, env=env, timeout=120,
    )


def test_the_aws_cli_describes_a_flow_and_gets_typed_errors(live_server, api_key, demo):
    described = aws(live_server, api_key, "describe-flow", "--flow-name", demo["flow"].name)
    assert described.returncode == 0, described.stderr
    assert json.loads(described.stdout)["flowName"] == demo["flow"].name
    missing = aws(live_server, api_key, "describe-flow", "--flow-name", "nope")
    assert missing.returncode == 255  # AWS CLI v1 exits 255 on a service error (v2: 254)
    assert "An error occurred (ResourceNotFoundException) when calling the DescribeFlow operation" in missing.stderr
