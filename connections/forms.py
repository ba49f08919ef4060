"""The connection form, built from the connector's declared ConfigFields (the single source):
plain fields become properties, secret fields become credentials and never render a value."""

from __future__ import annotations

from typing import Any

from django import forms

from connections.connectors.base import ConfigField, Connector
from connections.models import Connection

NAME_FIELD = "connection_name"


class UnrenderedTextInput(forms.TextInput):
    """A text input that never renders a value: what the person typed is not echoed back."""

    def format_value(self, value):
        return None


def _with(help_text: str, note: str) -> str:
    return f"{help_text} {note}" if help_text else note


def form_field(
    field: ConfigField, *, editing: bool, connector_cls: type[Connector] | None = None, auth_kind: str = ""
) -> forms.Field:
    common: dict[str, Any] = {
        "label": field.label or field.name,
        "help_text": field.help,
        "required": field.required,
    }
    # Said before saving: stored credentials never follow a changed address (services enforces it).
    destinations = connector_cls.credential_destination_fields() if connector_cls and editing else ()
    if field in destinations:
        reauthorize = " and re-authorize" if auth_kind == "oauth2" else ""
        common["help_text"] = _with(field.help, "Changing it clears the stored credentials: type every "
                                                f"secret again{reauthorize}.")
    if field.secret:
        if editing:
            # A blank secret on edit keeps the stored one.
            common["required"] = False
            keep = "Leave blank to keep the current value"
            if destinations:
                where = " or ".join(f.label or f.name for f in destinations)
                keep += f", unless you change {where}: then type it again"
            common["help_text"] = _with(field.help, f"{keep}.")
        if field.kind == "secret":
            return forms.CharField(widget=forms.PasswordInput(render_value=False), strip=False, **common)
        # Kept with the secrets but not one itself (a user name, as AppFlow keeps it in the
        # credentials): typed in the clear, yet never sent back to the browser either.
        widget = UnrenderedTextInput(attrs={"autocomplete": "off", "spellcheck": "false"})
        return forms.CharField(widget=widget, **common)
    if field.kind == "choice":
        choices = [(c, c) for c in field.choices]
        if not field.required:
            choices = [("", "—"), *choices]
        return forms.ChoiceField(choices=choices, initial=field.default, **common)
    if field.kind == "boolean":
        common["required"] = False
        return forms.BooleanField(initial=bool(field.default), **common)
    if field.kind == "integer":
        return forms.IntegerField(initial=field.default, **common)
    if field.kind == "text":
        # a document (Generic REST's spec): monospaced, long lines kept, not stripped of its indentation
        # described by its help and by the list of its problems beside it (connections/spec_views.py)
        widget = forms.Textarea(attrs={"rows": 24, "class": "mono code-editor", "spellcheck": "false",
                                       "wrap": "off",
                                       "aria-describedby": f"id_{field.name}_help spec-problems"})
        return forms.CharField(initial=field.default, widget=widget, strip=False, **common)
    if field.kind == "url":
        return forms.URLField(initial=field.default, assume_scheme="https", **common)
    return forms.CharField(initial=field.default, **common)


class ConnectionForm(forms.Form):
    def __init__(self, connector_cls: type[Connector], *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.connector_cls = connector_cls
        self.editing = editing
        if not editing:
            self.fields[NAME_FIELD] = forms.CharField(
                label="Connection name", max_length=256,
                help_text="A name you will recognise in flows, e.g. sales-crm-production. "
                          "Letters, digits and / ! @ # + = . _ -",
            )
        self.fields["connection_mode"] = forms.ChoiceField(
            label="Connection mode", choices=Connection.Mode.choices, initial=Connection.Mode.PUBLIC,
            help_text="Private: the application is reached over a private network link.",
        )
        auth_kind = connector_cls.auth_kind_for(self.typed_properties()) if editing else ""
        for field in connector_cls.config_fields:
            self.fields[field.name] = form_field(field, editing=editing, connector_cls=connector_cls,
                                                 auth_kind=auth_kind)

    def clean_connection_name(self) -> str:
        import re

        name = self.cleaned_data[NAME_FIELD].strip()
        # AppFlow's pattern for connectorProfileName.
        if not re.fullmatch(r"[\w/!@#+=.-]+", name):
            raise forms.ValidationError("Use letters, digits and / ! @ # + = . _ - only (no spaces).")
        return name

    def typed_properties(self, connection: Connection | None = None) -> dict[str, Any]:
        """The plain settings as typed (a bound form, valid or not), else as stored or preset: what
        decides the auth kind the page speaks of."""
        if self.is_bound:
            return {f.name: self.data.get(f.name) for f in self.connector_cls.config_fields if not f.secret}
        return dict(connection.properties) if connection is not None else dict(self.initial)

    def secret_fields(self) -> list[forms.BoundField]:
        return [self[f.name] for f in self.connector_cls.config_fields if f.secret]

    def plain_fields(self) -> list[forms.BoundField]:
        return [self[f.name] for f in self.connector_cls.config_fields if not f.secret]

    def properties(self) -> dict[str, Any]:
        return {
            f.name: self.cleaned_data[f.name]
            for f in self.connector_cls.config_fields
            if not f.secret and self.cleaned_data.get(f.name) not in (None, "")
        }

    def credentials(self) -> dict[str, Any]:
        return {
            f.name: self.cleaned_data[f.name]
            for f in self.connector_cls.config_fields
            if f.secret and self.cleaned_data.get(f.name) not in (None, "")
        }
