"""A stand-in for Slack's Web API on a local port, for tests only. Its answers follow the response
shapes of Slack's published method documentation (auth.test, conversations.list,
conversations.history, users.list): HTTP 200 with "ok": true/false, cursor paging through
response_metadata.next_cursor, HTTP 429 with Retry-After when rate limiting. The first records are
the examples of Slack's documentation; the rest are generated so that reads span several pages."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import pytest

from connections.tests import local_server

# From Slack's conversations.list documentation (trimmed to the fields Sluice reads, plus a few).
DOC_CHANNELS = [
    {"id": "C012AB3CD", "name": "general", "is_channel": True, "is_group": False, "is_im": False,
     "created": 1449252889, "creator": "U012A3CDE", "is_archived": False, "is_general": True,
     "unlinked": 0, "name_normalized": "general", "is_shared": False, "is_ext_shared": False,
     "is_org_shared": False, "pending_shared": [], "is_pending_ext_shared": False, "is_member": True,
     "is_private": False, "is_mpim": False, "updated": 1678229664302,
     "topic": {"value": "Company-wide announcements and work-based matters", "creator": "", "last_set": 0},
     "purpose": {"value": "This channel is for team-wide communication and announcements. All team members "
                          "are in this channel.", "creator": "", "last_set": 0},
     "previous_names": [], "num_members": 4},
    {"id": "C061EG9T2", "name": "random", "is_channel": True, "is_group": False, "is_im": False,
     "created": 1449252889, "creator": "U061F7AUR", "is_archived": False, "is_general": False,
     "unlinked": 0, "name_normalized": "random", "is_shared": False, "is_ext_shared": False,
     "is_org_shared": False, "pending_shared": [], "is_pending_ext_shared": False, "is_member": True,
     "is_private": False, "is_mpim": False, "updated": 1678229664302,
     "topic": {"value": "Non-work banter and water cooler conversation", "creator": "", "last_set": 0},
     "purpose": {"value": "A place for non-work-related flimflam, faffing, hodge-podge or jibber-jabber "
                          "you'd prefer to keep out of more focused work-related channels.",
                 "creator": "", "last_set": 0},
     "previous_names": [], "num_members": 4},
]
# From Slack's conversations.history documentation.
DOC_MESSAGES = [
    {"type": "message", "user": "U012AB3CDE", "text": "I find you punny and would like to smell your nose letter",
     "ts": "1512085950.000216"},
    {"type": "message", "user": "U061F7AUR", "text": "What, you want to smell my shoes better?",
     "ts": "1512104434.000490"},
]
# From Slack's users.list documentation (trimmed).
DOC_USERS = [
    {"id": "W012A3CDE", "team_id": "T012AB3C4", "name": "spengler", "deleted": False, "color": "9f69e7",
     "real_name": "spengler", "tz": "America/Los_Angeles", "tz_label": "Pacific Daylight Time",
     "tz_offset": -25200,
     "profile": {"avatar_hash": "ge3b51ca72de", "status_text": "Print is dead", "status_emoji": ":books:",
                 "real_name": "Egon Spengler", "display_name": "spengler",
                 "real_name_normalized": "Egon Spengler", "display_name_normalized": "spengler",
                 "email": "spengler@ghostbusters.example.com", "team": "T012AB3C4"},
     "is_admin": True, "is_owner": False, "is_primary_owner": False, "is_restricted": False,
     "is_ultra_restricted": False, "is_bot": False, "updated": 1502138686, "is_app_user": False,
     "has_2fa": False},
    {"id": "W07QCRPA4", "team_id": "T0G9PQBBK", "name": "glinda", "deleted": False, "color": "9f69e7",
     "real_name": "Glinda Southgood", "tz": "America/Los_Angeles", "tz_label": "Pacific Daylight Time",
     "tz_offset": -25200,
     "profile": {"avatar_hash": "8fbdd10b41c6", "title": "Glinda the Good", "phone": "", "skype": "",
                 "real_name": "Glinda Southgood", "real_name_normalized": "Glinda Southgood",
                 "display_name": "Glinda the Fairly Good", "display_name_normalized": "Glinda the Fairly Good",
                 "email": "glenda@south.oz.coven"},
     "is_admin": True, "is_owner": False, "is_primary_owner": False, "is_restricted": False,
     "is_ultra_restricted": False, "is_bot": False, "updated": 1480527098, "has_2fa": False},
]
HISTORY_CHANNEL = "C012AB3CD"
FIRST_TS = 1700000000  # generated messages: one every 60 s from here


def _cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str) -> int:
    return int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0


class FakeSlack:
    """The workspace's state, which tests read and change."""

    def __init__(self, token: str, *, channels: int = 5, messages: int = 25, users: int = 7):
        self.tokens = {token}
        self.revoked: set[str] = set()
        self.channels = DOC_CHANNELS + [
            {"id": f"G0PRIV{i:04d}", "name": f"private-{i}", "is_channel": False, "is_group": True,
             "is_private": True, "is_archived": i == 0, "is_member": True, "created": 1600000000 + i,
             "creator": "W012A3CDE", "topic": {"value": "", "creator": "", "last_set": 0},
             "purpose": {"value": "", "creator": "", "last_set": 0}, "num_members": 2}
            for i in range(max(channels - len(DOC_CHANNELS), 0))]
        generated = [{"type": "message", "user": "U061F7AUR", "text": f"message {i}",
                      "ts": f"{FIRST_TS + 60 * i}.{i:06d}"} for i in range(max(messages - len(DOC_MESSAGES), 0))]
        self.history = {HISTORY_CHANNEL: DOC_MESSAGES + generated, "C061EG9T2": []}
        self.users = DOC_USERS + [
            {"id": f"U0GEN{i:04d}", "team_id": "T012AB3C4", "name": f"user{i}", "deleted": False,
             "real_name": f"User {i}", "tz": "Europe/Oslo", "profile": {"display_name": f"user{i}"},
             "is_admin": False, "is_owner": False, "is_bot": False, "is_restricted": False,
             "updated": 1600000000 + i}
            for i in range(max(users - len(DOC_USERS), 0))]
        self.calls: list[tuple[str, dict]] = []  # (method, query) of every call
        # answers to give before the normal ones: (HTTP status, body, extra headers)
        self.queued: list[tuple[int, dict, dict]] = []
        self.base = ""
        self.codes: dict[str, str] = {}  # code -> the token it is exchanged for
        self.client = ("cid", "csecret")

    def oauth_access(self, form: dict, auth: str) -> tuple[int, dict, dict]:
        """oauth.v2.access as Slack documents it for user scopes only: HTTP 200 always, the user
        token under authed_user (no top-level access_token when no bot scopes were asked)."""
        self.calls.append(("oauth.v2.access", form))
        expected = "Basic " + base64.b64encode(":".join(self.client).encode()).decode()
        if auth != expected:
            return 200, {"ok": False, "error": "invalid_client_id"}, {}
        token = self.codes.pop(form.get("code", ""), None)
        if form.get("grant_type", "authorization_code") != "authorization_code" or token is None:
            return 200, {"ok": False, "error": "invalid_code"}, {}
        self.tokens.add(token)
        return 200, {"ok": True, "app_id": "A0KRD7HC3", "team": {"name": "Slack Softball Team", "id": "T9TK3CUKW"},
                     "enterprise": None, "is_enterprise_install": False,
                     "authed_user": {"id": "U1234", "scope": "channels:history,channels:read",
                                     "access_token": token, "token_type": "user"}}, {}

    def answer(self, method: str, query: dict, token: str) -> tuple[int, dict, dict]:
        self.calls.append((method, query))
        if self.queued:
            return self.queued.pop(0)
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token in self.revoked:
            return 200, {"ok": False, "error": "token_revoked"}, {}
        if token not in self.tokens:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        limit = min(int(query.get("limit") or 100), 1000)
        offset = _offset(query.get("cursor", ""))
        if method == "auth.test":
            return 200, {"ok": True, "url": "https://subarachnoid.slack.com/", "team": "Subarachnoid Workspace",
                         "user": "grace", "team_id": "T12345678", "user_id": "W12345678"}, {}
        if method == "conversations.list":
            types = set((query.get("types") or "public_channel").split(","))
            rows = [c for c in self.channels
                    if ("private_channel" if c.get("is_private") else "public_channel") in types
                    and not (query.get("exclude_archived") == "true" and c.get("is_archived"))]
            return self._page("channels", rows, offset, limit)
        if method == "users.list":
            return self._page("members", self.users, offset, limit, {"cache_ts": 1498777272})
        if method == "conversations.history":
            channel = query.get("channel", "")
            if channel not in self.history:
                return 200, {"ok": False, "error": "channel_not_found"}, {}
            inclusive = query.get("inclusive") in ("true", "1")
            oldest, latest = query.get("oldest"), query.get("latest")

            def keep(m: dict) -> bool:
                ts = float(m["ts"])
                if oldest is not None and (ts < float(oldest) or (ts == float(oldest) and not inclusive)):
                    return False
                return latest is None or ts < float(latest) or (ts == float(latest) and inclusive)

            rows = sorted((m for m in self.history[channel] if keep(m)), key=lambda m: float(m["ts"]),
                          reverse=True)  # newest first, as Slack sends them
            return self._page("messages", rows, offset, limit, {"pin_count": 0}, has_more=True)
        return 404, {"ok": False, "error": "unknown_method"}, {}

    def _page(self, key: str, rows: list, offset: int, limit: int, extra: dict | None = None,
              has_more: bool = False) -> tuple[int, dict, dict]:
        more = offset + limit < len(rows)
        body = {"ok": True, key: rows[offset:offset + limit], **(extra or {}),
                "response_metadata": {"next_cursor": _cursor(offset + limit) if more else ""}}
        if has_more:
            body["has_more"] = more
        return 200, body, {}


def serve(monkeypatch: pytest.MonkeyPatch, token: str = "xoxp-test-token", **sizes: int) -> FakeSlack:
    """Start the workspace for the rest of the test; `slack.base` is its instance URL."""
    slack = FakeSlack(token, **sizes)

    class Handler(local_server.JsonHandler):
        json_type = "application/json; charset=utf-8"
        ascii_json = False

        def do_POST(self):  # noqa: N802
            form = self.form()
            if urlsplit(self.path).path != "/api/oauth.v2.access":
                return self.reply(404, {"ok": False, "error": "not_found"}, {})
            return self.reply(*slack.oauth_access(form, self.headers.get("Authorization", "")))

        def do_GET(self):  # noqa: N802
            parts = urlsplit(self.path)
            if not parts.path.startswith("/api/"):
                return self.reply(404, {"ok": False, "error": "not_found"}, {})
            query = local_server.single_values(parts.query)
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
            return self.reply(*slack.answer(parts.path.removeprefix("/api/"), query, token))

    slack.base = local_server.start(Handler, monkeypatch)
    return slack
