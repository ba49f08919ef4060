"""The permissions matrix: every role × every page of the URL conf (and every CLI verb and API
operation from their registries), with the expected answer written out here, independently of
accounts/access.py. A new page, verb or operation without a rule and an expectation fails."""

from __future__ import annotations

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts import access
from accounts.models import ConnectionGrant, Membership, Role, Team
from console.errors import UserError
from flows.models import FlowDraft

# The least role each page needs. "public": no sign-in; "self": anyone signed in; "staff": the
# Django admin's own check; "manage": Admin of the team, or an Editor granted Manage on it.
EXPECTED = {
    "home": "Viewer", "health": "public", "login": "public", "logout": "self",
    "api-reference": "self", "access-keys": "self", "access-key-action": "self", "webhook": "public",
    "notifications": "Admin", "notification-delete": "Admin",
    "api:dispatch": "public", "api:openapi": "public",
    "accounts:profile": "self", "accounts:people": "Admin", "accounts:person-new": "Admin",
    "accounts:person": "Admin", "accounts:teams": "Admin",
    "flows:list": "Viewer", "flows:import": "Editor", "flows:wizard-new": "Editor",
    "flows:wizard-step": "Editor", "flows:wizard-discard": "Editor", "flows:wizard-edit": "Editor",
    "flows:detail": "Viewer", "flows:run": "Operator", "flows:activate": "Operator",
    "flows:deactivate": "Operator", "flows:cancel-all": "Operator", "flows:retries": "Editor",
    "flows:guardrails": "Editor", "flows:webhook-key": "Editor", "flows:webhook-settings": "Editor",
    "flows:download": "Viewer", "flows:delete": "Editor", "flows:version-diff": "Viewer",
    "flows:execution": "Viewer", "flows:cancel": "Operator", "flows:retry-rejected": "Operator",
    "connections:list": "Viewer", "connections:create": "Editor", "connections:oauth_start": "Editor",
    "connections:oauth_callback": "self", "connections:edit": "manage", "connections:delete": "manage",
    "connections:test": "manage", "connections:test_status": "manage", "connections:facts": "manage",
    "connections:metadata_refresh": "manage", "connections:detail": "manage",
    "connections:spec_export": "manage", "connect-demo": "Editor",
    "connections:packages": "staff", "connections:package-register": "staff",
    "connections:package-update": "staff", "connections:package-unregister": "staff",
    "audit:log": "staff", "audit:export": "staff",
    "signin:oidc-start": "public", "signin:oidc-callback": "public",
    "signin:sessions": "self", "signin:logout-everywhere": "self",
}
NAMESPACES = {"admin": "staff", "demo_saas": "public"}  # whole namespaces with one rule
OPERATIONS = {
    "CreateFlow": "Editor", "UpdateFlow": "Editor", "DescribeFlow": "Viewer", "ListFlows": "Viewer",
    "DeleteFlow": "Editor", "StartFlow": "Operator", "StopFlow": "Operator",
    "CancelFlowExecutions": "Operator", "DescribeFlowExecutionRecords": "Viewer",
    "CreateConnectorProfile": "Editor", "UpdateConnectorProfile": "manage",
    "DescribeConnectorProfiles": "Viewer", "DeleteConnectorProfile": "manage",
    "ResetConnectorMetadataCache": "manage", "DescribeConnectors": "Viewer", "DescribeConnector": "Viewer",
    "ListConnectors": "Viewer", "ListConnectorEntities": "Editor", "DescribeConnectorEntity": "Editor",
    "TagResource": "Editor", "UntagResource": "Editor", "ListTagsForResource": "Viewer",
    "RegisterConnector": "Admin", "UnregisterConnector": "Admin", "UpdateConnectorRegistration": "Admin",
    "NewConnector": "Viewer",
}
# people in the demo's team, by what they are; "outsider" is an Admin of another team
KINDS = ("viewer", "operator", "editor", "granted", "admin", "superuser")
RANK = {"viewer": 1, "operator": 2, "editor": 3, "granted": 3, "admin": 4}


def expected_allowed(kind: str, least: str) -> bool:
    if least in ("public", "self") or kind == "superuser":
        return True
    if least == "staff":
        return False
    if least == "manage":
        return kind in ("admin", "granted")
    return RANK[kind] >= Role.from_name(least)


def url_names(patterns=None, namespace: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += url_names(entry.url_patterns, inner)
        elif entry.name:
            found.append((namespace + entry.name, entry))
    return found


def test_every_page_verb_and_operation_has_a_rule_and_an_expectation():
    from api.operations import OPERATIONS as API_OPERATIONS
    from flows.management.commands.sluice import Command

    missing = []
    for name, _ in url_names():
        namespace = name.split(":", 1)[0] if ":" in name else ""
        if access.page_rule(name) is None:
            missing.append(f"{name}: no rule in accounts/access.py PAGES")
        if name not in EXPECTED and namespace not in NAMESPACES:
            missing.append(f"{name}: no expected role in accounts/tests/test_matrix.py EXPECTED")
    parser = Command().create_parser("manage.py", "sluice")
    verbs = next(a for a in parser._actions if a.dest == "verb").choices
    cli_operations = {sub.get_default("operation") for sub in verbs.values()}
    for operation in cli_operations | set(API_OPERATIONS):
        if operation not in access.OPERATIONS:
            missing.append(f"{operation}: no rule in accounts/access.py OPERATIONS")
        if operation not in OPERATIONS:
            missing.append(f"{operation}: no expected role in accounts/tests/test_matrix.py OPERATIONS")
    assert missing == []


@pytest.fixture
def people(demo, django_user_model):
    team = demo["flow"].team
    users = {}
    for kind, role in (("viewer", Role.VIEWER), ("operator", Role.OPERATOR), ("editor", Role.EDITOR),
                       ("granted", Role.EDITOR), ("admin", Role.ADMIN)):
        users[kind] = django_user_model.objects.create_user(kind)
        Membership.objects.create(user=users[kind], team=team, role=role)
    ConnectionGrant.objects.create(connection=demo["connection"], user=users["granted"])
    users["superuser"] = django_user_model.objects.create_superuser("super")
    users["outsider"] = django_user_model.objects.create_user("outsider")
    Membership.objects.create(user=users["outsider"], team=Team.objects.create(name="other"), role=Role.ADMIN)
    return users


def sample_kwargs(name: str, pattern: URLPattern, demo, user) -> dict:
    """A value for each of the page's URL parts: the demo flow or connection, the user's own draft."""
    values = {}
    for part in pattern.pattern.regex.groupindex:
        if part == "name":
            values[part] = demo["connection"].name if name.startswith("connections:") else demo["flow"].name
        elif part == "draft_id":
            values[part] = FlowDraft.objects.get_or_create(owner=user, flow=None)[0].pk
        elif part == "pk":
            values[part] = type(user).objects.get(username="viewer").pk
        else:
            values[part] = {"step": "details", "key": demo["connection"].connector_key, "action": "deactivate",
                            "access_key_id": "SLKNOSUCHKEY", "token": "no-such-token", "path": "flows"
                            }.get(part, uuid.uuid4())
    return values


@pytest.mark.django_db
def test_every_role_on_every_page_verb_and_operation(client, demo, people):
    """One GET per cell: a refused page is 403 before its view runs (a POST-only view that is
    allowed answers 405), another team's object is 404, nothing is ever a 500."""
    wrong = []
    for name, pattern in url_names():
        namespace = name.split(":", 1)[0] if ":" in name else ""
        if namespace in NAMESPACES and name not in ("admin:index", "demo_saas:home"):
            continue  # one page stands for the namespace's single rule
        least = EXPECTED.get(name) or NAMESPACES[namespace]
        for kind in (*KINDS, "outsider"):
            user = people[kind]
            client.force_login(user)
            response = client.get(reverse(name, kwargs=sample_kwargs(name, pattern, demo, user)))
            status = response.status_code
            rule = access.page_rule(name)
            # a draft is the user's own; OAuth start names its connection in the form (POST only)
            has_object = (rule.find is not None and "draft_id" not in pattern.pattern.regex.groupindex
                          and name != "connections:oauth_start")
            if kind == "outsider":
                if has_object and status != 404:
                    wrong.append(f"{name} as an Admin of another team: {status}, expected 404")
                continue
            if least == "staff":  # the admin sends others to its login (302); a POST-only page: 405;
                # a staff page about a package that is not installed goes back to the list (302)
                allowed = status in (200, 405) or (status == 302 and namespace != "admin")
            else:
                allowed = status not in (403,)
            if status >= 500 or allowed != expected_allowed(kind, least):
                wrong.append(f"{name} as {kind}: {status}, expected {'allowed' if not allowed else '403'}")
    assert wrong == []
    assert operation_cells(demo, people) == []


def operation_cells(demo, people) -> list[str]:
    """Every CLI verb and API operation (one check, accounts.access.check_operation) × role."""
    from flows.cli.shapes import flow_arn

    params = {"flowName": demo["flow"].name, "connectorProfileName": demo["connection"].name,
              "resourceArn": flow_arn(demo["flow"].name)}
    wrong = []
    for operation, least in OPERATIONS.items():
        for kind in (*KINDS, "outsider"):
            try:
                access.check_operation(people[kind], operation, params)
                answer = "allowed"
            except UserError as exc:
                answer = exc.code
            has_object = access.OPERATIONS[operation].finds
            if kind == "outsider" and has_object:
                expected = "ResourceNotFoundException"
            elif kind == "outsider":
                expected = "allowed" if least != "manage" else "AccessDeniedException"
            else:
                expected = "allowed" if expected_allowed(kind, least) else "AccessDeniedException"
            if answer != expected:
                wrong.append(f"{operation} as {kind}: {answer}, expected {expected}")
    return wrong
