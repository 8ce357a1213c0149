"""The upstream HTTP status source, the strict validation of one status item, and the circuit breaker.

A CSV row, a bulk API item and an HTTP answer share the item's shape; the breaker keeps check-in from waiting on an
upstream service that is down. The local registry itself is read in selectors and services.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
import os
import random
import re
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from denpasar_checkin.nik import nik_validate
from denpasar_checkin.safe_cache import cache_delete_many, cache_get_many, cache_incr, cache_set

from .models import CaseStatus, HealthStatus

logger = logging.getLogger(__name__)

ITEM_FIELDS = ("nik", "name", "doses", "last_dose_on", "case_status", "isolated_until", "exemption_until")
DATE_FIELDS = ("last_dose_on", "isolated_until", "exemption_until")
NON_FIELD = "non_field_errors"  # the key DRF uses too, so API errors look alike
NAME_MAX = HealthStatus._meta.get_field("name").max_length
DOSES_MAX = 4
# Sanity bounds: a date outside them is a typo or a swapped column, not a vaccination or an isolation.
DATE_MIN = datetime.date(2020, 1, 1)
DATE_MAX = datetime.date(2099, 12, 31)
MAX_ANSWER_BYTES = 16 * 1024  # one item is a few hundred bytes; anything near this is not an item
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CASE_VALUES = tuple(c.value for c in CaseStatus)

_MESSAGES = {
    "required": _("This field is required."),
    "not_object": _("Each item must be an object with the fields nik, name, doses, ..."),
    "unknown": _("Unknown field(s): %(fields)s."),
    "name_type": _("Enter the name as text."),
    "name_empty": _("Enter the full name as on the KTP."),
    "name_long": _("A name can be at most %(max)d characters."),
    "name_letters": _("A name must contain letters."),
    "doses": _("Enter the number of doses as a whole number from 0 to 4."),
    "case_status": _("Use one of: none, positive, close_contact."),
    "date": _("Enter a date as YYYY-MM-DD, or leave it empty."),
    "date_range": _("Enter a date between 2020-01-01 and 2099-12-31."),
    "dose_date_without_dose": _("A last dose date needs at least one dose."),
    "dose_date_future": _("The last dose date cannot be in the future."),
}


# --- one item ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusItem:
    """One person's status as a source states it, validated; the NIK is normalized."""

    nik: str
    name: str
    doses: int
    last_dose_on: datetime.date | None = None
    case_status: str = CaseStatus.NONE.value
    isolated_until: datetime.date | None = None
    exemption_until: datetime.date | None = None

    def as_raw(self) -> dict[str, Any]:
        """The JSON shape of the item (dates as YYYY-MM-DD or null)."""
        raw: dict[str, Any] = {"nik": self.nik, "name": self.name, "doses": self.doses, "case_status": self.case_status}
        for name in DATE_FIELDS:
            value = getattr(self, name)
            raw[name] = value.isoformat() if value else None
        return raw


class ItemInvalid(Exception):
    """An item failed validation; `errors` maps field names to messages (never containing the values)."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(", ".join(sorted(errors)))
        self.errors = errors


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _date_clean(value: Any) -> datetime.date | None:
    if _missing(value):
        return None
    if not isinstance(value, str) or not _DATE.fullmatch(value.strip()):
        raise ValueError(_MESSAGES["date"])
    try:
        day = datetime.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(_MESSAGES["date"]) from None
    if not DATE_MIN <= day <= DATE_MAX:
        raise ValueError(_MESSAGES["date_range"])
    return day


def status_item_clean(raw: Any, *, today: datetime.date, unknown_fields: str = "error") -> StatusItem:
    """Validate one item strictly: JSON types as given (doses an integer, dates YYYY-MM-DD strings or null).

    `unknown_fields="error"` rejects fields outside the documented shape (a misspelt `isolation_until` would otherwise
    silently drop an isolation); the HTTP source's answers use "ignore", so the upstream may add fields.
    Raises ItemInvalid with every field's messages at once; they never repeat a submitted value.
    """
    if not isinstance(raw, Mapping):
        raise ItemInvalid({NON_FIELD: [str(_MESSAGES["not_object"])]})
    errors: dict[str, list[str]] = {}
    if unknown_fields == "error":
        _field_check(errors, NON_FIELD, _unknown_fields_check, raw)
    nik = _field_check(errors, "nik", _nik_clean, raw.get("nik"))
    name = _field_check(errors, "name", _name_clean, raw.get("name"))
    doses = _field_check(errors, "doses", _doses_clean, raw.get("doses"))
    case_status = _field_check(errors, "case_status", _case_status_clean, raw.get("case_status"))
    dates = {field: _field_check(errors, field, _date_clean, raw.get(field)) for field in DATE_FIELDS}
    if dates["last_dose_on"] is not None and "doses" not in errors:
        _field_check(errors, "last_dose_on", _dose_date_check, dates["last_dose_on"], doses, today)
    if errors:
        raise ItemInvalid(errors)
    return StatusItem(
        nik=nik,
        name=name,
        doses=doses,
        last_dose_on=dates["last_dose_on"],
        case_status=case_status,
        isolated_until=dates["isolated_until"],
        exemption_until=dates["exemption_until"],
    )


def _field_check(errors: dict[str, list[str]], field: str, clean: Callable[..., Any], *args: Any) -> Any:
    """One field's step: its cleaned value, or None with the step's messages (ValueError args) kept under `field`."""
    try:
        return clean(*args)
    except ValueError as error:
        errors.setdefault(field, []).extend(str(message) for message in error.args)
        return None


def _unknown_fields_check(raw: Mapping) -> None:
    unknown = sorted(str(key)[:40] for key in raw if key not in ITEM_FIELDS)
    if unknown:
        raise ValueError(_MESSAGES["unknown"] % {"fields": ", ".join(unknown[:5])})


def _nik_clean(value: Any) -> str:
    if _missing(value):
        raise ValueError(_MESSAGES["required"])
    try:
        return nik_validate(value)
    except ValidationError as error:
        raise ValueError(*error.messages) from None


def _name_clean(value: Any) -> str:
    if value is None:
        raise ValueError(_MESSAGES["required"])
    if not isinstance(value, str):
        raise ValueError(_MESSAGES["name_type"])
    name = " ".join(value.split())
    if not name:
        raise ValueError(_MESSAGES["name_empty"])
    if len(name) > NAME_MAX:
        raise ValueError(_MESSAGES["name_long"] % {"max": NAME_MAX})
    if not any(ch.isalpha() for ch in name):
        raise ValueError(_MESSAGES["name_letters"])
    return name


def _doses_clean(value: Any) -> int:
    if value is None or value == "":
        raise ValueError(_MESSAGES["required"])
    # bool is an int in Python; `true` is not a number of doses.
    if type(value) is not int or not 0 <= value <= DOSES_MAX:
        raise ValueError(_MESSAGES["doses"])
    return value


def _case_status_clean(value: Any) -> str:
    if _missing(value):
        return CaseStatus.NONE.value
    if not isinstance(value, str) or value.strip() not in _CASE_VALUES:
        raise ValueError(_MESSAGES["case_status"])
    return value.strip()


def _dose_date_check(last_dose_on: datetime.date, doses: int, today: datetime.date) -> None:
    if doses == 0:
        raise ValueError(_MESSAGES["dose_date_without_dose"])
    if last_dose_on > today:
        raise ValueError(_MESSAGES["dose_date_future"])


# --- failures ---------------------------------------------------------------------------------------------------


class SourceUnavailable(Exception):
    """The source cannot answer now (timeout, error, malformed answer, open circuit); `reason` never holds a NIK."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class CircuitOpen(SourceUnavailable):
    def __init__(self) -> None:
        super().__init__("circuit open")


# --- circuit breaker --------------------------------------------------------------------------------------------


class CircuitBreaker:
    """Consecutive failures open the circuit for a cool-down; after it, one caller at a time probes.

    The state lives in the shared cache so every web process and worker stops waiting at the same moment. When the
    cache itself is down the breaker stays closed, and each call is still bounded by the source's timeout.
    """

    def __init__(self, name: str, *, threshold: int, cooldown: float, probe_seconds: float = 5.0):
        self.name = name
        self.threshold = max(1, threshold)
        self.cooldown = max(0.0, cooldown)
        self.probe_seconds = probe_seconds
        prefix = f"breaker:v1:{name}"
        self._failures_key = f"{prefix}:failures"
        self._open_key = f"{prefix}:open_until"
        self._probe_key = f"{prefix}:probe"

    @classmethod
    def for_status_source(cls) -> CircuitBreaker:
        return cls(
            "status-source",
            threshold=settings.STATUS_SOURCE_BREAKER_THRESHOLD,
            cooldown=settings.STATUS_SOURCE_BREAKER_COOLDOWN,
            probe_seconds=settings.STATUS_SOURCE_TIMEOUT + 2,
        )

    def state(self) -> str:
        """closed, open, or half_open (cool-down over, waiting for a probe to succeed)."""
        open_until = cache_get_many([self._open_key]).get(self._open_key)
        if open_until is None:
            return "closed"
        return "open" if time.time() < open_until else "half_open"

    def allow(self) -> bool:
        open_until = cache_get_many([self._open_key]).get(self._open_key)
        if open_until is None:
            return True
        if time.time() < open_until:
            return False
        # Cool-down over: exactly one caller probes; the others keep failing fast until it reports back.
        try:
            return bool(cache.add(self._probe_key, 1, timeout=max(1, int(self.probe_seconds))))
        except Exception:
            logger.warning("cache unavailable: breaker probe allowed", exc_info=True)
            return True

    def record_success(self) -> None:
        cache_delete_many([self._failures_key, self._open_key, self._probe_key])

    def record_failure(self) -> None:
        if cache_get_many([self._open_key]).get(self._open_key) is not None:
            self._open()  # the probe failed: another full cool-down
            return
        # Failures older than this window are forgotten, so sporadic errors over a day never open the circuit.
        count = cache_incr(self._failures_key, timeout=max(60, int(self.cooldown * 10)))
        if count is not None and count >= self.threshold:
            self._open()

    def _open(self) -> None:
        # The key outlives the cool-down so that afterwards the breaker is half-open (one probe), not closed (a herd).
        cache_set(self._open_key, time.time() + self.cooldown, timeout=int(self.cooldown) + 3600)
        cache_delete_many([self._failures_key, self._probe_key])
        logger.warning("status source %s: circuit open for %.0f s", self.name, self.cooldown)


# --- the upstream HTTP source -----------------------------------------------------------------------------------

_POOL_SIZE = 8
_pool_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _executor() -> ThreadPoolExecutor:
    """A small pool per process (re-created after a fork, whose copy would have no threads)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=_POOL_SIZE, thread_name_prefix="status-source"))
        return _pool[1]


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """Loading the CA bundle takes milliseconds: once per process, not once per request."""
    return ssl.create_default_context()


def _post_json(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    """POST and read at most MAX_ANSWER_BYTES + 1; every socket operation is bounded by what is left of `timeout`."""
    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    if parts.scheme == "https":
        conn: HTTPConnection = HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=_ssl_context())
    elif parts.scheme == "http":
        conn = HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    else:
        raise ValueError("the status source URL must be http or https")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        if conn.sock is not None:
            conn.sock.settimeout(max(deadline - time.monotonic(), 0.01))
        return response.status, response.read(MAX_ANSWER_BYTES + 1)
    finally:
        conn.close()


class HttpStatusSource:
    """The upstream health service: POST {nik, name} as JSON (the NIK never in a URL); 200 one item, 404 unknown.

    Every call goes through the shared circuit breaker and returns within `timeout` seconds: the request runs in a
    small thread pool and the caller stops waiting at the bound, so even an upstream that trickles bytes cannot hold
    a check-in.
    """

    def __init__(self, *, url: str, token: str = "", timeout: float = 1.0, breaker: CircuitBreaker | None = None):
        self.url = url
        self.token = token
        self.timeout = timeout
        self.breaker = breaker or CircuitBreaker.for_status_source()

    @classmethod
    def from_settings(cls) -> HttpStatusSource:
        return cls(
            url=settings.STATUS_SOURCE_URL,
            token=settings.STATUS_SOURCE_TOKEN,
            timeout=settings.STATUS_SOURCE_TIMEOUT,
        )

    def item_fetch(self, *, nik: str, name: str) -> StatusItem | None:
        """One bounded attempt through the breaker: the item, None for unknown, or SourceUnavailable."""
        if not self.breaker.allow():
            raise CircuitOpen()
        try:
            item = self._ask(nik=nik, name=name)
        except SourceUnavailable as error:
            self.breaker.record_failure()
            logger.warning("status source unavailable: %s", error.reason)
            raise
        self.breaker.record_success()
        return item

    def item_fetch_retrying(
        self,
        *,
        nik: str,
        name: str,
        attempts: int,
        backoff: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> StatusItem | None:
        """For background refresh only: retry with exponential backoff and jitter; stop at once if the circuit opens."""
        for attempt in range(max(1, attempts)):
            try:
                return self.item_fetch(nik=nik, name=name)
            except CircuitOpen:
                raise
            except SourceUnavailable:
                if attempt == attempts - 1:
                    raise
                sleep(backoff * (2**attempt) * (1 + random.random() / 2))
        return None  # not reached

    def _ask(self, *, nik: str, name: str) -> StatusItem | None:
        headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "denpasar-checkin"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = json.dumps({"nik": nik, "name": name}).encode("utf-8")
        started = time.monotonic()
        future = _executor().submit(_post_json, self.url, body, headers, self.timeout)
        try:
            status, raw = future.result(timeout=self.timeout)
        except FutureTimeout:
            future.cancel()  # if it never started; a running request ends at its own socket timeouts
            raise SourceUnavailable(f"no answer within {self.timeout:g} s") from None
        except (OSError, HTTPException, ValueError) as error:
            # The error's text may quote the URL but never the body, where the NIK travels; log its type only.
            raise SourceUnavailable(f"request failed ({type(error).__name__})") from None
        logger.debug("status source answered %s in %.3f s", status, time.monotonic() - started)
        if status == 404:
            return None
        if status != 200:
            raise SourceUnavailable(f"HTTP {status}")
        if len(raw) > MAX_ANSWER_BYTES:
            raise SourceUnavailable("answer too large")
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise SourceUnavailable("malformed JSON") from None
        try:
            item = status_item_clean(data, today=timezone.localdate(), unknown_fields="ignore")
        except ItemInvalid as error:
            raise SourceUnavailable(f"invalid answer (fields: {', '.join(sorted(error.errors))})") from None
        if item.nik != nik:
            raise SourceUnavailable("answer about another NIK")
        return item


def status_source_remote() -> HttpStatusSource | None:
    """The upstream source when STATUS_SOURCE=http, else None (the registry is the only source)."""
    if settings.STATUS_SOURCE != "http" or not settings.STATUS_SOURCE_URL:
        return None
    return HttpStatusSource.from_settings()
