"""The audit log of an API call names the key's user and the key (its id, never its secret)."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_api_call_is_recorded_as_the_keys_user_with_the_key_id(appflow, api_key, demo, owner):
    appflow.start_flow(flowName=demo["flow"].name)
    row = AuditEvent.objects.get(action="flow.run")
    assert (row.actor, row.user_id, row.via, row.access_key_id, row.address) == (
        "owner", owner.pk, "api", api_key.id, "127.0.0.1")
    stored = str(list(AuditEvent.objects.values()))
    assert api_key.secret not in stored
