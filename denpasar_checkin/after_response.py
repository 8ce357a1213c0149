"""Work a request starts but its answer must not wait for: run once the response has been handed to the server.

Django sends request_finished when the server closes the response, after every byte of it is written (a WSGI server
calls close() after sending the body; nginx in front has forwarded it by then). Work queued here costs the worker
time, but never shows in the answer's timing: a check-in that tells Satgas answers exactly as fast as any other
referral. Outside a request (a Celery task, a management command, a test calling a service) the work runs at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar

from django.core.signals import request_finished, request_started

logger = logging.getLogger(__name__)

# One list per request. A context variable rather than a thread-local: under ASGI the signals and the view run in
# different threads, but asgiref carries the request's context (and so this same list) into each of them.
_pending: ContextVar[list[Callable[[], object]] | None] = ContextVar("after_response_pending", default=None)


def after_response(callback: Callable[[], object]) -> None:
    """Run `callback` once the current response has gone out, or now when there is no request."""
    pending = _pending.get()
    if pending is None:
        callback()
    else:
        pending.append(callback)


def _request_began(**_kwargs) -> None:
    _pending.set([])


def _request_ended(**_kwargs) -> None:
    pending = _pending.get()
    _pending.set(None)
    for callback in pending or ():
        try:
            callback()
        except Exception:
            # The answer is already sent; one failed piece of follow-up work must not stop the others.
            logger.exception("work after the response failed")


request_started.connect(_request_began, dispatch_uid="denpasar_checkin.after_response.began")
request_finished.connect(_request_ended, dispatch_uid="denpasar_checkin.after_response.ended")
