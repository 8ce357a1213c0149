"""Project middleware: the Permissions-Policy header, and a sync-only pass-through placed last in the chain.

SyncOnlyMiddleware: under ASGI, Django keeps each MiddlewareMixin middleware in async mode when the handler below
it is async, and then runs every process_request/process_response in its own hop to a worker thread and back;
WhiteNoise, being sync only, adds an async-to-sync switch in the middle. Placed last, this middleware makes the
handler below every other middleware sync, so the whole chain runs in one thread with about three hand-offs per
request.
"""

from __future__ import annotations

from django.conf import settings


class SyncOnlyMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Adds the Permissions-Policy header (settings.PERMISSIONS_POLICY) to every response that has none yet."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.PERMISSIONS_POLICY
        if policy and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = policy
        return response
