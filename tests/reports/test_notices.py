"""Exposure notices: once per contact per case, the gateway POST (a real loopback server), a real Celery worker."""

from __future__ import annotations

import collections
import datetime
import json

import pytest
from django.utils import timezone

import reports.tasks  # noqa: F401 - registers the tasks before a worker thread starts
from offices.models import AuditEvent
from reports.models import ExposureAdvice
from reports.notices import (
    RESEND_GRACE,
    NoticeNotSent,
    exposure_notice_send,
    exposure_notices_requeue,
    exposure_notify,
)
from reports.services import exposure_export, exposure_report_for_person
from tests.celery_worker import queue_length, queue_purge, wait_for, worker_running
from tests.factories import EntranceFactory, PersonFactory, nik_make
from tests.loopback import Reply
from visitors.models import Device, ExposureCase, ExposureNotice

from .scenarios import csv_rows, visit

CASE_NAME = "Ni Luh Putu Ayu"
CASE_NIK = nik_make(9401)


def case_world(now: datetime.datetime, *, phones: int = 2) -> dict:
    """The case was inside 3 h to 1 h ago; `phones` contacts with a phone, one with only a remembered device, one
    with neither, and one who was also at a second office later (the first overlap is the one told)."""
    entrance, later = EntranceFactory(), EntranceFactory()
    case = PersonFactory(nik=CASE_NIK, name=CASE_NAME)
    start, end = now - datetime.timedelta(hours=3), now - datetime.timedelta(hours=1)
    visit(case, entrance, start, end)
    visit(case, later, end + datetime.timedelta(minutes=10), end + datetime.timedelta(minutes=40))
    with_phone = [PersonFactory(name=f"Kontak {n}", phone=f"08123450{n:04d}") for n in range(phones)]
    for n, person in enumerate(with_phone):
        visit(person, entrance, start + datetime.timedelta(minutes=n), end)
    device_only = PersonFactory(name="Punya Perangkat", phone="")
    visit(device_only, entrance, start, start + datetime.timedelta(minutes=30))
    Device.objects.create(person=device_only, token_hash="a" * 64)
    nobody = PersonFactory(name="Tanpa Kontak", phone="")
    visit(nobody, entrance, start, start + datetime.timedelta(minutes=30))
    two_offices = PersonFactory(name="Dua Kantor", phone="081299990000")
    visit(two_offices, entrance, start + datetime.timedelta(minutes=90), end)
    visit(two_offices, later, end + datetime.timedelta(minutes=20), end + datetime.timedelta(hours=2))
    return {
        "case": case,
        "entrance": entrance,
        "later": later,
        "with_phone": with_phone + [two_offices],
        "device_only": device_only,
        "nobody": nobody,
        "two_offices": two_offices,
        "since": timezone.localdate(now - datetime.timedelta(days=1)),
    }


def notify(world, now, actor=None):
    return exposure_notify(actor=actor, person=world["case"], since=world["since"], now=now, channel="test")


# --- creating notices -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_contact_is_told_once_per_case_and_sending_again_skips_them():
    now = timezone.now()
    world = case_world(now)

    first = notify(world, now)
    again = notify(world, now + datetime.timedelta(minutes=5))

    assert (first.notified, first.already, first.unreachable) == (4, 0, 1)  # 3 phones + 1 device; "nobody"
    assert (again.notified, again.already, again.unreachable) == (0, 4, 1)
    assert ExposureCase.objects.count() == 1 and first.case_id == again.case_id
    assert ExposureNotice.objects.count() == 4
    assert not ExposureNotice.objects.filter(person=world["nobody"]).exists()
    case = ExposureCase.objects.get()
    assert case.case_person == world["case"] and case.window_until == now + datetime.timedelta(minutes=5)
    assert timezone.localtime(case.window_from).time() == datetime.time(0, 0)


@pytest.mark.django_db
def test_a_notice_gives_the_first_overlap_office_and_window_and_never_the_case():
    now = timezone.now()
    world = case_world(now)
    ExposureAdvice.objects.create(text="Pada {date} pukul {from}-{until} Anda di {office}. Periksa diri {x}.")

    notify(world, now)

    notice = ExposureNotice.objects.get(person=world["two_offices"])
    assert notice.office == world["entrance"].office  # the first overlap, not the later office
    start = timezone.localtime(now - datetime.timedelta(minutes=90))
    end = timezone.localtime(now - datetime.timedelta(hours=1))
    assert (notice.window_from, notice.window_until) == (start, end)
    assert notice.message == (
        f"Pada {start:%d/%m/%Y} pukul {start:%H:%M}-{end:%H:%M} Anda di {world['entrance'].office.name}. "
        "Periksa diri {x}."  # an unknown brace is left alone
    )
    for message in ExposureNotice.objects.values_list("message", flat=True):
        assert CASE_NAME not in message and CASE_NIK not in message


@pytest.mark.django_db
def test_without_an_edited_text_the_built_in_advice_is_filled_in():
    now = timezone.now()
    world = case_world(now, phones=1)

    notify(world, now)

    message = ExposureNotice.objects.get(person=world["with_phone"][0]).message
    assert world["entrance"].office.name in message and "{" not in message


@pytest.mark.django_db
def test_each_send_is_audited_with_counts_and_no_nik():
    now = timezone.now()
    world = case_world(now)

    notify(world, now)
    notify(world, now)

    entries = list(AuditEvent.objects.filter(action="exposure.notified").order_by("pk"))
    assert [(e.detail["notified"], e.detail["already"], e.detail["unreachable"]) for e in entries] == [
        (4, 0, 1),
        (0, 4, 1),
    ]
    assert entries[0].object_type == "visitors.exposurecase"
    detail = json.dumps(entries[0].detail)
    assert CASE_NIK not in detail and world["case"].nik_masked not in detail


@pytest.mark.django_db
def test_notices_with_a_phone_are_queued_after_commit_only_with_a_gateway(settings, django_capture_on_commit_callbacks):
    now = timezone.now()
    world = case_world(now)
    settings.NOTIFY_WEBHOOK_URL = ""
    with django_capture_on_commit_callbacks() as callbacks:
        notify(world, now)
    assert callbacks == []

    ExposureNotice.objects.all().delete()
    settings.NOTIFY_WEBHOOK_URL = "http://127.0.0.1:9/hook"
    with django_capture_on_commit_callbacks() as callbacks:
        notify(world, now)
    assert len(callbacks) == 3  # the three contacts with a phone; the device-only one waits for their phone


@pytest.mark.django_db
def test_the_report_and_its_export_show_how_each_contact_was_told(settings, loopback_server):
    now = timezone.now()
    world = case_world(now)
    settings.NOTIFY_WEBHOOK_URL = loopback_server.url
    loopback_server.responder = lambda received: Reply(200)
    report = exposure_report_for_person(actor=None, person=world["case"], since=world["since"], now=now, channel="t")
    assert set(report.told.values()) == {"not_yet", "unreachable"}

    notify(world, now)
    first_phone = ExposureNotice.objects.get(person=world["with_phone"][0])
    assert exposure_notice_send(notice_id=first_phone.pk)

    report = exposure_report_for_person(actor=None, person=world["case"], since=world["since"], now=now, channel="t")
    assert report.told[world["with_phone"][0].pk] == "gateway"
    assert report.told[world["with_phone"][1].pk] == "not_yet"  # queued, not yet taken by the gateway
    assert report.told[world["device_only"].pk] == "device"
    assert report.told[world["nobody"].pk] == "unreachable"
    rows = csv_rows(exposure_export(actor=None, person=world["case"], since=world["since"], now=now).content)
    assert {row["name"]: row["told"] for row in rows}["Punya Perangkat"] == "device"


# --- the gateway ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_gateway_gets_the_notice_with_a_bearer_token_and_nothing_of_the_case(settings, loopback_server):
    now = timezone.now()
    world = case_world(now, phones=1)
    settings.NOTIFY_WEBHOOK_URL = loopback_server.url
    settings.NOTIFY_WEBHOOK_TOKEN = "gateway-token"
    loopback_server.responder = lambda received: Reply(200, {"ok": True})
    notify(world, now)
    notice = ExposureNotice.objects.get(person=world["with_phone"][0])

    assert exposure_notice_send(notice_id=notice.pk) is True
    assert exposure_notice_send(notice_id=notice.pk) is False  # marked sent: never twice

    assert len(loopback_server.received) == 1
    hook = loopback_server.received[0]
    assert hook.headers["Authorization"] == "Bearer gateway-token"
    start = timezone.localtime(notice.window_from)
    assert hook.json() == {
        "kind": "exposure",
        "phone": "081234500000",
        "message": notice.message,
        "office": world["entrance"].office.name,
        "date": start.date().isoformat(),
        "window": {"from": start.isoformat(), "until": timezone.localtime(notice.window_until).isoformat()},
    }
    body = hook.body.decode()
    assert CASE_NAME not in body and CASE_NIK not in body and world["case"].nik_masked not in body
    notice.refresh_from_db()
    assert notice.webhook_sent_at is not None and notice.webhook_attempts == 1


@pytest.mark.django_db
def test_a_failing_gateway_counts_the_attempt_and_raises_so_the_task_retries(settings, loopback_server):
    now = timezone.now()
    world = case_world(now, phones=1)
    settings.NOTIFY_WEBHOOK_URL = loopback_server.url
    loopback_server.responder = lambda received: Reply(400)  # refused: no quick retries
    notify(world, now)
    notice = ExposureNotice.objects.get(person=world["with_phone"][0])

    with pytest.raises(NoticeNotSent):
        exposure_notice_send(notice_id=notice.pk)
    notice.refresh_from_db()
    assert (notice.webhook_sent_at, notice.webhook_attempts) == (None, 1)

    loopback_server.responder = lambda received: Reply(204)
    assert exposure_notice_send(notice_id=notice.pk) is True
    notice.refresh_from_db()
    assert notice.webhook_sent_at is not None and notice.webhook_attempts == 2
    assert len(loopback_server.received) == 2


def test_the_send_task_retries_with_backoff_on_a_failed_notice():
    task = reports.tasks.exposure_notice_send
    assert task.acks_late and NoticeNotSent in task.autoretry_for
    assert task.retry_backoff and task.max_retries >= 5


@pytest.mark.django_db
def test_the_sweep_requeues_only_unsent_notices_past_the_grace(settings, loopback_server, celery_broker):
    now = timezone.now()
    world = case_world(now)
    settings.NOTIFY_WEBHOOK_URL = loopback_server.url
    loopback_server.responder = lambda received: Reply(200)
    notify(world, now)
    queue_purge()  # the broker lost the tasks queued with the notices
    sent = ExposureNotice.objects.get(person=world["with_phone"][0])
    assert exposure_notice_send(notice_id=sent.pk)

    assert exposure_notices_requeue(now=now) == 0  # still the queued task's turn
    assert exposure_notices_requeue(now=now + RESEND_GRACE + datetime.timedelta(seconds=1)) == 2
    assert queue_length() == 2
    settings.NOTIFY_WEBHOOK_URL = ""
    assert exposure_notices_requeue(now=now + RESEND_GRACE + datetime.timedelta(seconds=1)) == 0


# --- through a real worker --------------------------------------------------------------------------------------


def _unsent() -> int:
    return ExposureNotice.objects.filter(webhook_sent_at__isnull=True).exclude(phone="").count()


@pytest.mark.redis
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_each_phone_gets_one_post_when_sent_twice_and_the_worker_restarts_mid_way(
    settings, loopback_server, celery_broker
):
    settings.NOTIFY_WEBHOOK_URL = loopback_server.url
    loopback_server.responder = lambda received: Reply(200, delay=0.3)  # a slow gateway: the stop lands mid-way
    now = timezone.now()
    world = case_world(now, phones=6)

    assert notify(world, now).notified == 8
    assert notify(world, now).already == 8  # sent twice: nothing new queued
    for notice_id in ExposureNotice.objects.exclude(phone="").values_list("pk", flat=True):
        reports.tasks.exposure_notice_send.delay(notice_id)  # and a duplicate of every task on top
    assert queue_length() == 14

    with worker_running():
        wait_for(lambda: len(loopback_server.received) >= 2)
    assert _unsent() > 0  # stopped mid-way

    # The beat sweep re-queues what is left (as if the rest were lost with the broker), next to any copies left.
    assert exposure_notices_requeue(now=timezone.now() + RESEND_GRACE) == _unsent()
    with worker_running():
        wait_for(lambda: _unsent() == 0 and queue_length() == 0, timeout=30)

    phones = collections.Counter(received.json()["phone"] for received in loopback_server.received)
    expected = sorted(p.phone for p in world["with_phone"])
    assert sorted(phones) == expected and set(phones.values()) == {1}
    for received in loopback_server.received:
        body = received.body.decode()
        assert CASE_NAME not in body and CASE_NIK not in body


@pytest.mark.redis
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_notices_lost_with_the_broker_are_sent_once_by_the_sweep(settings, loopback_server, celery_broker):
    settings.NOTIFY_WEBHOOK_URL = loopback_server.url
    loopback_server.responder = lambda received: Reply(200)
    now = timezone.now()
    world = case_world(now)
    notify(world, now)
    queue_purge()

    reports.tasks.exposure_notices_requeue.delay()  # beat's tick: within the grace, nothing yet
    with worker_running():
        wait_for(lambda: queue_length() == 0)
        assert exposure_notices_requeue(now=now + RESEND_GRACE) == 3
        wait_for(lambda: _unsent() == 0)

    assert sorted(r.json()["phone"] for r in loopback_server.received) == sorted(p.phone for p in world["with_phone"])
