"""Login throttling (django-axes): the throttle's authentication backend and the audit entry for each lockout."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_username
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .services import audit_record


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses a locked-out username+address pair before ModelBackend checks the password.

    A call without a request (a management command, the shell, the test client's login()) has no address to
    count against and could not be recorded as a failure either, so it passes to the next backend unthrottled;
    every login form of the site passes its request.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs
    ):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_audit(sender: Any, *, request: HttpRequest, username: str | None, ip_address: str, **kwargs: Any) -> None:
    """Receiver of axes' user_locked_out: one audit entry when a pair becomes locked (never the password).

    Axes sends the signal again for every refused try during the lockout, without counting it as a failure; only
    a counted failure that reached the limit starts a lockout, and only that one is written.
    """
    if (getattr(request, "axes_failures_since_start", None) or 0) < settings.AXES_FAILURE_LIMIT:
        return
    audit_record(
        actor=None,
        action="login.locked_out",
        detail={
            "username": (username or "")[:150],
            "ip_address": ip_address,
            "failures": settings.AXES_FAILURE_LIMIT,
            "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        },
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The page a locked-out login gets (AXES_LOCKOUT_CALLABLE): 429 with Retry-After, in the user's language."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    context = {
        "username": get_client_username(request, credentials) or "",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": seconds // 60,
    }
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response
