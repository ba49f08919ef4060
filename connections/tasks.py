from __future__ import annotations

from celery import shared_task

from connections import services


@shared_task(name="connections.tasks.test_connection", acks_late=True, reject_on_worker_lost=True)
def test_connection(test_id: str) -> None:
    services.run_connection_test(test_id)
