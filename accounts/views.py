"""The people pages (Admins): people and their teams and roles, a new person, one person
(role per team, deactivate, reset password), teams; and everyone's own profile page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

import audit
from accounts import access
from accounts import people as directory
from accounts.models import ConnectionGrant, Membership, Role, Team
from connections.models import Connection
from console.errors import UserError

User = get_user_model()
ROLE_CHOICES = [(r.label, r.label) for r in Role]


class PersonForm(forms.Form):
    name = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput,
                               help_text="They can change it on their profile page.")
    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="Viewer")


def admin_teams(user):
    return access.teams_for_new(user, "manage_people")


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
            audit.record("user.password_change", request.user, object_type="user",
                         name=request.user.get_username(), changes={"password": "replaced"})
        update_session_auth_hash(request, form.user)  # stay signed in here; other sessions end
        messages.success(request, "Your password was changed.")
        return redirect("accounts:profile")
    memberships = Membership.objects.filter(user=request.user).select_related("team")
    return render(request, "accounts/profile.html", {"form": form, "memberships": memberships})


def people(request: HttpRequest) -> HttpResponse:
    users = access.people_visible(request.user, User.objects.order_by("username"))
    users = users.prefetch_related("memberships__team")
    return render(request, "accounts/people.html", {"people": users})


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def person_new(request: HttpRequest) -> HttpResponse:
    form = PersonForm(request.POST or None)
    form.fields["team"].queryset = admin_teams(request.user)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if User.objects.filter(username=data["name"]).exists():
            errors = [f'name: "{data["name"]}" is taken. Open that person to give them a role.']
        else:
            try:
                user, _ = directory.add_user(data["name"], data["team"].name, Role.from_name(data["role"]),
                                             password=data["password"])
            except UserError as exc:
                errors = exc.errors
            else:
                messages.success(request, f'Created {user.username}, {data["role"]} of {data["team"].name}.')
                return redirect("accounts:person", user.pk)
    return render(request, "accounts/person_new.html", {"form": form, "errors": errors})


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def person(request: HttpRequest, pk: int) -> HttpResponse:
    user = access.people_visible(request.user, User.objects.filter(pk=pk)).first()
    if user is None:
        raise Http404("No such person.")
    if request.method == "POST":
        if not access.can(request.user, "manage_people", user):
            messages.error(request, access.refusal(request.user, "manage_people", user))
        else:
            try:
                done = act_on_person(request, user)
            except UserError as exc:
                for error in exc.errors:
                    messages.error(request, error)
            else:
                messages.success(request, done)
        return redirect("accounts:person", user.pk)
    context = {
        "person": user,
        "memberships": Membership.objects.filter(user=user).select_related("team"),
        "teams": admin_teams(request.user),
        "roles": ROLE_CHOICES,
        "keys": user.access_keys.all(),
        "grants": ConnectionGrant.objects.filter(user=user).select_related("connection__team")
                                         .order_by("connection__name"),
        "connections": managed_connections(request.user),
    }
    return render(request, "accounts/person.html", context)


def act_on_person(request: HttpRequest, user) -> str:
    what = request.POST.get("do")
    if what in ("deactivate", "activate"):
        if user.pk == request.user.pk:
            raise UserError("You cannot deactivate yourself; ask another Admin.")
        directory.set_active(user, what == "activate")
        return (f"{user.username} is active again." if what == "activate" else
                f"{user.username} is deactivated: signed out everywhere, and their access keys stop working.")
    if what == "password":
        directory.set_password(user, password=request.POST.get("password", ""))
        return f"{user.username}'s password was reset."
    if what in ("grant", "revoke"):
        connection = managed_connections(request.user).filter(pk=request.POST.get("connection") or 0).first()
        if connection is None:
            raise UserError("connection: choose a connection of a team you administer.")
        if what == "grant":
            directory.grant_manage(connection, user)
            return f"{user.username} may now manage {connection.name}."
        directory.revoke_manage(connection, user)
        return f"{user.username} no longer manages {connection.name}."
    team = admin_teams(request.user).filter(pk=request.POST.get("team") or 0).first()
    if team is None:
        raise UserError("team: choose a team you administer.")
    if what == "remove":
        directory.remove_role(user, team)
        return f"{user.username} is no longer in {team.name}."
    if what == "role":
        try:
            role = Role.from_name(request.POST.get("role", ""))
        except ValueError as exc:
            raise UserError(f"role: {exc}") from None
        directory.set_role(user, team, role)
        return f"{user.username} is {role.label} of {team.name}."
    raise UserError("Choose what to do.")


def managed_connections(user):
    """Connections whose Manage an Admin may give: those of the teams they administer."""
    return Connection.objects.filter(team__in=admin_teams(user)).select_related("team").order_by("name")


@require_http_methods(["GET", "POST"])
def teams(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if not request.user.is_superuser:
            messages.error(request, "Only a superuser creates teams (or `manage.py add_user --team`).")
        else:
            try:
                team = directory.create_team(request.POST.get("name", ""))
            except UserError as exc:
                for error in exc.errors:
                    messages.error(request, error)
            else:
                messages.success(request, f'Created the team "{team.name}".')
        return redirect("accounts:teams")
    listed = access.visible(request.user, Team.objects.all()).prefetch_related("memberships__user")
    return render(request, "accounts/teams.html", {"teams": listed})
