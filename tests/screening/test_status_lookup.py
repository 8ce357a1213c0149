"""The status lookup: cache, then registry, then source, in bounded time; and check-in without Redis."""

from __future__ import annotations

import datetime
import time

import pytest
from django.core.cache import cache

from denpasar_checkin.nik import nik_hash
from screening.models import HealthStatus
from screening.selectors import status_cache_key
from screening.services import status_lookup
from tests.celery_worker import broker_at, eager_tasks
from tests.factories import EntranceFactory, HealthStatusFactory, nik_make
from tests.loopback import Reply
from visitors.models import ScanEvent, Visit
from visitors.services import visit_checkin

TODAY = datetime.date(2021, 8, 20)
DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connections are refused at once


def record(name: str, doses: int) -> dict:
    return {
        "name": name,
        "doses": doses,
        "last_dose_on": None,
        "case_status": "none",
        "case_reported_on": None,
        "isolated_until": None,
        "exemption_until": None,
    }


@pytest.mark.django_db
def test_cache_comes_first(django_assert_num_queries):
    digest = nik_hash(nik_make(1))
    HealthStatusFactory(nik=nik_make(1), name="I Made", doses=0)
    status_lookup(nik_hash=None, name="", today=TODAY)  # warms policy and level
    cache.set(status_cache_key(digest), record("I Made", 2), 60)
    with django_assert_num_queries(0):
        _context, snapshot = status_lookup(nik_hash=digest, name="I Made", today=TODAY)
    assert snapshot.found and snapshot.doses == 2


@pytest.mark.django_db
def test_registry_on_a_cache_miss_and_then_cached():
    digest = nik_hash(nik_make(2))
    HealthStatusFactory(nik=nik_make(2), name="Ni Luh", doses=3)
    _context, snapshot = status_lookup(nik_hash=digest, name="Ni Luh", today=TODAY)
    assert snapshot.doses == 3
    assert cache.get(status_cache_key(digest))["doses"] == 3


@pytest.mark.django_db
def test_unknown_person_is_cached_as_missing_briefly():
    digest = nik_hash(nik_make(3))
    _context, snapshot = status_lookup(nik_hash=digest, name="X", today=TODAY)
    assert not snapshot.found
    assert cache.get(status_cache_key(digest)) == {"missing": True}


@pytest.mark.django_db
def test_the_signature_without_nik_still_works_in_http_mode(settings, loopback_server):
    settings.STATUS_SOURCE = "http"
    settings.STATUS_SOURCE_URL = loopback_server.url
    _context, snapshot = status_lookup(nik_hash=nik_hash(nik_make(4)), name="X", today=TODAY)
    assert not snapshot.found
    assert loopback_server.received == []  # without the NIK the upstream cannot be asked


@pytest.mark.django_db
def test_source_after_registry_and_its_answer_is_cached_and_kept(settings, loopback_server):
    settings.STATUS_SOURCE = "http"
    settings.STATUS_SOURCE_URL = loopback_server.url
    loopback_server.responder = lambda received: Reply(200, {"nik": nik_make(5), "name": "Ni Kadek", "doses": 2})
    digest = nik_hash(nik_make(5))
    _context, snapshot = status_lookup(nik_hash=digest, name="Ni Kadek", today=TODAY, nik=nik_make(5))
    assert snapshot.found and snapshot.doses == 2
    assert cache.get(status_cache_key(digest))["doses"] == 2
    assert HealthStatus.objects.get(nik_hash=digest).source == "http"


@pytest.mark.django_db
def test_source_failure_with_nothing_cached_is_unknown_never_an_error(settings, loopback_server):
    settings.STATUS_SOURCE = "http"
    settings.STATUS_SOURCE_URL = loopback_server.url
    settings.STATUS_SOURCE_TIMEOUT = 0.5
    loopback_server.responder = lambda received: Reply(200, b"", delay=2)
    digest = nik_hash(nik_make(6))
    started = time.monotonic()
    _context, snapshot = status_lookup(nik_hash=digest, name="X", today=TODAY, nik=nik_make(6))
    assert time.monotonic() - started < 1.5
    assert not snapshot.found
    assert cache.get(status_cache_key(digest)) is None  # not cached: the next scan asks again


@pytest.mark.django_db
def test_source_down_at_the_socket_level_is_unknown(settings):
    settings.STATUS_SOURCE = "http"
    settings.STATUS_SOURCE_URL = "http://127.0.0.1:1/status"
    result = visit_checkin(entrance_code=EntranceFactory().code, nik=nik_make(7), name="X Y")
    assert result.reason == "status_unknown"


def _redis_unreachable(settings) -> None:
    settings.REDIS_URL = DOWN
    # Changing CACHES resets django.core.cache.caches (Django's setting_changed handler).
    settings.CACHES = {
        "default": {
            "BACKEND": "denpasar_checkin.redis_pool.SharedRedisCache",
            "LOCATION": DOWN,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


@pytest.mark.django_db(transaction=True)
def test_checkin_works_from_the_database_when_redis_is_unreachable(settings):
    """Cache, broker and door-screen pub/sub all unreachable: answers come from PostgreSQL/SQLite alone."""
    settings.SATGAS_ALERT_EMAILS = ["satgas@denpasarkota.go.id"]
    entrance = EntranceFactory()
    HealthStatusFactory(nik=nik_make(10), name="I Made Wirawan", doses=2)
    HealthStatusFactory(
        nik=nik_make(11), name="Ni Luh Ayu", doses=2, case_status="positive", isolated_until=datetime.date(2099, 1, 1)
    )
    _redis_unreachable(settings)
    with broker_at(DOWN), eager_tasks(False):
        with pytest.raises(Exception):  # noqa: B017 - any client error proves Redis is really unreachable
            cache._cache.get_client().ping()
        started = time.monotonic()
        green = visit_checkin(entrance_code=entrance.code, nik=nik_make(10), name="I Made Wirawan")
        black = visit_checkin(entrance_code=entrance.code, nik=nik_make(11), name="Ni Luh Ayu")
        out = visit_checkin(entrance_code=entrance.code, nik=nik_make(12), name="Orang Baru")
        elapsed = time.monotonic() - started
    assert (green.outcome, green.reason) == ("admitted", "ok")
    assert (black.outcome, black.reason, black.alert) == ("denied", "isolation", True)
    assert out.reason == "status_unknown"
    assert elapsed < 2.5 * 3, f"three check-ins took {elapsed:.2f} s"
    assert Visit.objects.filter(pk=green.visit_id, checked_out_at__isnull=True).exists()
    assert ScanEvent.objects.filter(alert=True).count() == 1  # the door screen still sees the alert by polling


@pytest.mark.django_db(transaction=True)
def test_http_source_with_redis_unreachable_is_still_bounded(settings, loopback_server):
    """No shared breaker state without Redis: every call is still bounded by the source's own timeout."""
    _redis_unreachable(settings)
    settings.STATUS_SOURCE = "http"
    settings.STATUS_SOURCE_URL = loopback_server.url
    loopback_server.responder = lambda received: Reply(200, b"", delay=3)
    entrance = EntranceFactory()
    with broker_at(DOWN), eager_tasks(False):
        for n in (20, 21):
            started = time.monotonic()
            result = visit_checkin(entrance_code=entrance.code, nik=nik_make(n), name="X Y")
            assert time.monotonic() - started < 2.5
            assert result.reason == "status_unknown"
