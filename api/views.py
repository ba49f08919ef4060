"""The one view of the API: route by the service model, refuse oversized bodies before reading
them, verify the signature, check the members, run the operation, answer in AppFlow's shapes."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

import audit
from api import openapi, sigv4
from api.operations import run_operation
from api.service_model import is_read_only, route
from api.wire import (
    MAX_BODY_BYTES,
    ApiError,
    error_response,
    invalid,
    json_response,
    parse_body,
    request_members,
    validate,
)
from audit.address import client_address

logger = logging.getLogger("sluice.api")


def read_body(request: HttpRequest) -> bytes:
    """At most MAX_BODY_BYTES; a larger body is refused from its Content-Length, or after reading
    one byte past the limit when it has none (chunked), never parsed."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise invalid("The Content-Length header is not a number.") from None
    if declared > MAX_BODY_BYTES:
        raise too_large()
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise too_large()
    return body


def too_large() -> ApiError:
    return ApiError("ValidationException", f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB, "
                    "the most a request may carry. Send less in one request.", status=413)


def throttle(caller: sigv4.Caller) -> None:
    """A fixed window per key and minute, so one script cannot starve the console."""
    limit = getattr(settings, "SLUICE_API_REQUESTS_PER_MINUTE", 1200)
    window = int(time.time() // 60)
    bucket = f"sluice-api-rate:{caller.key.access_key_id}:{window}"
    cache.add(bucket, 0, timeout=120)
    try:
        count = cache.incr(bucket)
    except ValueError:  # evicted between add and incr
        count = 1
    if count > limit:
        retry = 60 - int(time.time() % 60)
        raise ApiError("ThrottlingException", f"This access key sent more than {limit} requests this minute. "
                       f"Retry after {retry} seconds.", headers={"Retry-After": str(retry)})


@csrf_exempt
@login_not_required  # signed by an access key, not a console session
def dispatch(request: HttpRequest, path: str) -> HttpResponse:
    operation = seen = None
    try:
        operation, labels, allowed = route(request.method, "/" + path)
        if operation is None:
            if allowed:
                raise ApiError("ValidationException", f"/{path} takes {' or '.join(allowed)}, not "
                               f"{request.method}.", status=405)
            raise ApiError("UnsupportedOperationException", f"/{path} is not an AppFlow operation. "
                           "See docs/api.md for the operations and their paths.", status=404)
        body = read_body(request)
        caller = sigv4.verify(request, body, labels)
        throttle(caller)
        if not is_read_only(operation):
            seen = sigv4.refuse_replay(caller)
        sigv4.touch(caller)
        params = request_members(operation, parse_body(body), labels, request.META.get("QUERY_STRING", ""))
        problems = validate(operation.input_shape, params)
        if problems:
            raise invalid(*problems)
        with audit.acting_as(caller.key.user, via="api", access_key_id=caller.key.access_key_id,
                             address=client_address(request)):
            result = run_operation(operation.name, params, caller.key.user)
    except ApiError as error:
        if error.code != "AccessDeniedException":  # a refused replay keeps the first one's row
            sigv4.forget(seen)
        return error_response(error)
    except Exception:
        sigv4.forget(seen)
        logger.exception("API operation %s failed", operation.name if operation else path)
        return error_response(ApiError(
            "InternalServerException", "Sluice hit an unexpected error; it is logged on the server. "
            "Retry, and if it persists, tell your Sluice administrator."))
    return json_response(result or {})


@login_not_required  # the public description of a public API: no secret in it
@require_GET
def openapi_json(request: HttpRequest) -> HttpResponse:
    return json_response(openapi.document())


@require_GET
def reference(request: HttpRequest) -> HttpResponse:
    """The API reference, rendered by Swagger UI from vendored files (nothing from the internet)."""
    return render(request, "api/reference.html")
