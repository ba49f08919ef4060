"""The objects Sluice reads from the Deep Security API and their fields, as the API reference
documents its resources (Computer, Policy, AntiMalwareEvent, IntrusionPreventionEvent,
FirewallEvent). The resources are fixed by the API, so the fields are declared here rather than
discovered; a field the API adds later is left out until it is declared."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrendObject:
    name: str  # the object's name in a flow (sourceConnectorProperties.Trendmicro.object)
    label: str
    resource: str  # /api/<resource>/search
    list_key: str  # the answer's list
    id_key: str
    fields: tuple[tuple[str, str], ...]  # (name, Sluice data type); "datetime" = epoch milliseconds
    time_field: str | None = None  # the date field windows are pushed down on (events: logDate)


_EVENT = (("logDate", "datetime"), ("hostID", "integer"), ("hostName", "string"), ("tags", "string"))

OBJECTS: dict[str, TrendObject] = {o.name: o for o in (
    TrendObject("computers", "Computers", "computers", "computers", "ID", (
        ("ID", "integer"), ("hostName", "string"), ("displayName", "string"), ("description", "string"),
        ("platform", "string"), ("policyID", "integer"), ("groupID", "integer"),
        ("agentVersion", "string"), ("lastAgentCommunication", "datetime"),
        ("lastIPUsed", "string"), ("computerStatus", "string"))),
    TrendObject("policies", "Policies", "policies", "policies", "ID", (
        ("ID", "integer"), ("name", "string"), ("description", "string"), ("parentID", "integer"),
        ("autoRequiresUpdate", "string"), ("ruleIDs", "string"))),
    TrendObject("antiMalwareEvents", "Anti-malware events", "antimalwareevents", "antiMalwareEvents",
                "antiMalwareEventID", (
                    ("antiMalwareEventID", "integer"), *_EVENT, ("malwareName", "string"),
                    ("malwareType", "string"), ("infectedFilePath", "string"), ("scanType", "string"),
                    ("scanResultAction1", "string"), ("spywareItems", "string")), "logDate"),
    TrendObject("intrusionPreventionEvents", "Intrusion prevention events", "intrusionpreventionevents",
                "intrusionPreventionEvents", "intrusionPreventionEventID", (
                    ("intrusionPreventionEventID", "integer"), *_EVENT, ("reason", "string"),
                    ("severity", "string"), ("action", "string"), ("sourceIP", "string"),
                    ("destinationIP", "string"), ("destinationPort", "integer"), ("protocol", "string")),
                "logDate"),
    TrendObject("firewallEvents", "Firewall events", "firewallevents", "firewallEvents", "firewallEventID", (
        ("firewallEventID", "integer"), *_EVENT, ("reason", "string"), ("action", "string"),
        ("direction", "string"), ("sourceIP", "string"), ("destinationIP", "string"),
        ("destinationPort", "integer"), ("protocol", "string"), ("repeatCount", "integer")), "logDate"),
)}
