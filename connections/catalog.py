"""The connector catalog of "Manage connections": one entry per registered connector with its icon
and number of connections, and the catalog's search and filters (GET parameters, so a filtered
catalog is a URL to share)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count
from django.http import QueryDict

from accounts import access
from connections.connectors.base import Connector, ConnectorError
from connections.connectors.registry import connector_keys, get_connector_class
from connections.models import Connection

# Each connector's icon: a two-letter monogram on a colour of its own (a `.logo-<colour>` class in
# static/css/sluice.css), so that connectors whose names share a letter (Salesforce, Slack,
# ServiceNow...) do not look alike. Drawn here rather than vendored as logos: the vendors' marks
# are trademarks. A connector added to the registry gets a line here (a test checks).
ICONS: dict[str, tuple[str, str]] = {
    "LocalFiles": ("LF", "slate"),
    "DemoCRM": ("DC", "teal"),
    "PostgreSQL": ("PG", "indigo"),
    "MySQL": ("My", "navy"),
    "S3": ("S3", "amber"),
    "Redshift": ("RS", "purple"),
    "Salesforce": ("SF", "sky"),
    "Slack": ("Sl", "plum"),
    "Zendesk": ("ZD", "olive"),
    "Servicenow": ("SN", "green"),
    "Pardot": ("Pa", "magenta"),
    "Googleanalytics": ("GA", "orange"),
    "Marketo": ("Mk", "purple"),
    "Amplitude": ("Am", "blue"),
    "Singular": ("Sg", "rose"),
    "Veeva": ("VV", "orange"),
    "SAPOData": ("SA", "blue"),
    "Datadog": ("DD", "purple"),
    "Dynatrace": ("Dy", "sky"),
    "Trendmicro": ("TM", "red"),
    "Infornexus": ("IN", "brown"),
    "GenericREST": ("GR", "slate"),
    "Snowflake": ("Sn", "teal"),
    "Upsolver": ("Up", "indigo"),
    "EventBridge": ("EB", "red"),
}
ROLES = {"source": "Source", "destination": "Destination"}
AUTH_KINDS = ("oauth2", "client_credentials", "basic", "api_key", "none", "per_connection")


def icon(key: str, name: str) -> tuple[str, str]:
    """(monogram, colour) of a connector; one missing from ICONS shows its initials on grey."""
    if key in ICONS:
        return ICONS[key]
    words = [w for w in name.replace("-", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?", "grey"


def entries(user) -> list[dict]:
    """The catalog as `user` sees it: each connector with how many of their teams' connections use it."""
    counts = {
        (row["connector_type"], row["connector_label"]): row["n"]
        for row in access.visible(user, Connection.objects.all())
        .values("connector_type", "connector_label").annotate(n=Count("id"))
    }
    result = []
    for key in connector_keys():
        try:
            cls = get_connector_class(key)
        except ConnectorError:
            continue  # a registered package changed on disk: its registration says what to do
        label = cls.connector_label if cls.connector_type == "CustomConnector" else ""
        monogram, colour = icon(key, cls.display_name or key)
        result.append({
            "key": key,
            "cls": cls,
            "monogram": monogram,
            "colour": colour,
            "count": counts.get((cls.connector_type, label), 0),
        })
    return result


@dataclass
class CatalogFilters:
    q: str = ""
    role: str = ""
    auth: str = ""

    @property
    def active(self) -> bool:
        return bool(self.q or self.role or self.auth)


def read_filters(params: QueryDict) -> CatalogFilters:
    """Values that are not offered are ignored: the choices are a fixed list of links and options."""
    role = params.get("role", "")
    auth = params.get("auth", "")
    return CatalogFilters(
        q=(params.get("q") or "").strip(),
        role=role if role in ROLES else "",
        auth=auth if auth in AUTH_KINDS else "",
    )


def matches(cls: type[Connector], key: str, chosen: CatalogFilters) -> bool:
    if chosen.role == "source" and not cls.can_be_source:
        return False
    if chosen.role == "destination" and not cls.can_be_destination:
        return False
    # the kinds its connections may use (SAP OData: basic or oauth2); Generic REST names none,
    # each spec choosing, so an authentication filter leaves it out as before
    if chosen.auth and chosen.auth not in cls.offered_auth_kinds():
        return False
    words = chosen.q.lower().split()
    text = " ".join([key, cls.display_name or "", cls.description or ""]).lower()
    return all(word in text for word in words)
