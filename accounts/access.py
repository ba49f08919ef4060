"""Who may do what: the one place for Sluice's permission rules.

Every page (by URL name, `PAGES`), every CLI verb and API operation (by AppFlow operation name,
`OPERATIONS`) is listed here with the action it performs, in the user's words. `can(user, action,
obj)` decides; `visible(user, queryset)` narrows a list to the user's teams. The middleware
(accounts/middleware.py), the CLI and the API only ask these; nothing else decides.

Roles are per team and nested: Viewer ⊂ Operator ⊂ Editor ⊂ Admin (accounts/models.py Role).
Superusers are Admin everywhere and see every team's objects. An object of a team the user is
not in does not exist for them (404 / ResourceNotFoundException), so its name leaks nothing.

To add a page: add its URL name to PAGES with an action (and how to find its object, if it has
one); accounts/tests/test_matrix.py fails until you do, and asks you for the expected roles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from accounts.models import ConnectionGrant, Membership, Role, Team
from console.errors import NotFound, UserError

PUBLIC = "public"  # no sign-in: the login page, health, webhooks, the signed API, the Demo CRM
SELF = "self"  # any signed-in user, about themselves: profile, own access keys, log out
STAFF = "staff"  # the Django admin: Django's own is_staff check decides

# action -> the least role that may do it, in any team (no object) or in the object's team.
ACTIONS: dict[str, Role] = {
    "view": Role.VIEWER,  # flows, runs, connections' names and status (never settings or secrets)
    "run": Role.OPERATOR,
    "backfill": Role.OPERATOR,
    "retry": Role.OPERATOR,
    "cancel": Role.OPERATOR,
    "activate": Role.OPERATOR,  # and deactivate
    "create": Role.EDITOR,
    "edit": Role.EDITOR,
    "delete": Role.EDITOR,
    "use_connection": Role.EDITOR,  # pick it in the wizard: settings stay hidden
    "manage_connection": Role.ADMIN,  # see settings, change, test, re-authorize, delete; or a grant
    "manage_people": Role.ADMIN,  # users, teams, roles
    "manage_settings": Role.ADMIN,  # notification channels, quotas, key rotation
}
DOING = {  # the action as the end of "You may not ..."
    "view": "see this", "run": "run flows", "backfill": "backfill flows", "retry": "retry runs",
    "cancel": "cancel runs", "activate": "activate or deactivate flows",
    "create": "create flows or connections", "edit": "change flows",
    "delete": "delete flows or connections", "use_connection": "use this connection",
    "manage_connection": "see or change this connection's settings",
    "manage_people": "manage people and teams",
    "manage_settings": "change notification channels or settings",
    STAFF: "open this page: it is for staff accounts, who look after the whole installation "
           "(installed connector packages, the audit log of every team)",
}


class AccessDenied(UserError):
    """Refused by a rule: a 403 page in the console, AccessDeniedException in the CLI and API."""

    code = "AccessDeniedException"


# --- what the user is ----------------------------------------------------------------------------


def roles_of(user) -> dict[int, int]:
    """team id -> role, read once per user object (once per request: the request's user is new)."""
    cached = getattr(user, "_sluice_roles", None)
    if cached is None:
        cached = dict(Membership.objects.filter(user_id=user.pk).values_list("team_id", "role"))
        user._sluice_roles = cached
    return cached


def forget_roles(user) -> None:
    user.__dict__.pop("_sluice_roles", None)


def _active(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def team_of(obj: Any) -> int | None:
    """The team an object belongs to: its own `team_id`, or its flow's (an execution, a draft)."""
    if isinstance(obj, Team):
        return obj.pk
    if hasattr(obj, "team_id"):
        return obj.team_id
    flow = getattr(obj, "flow", None)
    return flow.team_id if flow is not None else None


# --- the rules -----------------------------------------------------------------------------------


def is_visible(user, obj: Any) -> bool:
    if not _active(user):
        return False
    if user.is_superuser or _is_user(obj):
        return True
    return team_of(obj) in roles_of(user)


def can(user, action: str, obj: Any = None) -> bool:
    """May `user` do `action` (on `obj`, or somewhere when no object is given)?"""
    if not _active(user):
        return False
    if action in (SELF, PUBLIC):
        return True
    if action == STAFF:
        return user.is_staff or user.is_superuser
    least = ACTIONS[action]  # an unknown action is a bug in a rule table: fail loudly
    if user.is_superuser:
        return True
    roles = roles_of(user)
    if obj is None:
        return any(role >= least for role in roles.values())
    if _is_user(obj):
        return _may_manage_person(user, obj)
    role = roles.get(team_of(obj), 0)
    if role >= least:
        return True
    if action == "manage_connection" and role >= Role.EDITOR:
        return ConnectionGrant.objects.filter(connection_id=obj.pk, user_id=user.pk).exists()
    return False


def _is_user(obj: Any) -> bool:
    return hasattr(obj, "get_username")


def _may_manage_person(user, person) -> bool:
    """A team Admin manages the people of the teams they administer, and people in no team yet
    (just created); never a superuser."""
    if person.is_superuser:
        return False
    mine = {team for team, role in roles_of(user).items() if role >= Role.ADMIN}
    if not mine:
        return False
    theirs = set(Membership.objects.filter(user_id=person.pk).values_list("team_id", flat=True))
    return not theirs or bool(theirs & mine)


def check(user, action: str, obj: Any = None, *, label: str = "") -> None:
    """Raise NotFound when the object is another team's, AccessDenied when the role is short."""
    if obj is not None and not is_visible(user, obj):
        raise NotFound(f"{label or 'That'} does not exist.")
    if not can(user, action, obj):
        raise AccessDenied(refusal(user, action, obj))


def refusal(user, action: str, obj: Any = None) -> str:
    """The sentence a refused person reads: what, why, and whom to ask."""
    doing = DOING.get(action, action.replace("_", " "))
    if not _active(user):
        return f"You may not {doing}: sign in with an active account."
    if action in ACTIONS:
        team_id = team_of(obj) if obj is not None and not _is_user(obj) else None
        have = roles_of(user).get(team_id) if team_id is not None else max(roles_of(user).values(), default=0)
        need = ACTIONS[action].label
        where = f" of the team {Team.objects.get(pk=team_id).name}" if team_id is not None else ""
        role = f"your role{where} is {Role(have).label}" if have else f"you are not in a team{where}"
        extra = " or Manage on it" if action == "manage_connection" else ""
        return (f"You may not {doing}: it needs the {need} role{extra}, and {role}. "
                "Ask an Admin of the team if you need it.")
    return f"You may not {doing}."


def visible(user, queryset: QuerySet) -> QuerySet:
    """The rows of `queryset` the user may see: those of their teams (all, for a superuser)."""
    if _active(user) and user.is_superuser:
        return queryset
    teams = list(roles_of(user)) if _active(user) else []
    return queryset.filter(**{f"{TEAM_PATHS[queryset.model._meta.label]}__in": teams})


TEAM_PATHS = {  # model -> the lookup from it to its team
    "flows.Flow": "team",
    "connections.Connection": "team",
    "flows.Execution": "flow__team",
    "flows.FlowDraft": "flow__team",
    "accounts.Team": "pk",
}


def teams_for_new(user, action: str = "create") -> QuerySet[Team]:
    """The teams the user may create a flow or connection in (all, for a superuser)."""
    if user.is_superuser:
        return Team.objects.all()
    least = ACTIONS[action]
    return Team.objects.filter(pk__in=[t for t, role in roles_of(user).items() if role >= least])


def home_team(user) -> Team | None:
    """Where a new flow or connection goes: the first team (by name) the user may create in; a
    superuser in no team uses the default team. None: the user may not create anything."""
    from accounts.models import DEFAULT_TEAM

    if user is None:
        return Team.objects.get_or_create(name=DEFAULT_TEAM)[0]
    if user.is_superuser and not roles_of(user):
        return Team.objects.get_or_create(name=DEFAULT_TEAM)[0]
    return teams_for_new(user).order_by("name").first()


# --- pages: URL name -> action, and how to find the object -------------------------------------


@dataclass(frozen=True)
class Rule:
    action: str | Callable[[Any], str]
    find: Callable[[Any, dict], Any] | None = None  # (request, url kwargs) -> object, or NOT_FOUND

    def action_for(self, request) -> str:
        return self.action(request) if callable(self.action) else self.action


NOT_FOUND = object()


def _flow(request, kwargs):
    from flows.models import Flow

    return Flow.objects.filter(name=kwargs["name"]).only("pk", "team_id").first() or NOT_FOUND


def _connection(request, kwargs):
    from connections.models import Connection

    return Connection.objects.filter(name=kwargs["name"]).only("pk", "team_id").first() or NOT_FOUND


def _draft_flow(request, kwargs):
    """A draft is its owner's alone (flows/wizard/drafts.py); one that edits a flow is checked
    against that flow, a new one against "create"."""
    from flows.models import FlowDraft

    drafts = FlowDraft.objects.filter(pk=kwargs["draft_id"], owner_id=request.user.pk)
    draft = drafts.select_related("flow").first()
    if draft is None:
        return NOT_FOUND
    return draft.flow if draft.flow_id else None


def _draft_action(request) -> str:
    kwargs = request.resolver_match.kwargs
    return "create" if _draft_flow(request, kwargs) in (None, NOT_FOUND) else "edit"


def _reauthorized(request, kwargs):
    """OAuth start re-authorizes the connection named in the form; without one it creates."""
    from connections.models import Connection

    name = request.POST.get("connection") if request.method == "POST" else None
    if not name:
        return None
    return Connection.objects.filter(name=name).only("pk", "team_id").first() or NOT_FOUND


def _oauth_action(request) -> str:
    return "manage_connection" if request.method == "POST" and request.POST.get("connection") else "create"


def _run_action(request) -> str:
    return "backfill" if request.method == "POST" and request.POST.get("window_start") else "run"


FLOW = _flow
CONNECTION = _connection

PAGES: dict[str, Rule] = {
    # console
    "home": Rule("view"),
    "health": Rule(PUBLIC),
    "login": Rule(PUBLIC),
    "logout": Rule(SELF),
    "api-reference": Rule(SELF),
    "access-keys": Rule(SELF),  # one's own keys; a key acts with its user's rights
    "access-key-action": Rule(SELF),
    "webhook": Rule(PUBLIC),  # authenticated by the flow's token and signature
    "notifications": Rule("manage_settings"),
    "notification-delete": Rule("manage_settings"),
    "api:dispatch": Rule(PUBLIC),  # signed by an access key; OPERATIONS below decide
    "api:openapi": Rule(PUBLIC),
    # people
    "accounts:profile": Rule(SELF),
    "accounts:people": Rule("manage_people"),
    "accounts:person-new": Rule("manage_people"),
    "accounts:person": Rule("manage_people"),
    "accounts:teams": Rule("manage_people"),
    # flows
    "flows:list": Rule("view"),
    "flows:import": Rule("create"),
    "flows:wizard-new": Rule("create"),
    "flows:wizard-step": Rule(_draft_action, _draft_flow),
    "flows:wizard-discard": Rule(_draft_action, _draft_flow),
    "flows:wizard-edit": Rule("edit", FLOW),
    "flows:detail": Rule("view", FLOW),
    "flows:run": Rule(_run_action, FLOW),
    "flows:activate": Rule("activate", FLOW),
    "flows:deactivate": Rule("activate", FLOW),
    "flows:cancel-all": Rule("cancel", FLOW),
    "flows:retries": Rule("edit", FLOW),
    "flows:guardrails": Rule("edit", FLOW),
    "flows:webhook-key": Rule("edit", FLOW),
    "flows:webhook-settings": Rule("edit", FLOW),
    "flows:download": Rule("view", FLOW),
    "flows:delete": Rule("delete", FLOW),
    "flows:version-diff": Rule("view", FLOW),
    "flows:execution": Rule("view", FLOW),
    "flows:cancel": Rule("cancel", FLOW),
    "flows:retry-rejected": Rule("retry", FLOW),
    # connections: the list shows names and status; everything about one connection's settings
    # is "manage" ("use but not view": Editors pick it in the wizard without seeing it)
    "connections:list": Rule("view"),
    "connections:create": Rule("create"),
    "connections:oauth_start": Rule(_oauth_action, _reauthorized),
    "connections:oauth_callback": Rule(SELF),  # bound to the user who started it (flow.claim)
    "connections:edit": Rule("manage_connection", CONNECTION),
    "connections:delete": Rule("manage_connection", CONNECTION),
    "connections:test": Rule("manage_connection", CONNECTION),
    "connections:test_status": Rule("manage_connection", CONNECTION),
    "connections:facts": Rule("manage_connection", CONNECTION),
    "connections:metadata_refresh": Rule("manage_connection", CONNECTION),
    "connections:detail": Rule("manage_connection", CONNECTION),
    "connections:spec_export": Rule("manage_connection", CONNECTION),
    "connect-demo": Rule("create"),  # a Demo CRM connection, through its consent page
    # installed connector packages are the installation's, not a team's: staff only
    "connections:packages": Rule(STAFF),
    "connections:package-register": Rule(STAFF),
    "connections:package-update": Rule(STAFF),
    "connections:package-unregister": Rule(STAFF),
    # the audit log spans every team: staff only
    "audit:log": Rule(STAFF),
    "audit:export": Rule(STAFF),
    # single sign-on and one's own sessions
    "signin:oidc-start": Rule(PUBLIC),
    "signin:oidc-callback": Rule(PUBLIC),  # bound to the browser that started it (state, PKCE, nonce)
    "signin:sessions": Rule(SELF),
    "signin:logout-everywhere": Rule(SELF),
}
NAMESPACES: dict[str, Rule] = {
    "admin": Rule(STAFF),  # the Django admin keeps its own staff login
    "demo_saas": Rule(PUBLIC),  # the bundled demo application, a stand-in for a SaaS service
}


def page_rule(view_name: str) -> Rule | None:
    rule = PAGES.get(view_name)
    if rule is None and ":" in view_name:
        rule = NAMESPACES.get(view_name.split(":", 1)[0])
    return rule


# --- CLI verbs and API operations: AppFlow operation -> action, and which member names the object


@dataclass(frozen=True)
class Operation:
    action: str
    finds: str = ""  # "flow" | "connection" | "arn" | "" (no single object)


OPERATIONS: dict[str, Operation] = {
    "CreateFlow": Operation("create"),
    "UpdateFlow": Operation("edit", "flow"),
    "DescribeFlow": Operation("view", "flow"),
    "ListFlows": Operation("view"),  # answers the user's teams' flows only
    "DeleteFlow": Operation("delete", "flow"),
    "StartFlow": Operation("run", "flow"),
    "StopFlow": Operation("activate", "flow"),
    "CancelFlowExecutions": Operation("cancel", "flow"),
    "DescribeFlowExecutionRecords": Operation("view", "flow"),
    "CreateConnectorProfile": Operation("create"),
    "UpdateConnectorProfile": Operation("manage_connection", "connection"),
    "DescribeConnectorProfiles": Operation("view"),  # the user's teams'; settings only where managed
    "DeleteConnectorProfile": Operation("manage_connection", "connection"),
    "ResetConnectorMetadataCache": Operation("manage_connection", "connection"),
    "DescribeConnectors": Operation("view"),
    "DescribeConnector": Operation("view"),
    "ListConnectors": Operation("view"),
    "ListConnectorEntities": Operation("use_connection", "connection"),
    "DescribeConnectorEntity": Operation("use_connection", "connection"),
    "TagResource": Operation("edit", "arn"),
    "UntagResource": Operation("edit", "arn"),
    "ListTagsForResource": Operation("view", "arn"),
    "RegisterConnector": Operation("manage_settings"),
    "UnregisterConnector": Operation("manage_settings"),
    "UpdateConnectorRegistration": Operation("manage_settings"),
    "NewConnector": Operation("view"),  # writes a package skeleton on this machine; nothing in Sluice
}


def operation_target(finds: str, params: dict[str, Any]) -> Any:
    """The flow or connection an operation names (members in AppFlow's or the CLI's spelling);
    None when it names none or one that does not exist (the verb then says so itself)."""
    from connections.models import Connection
    from flows.models import Flow

    def member(*names: str) -> Any:
        return next((params[n] for n in names if params.get(n)), None)

    if finds == "flow":
        name = member("flowName", "flow_name")
        return Flow.objects.filter(name=name).first() if isinstance(name, str) else None
    if finds == "connection":
        name = member("connectorProfileName", "connector_profile_name")
        return Connection.objects.filter(name=name).first() if isinstance(name, str) else None
    if finds == "arn":
        arn = member("resourceArn", "resource_arn")
        if not isinstance(arn, str):
            return None
        from flows.cli.shapes import ARN_PREFIX

        kind, _, name = arn.removeprefix(ARN_PREFIX).partition("/")
        model = {"flow": Flow, "connectorprofile": Connection}.get(kind)
        return model.objects.filter(name=name).first() if model else None
    return None


def check_operation(user, operation: str, params: dict[str, Any]) -> None:
    """The CLI's and the API's one check, before the verb runs. No user: the installation's own
    command line before any admin exists (see check_uses)."""
    if user is None:
        return
    rule = OPERATIONS[operation]
    target = operation_target(rule.finds, params) if rule.finds else None
    if operation == "StartFlow" and (params.get("data_pull_start_time") or params.get("dataPullStartTime")):
        rule = Operation("backfill", rule.finds)
    label = {"flow": "The flow", "connection": "The connection"}.get(rule.finds, "That resource")
    check(user, rule.action, target, label=label)


# --- service-level checks (whoever calls: console, CLI, API) ------------------------------------


def check_uses(user, connections) -> None:
    """A flow saved by `user` may only name connections they may use (Editor of its team); one of
    another team is "no connection named ...", as if it did not exist. No user: the installation's
    own command line, acting as nobody in particular."""
    if user is None:
        return
    for connection in connections:
        if not is_visible(user, connection):
            raise NotFound(f'connectorProfileName: no connection named "{connection.name}". '
                           "Create it first (Connections, or `sluice create-connector-profile`).")
        if not can(user, "use_connection", connection):
            raise AccessDenied(refusal(user, "use_connection", connection))


def team_for_new(user) -> Team:
    """The team a new flow or connection of `user` belongs to; AccessDenied when there is none."""
    team = home_team(user)
    if team is None:
        raise AccessDenied(refusal(user, "create"))
    return team


def usable(user, queryset: QuerySet) -> QuerySet:
    """The connections of `queryset` the user may pick in a flow: those of teams they edit in."""
    if _active(user) and user.is_superuser:
        return queryset
    teams = list(teams_for_new(user, "use_connection").values_list("pk", flat=True)) if _active(user) else []
    return queryset.filter(team__in=teams)


def people_visible(user, queryset: QuerySet) -> QuerySet:
    """The people an Admin manages: members of the teams they administer, and people in no team
    (just created); a superuser manages everyone."""
    if _active(user) and user.is_superuser:
        return queryset
    mine = [team for team, role in roles_of(user).items() if role >= Role.ADMIN] if _active(user) else []
    from django.db.models import Q

    return queryset.filter(Q(memberships__team__in=mine) | Q(memberships__isnull=True)).distinct()
