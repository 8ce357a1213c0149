"""Pending cases that no longer wait: the read-time rule (age, an admission since, an answer) and the sweep that
closes them as expired, audited, idempotent, waking the door screens; its task directly and through a real worker."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from denpasar_checkin.celery import app
from denpasar_checkin.nik import nik_hash
from offices.models import AuditEvent
from screening.models import HealthStatus
from screening.services import health_status_cache_invalidate
from tests.celery_worker import wait_for
from tests.factories import EntranceFactory, HealthStatusFactory, nik_make
from visitors import pending as pending_module
from visitors import tasks
from visitors.models import ScanEvent
from visitors.pending import CaseState, pending_case_state, pending_expire, pending_open
from visitors.services import visit_checkin

pytestmark = pytest.mark.django_db


@pytest.fixture
def entrance():
    return EntranceFactory(office__name="Dinas Kesehatan", name="Pintu Utama")


@pytest.fixture
def announced(monkeypatch):
    """The door wake-ups the sweep sends, as (event id, entrance id)."""
    calls = []
    monkeypatch.setattr(
        pending_module, "scan_event_announce", lambda *, event_id, entrance_id: calls.append((event_id, entrance_id))
    )
    return calls


def pending_scan(entrance, n: int = 1, *, minutes_ago: float = 0, name: str = "Komang Ayu") -> ScanEvent:
    """A yellow person's check-in (pending at the door), made `minutes_ago`."""
    HealthStatusFactory(nik=nik_make(n), name=name, doses=1)
    at = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    result = visit_checkin(entrance_code=entrance.code, nik=nik_make(n), name=name, now=at)
    assert result.outcome == "pending"
    return ScanEvent.objects.get(pk=result.scan_event_id)


def doses_set(n: int, doses: int) -> None:
    """The registry changed (as an import would change it): the next scan reads the new status."""
    digest = nik_hash(nik_make(n))
    assert HealthStatus.objects.filter(nik_hash=digest).update(doses=doses) == 1
    health_status_cache_invalidate(nik_hashes=[digest])


def admitted_elsewhere(n: int = 1, *, name: str = "Komang Ayu"):
    """The same person, fully vaccinated meanwhile, checks in at another office."""
    doses_set(n, 2)
    result = visit_checkin(entrance_code=EntranceFactory(office__name="Dinas Lain").code, nik=nik_make(n), name=name)
    assert result.outcome == "admitted"
    return result


def open_ids(entrance) -> list[int]:
    return list(
        pending_open(ScanEvent.objects.filter(entrance=entrance), now=timezone.now()).values_list("id", flat=True)
    )


# --- the rule, at read time ------------------------------------------------------------------------------------


def test_a_fresh_case_is_open(entrance):
    case = pending_scan(entrance)
    assert pending_case_state(scan_id=case.pk, now=timezone.now()) == CaseState.OPEN
    assert open_ids(entrance) == [case.pk]


def test_a_case_past_the_limit_is_expired_without_the_sweep(entrance):
    case = pending_scan(entrance, minutes_ago=16)
    assert pending_case_state(scan_id=case.pk, now=timezone.now()) == CaseState.EXPIRED
    assert open_ids(entrance) == []
    case.refresh_from_db()
    assert (case.resolution, case.resolved_at) == ("", None)  # nothing was written: the rule holds when reading


def test_the_limit_is_the_setting(entrance, settings):
    case = pending_scan(entrance, minutes_ago=3)
    assert open_ids(entrance) == [case.pk]
    settings.PENDING_EXPIRE_MINUTES = 2
    assert open_ids(entrance) == []
    assert pending_case_state(scan_id=case.pk, now=timezone.now()) == CaseState.EXPIRED


def test_an_admission_elsewhere_after_the_scan_settles_the_case_at_once(entrance):
    case = pending_scan(entrance)
    admitted_elsewhere()
    assert pending_case_state(scan_id=case.pk, now=timezone.now()) == CaseState.SUPERSEDED
    assert open_ids(entrance) == []


def test_a_visit_that_began_before_the_scan_does_not_settle_it(entrance):
    HealthStatusFactory(nik=nik_make(1), name="Komang Ayu", doses=2)
    other = EntranceFactory(office__name="Dinas Lain")
    earlier = timezone.now() - datetime.timedelta(minutes=5)
    assert visit_checkin(entrance_code=other.code, nik=nik_make(1), name="Komang Ayu", now=earlier).visit_id
    doses_set(1, 1)
    result = visit_checkin(entrance_code=entrance.code, nik=nik_make(1), name="Komang Ayu")
    case = ScanEvent.objects.get(pk=result.scan_event_id)
    assert case.outcome == "pending"
    assert pending_case_state(scan_id=case.pk, now=timezone.now()) == CaseState.OPEN
    assert open_ids(entrance) == [case.pk]


def test_only_pending_scans_have_a_case_state(entrance):
    HealthStatusFactory(nik=nik_make(2), name="Made Hijau", doses=2)
    green = visit_checkin(entrance_code=entrance.code, nik=nik_make(2), name="Made Hijau")
    assert pending_case_state(scan_id=green.scan_event_id, now=timezone.now()) is None
    assert pending_case_state(scan_id=10**9, now=timezone.now()) is None


def test_the_database_refuses_an_expiry_without_a_time(entrance):
    case = pending_scan(entrance)
    with pytest.raises(IntegrityError), transaction.atomic():
        ScanEvent.objects.filter(pk=case.pk).update(resolution="expired")


# --- the sweep ---------------------------------------------------------------------------------------------------


def test_the_sweep_closes_an_old_case_as_expired(entrance, announced, django_capture_on_commit_callbacks):
    case = pending_scan(entrance, minutes_ago=20)
    now = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        result = pending_expire(now=now)

    assert (result.expired, result.superseded) == (1, 0)
    case.refresh_from_db()
    assert (case.resolution, case.resolved_at, case.resolved_by) == ("expired", now, None)
    entry = AuditEvent.objects.get(action="scan.expired")
    assert (entry.actor, entry.object_id, entry.office) == (None, str(case.pk), entrance.office)
    assert entry.detail == {"entrance": "Pintu Utama", "pending_reason": "partially_vaccinated", "waited_minutes": 20}
    assert announced == [(case.pk, entrance.pk)]


def test_the_sweep_closes_a_settled_case_as_superseded(entrance, announced, django_capture_on_commit_callbacks):
    case = pending_scan(entrance)
    admitted_elsewhere()

    with django_capture_on_commit_callbacks(execute=True):
        result = pending_expire(now=timezone.now())

    assert (result.expired, result.superseded) == (0, 1)
    case.refresh_from_db()
    assert case.resolution == "expired"
    assert AuditEvent.objects.get(action="scan.superseded").object_id == str(case.pk)
    assert not AuditEvent.objects.filter(action="scan.expired").exists()
    assert announced == [(case.pk, entrance.pk)]


def test_the_sweep_leaves_open_and_answered_cases_alone(entrance, announced):
    fresh = pending_scan(entrance, 1)
    answered = pending_scan(entrance, 2, minutes_ago=30, name="Wayan Kuning")
    answered_at = timezone.now() - datetime.timedelta(minutes=25)
    ScanEvent.objects.filter(pk=answered.pk).update(resolution="denied", resolved_at=answered_at)

    assert pending_expire(now=timezone.now()) == pending_module.PendingExpireResult(expired=0, superseded=0)

    fresh.refresh_from_db()
    answered.refresh_from_db()
    assert (fresh.resolution, answered.resolution, answered.resolved_at) == ("", "denied", answered_at)
    assert not AuditEvent.objects.filter(action__in=["scan.expired", "scan.superseded"]).exists()
    assert announced == []


def test_the_sweep_twice_closes_nothing_twice(entrance, announced, django_capture_on_commit_callbacks):
    first = pending_scan(entrance, 1, minutes_ago=20)
    second = pending_scan(entrance, 2, minutes_ago=18, name="Wayan Kuning")

    with django_capture_on_commit_callbacks(execute=True):
        assert pending_expire(now=timezone.now()).expired == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert pending_expire(now=timezone.now()).expired == 0

    assert AuditEvent.objects.filter(action="scan.expired").count() == 2
    # One wake-up per entrance, however many of its cases closed.
    assert announced == [(second.pk, entrance.pk)] and first.pk < second.pk


def test_the_task_calls_the_sweep(entrance):
    case = pending_scan(entrance, minutes_ago=20)
    assert tasks.pending_expire() == {"expired": 1, "superseded": 0}
    assert tasks.pending_expire() == {"expired": 0, "superseded": 0}
    case.refresh_from_db()
    assert case.resolution == "expired"


def test_a_limit_of_zero_refuses_to_start():
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DEBUG": "true", "PENDING_EXPIRE_MINUTES": "0"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "PENDING_EXPIRE_MINUTES must be more than 0" in result.stderr


def test_beat_runs_the_sweep_every_minute():
    entry = app.conf.beat_schedule["pending-expire"]
    assert entry["task"] == "visitors.tasks.pending_expire" == tasks.pending_expire.name
    assert entry["schedule"] == 60.0


@pytest.mark.usefixtures("celery_worker")
@pytest.mark.redis
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_the_sweep_through_a_real_worker():
    entrance = EntranceFactory()
    case = pending_scan(entrance, minutes_ago=20)
    tasks.pending_expire.delay()
    wait_for(lambda: ScanEvent.objects.filter(pk=case.pk, resolution="expired").exists())
    assert AuditEvent.objects.filter(action="scan.expired", object_id=str(case.pk)).count() == 1
