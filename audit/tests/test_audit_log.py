"""The audit log: who did what to which object, when, from where, with what outcome; written in
the change's own transaction; a page to filter it, a CSV export, and a daily prune."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

import audit
from api import keys
from audit.address import client_address
from audit.models import AuditEvent
from audit.retention import prune
from console.errors import UserError
from console.tests.pages import PASSWORD, flow_document
from flows import services
from flows.models import Flow

pytestmark = pytest.mark.django_db


def events(**filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("at", "id"))


def test_a_flows_life_is_recorded_with_who_and_from_where(demo, owner):
    with audit.acting_as(owner, via="console", address="203.0.113.9"):
        flow = services.create_flow(flow_document("audited"))
        flow_id = flow.pk
        services.update_flow(flow, flow_document("audited", description="now described"))
        execution = services.start_flow(flow, user=owner)
        services.delete_flow(flow, user=owner, force=True)  # cancels the run first
    rows = events(object_name="audited")
    assert [r.action for r in rows] == [
        "flow.create",
        "flow.update",
        "flow.run",
        "flow.cancel",
        "flow.delete",
    ]
    assert {(r.actor, r.user_id, r.via, r.address, r.outcome) for r in rows} == {
        ("owner", owner.pk, "console", "203.0.113.9", "ok")
    }
    assert rows[1].changes["description"]["to"] == "now described" and "flowName" not in rows[1].changes
    assert rows[2].changes["execution"] == str(execution.pk)
    assert rows[3].changes["executions"] == [str(execution.pk)]
    assert rows[0].object_type == "flow" and rows[4].object_id == str(flow_id)


def test_a_refused_change_is_recorded_as_refused_and_nothing_else_is_kept(demo, owner):
    flow = demo["flow"]
    before = flow.definition
    bad = {
        **flow.definition,
        "sourceFlowConfig": {**flow.definition["sourceFlowConfig"], "connectorProfileName": "nope"},
    }
    with audit.acting_as(owner, via="cli"), pytest.raises(UserError):
        services.update_flow(flow, bad, user=owner)
    flow.refresh_from_db()
    assert flow.definition == before
    (row,) = events(action="flow.update")
    assert row.outcome == "refused" and row.object_name == flow.name and row.via == "cli"
    assert 'no connection named "nope"' in row.message


def test_the_audit_row_shares_the_changes_transaction(demo, owner, monkeypatch):
    """A change whose audit row cannot be written is not made (and the other way round)."""

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(AuditEvent.objects, "create", broken)
    with pytest.raises(RuntimeError):
        services.create_flow(flow_document("never-saved"), user=owner)
    assert not Flow.objects.filter(name="never-saved").exists()


def test_activation_backfill_and_settings_are_recorded(demo, owner):
    document = flow_document(
        "hourly",
        triggerConfig={
            "triggerType": "Scheduled",
            "triggerProperties": {
                "Scheduled": {"scheduleExpression": "rate(1hours)", "dataPullMode": "Incremental"}
            },
        },
    )
    flow = services.create_flow(document, user=owner)
    services.activate_flow(flow, user=owner)
    services.deactivate_flow(flow, user=owner)
    start = timezone.now() - timedelta(days=2)
    services.start_flow(flow, user=owner, window=(start, start + timedelta(hours=1)))
    services.set_transient_retries(flow, 4, user=owner)
    rows = events(object_name="hourly")
    assert [r.action for r in rows] == [
        "flow.create",
        "flow.activate",
        "flow.deactivate",
        "flow.backfill",
        "flow.settings",
    ]
    assert rows[1].changes["status"] == {"from": "Draft", "to": "Active"}
    assert rows[3].changes["window"]["from"].startswith(f"{start:%Y-%m-%d}")
    assert rows[4].changes["transient_retries"]["to"] == 4
    # Without an actor (a shell), the service's user= is who did it.
    assert rows[0].actor == "owner" and rows[0].via == "system"


def test_a_scheduled_run_is_not_an_audit_entry(demo):
    services.start_flow(demo["flow"], trigger="Scheduled")
    assert not events(action="flow.run")


def test_access_keys_and_notification_channels_are_recorded(signed_in, owner):
    key, secret = keys.create_key(owner, "laptop")
    keys.set_active(key, False)
    keys.delete_key(key)
    rows = events(object_type="accesskey")
    assert [r.action for r in rows] == ["access_key.create", "access_key.deactivate", "access_key.delete"]
    assert all(r.object_name == key.access_key_id for r in rows)
    assert secret not in str([r.changes for r in AuditEvent.objects.all()])
    response = signed_in.post(
        reverse("notifications"),
        {
            "name": "team-hook",
            "kind": "webhook",
            "target": "https://hooks.example.com/services/T0/B0/tok3n",
            "secret": "hmac-key-value",
            "when": "failures",
        },
        REMOTE_ADDR="198.51.100.4",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    (row,) = events(action="notification_channel.create")
    assert row.address == "198.51.100.4" and row.actor == "owner"
    assert row.changes["target"]["to"] == "https://hooks.example.com/…" and row.changes["secret"] == "set"
    assert "tok3n" not in str(row.changes) and "hmac-key-value" not in str(row.changes)


def test_the_cli_acts_as_the_first_administrator(demo, admin_user_):
    call_command(
        "sluice",
        "delete-flow",
        "--flow-name",
        demo["flow"].name,
        "--force-delete",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    (row,) = events(action="flow.delete")
    assert (row.actor, row.via) == ("root", "cli")


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        ([], "10.0.0.2", "203.0.113.7", "10.0.0.2"),  # no trusted proxy: the header is anyone's
        (["10.0.0.2"], "10.0.0.2", "203.0.113.7", "203.0.113.7"),
        (["10.0.0.0/24"], "10.0.0.2", "198.51.100.1, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        (["10.0.0.2"], "192.0.2.1", "203.0.113.7", "192.0.2.1"),  # not from the proxy: ignored
        (["10.0.0.2"], "10.0.0.2", "not-an-address", "10.0.0.2"),
    ],
)
def test_the_client_address_believes_only_a_trusted_proxy(settings, trusted, remote, forwarded, expected):
    settings.SLUICE_TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def make(n: int, **fields) -> None:
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=fields.get("actor", "owner"),
                action=fields.get("action", "flow.run"),
                object_type="flow",
                object_name=f"flow-{i}",
                **{k: v for k, v in fields.items() if k not in ("actor", "action")},
            )
            for i in range(n)
        ]
    )


def test_the_page_filters_and_pages_in_the_url(client, admin_user_, django_assert_max_num_queries):
    make(60, action="flow.run")
    make(3, action="connection.update", actor="ada", outcome="refused")
    client.force_login(admin_user_)
    with django_assert_max_num_queries(8):  # session, user, count, rows, actions: not one per row
        page = client.get(reverse("audit:log"))
    assert page.status_code == 200 and "Page 1 of 2" in page.content.decode()
    second = client.get(reverse("audit:log"), {"action": "flow", "page": 2}).content.decode()
    assert "Page 2 of 2" in second and "action=flow&amp;page=1" in second
    only = client.get(reverse("audit:log"), {"user": "ada", "outcome": "refused"}).content.decode()
    assert only.count("connection.update</code>") == 3 and "flow.run</code>" not in only
    today = timezone.now().date()
    assert (
        "Nothing recorded"
        in client.get(reverse("audit:log"), {"until": str(today - timedelta(days=1))}).content.decode()
    )
    bad = client.get(reverse("audit:log"), {"since": str(today), "until": str(today - timedelta(days=1))})
    assert bad.status_code == 400 and "From: must be on or before To." in bad.content.decode()


def test_the_export_is_the_filtered_view_as_csv(client, admin_user_):
    make(2, action="flow.run")
    make(1, action="connection.update", actor="=HYPERLINK(1)")
    client.force_login(admin_user_)
    response = client.get(reverse("audit:export"), {"action": "connection"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["at", "actor", "access_key_id"] and len(rows) == 2
    assert rows[1][1] == "'=HYPERLINK(1)"  # a spreadsheet shows it, never runs it
    assert events(action="audit.export")[0].changes == {"filter": {"action": "connection"}}


def test_only_staff_see_the_log(signed_in):
    assert signed_in.get(reverse("audit:log")).status_code == 403
    assert signed_in.get(reverse("audit:export")).status_code == 403


def test_old_rows_are_pruned_daily(settings):
    from console.celery import app  # noqa: F401  (the beat schedule lives in the settings)

    assert settings.CELERY_BEAT_SCHEDULE["prune-audit-log"]["task"] == "audit.tasks.prune_audit_log"
    settings.SLUICE_AUDIT_RETENTION_DAYS = 30
    make(2)
    AuditEvent.objects.filter(object_name="flow-0").update(at=timezone.now() - timedelta(days=31))
    assert prune() == 1
    assert list(AuditEvent.objects.values_list("object_name", flat=True)) == ["flow-1"]


def test_a_login_is_recorded_with_its_outcome(client, owner):
    client.post(reverse("login"), {"username": "owner", "password": "wrong"}, REMOTE_ADDR="192.0.2.8")
    client.post(reverse("login"), {"username": "owner", "password": PASSWORD}, REMOTE_ADDR="192.0.2.8")
    rows = events(action="user.login")
    assert [(r.outcome, r.object_name, r.address) for r in rows] == [
        ("refused", "owner", "192.0.2.8"),
        ("ok", "owner", "192.0.2.8"),
    ]
    assert rows[0].actor == "anonymous" and rows[1].actor == "owner"
