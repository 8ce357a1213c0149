"""Fixed-window rate limits in the shared cache, keyed by client address, by NIK hash and by device.

One office NAT can hide hundreds of phones, so the per-client limit is generous and the per-NIK limit strict
(guessing health data by NIK is the abuse that matters). Keys hold hashes only, never a NIK.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
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
    """The caller's address: REMOTE_ADDR, or, while that is one of TRUSTED_PROXY_IPS, the address it forwarded for.

    At most TRUSTED_PROXY_COUNT hops are peeled off X-Forwarded-For, from the right (each proxy appends the address
    it saw), and only while the address in hand is a trusted proxy. So a client that reaches the server directly
    cannot choose its address by sending the header, and a server that already took the client address from the
    header (the uvicorn worker does, for gunicorn's forwarded_allow_ips) is not peeled a second time: the address
    it put in REMOTE_ADDR is a client's, not a proxy's.
    """
    address = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        trusted = tuple(settings.TRUSTED_PROXY_IPS)
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        while hops > 0 and forwarded and _proxy_trusted(address, trusted):
            address = _host(forwarded.pop())
            hops -= 1
    return address or "unknown"


def client_ip(request: HttpRequest) -> str | None:
    """client_address when it is an IP address, else None (a UNIX socket, a request built in a test): what a
    database IP field (django-axes' ip_address) can hold; "unknown" would be a DataError on PostgreSQL."""
    address = client_address(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)
def _proxy_trusted(address: str, trusted: tuple[str, ...]) -> bool:
    if "*" in trusted:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        # Not an IP address: a UNIX socket, which only a local process (the proxy) can reach; gunicorn trusts it too.
        return not address
    return any(ip in network for network in _networks(trusted))


@functools.lru_cache(maxsize=16)
def _networks(trusted: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted if entry != "*")


def _host(entry: str) -> str:
    """'203.0.113.7', '203.0.113.7:5123', '[2001:db8::7]:5123' -> the address alone; anything else as it is."""
    if entry.startswith("["):
        return entry[1 : entry.find("]")] if "]" in entry else entry
    if entry.count(":") == 1:
        return entry.split(":", 1)[0]
    return entry


def _short(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def ratelimit_client(request: HttpRequest, *, scope: str = "client") -> None:
    ratelimit_hit(scope=scope, key=_short(client_address(request)), rate=settings.RATE_LIMIT_CLIENT)


def ratelimit_nik(*, nik_hash: str) -> None:
    ratelimit_hit(scope="nik", key=_short(nik_hash), rate=settings.RATE_LIMIT_NIK)


def ratelimit_device(*, token: str) -> None:
    ratelimit_hit(scope="device", key=_short(token), rate=settings.RATE_LIMIT_NIK)
