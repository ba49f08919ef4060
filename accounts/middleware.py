"""Every page is checked here, before its view runs, by its URL name (accounts/access.py PAGES).

An object of a team the user is not in answers 404, as if it did not exist; a role too small
answers the 403 page saying what is needed. An htmx request cannot swap a 403 into the page, so
it gets the message on the next full page (HX-Refresh), never a silent nothing."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string

from accounts import access


class AccessMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated:
            return None  # a login_not_required view; LoginRequiredMiddleware redirected the rest
        view_name = request.resolver_match.view_name
        rule = access.page_rule(view_name)
        if rule is None:
            # A page nobody wrote a rule for is closed to all but superusers until one is written.
            if user.is_superuser and user.is_active:
                return None
            return refuse(request, f"This page ({view_name}) has no access rule yet, so only "
                                   "superusers may open it. Ask your Sluice administrator.")
        obj = rule.find(request, view_kwargs) if rule.find else None
        if obj is access.NOT_FOUND or (obj is not None and not access.is_visible(user, obj)):
            raise Http404("No such object.")
        action = rule.action_for(request)
        if access.can(user, action, obj):
            return None
        return refuse(request, access.refusal(user, action, obj))


def refuse(request: HttpRequest, message: str) -> HttpResponse:
    if getattr(request, "htmx", False):
        messages.error(request, message)
        return HttpResponse(message, status=403, headers={"HX-Refresh": "true"}, content_type="text/plain")
    html = render_to_string("403.html", {"message": message}, request=request)
    return HttpResponse(html, status=403)
