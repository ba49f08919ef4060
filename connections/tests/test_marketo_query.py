"""Marketo companies and opportunities against the local Marketo server: fields and keys from
describe, the EQUAL_TO filter pushed down as filterType / filterValues (300 values a call),
nextPageToken paging, and a read without such a filter refused before any record is read."""

from __future__ import annotations

import json

import pytest

from connections.connectors.base import ConnectorError, Window
from connections.connectors.marketo import MarketoConnector, client, query
from connections.tests.marketo_server import serve
from connections.tests.test_marketo import conn_for, rows
from connections.tests.test_marketo_run import files_connection, local_files_destination, marketo_connection
from flows import services
from flows.tests.test_runs import execution_folder, wait_for

MARKETO = MarketoConnector()


@pytest.fixture
def waits(monkeypatch):
    """Marketo's backoffs recorded instead of slept."""
    seen: list[float] = []
    monkeypatch.setattr(client, "_wait", seen.append)
    return seen


def equal(field, *values):
    return {"field": field, "operator": "EQUAL_TO", "values": list(values), "dataType": None}


def test_companies_and_opportunities_are_listed_with_fields_and_keys_from_describe(monkeypatch, waits):
    market = serve(monkeypatch)
    conn = conn_for(market)
    names = {e.name: e.label for e in MARKETO.list_entities(conn)}
    assert names["companies"] == "Companies" and names["opportunities"] == "Opportunities"

    companies = {f.name: f for f in MARKETO.describe_entity(conn, "companies")}
    assert list(companies)[:3] == ["id", "externalCompanyId", "company"]
    assert companies["annualRevenue"].data_type == "double"
    assert companies["updatedAt"].timestamp_for_incremental
    assert {n for n, f in companies.items() if f.primary_key} == {"id", "externalCompanyId"}  # idField, dedupe
    opportunities = {f.name: f for f in MARKETO.describe_entity(conn, "opportunities")}
    assert {n for n, f in opportunities.items() if f.primary_key} == {"marketoGUID", "externalOpportunityId"}
    assert opportunities["isWon"].data_type == "boolean" and opportunities["closeDate"].data_type == "date"
    assert "EQUAL_TO" in MARKETO.pushdown_operators


def test_an_equal_to_filter_is_sent_as_filter_type_and_values(monkeypatch, waits):
    market = serve(monkeypatch)
    found = rows(market, "opportunities", ["externalOpportunityId", "name", "amount", "isWon", "closeDate"],
                 [equal("externalOpportunityId", "OPP4", "OPP5", "OPP-none")])

    assert found == [
        {"externalOpportunityId": "OPP4", "name": "Deal «4»", "amount": None, "isWon": True,
         "closeDate": "2024-02-04"},
        {"externalOpportunityId": "OPP5", "name": "Deal «5»", "amount": 497.5, "isWon": False,
         "closeDate": "2024-02-05"},
    ]
    assert market.queries == [{"filterType": "externalOpportunityId", "filterValues": "OPP4,OPP5,OPP-none",
                               "fields": "externalOpportunityId,name,amount,isWon,closeDate", "batchSize": "300"}]


def test_query_results_page_by_next_page_token(monkeypatch, waits):
    market = serve(monkeypatch)
    found = rows(market, "companies", ["id", "company", "industry"], [equal("company", "Ünïcødé GmbH")])

    assert [r["id"] for r in found] == [5000 + i for i in range(0, 700, 2)]  # 350: two pages
    assert found[0] == {"id": 5000, "company": "Ünïcødé GmbH", "industry": None}
    assert [q.get("nextPageToken") for q in market.queries] == [None, "QTOKEN300"]


def test_more_than_300_values_take_several_queries(monkeypatch, waits):
    market = serve(monkeypatch)
    wanted = [f"EXT{i:04d}" for i in range(650)]
    found = rows(market, "companies", ["externalCompanyId"], [equal("externalCompanyId", *wanted)])

    assert [r["externalCompanyId"] for r in found] == wanted
    assert [len(q["filterValues"].split(",")) for q in market.queries] == [300, 300, 50]
    assert list(query.batches(["a", "b", "a"])) == [["a", "b"]]  # each value once


def test_the_window_of_an_incremental_run_is_kept(monkeypatch, waits):
    from datetime import UTC, datetime

    market = serve(monkeypatch)
    window = Window(datetime(2024, 1, 3, tzinfo=UTC), datetime(2024, 1, 5, tzinfo=UTC), "updatedAt")
    found = rows(market, "opportunities", ["externalOpportunityId"],
                 [equal("marketoGUID", *[f"opp-guid-{i}" for i in range(10)])], window)
    assert [r["externalOpportunityId"] for r in found] == ["OPP2", "OPP3"]


@pytest.mark.parametrize("filters", [
    [],
    [equal("industry", "Manufacturing")],  # not searchable
    [{"field": "id", "operator": "BETWEEN", "values": ["1", "9"], "dataType": None}],
])
def test_a_read_without_a_lookup_is_refused_naming_the_searchable_fields(monkeypatch, waits, filters):
    market = serve(monkeypatch)
    with pytest.raises(ConnectorError) as caught:
        rows(market, "companies", ["id"], filters)
    assert "add a Filter task with EQUAL_TO on one of its searchable fields (externalCompanyId, id, " \
           "company)" in caught.value.message
    assert market.queries == []


def test_a_value_with_a_comma_is_refused_clearly(monkeypatch, waits):
    market = serve(monkeypatch)
    with pytest.raises(ConnectorError, match='look up companies by "Acme, Inc."'):
        rows(market, "companies", ["id"], [equal("company", "Acme, Inc.")])


# -- end to end ---------------------------------------------------------------------------------
def companies_flow(*tasks: dict) -> dict:
    fields = ["id", "externalCompanyId", "company", "annualRevenue"]
    return {
        "flowName": "marketo-companies",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "Marketo", "connectorProfileName": "marketo",
                             "sourceConnectorProperties": {"Marketo": {"object": "companies"}}},
        "destinationFlowConfigList": [local_files_destination("out/companies")],
        "tasks": [
            {"sourceFields": fields, "connectorOperator": {"Marketo": "PROJECTION"}, "taskType": "Filter",
             "taskProperties": {}},
            *tasks,
            *[{"sourceFields": [f], "connectorOperator": {"Marketo": "NO_OP"}, "destinationField": f,
               "taskType": "Map", "taskProperties": {}} for f in fields],
        ],
    }


@pytest.mark.django_db(transaction=True)
def test_companies_looked_up_into_local_files_on_a_real_worker(celery_worker, data_dir, monkeypatch, waits):
    market = serve(monkeypatch)
    marketo_connection(market)
    files_connection(data_dir)
    lookup = {"sourceFields": ["externalCompanyId"], "connectorOperator": {"Marketo": "EQUAL_TO"},
              "taskType": "Filter", "taskProperties": {"DATA_TYPE": "string", "VALUES": "EXT0002,EXT0007,EXT9999"}}

    execution = wait_for(services.start_flow(services.create_flow(companies_flow(lookup))))

    assert execution.status == "Successful", execution.error_message
    found = [json.loads(line) for f in sorted(execution_folder(execution).iterdir())
             for line in f.read_text().splitlines()]
    assert found == [
        {"id": 5002, "externalCompanyId": "EXT0002", "company": "Ünïcødé GmbH", "annualRevenue": 2001.0},
        {"id": 5007, "externalCompanyId": "EXT0007", "company": "Company 7", "annualRevenue": 7003.5},
    ]
    assert [q["filterValues"] for q in market.queries] == ["EXT0002,EXT0007,EXT9999"]


@pytest.mark.django_db(transaction=True)
def test_a_companies_run_without_a_lookup_fails_naming_the_searchable_fields(
    celery_worker, data_dir, monkeypatch, waits
):
    market = serve(monkeypatch)
    marketo_connection(market)
    files_connection(data_dir)

    execution = wait_for(services.start_flow(services.create_flow(companies_flow())))

    assert execution.status == "Error"
    assert "searchable fields (externalCompanyId, id, company)" in execution.error_message
    assert market.queries == []
    assert not any((data_dir / "out" / "companies").rglob("*.jsonl"))  # nothing published
