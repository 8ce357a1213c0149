"""Live door QR: short-lived signed codes shown on the door kiosk, and the pass that lets a visitor finish the form.

A live token is "<period>.<signature>", where a period is 30 seconds of Unix time and the signature binds the period
to the entrance's current code (rotating the code retires every live token with the old posters). A token is accepted
in its own period and the next, so a phone that scans just before the screen changes still gets in, while a photo of
the screen is useless a minute later. Typing a NIK takes longer than that, so a page opened with a good token carries
a pass (signed, 10 minutes) into its form instead of the token. For a phone that cannot scan, the kiosk also shows six
digits, an HMAC of the same code and period (never stored), good for the same two periods: typed on the code-entry
page, they open the form as the QR would. Nothing here reads the clock: callers pass `at`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from .models import Entrance

PERIOD_SECONDS = 30
PERIODS_ACCEPTED = 2  # the current period and the one before it
PASS_MAX_AGE_SECONDS = 10 * 60
TOKEN_MAX_LENGTH = 64
PASS_MAX_LENGTH = 256
# A pass made by a server whose clock runs a little ahead is still fine; one from the far future is forged or broken.
PASS_CLOCK_SKEW_SECONDS = 60

_TOKEN_SALT = "dc-live-qr"
_PASS_SALT = "dc-live-pass"
_SIGNATURE_CHARS = 16  # 64 bits of HMAC-SHA256: a guess per request cannot land within a minute
_DIGITS_SALT = "dc-live-digits"
LIVE_DIGITS = 6  # what a person copies from a screen without mistakes; guessing is held off by a strict rate limit

OK, EXPIRED, INVALID = "ok", "expired", "invalid"


@dataclass(frozen=True)
class LiveCheck:
    ok: bool
    reason: str  # ok | expired | invalid
    # The pass a page carries into its form: a fresh one for a token, the same one for a pass, "" on refusal.
    pass_value: str = ""


_INVALID = LiveCheck(ok=False, reason=INVALID)
_EXPIRED = LiveCheck(ok=False, reason=EXPIRED)


def live_period(at: datetime.datetime) -> int:
    return int(at.timestamp() // PERIOD_SECONDS)


def live_seconds_left(at: datetime.datetime) -> float:
    """Seconds until the code shown at `at` changes."""
    return (live_period(at) + 1) * PERIOD_SECONDS - at.timestamp()


def _signature(entrance: Entrance, period: int) -> str:
    return salted_hmac(_TOKEN_SALT, f"{entrance.code}:{period}", algorithm="sha256").hexdigest()[:_SIGNATURE_CHARS]


def live_token_make(*, entrance: Entrance, at: datetime.datetime) -> str:
    period = live_period(at)
    return f"{period}.{_signature(entrance, period)}"


def live_url(*, entrance: Entrance, at: datetime.datetime) -> str:
    """What the kiosk's QR encodes: the entrance URL with the current live token."""
    return f"{entrance.url}?t={live_token_make(entrance=entrance, at=at)}"


def _digits(entrance: Entrance, period: int) -> str:
    # Its own salt: the digits never reveal anything about the token's signature for the same period.
    mac = salted_hmac(_DIGITS_SALT, f"{entrance.code}:{period}", algorithm="sha256").digest()
    # 64 bits reduced mod 10^6: the bias (below 10^-13) is nothing next to a six-digit guess.
    return f"{int.from_bytes(mac[:8], 'big') % 10**LIVE_DIGITS:0{LIVE_DIGITS}d}"


def live_digits_make(*, entrance: Entrance, at: datetime.datetime) -> str:
    """The six digits the kiosk shows under its QR at `at`."""
    return _digits(entrance, live_period(at))


def live_digits_grouped(digits: str) -> str:
    """'123456' -> '123 456', as the kiosk shows it."""
    half = len(digits) // 2
    return f"{digits[:half]} {digits[half:]}"


def live_digits_normalise(value: str | None) -> str | None:
    """Six ASCII digits from what a person typed ("123 456", "123-456"), or None when it is not such a code."""
    if not value or len(value) > 4 * LIVE_DIGITS:
        return None
    digits = "".join(value.replace("-", " ").split())
    if len(digits) != LIVE_DIGITS or not digits.isascii() or not digits.isdigit():
        return None
    return digits


def live_digits_matches(*, entrances: Iterable[Entrance], digits: str, at: datetime.datetime) -> list[Entrance]:
    """The entrances whose kiosk shows `digits` now or showed them in the period before (the QR's own window).

    More than one is possible (a million codes, many doors): the caller must not guess between them.
    """
    now = live_period(at)
    periods = range(now - PERIODS_ACCEPTED + 1, now + 1)
    return [
        entrance
        for entrance in entrances
        if any(constant_time_compare(digits, _digits(entrance, period)) for period in periods)
    ]


def live_pass_make(*, entrance: Entrance, at: datetime.datetime) -> str:
    return signing.dumps({"e": entrance.pk, "t": int(at.timestamp())}, salt=_PASS_SALT, compress=False)


def live_token_check(*, entrance: Entrance, token: str | None, at: datetime.datetime) -> LiveCheck:
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return _INVALID
    raw_period, _sep, signature = token.partition(".")
    if not raw_period.isascii() or not raw_period.isdigit() or len(raw_period) > 12:
        return _INVALID
    period = int(raw_period)
    # Signature first: only a code this server made can be called expired; anything else is just invalid.
    if not constant_time_compare(signature, _signature(entrance, period)):
        return _INVALID
    age = live_period(at) - period
    if age < 0:
        return _INVALID  # made for a period that has not started: not from our screen
    if age >= PERIODS_ACCEPTED:
        return _EXPIRED
    return LiveCheck(ok=True, reason=OK, pass_value=live_pass_make(entrance=entrance, at=at))


def live_pass_check(*, entrance: Entrance, value: str | None, at: datetime.datetime) -> LiveCheck:
    if not value or len(value) > PASS_MAX_LENGTH:
        return _INVALID
    try:
        payload = signing.loads(value, salt=_PASS_SALT)
    except signing.BadSignature:
        return _INVALID
    if not isinstance(payload, dict) or payload.get("e") != entrance.pk or not isinstance(payload.get("t"), int):
        return _INVALID
    age = at.timestamp() - payload["t"]
    if age < -PASS_CLOCK_SKEW_SECONDS:
        return _INVALID
    if age > PASS_MAX_AGE_SECONDS:
        return _EXPIRED
    return LiveCheck(ok=True, reason=OK, pass_value=value)


def live_proof_check(*, entrance: Entrance, value: str | None, at: datetime.datetime) -> LiveCheck:
    """A live token (from the kiosk's QR) or a pass (from a page opened with one): whichever `value` is."""
    # signing.dumps joins with ":", which a token never holds.
    if value and ":" in value:
        return live_pass_check(entrance=entrance, value=value, at=at)
    return live_token_check(entrance=entrance, token=value, at=at)
