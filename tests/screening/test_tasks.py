"""Screening's Celery work: refresh and pushed updates, through a real worker on the real Redis broker."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from denpasar_checkin.celery import app
from denpasar_checkin.nik import nik_hash
from screening import tasks
from screening.importing import (
    HEALTH_STATUSES_CHANGED_TASK,
    health_statuses_refresh,
    health_statuses_upsert,
    status_refresh_batches,
)
from screening.models import HealthStatus
from screening.selectors import status_cache_key
from screening.services import health_status_changes_apply
from tests.celery_worker import queue_bodies, queue_length, wait_for, worker_running
from tests.factories import (
    EntranceFactory,
    HealthStatusFactory,
    PersonFactory,
    StaffFactory,
    UserFactory,
    nik_make,
)
from tests.loopback import Reply
from visitors.models import ScanEvent
from visitors.services import visit_checkin
from visitors.tasks import scan_alerts_send


def black(n: int, name: str) -> dict:
    return {"nik": nik_make(n), "name": name, "doses": 2, "case_status": "positive", "isolated_until": "2099-01-01"}


def test_beat_schedule_is_in_one_place_and_names_registered_tasks():
    import reports.tasks  # noqa: F401
    import screening.tasks  # noqa: F401
    import visitors.tasks  # noqa: F401

    schedule = app.conf.beat_schedule
    assert {entry["task"] for entry in schedule.values()} == {
        "screening.tasks.health_statuses_refresh",
        "visitors.tasks.visits_auto_checkout",
        "visitors.tasks.occupancy_reconcile",
        "visitors.tasks.retention_purge",
        "visitors.tasks.scan_alerts_send",
        "visitors.tasks.pending_expire",
        "reports.tasks.exposure_notices_requeue",
    }
    for entry in schedule.values():
        assert entry["task"] in app.tasks
        assert entry["options"]["expires"] > 0
    for name in ("health_statuses_refresh", "health_statuses_refresh_batch", "health_statuses_changed"):
        assert app.tasks[f"screening.tasks.{name}"].acks_late


def test_pushed_updates_queue_the_changed_task_by_its_registered_name():
    assert tasks.health_statuses_changed.name == HEALTH_STATUSES_CHANGED_TASK


def test_a_task_is_found_by_name_in_a_process_that_never_imported_its_module():
    """A web process queues health_statuses_changed by name; nothing there has imported screening.tasks yet."""
    code = (
        "import sys, django; django.setup()\n"
        "assert 'screening.tasks' not in sys.modules\n"
        "from denpasar_checkin.celery import task_registered\n"
        f"print(task_registered({HEALTH_STATUSES_CHANGED_TASK!r}).name)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "denpasar_checkin.settings"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == HEALTH_STATUSES_CHANGED_TASK


@pytest.mark.django_db
def test_a_pushed_update_runs_the_changed_task_after_commit(celery_eager, django_capture_on_commit_callbacks):
    entrance = EntranceFactory()
    HealthStatusFactory(nik=nik_make(1), name="I Made", doses=2)
    inside = visit_checkin(entrance_code=entrance.code, nik=nik_make(1), name="I Made")
    with django_capture_on_commit_callbacks(execute=True):
        health_statuses_upsert(items=[black(1, "I Made")], source="api")
    assert ScanEvent.objects.filter(alert=True, visit_id=inside.visit_id).count() == 1


# --- services, run inline ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_refresh_targets_are_staff_and_people_seen_recently():
    StaffFactory(nik=nik_make(1))
    StaffFactory(nik=nik_make(2), active=False)
    entrance = EntranceFactory()
    visit_checkin(entrance_code=entrance.code, nik=nik_make(3), name="Baru Datang")
    old = PersonFactory(nik=nik_make(4))
    ScanEvent.objects.create(
        entrance=entrance,
        office=entrance.office,
        person=old,
        outcome="admitted",
        reason="ok",
        created_at=timezone.now() - datetime.timedelta(days=20),
    )
    [batch] = status_refresh_batches()
    assert set(batch) == {nik_hash(nik_make(1)), nik_hash(nik_make(3))}
    assert len(status_refresh_batches(size=1)) == 2


@pytest.mark.django_db
def test_refresh_in_registry_mode_warms_the_cache():
    rows = [HealthStatusFactory(nik=nik_make(n), name=f"Orang {n}") for n in (1, 2)]
    result = health_statuses_refresh(nik_hashes=[row.nik_hash for row in rows] + [nik_hash(nik_make(3))])
    assert result.warmed == 2
    assert cache.get(status_cache_key(rows[0].nik_hash))["name"] == "Orang 1"


@pytest.fixture
def upstream(settings, loopback_server):
    settings.STATUS_SOURCE = "http"
    settings.STATUS_SOURCE_URL = loopback_server.url
    settings.STATUS_SOURCE_BACKOFF = 0.01
    answers: dict[str, Reply] = {}
    loopback_server.answers = answers
    loopback_server.responder = lambda received: answers.get(received.json()["nik"], Reply(404))
    return loopback_server


@pytest.mark.django_db
def test_refresh_in_http_mode_asks_again_but_keeps_satgas_statements(upstream):
    asked = PersonFactory(nik=nik_make(1), name="I Made")
    pushed = PersonFactory(nik=nik_make(2), name="Ni Luh")
    HealthStatusFactory(nik=nik_make(2), name="Ni Luh", doses=1, source="api")
    forgotten = PersonFactory(nik=nik_make(3), name="I Ketut")
    HealthStatusFactory(nik=nik_make(3), name="I Ketut", doses=2, source="http")
    upstream.answers[nik_make(1)] = Reply(200, {"nik": nik_make(1), "name": "I Made", "doses": 3})
    upstream.answers[nik_make(2)] = Reply(200, {"nik": nik_make(2), "name": "Ni Luh", "doses": 0})

    result = health_statuses_refresh(nik_hashes=[asked.nik_hash, pushed.nik_hash, forgotten.nik_hash])
    assert (result.fetched, result.unknown, result.failed) == (1, 1, 0)
    assert HealthStatus.objects.get(nik_hash=asked.nik_hash).source == "http"
    assert HealthStatus.objects.get(nik_hash=pushed.nik_hash).doses == 1  # Satgas pushed it: not overwritten
    assert not HealthStatus.objects.filter(nik_hash=forgotten.nik_hash).exists()  # upstream forgot them
    assert [r.json()["nik"] for r in upstream.received] == [nik_make(1), nik_make(3)]


@pytest.mark.django_db
def test_refresh_stops_asking_when_the_circuit_opens(settings, upstream):
    settings.STATUS_SOURCE_BREAKER_THRESHOLD = 2
    settings.STATUS_SOURCE_RETRIES = 1
    upstream.responder = lambda received: Reply(500)
    people = [PersonFactory(nik=nik_make(n)) for n in range(1, 6)]
    result = health_statuses_refresh(nik_hashes=[p.nik_hash for p in people])
    assert result.failed == 5
    assert len(upstream.received) == 2


@pytest.mark.django_db(transaction=True)
def test_changes_apply_alerts_each_visit_once(settings):
    settings.SATGAS_ALERT_EMAILS = ["satgas@denpasarkota.go.id"]
    entrance = EntranceFactory()
    HealthStatusFactory(nik=nik_make(1), name="I Made", doses=2)
    inside = visit_checkin(entrance_code=entrance.code, nik=nik_make(1), name="I Made")
    health_statuses_upsert(items=[black(1, "I Made")], source="api")
    digest = nik_hash(nik_make(1))
    assert health_status_changes_apply(nik_hashes=[digest]) == [digest]
    assert health_status_changes_apply(nik_hashes=[digest]) == [digest]
    assert ScanEvent.objects.filter(alert=True, visit_id=inside.visit_id).count() == 1


@pytest.mark.django_db
def test_a_person_outside_who_turns_black_raises_no_door_alert():
    HealthStatusFactory(nik=nik_make(1), name="I Made", doses=2)
    health_statuses_upsert(items=[black(1, "I Made")], source="api")
    assert health_status_changes_apply(nik_hashes=[nik_hash(nik_make(1))])
    assert not ScanEvent.objects.exists()


# --- through the broker -----------------------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_task_messages_carry_hashes_never_a_nik(celery_broker):
    health_statuses_upsert(items=[black(1, "I Made")], source="api")
    bodies = b"".join(queue_bodies())
    assert nik_hash(nik_make(1)).encode() in bodies
    assert nik_make(1).encode() not in bodies


@pytest.mark.usefixtures("celery_worker")
@pytest.mark.redis
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_refresh_through_a_real_worker_warms_the_cache():
    staff = StaffFactory(nik=nik_make(1))
    HealthStatusFactory(nik=nik_make(1), name="Staf Satu", doses=3)
    HealthStatusFactory(nik=nik_make(2), name="Tamu Dua", doses=2)
    visit_checkin(entrance_code=EntranceFactory().code, nik=nik_make(2), name="Tamu Dua")
    cache.clear()
    tasks.health_statuses_refresh.delay()
    wait_for(lambda: cache.get(status_cache_key(staff.nik_hash)) and cache.get(status_cache_key(nik_hash(nik_make(2)))))
    assert cache.get(status_cache_key(staff.nik_hash))["doses"] == 3


@pytest.mark.usefixtures("celery_worker")
@pytest.mark.redis
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_refresh_through_a_real_worker_asks_the_http_source(upstream):
    person = PersonFactory(nik=nik_make(5), name="I Wayan", last_seen_at=timezone.now())
    upstream.answers[nik_make(5)] = Reply(200, {"nik": nik_make(5), "name": "I Wayan", "doses": 2})
    tasks.health_statuses_refresh.delay()
    row = wait_for(lambda: HealthStatus.objects.filter(nik_hash=person.nik_hash).first())
    assert row.source == "http" and row.doses == 2
    assert upstream.received[0].path == "/status"


@pytest.mark.usefixtures("celery_worker")
@pytest.mark.redis
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_pushed_update_through_a_real_worker_alerts_the_door_and_satgas(settings, loopback_server):
    settings.SATGAS_ALERT_EMAILS = ["satgas@denpasarkota.go.id"]
    settings.ALERT_WEBHOOK_URL = loopback_server.url
    settings.ALERT_WEBHOOK_TOKEN = "hook-token"
    loopback_server.responder = lambda received: Reply(204)
    entrance = EntranceFactory()
    HealthStatusFactory(nik=nik_make(1), name="I Made Wirawan", doses=2)
    inside = visit_checkin(entrance_code=entrance.code, nik=nik_make(1), name="I Made Wirawan")
    assert inside.admitted

    satgas = UserFactory(is_superuser=True)  # transactional tests flush the migration-made groups
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=satgas).key}")
    response = client.post("/api/v1/health-statuses/", [black(1, "I Made Wirawan")], format="json")
    assert response.json()["updated"] == 1
    # The cached copy is dropped at commit, before any worker runs: the next scan already sees black.
    assert cache.get(status_cache_key(nik_hash(nik_make(1)))) is None

    alert = wait_for(lambda: ScanEvent.objects.filter(alert=True).first())
    assert (alert.entrance_id, alert.visit_id, alert.reason, alert.colour) == (
        entrance.pk,
        inside.visit_id,
        "isolation",
        "black",
    )
    wait_for(lambda: mail.outbox and loopback_server.received)
    assert entrance.office.name in mail.outbox[0].subject
    assert nik_make(1) not in mail.outbox[0].body and "5171********0002" in mail.outbox[0].body
    hook = loopback_server.received[0]
    assert hook.headers["Authorization"] == "Bearer hook-token"
    assert hook.json()["kind"] == "inside" and hook.json()["office"]["id"] == entrance.office_id
    assert nik_make(1) not in hook.body.decode()


@pytest.mark.redis
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_with_the_worker_stopped_checkin_works_and_the_queued_work_runs_later(settings, celery_broker):
    settings.SATGAS_ALERT_EMAILS = ["satgas@denpasarkota.go.id"]
    entrance = EntranceFactory()
    HealthStatusFactory(nik=nik_make(1), name="Ni Luh Ayu", doses=2)
    HealthStatusFactory(
        nik=nik_make(2), name="I Ketut", doses=2, case_status="positive", isolated_until=datetime.date(2099, 1, 1)
    )
    # No worker: check-in still answers at once, and the black one's alert waits in the database for the sweep.
    assert visit_checkin(entrance_code=entrance.code, nik=nik_make(1), name="Ni Luh Ayu").admitted
    denied = visit_checkin(entrance_code=entrance.code, nik=nik_make(2), name="I Ketut")
    assert (denied.reason, denied.alert) == ("isolation", True)
    assert queue_length() == 0  # a check-in queues nothing
    scan_alerts_send.delay()  # beat's next tick, while the worker is down
    assert queue_length() == 1
    assert mail.outbox == []

    with worker_running():
        wait_for(lambda: mail.outbox)
    assert "I Ketut" not in mail.outbox[0].body  # masked NIK, office, time: no name, no NIK
    assert queue_length() == 0
