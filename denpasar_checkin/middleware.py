"""Project middleware: the Content-Security-Policy and Permissions-Policy headers, a 503 while the database is
unreachable, and a sync-only pass-through placed last in the chain.

ContentSecurityPolicyMiddleware: django-csp builds the page policy from settings for every response (twice: the
policy and its report-only twin), which is a measurable share of an API check-in. A JSON answer loads nothing, so it
gets the fixed policy recommended for APIs instead: no sources at all, and never framed.

DatabaseUnavailableMiddleware: a dropped or restarting PostgreSQL is not a bug in the page. The visitor gets "busy,
try again" with Retry-After (a phone's retry with the same request id is answered once), the log still records it
as a server error, and nothing was written (the failed statement's transaction rolled back).

SyncOnlyMiddleware: under ASGI, Django keeps each MiddlewareMixin middleware in async mode when the handler below
it is async, and then runs every process_request/process_response in its own hop to a worker thread and back;
WhiteNoise, being sync only, adds an async-to-sync switch in the middle. Placed last, this middleware makes the
handler below every other middleware sync, so the whole chain runs in one thread with about three hand-offs per
request.
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.log import log_response
from django.utils.translation import gettext as _

# The policy of a JSON answer: it is data, never a document that loads or runs anything.
JSON_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"

# What a client should wait before trying again: a PostgreSQL restart or failover takes a few seconds.
RETRY_AFTER_SECONDS = 2


def database_unavailable(exception: BaseException) -> bool:
    """Whether an exception means the database could not answer now (connection lost, server shutting down,
    restarting, deadlock or statement timeout), rather than a fault in the request or the code."""
    return isinstance(exception, OperationalError | InterfaceError)


def unavailable_response(request, exception: BaseException, *, json: bool) -> HttpResponse:
    """503 with Retry-After, as JSON {"detail", "code": "unavailable"} or the plain page; logged as a server error."""
    message = _("The system is busy. Please try again in a moment.")
    if json:
        response = JsonResponse({"detail": message, "code": "unavailable"}, status=503)
    else:
        # Rendered without the request: context processors may need the database that is gone.
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    log_response(
        "Service Unavailable (database): %s", request.path, response=response, request=request, exception=exception
    )
    return response


class _SyncMiddleware:
    """A plain sync middleware: passes the request on; subclasses add their one job."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)


class DatabaseUnavailableMiddleware(_SyncMiddleware):
    """Turns an unreachable database under a Django view into a 503 (the API's views do the same in their own
    exception handler)."""

    def process_exception(self, request, exception):
        if not database_unavailable(exception):
            return None
        return unavailable_response(request, exception, json=request.path.startswith("/api/"))


class SyncOnlyMiddleware(_SyncMiddleware):
    """Placed last: see the module's docstring."""


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's policy on pages; JSON answers get JSON_CONTENT_SECURITY_POLICY (see the module's docstring)."""

    def process_response(self, request, response):
        if response.get("Content-Type", "").startswith("application/json"):
            if "Content-Security-Policy" not in response:
                response["Content-Security-Policy"] = JSON_CONTENT_SECURITY_POLICY
            return response
        return super().process_response(request, response)


class PermissionsPolicyMiddleware(_SyncMiddleware):
    """Adds the Permissions-Policy header (settings.PERMISSIONS_POLICY) to every response that has none yet."""

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.PERMISSIONS_POLICY
        if policy and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = policy
        return response
