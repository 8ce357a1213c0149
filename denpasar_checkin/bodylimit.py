"""An oversize request body answers 413 before it is read, under every server: JSON under /api/, plain text elsewhere.

Left to Django, an oversize body is a 500 in the API (DRF reads request.body, which raises RequestDataTooBig past
DATA_UPLOAD_MAX_MEMORY_SIZE) and a 400 on a form (CSRF reads request.POST), and under ASGI Django's handler first
spools the whole body, however large, to a temporary file. So one rule (`body_limit`) is applied twice:

- BodyLimitMiddleware, first in MIDDLEWARE, compares Content-Length under WSGI (runserver, gunicorn's sync and
  gthread workers), ASGI and the test client. Under WSGI a body without Content-Length is never read (Django takes
  it as empty), so it needs no limit there.
- BodyLimitASGI wraps the ASGI application (asgi.py): it refuses by Content-Length before a byte is read, and counts
  a chunked body (no Content-Length) as it arrives, cutting it off once past the limit.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views import defaults

# The same words as the API parsers' own 413 (visitors.api.BodyTooLarge).
TOO_LARGE_MESSAGE = _("The request body is too large.")


def body_limit(content_type: str) -> int:
    """The largest body allowed: a file upload (multipart) up to REQUEST_BODY_MAX_BYTES; any other body is read into
    memory whole, so at most DATA_UPLOAD_MAX_MEMORY_SIZE as well."""
    ceiling = settings.REQUEST_BODY_MAX_BYTES
    if content_type.strip().lower().startswith("multipart/form-data"):
        return ceiling
    in_memory = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return ceiling if in_memory is None else min(in_memory, ceiling)


def too_large_response(request: HttpRequest) -> HttpResponse:
    """413 in the caller's language: `{"detail", "code": "too_large"}` under /api/, one line of text elsewhere."""
    with translation.override(translation.get_language_from_request(request)):
        message = str(TOO_LARGE_MESSAGE)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "code": "too_large"}, status=413)
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


def _length(value: str | bytes | None) -> int | None:
    try:
        return int(value) if value not in (None, b"", "") else None
    except ValueError:
        return None  # the server refuses a malformed Content-Length before we see it


class BodyLimitMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = _length(request.META.get("CONTENT_LENGTH"))
        if length is not None and length > body_limit(request.META.get("CONTENT_TYPE", "")):
            return too_large_response(request)
        return self.get_response(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a body found too big while it was read (a multipart post's fields) is a 413 like any other."""
    if isinstance(exception, RequestDataTooBig):
        return too_large_response(request)
    return defaults.bad_request(request, exception)


class BodyLimitASGI:
    """ASGI wrapper applying `body_limit` before Django's handler reads (and spools) the body."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = None
        content_type = ""
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = _length(value)
            elif name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"transfer-encoding":
                chunked = True
        if length is None and not chunked:
            return await self.app(scope, receive, send)  # no body
        limit = body_limit(content_type)
        if length is not None:
            # The server frames the body by Content-Length, so the header is the body's true size.
            if length > limit:
                return await self._refuse(scope, send)
            return await self.app(scope, receive, send)

        received = 0
        cut = False
        started = False

        async def receive_counted():
            nonlocal received, cut
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Django's handler stops reading at a disconnect and answers nothing; we answer below.
                    cut = True
                    return {"type": "http.disconnect"}
            return message

        async def send_tracked(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, receive_counted, send_tracked)
        if cut and not started:
            await self._refuse(scope, send)

    @staticmethod
    async def _refuse(scope, send) -> None:
        response = too_large_response(ASGIRequest(scope, io.BytesIO()))
        headers = [(key.encode("latin-1"), value.encode("latin-1")) for key, value in response.items()]
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": response.content})
