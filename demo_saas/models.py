"""The Demo CRM's OAuth 2.0 server state: its registered client apps, authorization codes and
tokens (authlib's model mixins). A demo, but a real authorization server."""

from __future__ import annotations

import secrets
import time

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from django.conf import settings
from django.db import models

SCOPE = "crm.read"
CLIENT_ID = "sluice"


class DemoClient(models.Model, ClientMixin):
    client_id = models.CharField(max_length=64, unique=True)
    client_secret = models.CharField(max_length=128)
    name = models.CharField(max_length=128, default="Sluice")
    # One redirect URI per line; matched exactly, as a real provider does.
    redirect_uris = models.TextField(blank=True)
    scope = models.CharField(max_length=256, default=SCOPE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        uris = self.redirect_uri_list()
        return uris[0] if uris else None

    def redirect_uri_list(self) -> list[str]:
        return [u for u in self.redirect_uris.split() if u]

    def get_allowed_scope(self, scope):
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uri_list()

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(self.client_secret, client_secret or "")

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")


class DemoAuthorizationCode(models.Model, AuthorizationCodeMixin):
    code = models.CharField(max_length=128, unique=True)
    client_id = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    redirect_uri = models.TextField()
    scope = models.TextField(blank=True)
    code_challenge = models.TextField(blank=True)
    code_challenge_method = models.CharField(max_length=8, blank=True)
    auth_time = models.IntegerField(default=0)  # epoch seconds; a code lives five minutes

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def is_expired(self) -> bool:
        return self.auth_time + 300 < time.time()


class DemoToken(models.Model, TokenMixin):
    client_id = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    token_type = models.CharField(max_length=32)
    access_token = models.CharField(max_length=255, unique=True)
    refresh_token = models.CharField(max_length=255, blank=True, db_index=True)
    scope = models.TextField(blank=True)
    issued_at = models.IntegerField(default=0)
    expires_in = models.IntegerField(default=0)
    revoked = models.BooleanField(default=False)

    def save(self, *args, **kwargs):
        self.issued_at = self.issued_at or int(time.time())
        super().save(*args, **kwargs)

    def check_client(self, client):
        return self.client_id == client.get_client_id()

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return self.issued_at + self.expires_in < time.time()

    def is_revoked(self):
        return self.revoked
