"""A signed request through the Django test client (in this thread, so its queries are counted):
list operations cost a fixed number of queries however many rows they show."""

from __future__ import annotations

import json

import pytest

from api.tests.conftest import sign
from console.tests.pages import flow_document, make_execution
from flows import services

pytestmark = pytest.mark.django_db


def signed_post(client, path: str, body: dict, key):
    data = json.dumps(body).encode()
    request = sign("http://testserver/api/appflow" + path, key, data)
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in request.headers.items()
               if k.lower() != "content-type"}
    return client.generic("POST", "/api/appflow" + path, data, content_type=request.headers["Content-Type"],
                          HTTP_HOST="testserver",
                          **headers)


@pytest.mark.parametrize("flows", [2, 20])
def test_list_flows_costs_the_same_for_2_or_20_flows(client, api_key, demo, flows,
                                                     django_assert_max_num_queries):
    for index in range(flows):
        flow = services.create_flow(flow_document(f"flow-{index:02d}"))
        make_execution(flow)
    with django_assert_max_num_queries(6):
        answer = signed_post(client, "/list-flows", {"maxResults": 100}, api_key)
    assert answer.status_code == 200, answer.content
    assert len(answer.json()["flows"]) == flows + 1


def test_describe_flow_is_a_handful_of_queries(client, api_key, demo, django_assert_max_num_queries):
    make_execution(demo["flow"])
    # the key, last used (at most once a minute), the flow, its last run, who created it
    with django_assert_max_num_queries(7):  # +2: the key user's roles, the flow's team (accounts/)
        answer = signed_post(client, "/describe-flow", {"flowName": demo["flow"].name}, api_key)
    assert answer.json()["flowName"] == demo["flow"].name
