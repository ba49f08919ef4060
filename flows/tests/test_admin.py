"""The Django admin: every execution, read-only; connections without their secrets."""

from __future__ import annotations

import pytest
from django.urls import reverse

from flows.models import Execution

pytestmark = pytest.mark.django_db

SECRET = "canary-s3cr3t-value-9f2c"


@pytest.fixture
def admin_client_(client, admin_user_):
    client.force_login(admin_user_)
    return client


@pytest.fixture
def executions(demo, django_capture_on_commit_callbacks):
    from flows import services

    with django_capture_on_commit_callbacks(execute=False):
        first = services.start_flow(demo["flow"])
        second = services.start_flow(demo["flow"])
    Execution.objects.filter(pk=first.pk).update(status="Successful")
    return first, second


def test_admin_lists_every_execution_with_filters_and_search(admin_client_, executions):
    first, second = executions
    url = reverse("admin:flows_execution_changelist")
    page = admin_client_.get(url).content.decode()
    assert str(first.id) in page and str(second.id) in page

    only_done = admin_client_.get(url, {"status__exact": "Successful"}).content.decode()
    assert str(first.id) in only_done and str(second.id) not in only_done

    found = admin_client_.get(url, {"q": "demo-accounts"}).content.decode()
    assert str(first.id) in found
    assert str(first.id) not in admin_client_.get(url, {"q": "no-such-flow"}).content.decode()

    by_flow = admin_client_.get(url, {"flow__id__exact": first.flow_id}).content.decode()
    assert str(second.id) in by_flow
    assert admin_client_.get(url, {"created_at__year": first.created_at.year}).status_code == 200


def test_executions_are_read_only_in_the_admin(admin_client_, executions):
    first, _ = executions
    url = reverse("admin:flows_execution_change", args=[first.pk])
    page = admin_client_.get(url).content.decode()
    assert 'name="_save"' not in page
    assert admin_client_.post(url, {"status": "Error"}).status_code == 403
    first.refresh_from_db()
    assert first.status == "Successful"
    assert admin_client_.get(reverse("admin:flows_execution_add")).status_code == 403
    delete = reverse("admin:flows_execution_delete", args=[first.pk])
    assert admin_client_.post(delete, {"post": "yes"}).status_code == 403


def test_connections_in_the_admin_never_show_secrets(admin_client_, demo):
    connection = demo["connection"]
    connection.credentials = {"token": SECRET}
    connection.save()
    for url in (
        reverse("admin:connections_connection_changelist"),
        reverse("admin:connections_connection_change", args=[connection.pk]),
    ):
        page = admin_client_.get(url).content.decode()
        assert SECRET not in page
        assert connection.credentials_encrypted not in page
    assert "credentials set" in page.lower()


def test_flow_and_execution_pages_show_versions_and_log_lines(admin_client_, executions):
    first, _ = executions
    flow_page = admin_client_.get(reverse("admin:flows_flow_change", args=[first.flow_id])).content.decode()
    assert "Flow versions" in flow_page and 'name="_save"' not in flow_page
    page = admin_client_.get(reverse("admin:flows_execution_change", args=[first.pk])).content.decode()
    assert "Queued" in page


def test_the_execution_list_shows_a_failed_runs_reason(admin_client_, executions):
    first, second = executions
    Execution.objects.filter(pk=second.pk).update(
        status="Error", error_message="Destination refused the file.\nTraceback-free detail line")
    Execution.objects.filter(pk=first.pk).update(error_message="an old note on a success")
    page = admin_client_.get(reverse("admin:flows_execution_changelist")).content.decode()
    assert '<td class="field-error">Destination refused the file.</td>' in page
    assert "Traceback-free detail line" not in page
    assert "an old note on a success" not in page
