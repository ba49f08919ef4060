"""The Demo CRM's authorization server, on authlib: authorization code with PKCE (S256 required),
refresh tokens that rotate (the old one stops working), bearer-protected API."""

from __future__ import annotations

import os
import secrets
import time

from authlib.integrations.django_oauth2 import AuthorizationServer, BearerTokenValidator, ResourceProtector
from authlib.oauth2.rfc6749 import InvalidRequestError, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from django.db import transaction

from demo_saas.models import CLIENT_ID, SCOPE, DemoAuthorizationCode, DemoClient, DemoToken

ACCESS_TOKEN_SECONDS = 3600
# The Demo CRM is a local demo that the embedded run serves over plain HTTP on 127.0.0.1; authlib's
# server refuses http:// unless told. Only the demo uses authlib's server side: Sluice's own OAuth
# client (connections/oauth/client.py) does not go through this check.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")


class RequiredS256(CodeChallenge):
    """PKCE for every client, S256 only (authlib on its own requires it for public clients)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE is required: code_challenge with code_challenge_method=S256.")
        return super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def save_authorization_code(self, code, request):
        data = request.payload.data
        DemoAuthorizationCode.objects.create(
            code=code,
            client_id=request.client.client_id,
            redirect_uri=request.payload.redirect_uri or "",
            scope=request.payload.scope or "",
            user=request.user,
            code_challenge=data.get("code_challenge") or "",
            code_challenge_method=data.get("code_challenge_method") or "",
            auth_time=int(time.time()),
        )

    def query_authorization_code(self, code, client):
        item = DemoAuthorizationCode.objects.filter(code=code, client_id=client.client_id).first()
        if item and not item.is_expired():
            return item
        return None

    def delete_authorization_code(self, authorization_code):
        authorization_code.delete()

    def authenticate_user(self, authorization_code):
        return authorization_code.user


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every refresh returns a new refresh token

    def authenticate_refresh_token(self, refresh_token):
        token = DemoToken.objects.filter(refresh_token=refresh_token, revoked=False).first()
        return token  # a refresh token does not expire by time here; it dies when used

    def authenticate_user(self, credential):
        return credential.user

    def revoke_old_credential(self, credential):
        credential.revoked = True
        credential.save(update_fields=["revoked"])


server = AuthorizationServer(DemoClient, DemoToken)
server.register_grant(AuthorizationCodeGrant, [RequiredS256(required=True)])
server.register_grant(RefreshTokenGrant)
server.load_config({
    "refresh_token_generator": True,
    "token_expires_in": {"authorization_code": ACCESS_TOKEN_SECONDS, "refresh_token": ACCESS_TOKEN_SECONDS},
    "scopes_supported": [SCOPE],
})

require_token = ResourceProtector()
require_token.register_token_validator(BearerTokenValidator(DemoToken))


@transaction.atomic
def ensure_client(redirect_uri: str | None = None) -> DemoClient:
    """The Demo CRM's registration of Sluice as a client app (what a developer console does):
    created once with a random secret; each deployment's redirect URI is added to it."""
    client, _ = DemoClient.objects.select_for_update().get_or_create(
        client_id=CLIENT_ID, defaults={"client_secret": secrets.token_urlsafe(32)}
    )
    if redirect_uri and redirect_uri not in client.redirect_uri_list():
        client.redirect_uris = "\n".join([*client.redirect_uri_list(), redirect_uri])
        client.save(update_fields=["redirect_uris"])
    return client
