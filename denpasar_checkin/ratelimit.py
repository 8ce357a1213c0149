"""Fixed-window rate limits in the shared cache, keyed by client address, by NIK hash and by device.

One office NAT can hide hundreds of phones, so the per-client limit is generous and the per-NIK limit strict
(guessing health data by NIK is the abuse that matters). Keys hold hashes only, never a NIK.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .safe_cache import cache_incr

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RateLimited(Exception):
    """Too many requests; `retry_after` is in whole seconds."""

    message = _("Too many attempts. Please wait a moment and try again.")

    def __init__(self, *, scope: str, retry_after: int):
        super().__init__(f"rate limited: {scope}")
        self.scope = scope
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Rate:
    count: int
    seconds: int


def rate_parse(text: str) -> Rate:
    """'300/m', '10/m', '5/10s', '1000/h'."""
    match = _RATE.match(text or "")
    if not match:
        raise ImproperlyConfigured(f"Bad rate {text!r}: use a form like 300/m, 10/m or 5/10s.")
    count, multiplier, unit = match.groups()
    return Rate(int(count), int(multiplier or 1) * _UNIT_SECONDS[unit])


def ratelimit_hit(*, scope: str, key: str, rate: str, now: float | None = None) -> None:
    """Count one request for (scope, key); raise RateLimited past the rate. Fails open if the cache is down."""
    if not settings.RATE_LIMIT_ENABLED:
        return
    parsed = rate_parse(rate)
    now = time.time() if now is None else now
    window = int(now // parsed.seconds)
    count = cache_incr(f"rl:{scope}:{window}:{key}", timeout=parsed.seconds + 1)
    if count is not None and count > parsed.count:
        retry_after = max(1, int((window + 1) * parsed.seconds - now) + 1)
        raise RateLimited(scope=scope, retry_after=retry_after)


def client_address(request: HttpRequest) -> str:
    """The caller's address; behind TRUSTED_PROXY_COUNT proxies, the address the outermost one saw."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _short(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def ratelimit_client(request: HttpRequest, *, scope: str = "client") -> None:
    ratelimit_hit(scope=scope, key=_short(client_address(request)), rate=settings.RATE_LIMIT_CLIENT)


def ratelimit_nik(*, nik_hash: str) -> None:
    ratelimit_hit(scope="nik", key=_short(nik_hash), rate=settings.RATE_LIMIT_NIK)


def ratelimit_device(*, token: str) -> None:
    ratelimit_hit(scope="device", key=_short(token), rate=settings.RATE_LIMIT_NIK)
