"""Access keys: the console page (secret shown once), the access_key command, encryption at rest."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from api.models import AccessKey

pytestmark = pytest.mark.django_db


def test_the_page_shows_a_new_secret_once_then_never(signed_in, owner):
    page = signed_in.post(reverse("access-keys"), {"description": "nightly sync"})
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    text = page.content.decode()
    key_id = re.search(r'id="new-key-id">(\w+)<', text)[1]
    secret = re.search(r'id="new-key-secret">([^<]+)<', text)[1]
    assert key_id.startswith("SLK") and len(secret) >= 40
    key = AccessKey.objects.get(access_key_id=key_id)
    assert key.user == owner and key.secret_encrypted == secret

    listed = signed_in.get(reverse("access-keys")).content.decode()
    assert key_id in listed and "nightly sync" in listed
    assert secret not in listed
    # Encrypted at rest: the stored column is not the secret.
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_encrypted FROM api_accesskey WHERE id = %s", [key.pk])
        assert secret not in cursor.fetchone()[0]

    signed_in.post(reverse("access-key-action", args=[key_id, "deactivate"]))
    assert not AccessKey.objects.get(pk=key.pk).is_active
    assert "Inactive" in signed_in.get(reverse("access-keys")).content.decode()
    signed_in.post(reverse("access-key-action", args=[key_id, "delete"]))
    assert not AccessKey.objects.exists()


def test_a_user_cannot_touch_another_users_key(signed_in, django_user_model):
    other = django_user_model.objects.create_user("member", password="x")
    key = AccessKey.objects.create(user=other, secret_encrypted="s" * 40)
    signed_in.post(reverse("access-key-action", args=[key.access_key_id, "delete"]))
    assert AccessKey.objects.filter(pk=key.pk).exists()
    assert f'data-key="{key.access_key_id}"' not in signed_in.get(reverse("access-keys")).content.decode()


def run(*args: str) -> str:
    out = StringIO()
    call_command("access_key", *args, stdout=out)
    return out.getvalue()


def test_the_access_key_command(owner):
    created = json.loads(run("create", "--user", "owner"))
    assert set(created) == {"accessKeyId", "secretAccessKey"}
    listed = json.loads(run("list"))["accessKeys"]
    assert [k["accessKeyId"] for k in listed] == [created["accessKeyId"]]
    assert created["secretAccessKey"] not in json.dumps(listed)
    run("deactivate", created["accessKeyId"])
    assert json.loads(run("list", "--user", "owner"))["accessKeys"][0]["status"] == "Inactive"
    run("delete", created["accessKeyId"])
    assert not AccessKey.objects.exists()
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match='No user "nobody"'):
        run("create", "--user", "nobody")
