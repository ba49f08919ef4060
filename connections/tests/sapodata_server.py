"""A stand-in SAP Gateway with one OData V2 and one OData V4 service, written from the published
documents:

- OData V2 JSON (verbose) format: results under d.results, the total under d.__count
  ($inlinecount=allpages), server-driven paging under d.__next, Edm.DateTime as
  "/Date(<ms>)/", Edm.DateTimeOffset as "/Date(<ms>+<offset minutes>)/", Edm.Decimal and
  Edm.Int64 as strings: https://www.odata.org/documentation/odata-version-3-0/json-verbose-format/
  and MS-ODATA https://learn.microsoft.com/en-us/openspecs/windows_protocols/MS-ODATA/d91277b3-30dc-4195-9848-20f2f95c9ecf
- OData V4 JSON: value, @odata.count, @odata.nextLink, ISO 8601 Edm.DateTimeOffset:
  https://docs.oasis-open.org/odata/odata-json-format/v4.0/csprd01/odata-json-format-v4.0-csprd01.html
- The V2 service models SAP's Enterprise Procurement Model sample (GWSAMPLE_BASIC: BusinessPartnerSet,
  ProductSet, SalesOrderSet, SalesOrderLineItemSet with their navigation properties and amounts as
  Edm.Decimal Precision 16 Scale 3): http://docplayer.net/12435621-How-to-model-a-gateway-service-based-on-business-entities.html
- The V4 service models the ABAP RESTful flight sample (/DMO/ Travel and Booking, _Booking navigation).
- The catalogs: /sap/opu/odata/IWFND/CATALOGSERVICE;v=2/ServiceCollection (AppFlow's guide, SAP
  OData section) and the V4 catalog's ServiceGroups with DefaultSystem/Services.

- OAuth 2.0 authorization code, as SAP's AS ABAP authorization server offers it for Gateway
  services: the authorization endpoint /sap/bc/sec/oauth2/authorize (the resource owner signs in
  and confirms the scopes, then a redirect to the registered redirect URI with the code; here the
  person is taken as signed in and consenting)
  https://help.sap.com/saphelp_snc_uiaddon_10/helpdata/en/ea/fe88de31ed4cb28c3f6d6012e99025/content.htm,
  the token endpoint /sap/bc/sec/oauth2/token (POST, the client authenticated with HTTP Basic as its
  system user, grant types authorization_code and refresh_token)
  https://help.sap.com/saphelp_em92/helpdata/en/5c/8371a2370647f5a03ea6f81f6a27cb/content.htm and
  https://help.sap.com/saphelp_em92/helpdata/en/75/73ffc0ae444443a23b9e661d77d637/content.htm;
  the OData calls then carry `Authorization: Bearer <access token>`.

Rows are made from their index, so a 500,000-record set costs no memory. Quirks on demand: a wrong
password (401), a rate limit (429 + Retry-After), a malformed page, server-driven paging, an access
token that expires mid-run (401 once, then the refreshed one works)."""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest

from connections.tests import local_server

V2_SERVICE = "/sap/opu/odata/sap/GWSAMPLE_BASIC"
V4_SERVICE = "/sap/opu/odata4/sap/zui_travel/srvd/sap/ztravel/0001"
V2_CATALOG = "/sap/opu/odata/IWFND/CATALOGSERVICE;v=2"
V4_CATALOG = "/sap/opu/odata4/iwfnd/config/default/iwfnd/catalog/0002"
AUTHORIZE, TOKEN = "/sap/bc/sec/oauth2/authorize", "/sap/bc/sec/oauth2/token"
CLIENT_ID, CLIENT_SECRET = "SLUICE_OAUTH", "client-secret-1"
SCOPES = "/IWFND/SG_MED_CATALOG_0002 ZGWSAMPLE_BASIC_0001"
START = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # 1700000000 s

V2_METADATA = """<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"
  xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" xmlns:sap="http://www.sap.com/Protocols/SAPData">
 <edmx:DataServices m:DataServiceVersion="2.0">
  <Schema Namespace="GWSAMPLE_BASIC" xml:lang="en" sap:schema-version="1" xmlns="http://schemas.microsoft.com/ado/2008/09/edm">
   <EntityType Name="BusinessPartner" sap:content-version="1">
    <Key><PropertyRef Name="BusinessPartnerID"/></Key>
    <Property Name="BusinessPartnerID" Type="Edm.String" Nullable="false" MaxLength="10"/>
    <Property Name="CompanyName" Type="Edm.String" Nullable="false" MaxLength="80"/>
    <Property Name="CreatedAt" Type="Edm.DateTime" Precision="7"/>
    <NavigationProperty Name="ToSalesOrders" Relationship="GWSAMPLE_BASIC.Assoc_BusinessPartner_SalesOrders"
      FromRole="FromRole_Assoc_BusinessPartner_SalesOrders" ToRole="ToRole_Assoc_BusinessPartner_SalesOrders"/>
   </EntityType>
   <EntityType Name="Product" sap:content-version="1">
    <Key><PropertyRef Name="ProductID"/></Key>
    <Property Name="ProductID" Type="Edm.String" Nullable="false" MaxLength="10"/>
    <Property Name="Name" Type="Edm.String" MaxLength="255"/>
    <Property Name="Price" Type="Edm.Decimal" Precision="16" Scale="3"/>
    <Property Name="WeightMeasure" Type="Edm.Decimal" Precision="13" Scale="3"/>
   </EntityType>
   <EntityType Name="SalesOrder" sap:content-version="1">
    <Key><PropertyRef Name="SalesOrderID"/></Key>
    <Property Name="SalesOrderID" Type="Edm.String" Nullable="false" MaxLength="10"/>
    <Property Name="Note" Type="Edm.String" MaxLength="255"/>
    <Property Name="CustomerID" Type="Edm.String" MaxLength="10"/>
    <Property Name="CurrencyCode" Type="Edm.String" MaxLength="5"/>
    <Property Name="GrossAmount" Type="Edm.Decimal" Precision="16" Scale="3"/>
    <Property Name="ItemCount" Type="Edm.Int32"/>
    <Property Name="Quantity" Type="Edm.Int64"/>
    <Property Name="Delivered" Type="Edm.Boolean"/>
    <Property Name="CreatedAt" Type="Edm.DateTime" Precision="7"/>
    <Property Name="ChangedAt" Type="Edm.DateTimeOffset" Precision="7"/>
    <NavigationProperty Name="ToBusinessPartner" Relationship="GWSAMPLE_BASIC.Assoc_BusinessPartner_SalesOrders"
      FromRole="ToRole_Assoc_BusinessPartner_SalesOrders" ToRole="FromRole_Assoc_BusinessPartner_SalesOrders"/>
    <NavigationProperty Name="ToLineItems" Relationship="GWSAMPLE_BASIC.Assoc_SalesOrder_SalesOrderLineItems"
      FromRole="FromRole_Assoc_SalesOrder_SalesOrderLineItems" ToRole="ToRole_Assoc_SalesOrder_SalesOrderLineItems"/>
   </EntityType>
   <EntityType Name="SalesOrderLineItem" sap:content-version="1">
    <Key><PropertyRef Name="SalesOrderID"/><PropertyRef Name="ItemPosition"/></Key>
    <Property Name="SalesOrderID" Type="Edm.String" Nullable="false" MaxLength="10"/>
    <Property Name="ItemPosition" Type="Edm.String" Nullable="false" MaxLength="10"/>
    <Property Name="NetAmount" Type="Edm.Decimal" Precision="16" Scale="3"/>
   </EntityType>
   <Association Name="Assoc_BusinessPartner_SalesOrders">
    <End Type="GWSAMPLE_BASIC.BusinessPartner" Multiplicity="1" Role="FromRole_Assoc_BusinessPartner_SalesOrders"/>
    <End Type="GWSAMPLE_BASIC.SalesOrder" Multiplicity="*" Role="ToRole_Assoc_BusinessPartner_SalesOrders"/>
   </Association>
   <Association Name="Assoc_SalesOrder_SalesOrderLineItems">
    <End Type="GWSAMPLE_BASIC.SalesOrder" Multiplicity="1" Role="FromRole_Assoc_SalesOrder_SalesOrderLineItems"/>
    <End Type="GWSAMPLE_BASIC.SalesOrderLineItem" Multiplicity="*" Role="ToRole_Assoc_SalesOrder_SalesOrderLineItems"/>
   </Association>
   <EntityContainer Name="GWSAMPLE_BASIC_Entities" m:IsDefaultEntityContainer="true">
    <EntitySet Name="BusinessPartnerSet" EntityType="GWSAMPLE_BASIC.BusinessPartner"/>
    <EntitySet Name="ProductSet" EntityType="GWSAMPLE_BASIC.Product"/>
    <EntitySet Name="SalesOrderSet" EntityType="GWSAMPLE_BASIC.SalesOrder"/>
    <EntitySet Name="SalesOrderLineItemSet" EntityType="GWSAMPLE_BASIC.SalesOrderLineItem"/>
    <AssociationSet Name="Assoc_BusinessPartner_SalesOrders_AssocSet" Association="GWSAMPLE_BASIC.Assoc_BusinessPartner_SalesOrders">
     <End EntitySet="BusinessPartnerSet" Role="FromRole_Assoc_BusinessPartner_SalesOrders"/>
     <End EntitySet="SalesOrderSet" Role="ToRole_Assoc_BusinessPartner_SalesOrders"/>
    </AssociationSet>
   </EntityContainer>
  </Schema>
 </edmx:DataServices>
</edmx:Edmx>"""

V4_METADATA = """<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
 <edmx:DataServices>
  <Schema Namespace="com.sap.gateway.srvd.ztravel.v0001" Alias="SAP__self" xmlns="http://docs.oasis-open.org/odata/ns/edm">
   <EntityType Name="TravelType">
    <Key><PropertyRef Name="TravelID"/></Key>
    <Property Name="TravelID" Type="Edm.String" Nullable="false" MaxLength="8"/>
    <Property Name="Description" Type="Edm.String" Nullable="false" MaxLength="1024"/>
    <Property Name="TotalPrice" Type="Edm.Decimal" Precision="16" Scale="3"/>
    <Property Name="BeginDate" Type="Edm.Date"/>
    <Property Name="LastChangedAt" Type="Edm.DateTimeOffset" Precision="7"/>
    <NavigationProperty Name="_Booking" Type="Collection(com.sap.gateway.srvd.ztravel.v0001.BookingType)" Partner="_Travel"/>
   </EntityType>
   <EntityType Name="BookingType">
    <Key><PropertyRef Name="TravelID"/><PropertyRef Name="BookingID"/></Key>
    <Property Name="TravelID" Type="Edm.String" Nullable="false" MaxLength="8"/>
    <Property Name="BookingID" Type="Edm.String" Nullable="false" MaxLength="4"/>
    <Property Name="FlightPrice" Type="Edm.Decimal" Precision="16" Scale="3"/>
    <NavigationProperty Name="_Travel" Type="com.sap.gateway.srvd.ztravel.v0001.TravelType" Partner="_Booking"/>
   </EntityType>
   <EntityContainer Name="Container">
    <EntitySet Name="Travel" EntityType="com.sap.gateway.srvd.ztravel.v0001.TravelType">
     <NavigationPropertyBinding Path="_Booking" Target="Booking"/>
    </EntitySet>
    <EntitySet Name="Booking" EntityType="SAP__self.BookingType"/>
   </EntityContainer>
  </Schema>
 </edmx:DataServices>
</edmx:Edmx>"""

NOTES = ["EPM Sample Data", "Lieferung für Müller — ✓", None, "It's \"quoted\""]


def sales_order(i: int) -> dict:
    """SalesOrderSet row i (0-based) as V2 JSON sends it."""
    ms = int((START + timedelta(minutes=i)).timestamp() * 1000)
    return {"__metadata": {"type": "GWSAMPLE_BASIC.SalesOrder"},
            "SalesOrderID": f"{500000000 + i}", "Note": NOTES[i % 4], "CustomerID": f"01000000{i % 50:02d}",
            "CurrencyCode": "EUR", "GrossAmount": f"{Decimal(i) + Decimal('0.125'):.3f}",
            "ItemCount": i % 7, "Quantity": str(9007199254740993 + i), "Delivered": i % 2 == 0,
            "CreatedAt": f"/Date({ms})/", "ChangedAt": f"/Date({ms + 60000}+0060)/",
            "ToLineItems": {"__deferred": {"uri": f"SalesOrderSet('{500000000 + i}')/ToLineItems"}}}


def travel(i: int) -> dict:
    when = START + timedelta(hours=i)
    return {"TravelID": f"{i + 1:08d}", "Description": NOTES[i % 4] or "", "TotalPrice": i * 10 + 0.5,
            "BeginDate": (when.date()).isoformat(), "LastChangedAt": when.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")}


# --- a small $filter evaluator for the expressions the connector writes ------------------------

_ATOM = re.compile(r"^(\w+) (eq|ne|lt|le|gt|ge) (.+)$")


def _literal(text: str):
    text = text.strip()
    m = re.match(r"^(datetime|datetimeoffset)?'(.*)'$", text, re.S)
    if m:
        raw = m.group(2).replace("''", "'")
        if m.group(1):
            return datetime.fromisoformat(raw.replace("Z", "+00:00")).replace(tzinfo=UTC)
        return raw
    if re.match(r"^\d{4}-\d\d-\d\dT", text):
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    return Decimal(text.rstrip("MLdf")) if text not in ("true", "false") else text == "true"


def _split(text: str, word: str) -> list[str]:
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(text):
        c = text[i]
        if c == "'":
            quoted = not quoted
        elif not quoted and c in "()":
            depth += 1 if c == "(" else -1
        elif not quoted and depth == 0 and text.startswith(word, i):
            parts.append(text[start:i])
            start = i + len(word)
            i = start
            continue
        i += 1
    return parts + [text[start:]]


def _value(row: dict, name: str):
    value = row.get(name)
    if isinstance(value, str) and value.startswith("/Date("):
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(re.match(r"/Date\((-?\d+)", value)[1]))
    if isinstance(value, str) and re.match(r"^\d{4}-\d\d-\d\dT", value):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if name in ("GrossAmount", "TotalPrice", "Quantity", "ItemCount") and value is not None:
        return Decimal(str(value))
    return value


def matches(row: dict, expression: str) -> bool:
    for part in _split(expression, " and "):
        part = part.strip()
        while part.startswith("(") and part.endswith(")"):
            part = part[1:-1].strip()
        if not any(_atom(row, alt.strip()) for alt in _split(part, " or ")):
            return False
    return True


def _atom(row: dict, text: str) -> bool:
    m = _ATOM.match(text.strip("() "))
    if not m:
        raise ValueError(f"unsupported $filter: {text}")
    left, right = _value(row, m[1]), _literal(m[3])
    if left is None:
        return m[2] == "ne"
    return {"eq": left == right, "ne": left != right, "lt": left < right, "le": left <= right,
            "gt": left > right, "ge": left >= right}[m[2]]


@dataclass
class SapGateway:
    base: str = ""
    user: str = "SLUICE"
    password: str = "secret"
    orders: int = 25
    travels: int = 12
    server_page: int | None = None  # server-driven paging: at most this many rows, then a next link
    malformed_page: int | None = None  # this request number (1-based, per entity set) answers garbage
    rate_limited: int = 0  # the next n data requests answer 429
    fail_auth_after: int | None = None  # data requests after this many answer 401 (a password changed)
    requests: list[str] = field(default_factory=list)
    data_requests: int = 0
    # OAuth 2.0: codes issued (code -> redirect URI), live access tokens, the refresh token
    codes: dict[str, str] = field(default_factory=dict)
    access_tokens: set[str] = field(default_factory=set)
    refresh_token: str = ""
    token_grants: list[str] = field(default_factory=list)  # grant_type of each token request
    expire_token_at: int | None = None  # this data request finds its access token expired (once)

    def authorize(self, query: dict) -> tuple[int, str]:
        """The consent page's answer: (status, redirect location or error text)."""
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return 400, "OAuth 2.0 client unknown or response_type is not code"
        if not set(query.get("scope", "").split()) <= set(SCOPES.split()):
            return 400, f"scope not assigned to the client: {query.get('scope')}"
        code = secrets.token_urlsafe(12)
        self.codes[code] = query.get("redirect_uri", "")
        return 302, query.get("redirect_uri", "") + "?" + urlencode({"code": code, "state": query.get("state", "")})

    def token(self, authorization: str, form: dict) -> tuple[int, dict]:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != expected:
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        grant = form.get("grant_type", "")
        self.token_grants.append(grant)
        if grant == "authorization_code":
            if self.codes.pop(form.get("code", ""), None) != form.get("redirect_uri"):
                return 400, {"error": "invalid_grant", "error_description": "Authorization code invalid"}
            self.refresh_token = secrets.token_urlsafe(16)
        elif grant != "refresh_token" or not self.refresh_token or form.get("refresh_token") != self.refresh_token:
            return 400, {"error": "invalid_grant", "error_description": "Refresh token invalid"}
        access = secrets.token_urlsafe(16)
        self.access_tokens.add(access)
        return 200, {"access_token": access, "token_type": "Bearer", "expires_in": "3600",
                     "refresh_token": self.refresh_token, "scope": SCOPES}

    def signed_in(self, authorization: str) -> bool:
        basic = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        if authorization == basic:
            return True
        scheme, _, token = authorization.partition(" ")
        return scheme == "Bearer" and token in self.access_tokens

    def filters(self) -> list[str]:
        return [parse_qs(urlsplit(r).query).get("$filter", [""])[0] for r in self.requests if "Set?" in r or
                "Travel?" in r]


def serve(monkeypatch: pytest.MonkeyPatch, **options) -> SapGateway:
    gateway = SapGateway(**options)

    class Handler(local_server.JsonHandler):
        def do_POST(self):
            if urlsplit(self.path).path != TOKEN:
                return self.send(405, b"", "text/plain")
            status, body = gateway.token(self.headers.get("Authorization", ""), self.form())
            self.reply(status, body, {"Cache-Control": "no-store"})

        def do_GET(self):
            gateway.requests.append(self.path)
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            if parts.path == AUTHORIZE:
                status, where = gateway.authorize(query)
                if status != 302:
                    return self.send(status, where.encode(), "text/plain")
                return self.send(302, b"", "text/plain", {"Location": where})
            if not gateway.signed_in(self.headers.get("Authorization", "")):
                return self.send(401, b"<html><body>Logon failed</body></html>", "text/html",
                                 {"WWW-Authenticate": 'Basic realm="SAP NetWeaver Application Server"'})
            if query.get("sap-client") != "100":
                return self.reply(401, {"error": {"code": "/IWFND/CM_CONSUMER/101",
                                                  "message": {"lang": "en", "value": "Client not valid"}}})
            path = parts.path
            if path == f"{V2_CATALOG}/ServiceCollection":
                return self.reply(200, {"d": {"results": [
                    {"ID": "GWSAMPLE_BASIC_0001", "TechnicalServiceName": "GWSAMPLE_BASIC", "Title": "GWSAMPLE_BASIC",
                     "ServiceUrl": f"https://sap.example.com:443{V2_SERVICE}"}]}})
            if path == f"{V4_CATALOG}/ServiceGroups":
                return self.reply(200, {"value": [{"GroupId": "ZTRAVEL", "DefaultSystem": {"Services": [
                    {"ServiceId": "ZTRAVEL", "ServiceVersion": "0001", "ServiceUrl": V4_SERVICE + "/"}]}}]})
            if path in (f"{V2_SERVICE}/$metadata", f"{V4_SERVICE}/$metadata"):
                body = V2_METADATA if path.startswith(V2_SERVICE) else V4_METADATA
                return self.send(200, body.encode(), "application/xml")
            if path == f"{V2_SERVICE}/SalesOrderSet":
                return self.collection(query, "2", sales_order, gateway.orders, path)
            if path == f"{V4_SERVICE}/Travel":
                return self.collection(query, "4", travel, gateway.travels, path)
            return self.reply(404, {"error": {"code": "/IWFND/MED/170", "message": {
                "lang": "en", "value": f"No service found for namespace '', name '{path}'"}}})

        def collection(self, query: dict, version: str, make, total: int, path: str):
            gateway.data_requests += 1
            if gateway.expire_token_at == gateway.data_requests:
                gateway.expire_token_at = None
                gateway.access_tokens.discard(self.headers.get("Authorization", "").partition(" ")[2])
                return self.send(401, b"", "text/plain",
                                 {"WWW-Authenticate": 'Bearer error="invalid_token", error_description="expired"'})
            if gateway.fail_auth_after is not None and gateway.data_requests > gateway.fail_auth_after:
                return self.send(401, b"<html>Logon failed</html>", "text/html")
            if gateway.rate_limited:
                gateway.rate_limited -= 1
                return self.reply(429, {"error": {"message": {"value": "Too many requests"}}}, {"Retry-After": "7"})
            if gateway.malformed_page == gateway.data_requests:
                return self.send(200, b'{"d": {"results": [{"SalesOrderID": "1"', "application/json")
            expression = query.get("$filter", "")
            skip = int(query.get("$skiptoken") or query.get("$skip") or 0)
            top = int(query["$top"]) if "$top" in query else total
            if expression:
                # filter over the whole set (small in the filter tests); $skip counts matches
                selected = [i for i in range(total) if matches(make(i), expression)]
            else:
                selected = range(total)
            count = len(selected)
            window = selected[skip:skip + top]
            limit = gateway.server_page or len(window)
            page, rest = window[:limit], len(window) - limit
            rows = [make(i) for i in page]
            if "$select" in query:
                names = query["$select"].split(",")
                rows = [{n: r.get(n) for n in names if n in r} for r in rows]
            next_link = None
            if rest > 0:
                params = {k: v for k, v in query.items() if k not in ("$skip", "$skiptoken", "$top")}
                params.update({"$skiptoken": str(skip + limit), "$top": str(rest)})
                next_link = f"{self_base(self)}{path}?" + "&".join(f"{k}={quote(v)}" for k, v in params.items())
            if version == "2":
                d: dict = {"results": rows}
                if query.get("$inlinecount") == "allpages":
                    d["__count"] = str(count)
                if next_link:
                    d["__next"] = next_link
                return self.reply(200, {"d": d})
            body: dict = {"@odata.context": "$metadata#Travel"}
            if query.get("$count") == "true":
                body["@odata.count"] = count
            body["value"] = rows
            if next_link:
                body["@odata.nextLink"] = next_link
            return self.reply(200, body)

    gateway.base = local_server.start(Handler, monkeypatch)
    return gateway


def self_base(handler) -> str:
    host, port = handler.server.server_address[:2]
    return f"http://{host}:{port}"


def connection(gateway: SapGateway, version: str = "2", **overrides):
    from connections.connectors.base import ConnectionInfo

    parts = urlsplit(gateway.base)
    properties = {"applicationHostUrl": f"http://{parts.hostname}", "portNumber": parts.port,
                  "applicationServicePath": V2_CATALOG if version == "2" else V4_CATALOG,
                  "clientNumber": "100", "logonLanguage": "EN", **overrides}
    return ConnectionInfo("sap", "SAPOData", "", properties, {"username": gateway.user, "password": gateway.password})


class _Environment:
    """monkeypatch's setenv for a server outside pytest (the benchmark's child process)."""

    def setenv(self, name: str, value: str) -> None:
        import os

        os.environ[name] = value


def serve_standalone(**options) -> SapGateway:
    """The gateway outside a test (bench/sap_odata.py); stopped by local_server.stop_all()."""
    return serve(_Environment(), **options)
