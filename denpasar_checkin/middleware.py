"""A pass-through middleware that is sync only, placed last so the whole middleware chain runs in one thread.

Under ASGI, Django keeps each MiddlewareMixin middleware in async mode when the handler below it is async, and
then runs every process_request/process_response in its own hop to a worker thread and back; WhiteNoise, being
sync only, adds an async-to-sync switch in the middle. Placed last, this middleware makes the handler below every
other middleware sync, so the whole chain runs in one thread with about three hand-offs per request.
"""

from __future__ import annotations


class SyncOnlyMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
