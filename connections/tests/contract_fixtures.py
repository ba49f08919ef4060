"""Per-connector fixtures for the contract test (test_contract.py).

Every key of the connector registry needs an entry here: a function (tmp_path, monkeypatch) that
returns a working connection and the document properties for a source and/or a destination. A
connector that needs a remote service stands one up here (a local fake server, moto, ...) or
records its replies, so the contract runs anywhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from psycopg import sql

from connections.connectors.base import ConnectionInfo


@dataclass
class ContractFixture:
    connection: ConnectionInfo
    # sourceConnectorProperties block (None when the connector cannot be a source)
    source_props: Mapping[str, Any] | None = None
    # destinationConnectorProperties block (None when the connector cannot be a destination)
    destination_props: Mapping[str, Any] | None = None
    # what to write when the connector is not also a source
    sample: pa.Table = field(default_factory=lambda: pa.table({"Id": ["1", "2"], "Name": ["Acme", "Globex"]}))


def local_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    base = tmp_path / "base"
    root = base / "contract"
    root.mkdir(parents=True)
    monkeypatch.setenv("SLUICE_LOCAL_FILES_BASE", str(base))
    (root / "accounts.csv").write_text("Id,Name,City\n1,Acme,Oslo\n2,Globex,Lyon\n3,Initech,Austin\n")
    return ContractFixture(
        connection=ConnectionInfo("contract", "CustomConnector", "LocalFiles", {"rootPath": str(root)}),
        source_props={"entityName": "accounts.csv"},
        destination_props={"entityName": "out/accounts", "customProperties": {"fileType": "CSV"}},
    )


def demo_crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """The Demo CRM's API answered by a local server from the same generated data (the OAuth side
    is covered by connections/tests/test_oauth.py)."""
    from connections.tests.democrm_server import serve

    base = serve(monkeypatch, token="contract-token").base
    return ContractFixture(
        connection=ConnectionInfo("contract", "CustomConnector", "DemoCRM",
                                  {"instanceUrl": base, "clientId": "sluice"},
                                  {"clientSecret": "s", "accessToken": "contract-token"}),
        source_props={"entityName": "Opportunities"},
    )


def postgresql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    from connections.tests import pgserver

    pgserver.need_postgres()
    schema = pgserver.fresh_schema()
    table = sql.Identifier(schema, "accounts")
    with pgserver.sql_connection() as connection:
        connection.execute(sql.SQL('CREATE TABLE {} ("Id" text PRIMARY KEY, "Name" text, "City" text)').format(table))
        connection.execute(
            sql.SQL("INSERT INTO {} VALUES (%s, %s, %s), (%s, %s, %s)").format(table),
            ("1", "Acme", "Oslo", "2", "Globex", "Lyon"),
        )
    return ContractFixture(
        connection=pgserver.connection_info(),
        source_props={"entityName": f"{schema}.accounts"},
        destination_props={
            "entityName": f"{schema}.accounts_copy",
            "customProperties": {"createTableIfMissing": "true"},
        },
    )


def mysql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    from connections.tests import mysqlserver

    database = mysqlserver.database_for_process()
    table = f"accounts_{uuid.uuid4().hex[:8]}"
    mysqlserver.execute(database, f"CREATE TABLE `{table}` (Id VARCHAR(20) PRIMARY KEY, Name TEXT, City TEXT)")
    mysqlserver.execute(database, f"INSERT INTO `{table}` VALUES ('1', 'Acme', 'Oslo'), ('2', 'Globex', 'Lyon')")
    return ContractFixture(
        connection=mysqlserver.connection_info(database),
        source_props={"entityName": f"{database}.{table}"},
        destination_props={
            "entityName": f"{database}.{table}_copy",
            "customProperties": {"createTableIfMissing": "true"},
        },
    )


def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    from connections.tests import s3server

    bucket = s3server.new_bucket()
    s3server.client().put_object(
        Bucket=bucket, Key="contract/accounts.csv", Body=b"Id,Name,City\n1,Acme,Oslo\n2,Globex,Lyon\n"
    )
    return ContractFixture(
        connection=s3server.connection_info(),
        source_props={"bucketName": bucket, "bucketPrefix": "contract", "s3InputFormatConfig": {"s3InputFileType": "CSV"}},
        destination_props={"bucketName": bucket, "bucketPrefix": "out", "s3OutputFormatConfig": {"fileType": "CSV"}},
    )


def redshift(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """Redshift over its PostgreSQL code path, against PostgreSQL (no Redshift cluster here)."""
    from connections.tests import pgserver

    database = pgserver.need_postgres()
    schema = pgserver.fresh_schema()
    with pgserver.sql_connection() as connection:
        connection.execute(
            sql.SQL('CREATE TABLE {} ("Id" text, "Name" text)').format(sql.Identifier(schema, "accounts"))
        )
    return ContractFixture(
        connection=ConnectionInfo(
            "redshift",
            "Redshift",
            "",
            {"databaseUrl": f"jdbc:redshift://{pgserver.HOST}:{pgserver.PORT}/{database}"},
            {"username": pgserver.USER, "password": pgserver.PASSWORD},
        ),
        destination_props={"object": f"{schema}.accounts", "intermediateBucketName": "stage-bucket"},
    )


def snowflake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """Snowflake's stand-in (fakesnow on DuckDB, the stage bucket on moto: snowflake_standin.py)."""
    from connections.tests.snowflake_standin import standin

    snow = standin(monkeypatch, tmp_path)
    snow.sql('CREATE TABLE ACCOUNTS ("ID" VARCHAR, "NAME" VARCHAR)')
    return ContractFixture(
        connection=snow.conn(),
        destination_props={"object": "SLUICE_DB.PUBLIC.ACCOUNTS", "intermediateBucketName": snow.bucket},
    )


def upsolver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """Upsolver's bucket on moto: its name starts with upsolver-appflow."""
    from connections.tests import s3server

    bucket = s3server.new_bucket("upsolver-appflow-")
    return ContractFixture(
        connection=s3server.connection_info(),
        destination_props={"bucketName": bucket, "bucketPrefix": "crm",
                           "s3OutputFormatConfig": {"fileType": "JSON", "prefixConfig": {"prefixType": "PATH"}}},
    )


def salesforce(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """A local Salesforce org (connections/tests/salesforce_server.py); its Ledger_Entry__c object has
    only writable fields beside Id, so what is read can be upserted back on Id."""
    from connections.tests.salesforce_server import CLIENT_ID, serve

    org = serve(monkeypatch, token="contract-token")
    return ContractFixture(
        connection=ConnectionInfo("contract", "Salesforce", "", {"environment": "Production", "clientId": CLIENT_ID},
                                  {"clientSecret": "s", "accessToken": "contract-token",
                                   "instanceUrl": org.base.rstrip("/")}),
        source_props={"object": "Ledger_Entry__c", "dataTransferApi": "REST_SYNC"},
        destination_props={"object": "Ledger_Entry__c", "writeOperationType": "UPSERT", "idFieldNames": ["Id"]},
    )


def slack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """Slack's Web API answered by a local server (connections/tests/slack_server.py)."""
    from connections.tests.slack_server import HISTORY_CHANNEL, serve

    base = serve(monkeypatch, token="xoxp-contract").base
    return ContractFixture(
        connection=ConnectionInfo("contract", "Slack", "", {"instanceUrl": base, "clientId": "sluice"},
                                  {"clientSecret": "s", "accessToken": "xoxp-contract"}),
        source_props={"object": f"conversations/{HISTORY_CHANNEL}"},
    )


def zendesk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """A local Zendesk account (connections/tests/zendesk_server.py) reached through baseUrl."""
    from connections.tests.zendesk_server import serve

    account = serve(monkeypatch, token="contract-token")
    return ContractFixture(
        connection=ConnectionInfo("contract", "Zendesk", "",
                                  {"subdomain": "contract", "clientId": "sluice", "baseUrl": account.base},
                                  {"clientSecret": "s", "accessToken": "contract-token"}),
        source_props={"object": "tickets"},
        destination_props={"object": "tickets", "writeOperationType": "INSERT"},
    )


def servicenow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """A local ServiceNow instance (connections/tests/servicenow_server.py) reached by its address."""
    from connections.tests.servicenow_server import serve

    instance = serve(monkeypatch, "contract", "s3cret")
    return ContractFixture(
        connection=ConnectionInfo("contract", "Servicenow", "", {"instanceUrl": instance.base},
                                  {"username": "contract", "password": "s3cret"}),
        source_props={"object": "u_asset_audit"},
    )


def pardot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """A local Pardot API v5 (connections/tests/pardot_server.py) reached through instanceUrl."""
    from connections.tests.pardot_server import BUSINESS_UNIT, CLIENT_ID, serve

    fake = serve(monkeypatch, token="contract-token", prospects=30)
    return ContractFixture(
        connection=ConnectionInfo("contract", "Pardot", "", {"businessUnitId": BUSINESS_UNIT, "clientId": CLIENT_ID,
                                                             "instanceUrl": fake.base},
                                  {"clientSecret": "s", "accessToken": "contract-token"}),
        source_props={"object": "prospects"},
    )


def google_analytics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """A local GA4 (connections/tests/ga4_server.py) reached through apiBaseUrl; its metadata cut to
    what one report takes, so that reading every field is a valid report."""
    from connections.tests.ga4_server import CLIENT_ID, PROPERTY, serve

    fake = serve(monkeypatch, token="contract-token")
    fake.metadata = {"dimensions": fake.metadata["dimensions"][:3], "metrics": fake.metadata["metrics"][:4]}
    return ContractFixture(
        connection=ConnectionInfo("contract", "Googleanalytics", "", {"clientId": CLIENT_ID, "apiBaseUrl": fake.base},
                                  {"clientSecret": "s", "accessToken": "contract-token"}),
        source_props={"object": PROPERTY},
    )


def marketo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """A local Marketo instance (connections/tests/marketo_server.py): custom object records from a
    Bulk Extract, written back by their dedupe field."""
    from datetime import UTC, datetime, timedelta

    from connections.connectors.marketo import bulk
    from connections.tests.marketo_server import CLIENT_ID, CLIENT_SECRET, serve

    monkeypatch.setattr(bulk, "POLL_SECONDS", (0,))
    recent = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=40)
    market = serve(monkeypatch, start=recent)
    return ContractFixture(
        connection=ConnectionInfo("contract", "Marketo", "",
                                  {"instanceUrl": market.base, "earliestDate": (recent - timedelta(days=20)).date().isoformat()},
                                  {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}),
        source_props={"object": "car_c"},
        destination_props={"object": "car_c", "writeOperationType": "UPSERT", "idFieldNames": ["vin"]},
    )


def amplitude(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """A local Amplitude project (connections/tests/amplitude_server.py): a run without a range
    exports the last 24 full hours, which the project fills with a few events each."""
    from connections.tests.amplitude_server import serve

    project = serve(monkeypatch, events_per_hour=2)
    return ContractFixture(
        connection=ConnectionInfo("contract", "Amplitude", "", {"dataResidency": "US", "baseUrl": project.base},
                                  {"apiKey": project.api_key, "secretKey": project.secret_key}),
        source_props={"object": "events"},
    )


def singular(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """A local Singular account (connections/tests/singular_server.py) whose reports are done at once."""
    from connections.tests.singular_server import serve

    account = serve(monkeypatch, polls_before_done=0)
    return ContractFixture(
        connection=ConnectionInfo("contract", "Singular", "", {"baseUrl": account.base}, {"apiKey": account.api_key}),
        source_props={"object": "report"},
    )


def veeva(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """A local Veeva Vault (connections/tests/veeva_server.py) reached by its address."""
    from connections.tests.veeva_server import serve

    vault = serve(monkeypatch, "contract@pharma.com", "s3cret")
    return ContractFixture(
        connection=ConnectionInfo("contract", "Veeva", "", {"instanceUrl": vault.base},
                                  {"username": "contract@pharma.com", "password": "s3cret"}),
        source_props={"object": "product__v"},
    )


def sap_odata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """A local SAP Gateway (connections/tests/sapodata_server.py): the V2 sales orders."""
    from connections.tests.sapodata_server import V2_SERVICE, connection, serve

    return ContractFixture(connection=connection(serve(monkeypatch)),
                           source_props={"objectPath": f"{V2_SERVICE}/SalesOrderSet"})


def datadog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """A local Datadog API (connections/tests/datadog_server.py): its monitors, searched by page."""
    from connections.tests.datadog_server import API_KEY, APP_KEY, serve

    dd = serve(monkeypatch)
    return ContractFixture(
        connection=ConnectionInfo("contract", "Datadog", "", {"site": "US1", "instanceUrl": dd.base},
                                  {"apiKey": API_KEY, "applicationKey": APP_KEY}),
        source_props={"object": "monitors"},
    )


def dynatrace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """A local Dynatrace environment (connections/tests/dynatrace_server.py): its hosts."""
    from connections.tests.dynatrace_server import TOKEN, serve

    dt = serve(monkeypatch)
    return ContractFixture(
        connection=ConnectionInfo("contract", "Dynatrace", "", {"instanceUrl": dt.base}, {"apiToken": TOKEN}),
        source_props={"object": "entities/HOST"},
    )


def trendmicro(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """A local Deep Security API (connections/tests/trendmicro_server.py) reached through apiUrl."""
    from connections.tests.trendmicro_server import KEY, serve

    fake = serve(monkeypatch, count=60)
    return ContractFixture(
        connection=ConnectionInfo("contract", "Trendmicro", "", {"apiUrl": fake.base}, {"apiSecretKey": KEY}),
        source_props={"object": "intrusionPreventionEvents"},
    )


def infor_nexus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """A local Infor Nexus REST API (connections/tests/infornexus_server.py) that checks HMAC_1 signatures."""
    from connections.tests.infornexus_server import CREDENTIALS, serve

    fake = serve(monkeypatch, count=30)
    return ContractFixture(
        connection=ConnectionInfo("contract", "Infornexus", "", {"instanceUrl": fake.base}, dict(CREDENTIALS)),
        source_props={"object": "OrderDetail"},
    )



def generic_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """The Stripe-style example spec against its local server (connections/tests/rest_servers.py)."""
    from connections.tests.rest_servers import STRIPE_KEY, serve
    from connections.tests.test_genericrest import example

    server = serve("stripe", monkeypatch, count=12)
    return ContractFixture(
        connection=ConnectionInfo("contract", "CustomConnector", "GenericREST",
                                  {"spec": example("stripe", server.base)}, {"apiKey": STRIPE_KEY}),
        source_props={"entityName": "customers"},
    )

def eventbridge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    from connections.tests import s3server
    from connections.tests.eventbridge_bus import partner_bus

    bus, _ = partner_bus()
    return ContractFixture(
        connection=ConnectionInfo("eb", "EventBridge", "", {"region": s3server.REGION, "endpointUrl": s3server.need_s3()},
                                  {"accessKeyId": s3server.ACCESS_KEY, "secretAccessKey": s3server.SECRET_KEY}),
        destination_props={"object": bus},
    )


FIXTURES: dict[str, Callable[[Path, pytest.MonkeyPatch], ContractFixture]] = {
    "LocalFiles": local_files,
    "DemoCRM": demo_crm,
    "PostgreSQL": postgresql,
    "MySQL": mysql,
    "S3": s3,
    "Redshift": redshift,
    "Snowflake": snowflake,
    "Upsolver": upsolver,
    "Salesforce": salesforce,
    "Slack": slack,
    "Zendesk": zendesk,
    "Servicenow": servicenow,
    "Pardot": pardot,
    "Googleanalytics": google_analytics,
    "Marketo": marketo,
    "Amplitude": amplitude,
    "Singular": singular,
    "Veeva": veeva,
    "SAPOData": sap_odata,
    "Datadog": datadog,
    "Dynatrace": dynatrace,
    "Trendmicro": trendmicro,
    "Infornexus": infor_nexus,
    "GenericREST": generic_rest,
    "EventBridge": eventbridge,
}
