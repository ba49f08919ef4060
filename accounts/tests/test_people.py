"""add_user, deactivation, the CLI's --as, the API's refusal, use-but-not-view, htmx refusals."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from accounts.models import Membership, Role
from api.operations import run_operation
from api.wire import ApiError
from console.errors import NotFound
from flows import services


@pytest.mark.django_db
def test_add_user_creates_the_team_and_is_idempotent(django_user_model, capsys):
    call_command("add_user", "ana", "--team", "sales", "--role", "operator", "--password", "a long pass 12345")
    call_command("add_user", "ana", "--team", "sales", "--role", "Operator")
    membership = Membership.objects.get(user__username="ana")
    assert (membership.team.name, membership.role) == ("sales", Role.OPERATOR)
    assert django_user_model.objects.get(username="ana").check_password("a long pass 12345")
    with pytest.raises(CommandError, match="password"):
        call_command("add_user", "bo", "--team", "sales", "--role", "Viewer", "--password", "123")


@pytest.mark.django_db
def test_a_deactivated_user_is_signed_out_at_once(client, demo, django_user_model):
    viewer = django_user_model.objects.create_user("viewer")
    Membership.objects.create(user=viewer, team=demo["flow"].team, role=Role.VIEWER)
    client.force_login(viewer)
    assert client.get(reverse("flows:list")).status_code == 200
    viewer.is_active = False
    viewer.save()
    assert client.get(reverse("flows:list")).status_code == 302  # to the login page


@pytest.mark.django_db
def test_cli_as_a_viewer_is_refused_with_access_denied(demo, django_user_model, capsys):
    viewer = django_user_model.objects.create_user("viewer")
    Membership.objects.create(user=viewer, team=demo["flow"].team, role=Role.VIEWER)
    with pytest.raises(CommandError) as raised:
        call_command("sluice", "--as", "viewer", "start-flow", "--flow-name", demo["flow"].name)
    assert raised.value.returncode == 254
    assert capsys.readouterr().err.startswith(
        "An error occurred (AccessDeniedException) when calling the StartFlow operation: You may not run flows")
    call_command("sluice", "--as", "viewer", "describe-flow", "--flow-name", demo["flow"].name)


@pytest.mark.django_db
def test_api_refuses_as_appflow_does(demo, django_user_model):
    viewer = django_user_model.objects.create_user("viewer")
    Membership.objects.create(user=viewer, team=demo["flow"].team, role=Role.VIEWER)
    with pytest.raises(ApiError) as raised:
        run_operation("StartFlow", {"flowName": demo["flow"].name}, viewer)
    assert (raised.value.code, raised.value.status) == ("AccessDeniedException", 403)


@pytest.mark.django_db
def test_use_but_not_view(client, demo, django_user_model):
    """An Editor builds flows on the team's connection without seeing its settings."""
    from connections.connectors.registry import get_connector_class
    from flows.wizard.configure import connections_of

    connection, team = demo["connection"], demo["flow"].team
    editor = django_user_model.objects.create_user("editor")
    Membership.objects.create(user=editor, team=team, role=Role.EDITOR)
    assert connection in connections_of(get_connector_class(connection.connector_key), editor)
    document = {**demo["flow"].definition, "flowName": "editors-copy"}
    assert services.create_flow(document, user=editor).team == team
    client.force_login(editor)
    for page in ("connections:detail", "connections:edit"):
        response = client.get(reverse(page, args=[connection.name]))
        assert response.status_code == 403
        assert "Manage on it" in response.content.decode()
    response = client.post(reverse("connections:oauth_start", args=[connection.connector_key]),
                           {"connection": connection.name})
    assert response.status_code == 403
    outsider = django_user_model.objects.create_user("outsider")
    with pytest.raises(NotFound):
        services.create_flow({**document, "flowName": "theirs"}, user=outsider)


@pytest.mark.django_db
def test_an_htmx_refusal_says_why_on_the_next_page(client, demo, django_user_model):
    viewer = django_user_model.objects.create_user("viewer")
    Membership.objects.create(user=viewer, team=demo["flow"].team, role=Role.VIEWER)
    client.force_login(viewer)
    response = client.post(reverse("flows:run", args=[demo["flow"].name]), HTTP_HX_REQUEST="true")
    assert (response.status_code, response["HX-Refresh"]) == (403, "true")
    assert "You may not run flows" in client.get(reverse("flows:detail", args=[demo["flow"].name])).content.decode()
