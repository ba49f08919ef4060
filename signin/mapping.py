"""Which teams and roles a single sign-on user gets, from their id token's claims. A pure
function, for the people and teams code (accounts/) to apply at each sign-in.

SLUICE_OIDC_TEAM_MAPPING is a JSON list of rules, first match per team wins:
    [{"claim": "groups", "value": "data-eng", "team": "Data", "role": "Editor"},
     {"claim": "email_domain", "value": "example.com", "team": "Everyone", "role": "Viewer"}]
A rule matches when the claim equals the value, or, for a list claim (groups), contains it.
"email_domain" is the part of the email after the @."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

ROLES = ("Viewer", "Operator", "Editor", "Admin")


class MappingInvalid(ValueError):
    pass


def parse_rules(text: str) -> list[dict]:
    if not text.strip():
        return []
    try:
        rules = json.loads(text)
    except ValueError as exc:
        raise MappingInvalid(f"SLUICE_OIDC_TEAM_MAPPING: not JSON ({exc.msg} at {exc.pos}).") from None
    if not isinstance(rules, list):
        raise MappingInvalid("SLUICE_OIDC_TEAM_MAPPING: must be a JSON list of rules.")
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict) or not all(
            isinstance(rule.get(k), str) and rule[k] for k in ("claim", "value", "team", "role")
        ):
            raise MappingInvalid(f"SLUICE_OIDC_TEAM_MAPPING[{i}]: needs claim, value, team and role (text).")
        if rule["role"] not in ROLES:
            raise MappingInvalid(f"SLUICE_OIDC_TEAM_MAPPING[{i}].role: must be one of {', '.join(ROLES)}.")
    return rules


def teams_for(claims: Mapping[str, Any], rules: list[dict]) -> list[tuple[str, str]]:
    """[(team, role)] for these claims, in rule order, one role per team (the first match)."""
    email = str(claims.get("email") or "")
    values = {**claims, "email_domain": email.rpartition("@")[2].lower() if "@" in email else ""}
    found: dict[str, str] = {}
    for rule in rules:
        claim = values.get(rule["claim"])
        matched = rule["value"] in claim if isinstance(claim, list) else str(claim) == rule["value"]
        if claim is not None and matched and rule["team"] not in found:
            found[rule["team"]] = rule["role"]
    return list(found.items())
