"""Ending a user's sessions: "Log out everywhere", and for whoever deactivates a user."""

from __future__ import annotations

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils import timezone


def sessions_of(user) -> list[Session]:
    """The user's live sessions. Sessions are signed blobs in the database: each live one is
    decoded (fine for the sessions of one console; not an index lookup)."""
    mine = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=500):
        if str(session.get_decoded().get(SESSION_KEY)) == str(user.pk):
            mine.append(session)
    return mine


def end_sessions(user) -> int:
    """End every session of `user` (this browser's too); how many there were."""
    keys = [s.session_key for s in sessions_of(user)]
    Session.objects.filter(session_key__in=keys).delete()
    return len(keys)
