"""Notification channels: where run events go (a webhook or email), for one flow or all."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

import audit
from connections import net
from flows.models import Flow, NotificationChannel, NotificationDelivery
from flows.notifications import policy_refusal

DELIVERIES_SHOWN = 30


class ChannelForm(forms.ModelForm):
    secret = forms.CharField(
        required=False, label="Signing key (optional, webhooks)", strip=True,
        help_text="Requests are then signed like Sluice's own webhooks (X-Sluice-Signature).",
        widget=forms.PasswordInput(render_value=False),
    )

    class Meta:
        model = NotificationChannel
        fields = ["name", "kind", "target", "secret", "flow", "when"]
        labels = {"target": "URL or email addresses", "flow": "Flow", "when": "Send"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["flow"].empty_label = "All flows"
        self.fields["flow"].required = False
        self.fields["target"].widget = forms.TextInput()
        self.fields["target"].help_text = "A webhook URL, or email addresses separated by commas."
        self.fields["flow"].help_text = ""

    def clean(self):
        data = super().clean()
        kind, target = data.get("kind"), (data.get("target") or "").strip()
        if kind == NotificationChannel.Kind.WEBHOOK and not target.startswith(("https://", "http://")):
            self.add_error("target", "A webhook needs an http:// or https:// URL.")
        elif kind == NotificationChannel.Kind.WEBHOOK and not _port_ok(target):
            self.add_error("target", "The port in this URL must be a number from 0 to 65535.")
        elif kind == NotificationChannel.Kind.WEBHOOK:
            try:
                net.check_url(target)  # and again at every send: DNS and the allow-list may change
            except net.BlockedAddress as exc:
                self.add_error("target", f"This URL is {policy_refusal(exc)} Give the receiver's public URL.")
        if kind == NotificationChannel.Kind.EMAIL:
            addresses = [a.strip() for a in target.split(",") if a.strip()]
            if not addresses:
                self.add_error("target", "Give at least one email address.")
            for address in addresses:
                try:
                    validate_email(address)
                except forms.ValidationError:
                    self.add_error("target", f'"{address}" is not an email address.')
            if data.get("secret"):
                self.add_error("secret", "Email is not signed; leave the key empty.")
        data["target"] = target
        return data


def _port_ok(url: str) -> bool:
    try:
        port = urlsplit(url).port  # raises for a port that is not a number in range
    except ValueError:
        return False
    return port is None or port >= 0


@transaction.atomic
def create_channel(form: ChannelForm, *, user=None) -> NotificationChannel:
    channel = form.save(commit=False)
    channel.created_by = user
    channel.save()
    audit.record("notification_channel.create", channel, user=user, changes={
        **audit.diff({}, {"kind": channel.kind, "target": _shown_target(channel), "when": channel.when,
                          "flow": channel.flow.name if channel.flow else "all flows"}),
        **({"secret": "set"} if channel.secret else {}),
    })
    return channel


def _shown_target(channel: NotificationChannel) -> str:
    """A webhook URL's path and query can be its secret (Slack, Teams): only its host is recorded."""
    if channel.kind == NotificationChannel.Kind.EMAIL:
        return channel.target
    parts = urlsplit(channel.target)
    return f"{parts.scheme}://{parts.hostname}/…"


@transaction.atomic
def delete_channel(channel: NotificationChannel, *, user=None) -> None:
    audit.record("notification_channel.delete", channel, user=user)
    channel.delete()


@require_http_methods(["GET", "POST"])
def channel_list(request: HttpRequest) -> HttpResponse:
    form = ChannelForm(initial={"when": NotificationChannel.When.FAILURES})
    if request.method == "POST":
        form = ChannelForm(request.POST)
        if form.is_valid():
            channel = create_channel(form, user=request.user)
            messages.success(request, f'Added the channel "{channel.name}".')
            return redirect("notifications")
    context = {
        "form": form,
        "channels": NotificationChannel.objects.select_related("flow"),
        "deliveries": NotificationDelivery.objects.select_related("event__flow", "channel")
        .order_by("-id")[:DELIVERIES_SHOWN],
        "flow_count": Flow.objects.count(),
    }
    return render(request, "flows/notifications.html", context)


@require_POST
def channel_delete(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(NotificationChannel, pk=pk)
    delete_channel(channel, user=request.user)
    messages.success(request, f'Removed the channel "{channel.name}".')
    return redirect("notifications")
