"""Status sources: strict item validation, the HTTP source against a real loopback server, and the breaker."""

from __future__ import annotations

import datetime
import logging
import time

import pytest

from screening.models import HealthStatus, StatusSource
from screening.sources import (
    CircuitBreaker,
    CircuitOpen,
    HttpStatusSource,
    ItemInvalid,
    SourceUnavailable,
    status_item_clean,
)
from tests.factories import EntranceFactory, HealthStatusFactory, PersonFactory, nik_make
from tests.loopback import Reply
from visitors.services import visit_checkin, visit_checkout

TODAY = datetime.date(2021, 8, 20)
BOUND = 2.5  # seconds: the 1 s timeout plus a generous margin for a loaded CI machine


def item(n: int, name: str = "I Made Wirawan", **fields) -> dict:
    return {"nik": nik_make(n), "name": name, "doses": 2, "last_dose_on": "2021-07-01", **fields}


# --- validation -------------------------------------------------------------------------------------------------


def test_a_valid_item_is_cleaned():
    cleaned = status_item_clean(
        {"nik": "5171 0101 0190 0001", "name": "  I Made   Wirawan ", "doses": 2, "last_dose_on": "2021-07-01"},
        today=TODAY,
    )
    assert cleaned.nik == "5171010101900001"
    assert cleaned.name == "I Made Wirawan"
    assert cleaned.last_dose_on == datetime.date(2021, 7, 1)
    assert cleaned.case_status == "none" and cleaned.isolated_until is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"nik": "1234"}, "nik"),
        ({"nik": None}, "nik"),
        ({"nik": 5171010190000001}, "nik"),
        ({"name": ""}, "name"),
        ({"name": 42}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "1234"}, "name"),
        ({"doses": "2"}, "doses"),
        ({"doses": True}, "doses"),
        ({"doses": 2.0}, "doses"),
        ({"doses": 5}, "doses"),
        ({"doses": -1}, "doses"),
        ({"doses": None}, "doses"),
        ({"case_status": "sick"}, "case_status"),
        ({"case_status": ["positive"]}, "case_status"),
        ({"last_dose_on": "01/07/2021"}, "last_dose_on"),
        ({"last_dose_on": "20210701"}, "last_dose_on"),
        ({"last_dose_on": "2021-02-30"}, "last_dose_on"),
        ({"last_dose_on": 20210701}, "last_dose_on"),
        ({"last_dose_on": "2021-09-01"}, "last_dose_on"),  # in the future
        ({"doses": 0, "last_dose_on": "2021-07-01"}, "last_dose_on"),
        ({"isolated_until": "1921-08-30"}, "isolated_until"),
        ({"exemption_until": {"y": 2021}}, "exemption_until"),
        ({"isolation_until": "2021-08-30"}, "non_field_errors"),  # a misspelt field is not silently dropped
    ],
)
def test_invalid_items_are_refused_by_field(changes, field):
    raw = {**item(1), **changes}
    with pytest.raises(ItemInvalid) as caught:
        status_item_clean(raw, today=TODAY)
    assert field in caught.value.errors
    assert nik_make(1) not in str(caught.value.errors)


def test_an_item_that_is_not_an_object_is_refused():
    for raw in (None, [1, 2], "5171010190000001", 3):
        with pytest.raises(ItemInvalid) as caught:
            status_item_clean(raw, today=TODAY)
        assert list(caught.value.errors) == ["non_field_errors"]


def test_empty_dates_and_case_status_mean_none():
    cleaned = status_item_clean({**item(1), "last_dose_on": "", "case_status": "", "isolated_until": None}, today=TODAY)
    assert (cleaned.last_dose_on, cleaned.case_status, cleaned.isolated_until) == (None, "none", None)


# --- the HTTP source against a real server ----------------------------------------------------------------------


@pytest.fixture
def upstream(settings, loopback_server):
    """STATUS_SOURCE=http pointing at the loopback server; answers are set per NIK in `upstream.answers`."""
    settings.STATUS_SOURCE = "http"
    settings.STATUS_SOURCE_URL = loopback_server.url
    settings.STATUS_SOURCE_TOKEN = "token-upstream-123"
    settings.STATUS_SOURCE_TIMEOUT = 1.0
    settings.STATUS_SOURCE_BREAKER_THRESHOLD = 100  # most tests are not about the breaker
    answers: dict[str, Reply] = {}
    loopback_server.answers = answers
    loopback_server.responder = lambda received: answers.get(received.json().get("nik"), Reply(404))
    return loopback_server


def timed_checkin(entrance, n: int, name: str = "I Made Wirawan", **kwargs):
    started = time.monotonic()
    result = visit_checkin(entrance_code=entrance.code, nik=nik_make(n), name=name, **kwargs)
    return result, time.monotonic() - started


@pytest.mark.django_db
def test_http_source_normal_answer_admits_and_is_kept_in_the_registry(upstream):
    entrance = EntranceFactory()
    upstream.answers[nik_make(11)] = Reply(200, item(11))
    result, elapsed = timed_checkin(entrance, 11)
    assert (result.outcome, result.reason) == ("admitted", "ok")
    assert elapsed < BOUND

    [request] = upstream.received
    assert request.path == "/status"  # the NIK travels in the body, never in the URL
    assert nik_make(11) not in request.path
    assert request.json() == {"nik": nik_make(11), "name": "I Made Wirawan"}
    assert request.headers["Authorization"] == "Bearer token-upstream-123"
    assert request.headers["Content-Type"] == "application/json"
    stored = HealthStatus.objects.get()
    assert (stored.source, stored.doses, stored.name) == (StatusSource.HTTP, 2, "I Made Wirawan")

    # The next scan reads the cache (or the registry): the upstream is not asked again.
    visit_checkin(entrance_code=EntranceFactory().code, nik=nik_make(11), name="I Made Wirawan")
    assert len(upstream.received) == 1


@pytest.mark.django_db
def test_http_source_black_answer_denies(upstream):
    entrance = EntranceFactory()
    upstream.answers[nik_make(12)] = Reply(200, item(12, case_status="positive", isolated_until="2099-01-01"))
    result, elapsed = timed_checkin(entrance, 12)
    assert (result.outcome, result.reason, result.colour, result.alert) == ("denied", "isolation", "black", True)
    assert elapsed < BOUND


@pytest.mark.django_db
def test_http_source_404_is_unknown_and_remembered_briefly(upstream):
    entrance = EntranceFactory()
    result, elapsed = timed_checkin(entrance, 13)
    assert (result.outcome, result.reason) == ("pending", "status_unknown")
    assert result.public_outcome == "see_officer"
    assert elapsed < BOUND
    assert not HealthStatus.objects.exists()
    timed_checkin(entrance, 13)
    assert len(upstream.received) == 1  # the "unknown" marker is cached for a few minutes


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(Reply(200, item(14), delay=3.0), id="slow"),
        pytest.param(Reply(500, {"detail": "boom"}), id="500"),
        pytest.param(Reply(503, b""), id="503"),
        pytest.param(Reply(200, b'{"nik": "51710101', content_type="application/json"), id="malformed-json"),
        pytest.param(Reply(200, b"<html>maintenance</html>", content_type="text/html"), id="html"),
        pytest.param(Reply(200, [item(14)]), id="a-list"),
        pytest.param(Reply(200, item(14, doses="two")), id="doses-as-text"),
        pytest.param(Reply(200, item(14, case_status=1)), id="case-status-as-number"),
        pytest.param(Reply(200, item(14, last_dose_on="kemarin")), id="bad-date"),
        pytest.param(Reply(200, {**item(14), "nik": nik_make(15)}), id="another-nik"),
        pytest.param(Reply(200, {k: v for k, v in item(14).items() if k != "nik"}), id="no-nik"),
        pytest.param(Reply(200, b"x" * 40_000), id="huge"),
    ],
)
@pytest.mark.django_db
def test_http_source_failures_leave_the_status_unknown_within_the_bound(upstream, reply, caplog):
    entrance = EntranceFactory()
    upstream.answers[nik_make(14)] = reply
    with caplog.at_level(logging.DEBUG):
        result, elapsed = timed_checkin(entrance, 14)
    assert (result.outcome, result.reason) == ("pending", "status_unknown")
    assert result.scan_event_id is not None  # the scan is recorded as always
    assert elapsed < BOUND, f"check-in waited {elapsed:.2f} s"
    assert not HealthStatus.objects.exists()
    assert nik_make(14) not in caplog.text
    # A failure is not cached: the next scan asks again.
    timed_checkin(entrance, 14)
    assert len(upstream.received) == 2


@pytest.mark.django_db
def test_http_source_name_mismatch_is_unknown(upstream):
    entrance = EntranceFactory()
    upstream.answers[nik_make(16)] = Reply(200, item(16, name="Ni Kadek Ayu"))
    result, _elapsed = timed_checkin(entrance, 16, name="I Made Wirawan")
    assert result.reason == "status_unknown"


@pytest.mark.django_db
def test_registry_hit_never_asks_the_upstream(upstream):
    HealthStatusFactory(nik=nik_make(17), name="I Made Wirawan", doses=2)
    result, _elapsed = timed_checkin(EntranceFactory(), 17)
    assert result.outcome == "admitted"
    assert upstream.received == []


@pytest.mark.django_db
def test_registry_mode_never_asks_the_upstream(settings, loopback_server):
    settings.STATUS_SOURCE = "registry"
    settings.STATUS_SOURCE_URL = loopback_server.url
    result, _elapsed = timed_checkin(EntranceFactory(), 18)
    assert result.reason == "status_unknown"
    assert loopback_server.received == []


@pytest.mark.django_db
def test_remembered_device_asks_the_upstream_with_the_decrypted_nik(upstream):
    from django.core.cache import cache

    entrance = EntranceFactory()
    upstream.answers[nik_make(19)] = Reply(200, item(19))
    first = visit_checkin(entrance_code=entrance.code, nik=nik_make(19), name="I Made Wirawan", remember_device=True)
    assert (first.outcome, bool(first.device_token)) == ("admitted", True)
    visit_checkout(entrance_code=entrance.code, device_token=first.device_token)
    # The registry and the cache forget the status: only the upstream can answer, and only with the NIK.
    HealthStatus.objects.all().delete()
    cache.clear()
    again = visit_checkin(entrance_code=entrance.code, device_token=first.device_token)
    assert again.outcome == "admitted"
    assert len(upstream.received) == 2
    assert upstream.received[-1].json()["nik"] == nik_make(19)


# --- retries and the breaker ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_background_fetch_retries_with_growing_backoff(upstream):
    replies = iter([Reply(500), Reply(500), Reply(200, item(20))])
    upstream.responder = lambda received: next(replies)
    pauses: list[float] = []
    source = HttpStatusSource.from_settings()
    fetched = source.item_fetch_retrying(
        nik=nik_make(20), name="I Made Wirawan", attempts=3, backoff=0.01, sleep=pauses.append
    )
    assert fetched.doses == 2
    assert len(upstream.received) == 3
    assert len(pauses) == 2 and pauses[0] < pauses[1]


@pytest.mark.django_db
def test_background_fetch_gives_up_after_its_attempts(upstream):
    upstream.responder = lambda received: Reply(500)
    source = HttpStatusSource.from_settings()
    with pytest.raises(SourceUnavailable):
        source.item_fetch_retrying(nik=nik_make(21), name="X Y", attempts=3, backoff=0.0, sleep=lambda s: None)
    assert len(upstream.received) == 3


@pytest.mark.django_db
def test_unknown_is_an_answer_not_a_failure_and_is_not_retried(upstream):
    source = HttpStatusSource.from_settings()
    assert source.item_fetch_retrying(nik=nik_make(22), name="X Y", attempts=3, backoff=0.0) is None
    assert len(upstream.received) == 1


@pytest.mark.django_db
def test_breaker_opens_after_consecutive_failures_and_then_nobody_waits(settings, upstream):
    settings.STATUS_SOURCE_BREAKER_THRESHOLD = 3
    settings.STATUS_SOURCE_BREAKER_COOLDOWN = 0.6
    upstream.responder = lambda received: Reply(200, b"", delay=3.0)  # hangs past the timeout
    entrance = EntranceFactory()
    for n in (31, 32, 33):
        result, elapsed = timed_checkin(entrance, n)
        assert result.reason == "status_unknown" and elapsed < BOUND
    assert CircuitBreaker.for_status_source().state() == "open"

    result, elapsed = timed_checkin(entrance, 34)
    assert result.reason == "status_unknown"
    assert elapsed < 0.5  # open circuit: no request at all
    assert len(upstream.received) == 3

    # After the cool-down one probe goes through; the upstream has recovered, so the circuit closes.
    upstream.responder = lambda received: Reply(200, item(35))
    time.sleep(0.7)
    assert CircuitBreaker.for_status_source().state() == "half_open"
    result, _elapsed = timed_checkin(entrance, 35)
    assert result.outcome == "admitted"
    assert CircuitBreaker.for_status_source().state() == "closed"


@pytest.mark.django_db
def test_a_failed_probe_opens_the_circuit_again(settings, upstream):
    settings.STATUS_SOURCE_BREAKER_THRESHOLD = 1
    settings.STATUS_SOURCE_BREAKER_COOLDOWN = 0.3
    upstream.responder = lambda received: Reply(500)
    source = HttpStatusSource.from_settings()
    with pytest.raises(SourceUnavailable):
        source.item_fetch(nik=nik_make(36), name="X Y")
    with pytest.raises(CircuitOpen):
        source.item_fetch(nik=nik_make(36), name="X Y")
    time.sleep(0.4)
    with pytest.raises(SourceUnavailable) as caught:
        source.item_fetch(nik=nik_make(36), name="X Y")  # the probe
    assert not isinstance(caught.value, CircuitOpen)
    with pytest.raises(CircuitOpen):
        source.item_fetch(nik=nik_make(36), name="X Y")
    assert len(upstream.received) == 2


@pytest.mark.django_db
def test_only_one_caller_probes_a_half_open_circuit():
    breaker = CircuitBreaker("probe-test", threshold=1, cooldown=0.1)
    breaker.record_failure()
    time.sleep(0.15)
    assert [breaker.allow() for _ in range(3)] == [True, False, False]
    breaker.record_success()
    assert breaker.allow() and breaker.state() == "closed"


@pytest.mark.django_db
def test_breaker_state_is_shared_through_the_cache():
    """Two breakers with the same name (two processes) see one state: it lives in the shared cache."""
    web, worker = CircuitBreaker("shared", threshold=2, cooldown=30), CircuitBreaker("shared", threshold=2, cooldown=30)
    web.record_failure()
    worker.record_failure()
    assert web.state() == worker.state() == "open"
    assert not worker.allow()
    web.record_success()
    assert worker.allow()


@pytest.mark.redis
@pytest.mark.django_db
def test_breaker_state_is_shared_through_redis(require_redis, settings):
    from django.core.cache import cache

    assert "redis" in settings.CACHES["default"]["BACKEND"].lower()
    breaker = CircuitBreaker("redis-shared", threshold=1, cooldown=30)
    breaker.record_failure()
    # What another process would read: the raw value in Redis.
    assert cache.get("breaker:v1:redis-shared:open_until") > time.time()
    assert not CircuitBreaker("redis-shared", threshold=1, cooldown=30).allow()


@pytest.mark.django_db
def test_success_resets_the_count_of_consecutive_failures():
    breaker = CircuitBreaker("reset", threshold=2, cooldown=30)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state() == "closed"


@pytest.mark.django_db
def test_person_factory_nik_round_trip_for_device_path():
    # Guard for the device test above: the factory stores an encrypted NIK that decrypts to the NIK.
    from denpasar_checkin.nik import nik_decrypt

    person = PersonFactory(nik=nik_make(23))
    assert nik_decrypt(person.nik_encrypted) == nik_make(23)
