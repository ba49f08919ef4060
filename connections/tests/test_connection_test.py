"""The "Test connection" button: queued, run by a real worker, polled by the page."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from connections import services
from connections.models import Connection, ConnectionTest
from connections.tests.fakes import WRONG


def poll(client, connection: Connection, test_id, timeout: float = 60) -> str:
    url = reverse("connections:test_status", args=[connection.name, test_id])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
        if "hx-get" not in html:  # done: the partial stops polling
            return html
        time.sleep(0.1)
    raise AssertionError("the connection test did not finish")


@pytest.mark.django_db(transaction=True)
def test_the_button_runs_the_test_in_a_worker_and_shows_the_result(client, owner, demo, celery_worker):
    client.force_login(owner)
    connection = demo["connection"]
    response = client.post(reverse("connections:test", args=[connection.name]), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Waiting for a worker" in html and "hx-get" in html  # progress, then it polls
    test = ConnectionTest.objects.get()
    html = poll(client, connection, test.pk)
    assert "Passed" in html and "The connection works." in html
    connection.refresh_from_db()
    assert connection.status == Connection.Status.AVAILABLE and connection.last_test_ok_at
    assert connection.changes.filter(action="tested", user=owner).exists()


@pytest.mark.django_db
def test_a_failing_test_marks_the_connection_error_with_the_message(
    client, owner, password_connector, django_capture_on_commit_callbacks
):
    connection = services.create_connection(
        name="crm", connector_type="CustomConnector", connector_label="TestPassword",
        properties={"instanceUrl": "https://x.test", "environment": "Production", "username": "ada"},
        credentials={"password": "right"},
    )
    connection.credentials = {"password": WRONG}
    connection.save()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        test = services.start_connection_test(connection, user=owner)
    assert len(callbacks) == 1  # enqueued only once the row is committed
    services.run_connection_test(str(test.pk))
    assert services.run_connection_test(str(test.pk)) is None  # a second delivery does nothing
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ERROR
    assert "not right" in connection.status_message
    client.force_login(owner)
    html = client.get(reverse("connections:detail", args=["crm"])).content.decode()
    assert "Error" in html and "not right" in html and "Failed" in html


@pytest.mark.django_db
def test_without_htmx_the_button_is_a_plain_post_back_to_the_page(client, owner, demo):
    client.force_login(owner)
    response = client.post(reverse("connections:test", args=["demo-local-files"]))
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "Waiting for a worker" in html
