"""Two WSGI handlers over the same URLs and views: the full middleware chain, and a lean one for anonymous API
check-ins and check-outs, which are nearly every request the app serves.

An anonymous phone or kiosk posting JSON has no session, no user, no flash messages and no page to protect from
framing scripts: the session, CSRF, authentication, second-factor, messages, login-throttle and static-file
middleware do nothing for it but cost about a tenth of its CPU. The lean handler runs every other middleware of
settings.MIDDLEWARE, in the same order (body limit, security headers, policies, language, 503 on a lost database),
so the answer and its headers are the same. A request that carries a session cookie or an Authorization header
(an officer) takes the full chain, and so does every other path: the lane changes the route to the view, never the
view, so the one admission function stays the only way in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

# Paths (PATH_INFO) whose anonymous POSTs take the lean chain.
LEAN_PATHS = frozenset({"/api/v1/checkins/", "/api/v1/checkouts/"})

# What an anonymous JSON call does not need; everything else in settings.MIDDLEWARE runs for it too.
LEAN_SKIPS = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django_otp.middleware.OTPMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "offices.two_factor.TwoFactorMiddleware",
        "axes.middleware.AxesMiddleware",
    }
)


def lean_middleware(middleware: Iterable[str]) -> list[str]:
    return [path for path in middleware if path not in LEAN_SKIPS]


class LeanHandler(WSGIHandler):
    """Django's WSGI handler with the lean chain: the middleware list is swapped only while it is loaded."""

    def load_middleware(self, is_async: bool = False) -> None:
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = lean_middleware(full)
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


def lane_is_lean(environ: dict) -> bool:
    """An anonymous POST to a check-in or check-out: no session cookie, no Authorization header."""
    if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") not in LEAN_PATHS:
        return False
    if "HTTP_AUTHORIZATION" in environ:
        return False
    return f"{settings.SESSION_COOKIE_NAME}=" not in environ.get("HTTP_COOKIE", "")


def lanes_application() -> Callable:
    """The project's WSGI application: each request to the lean or the full handler (see the module's docstring)."""
    django.setup(set_prefix=False)
    full, lean = WSGIHandler(), LeanHandler()

    def application(environ: dict, start_response: Callable):
        return (lean if lane_is_lean(environ) else full)(environ, start_response)

    return application
