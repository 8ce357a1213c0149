"""Visitors' Celery work: auto check-out, reconcile and purge through a real worker; Satgas alerts and retries."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from offices.models import OfficeOccupancy
from screening.models import HealthStatus
from screening.notifications import AlertNotSent, webhook_post
from tests.celery_worker import broker_at, eager_tasks, wait_for
from tests.factories import EntranceFactory, HealthStatusFactory, OfficeFactory, PersonFactory, VisitFactory, nik_make
from tests.loopback import Reply
from visitors import tasks
from visitors.alerts import SWEEP_LOCK_KEY, scan_alert_notify, scan_alerts_send
from visitors.models import Person, ScanEvent, Visit
from visitors.services import visit_checkin


def black_checkin(entrance, n: int = 1) -> ScanEvent:
    HealthStatusFactory(
        nik=nik_make(n), name="I Ketut", doses=2, case_status="positive", isolated_until=datetime.date(2099, 1, 1)
    )
    result = visit_checkin(entrance_code=entrance.code, nik=nik_make(n), name="I Ketut")
    assert result.alert
    return ScanEvent.objects.get(pk=result.scan_event_id)


# --- through a real worker --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("celery_worker")
@pytest.mark.redis
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_auto_checkout_through_a_real_worker(settings):
    settings.MAX_STAY_HOURS = 1
    office = OfficeFactory()
    entrance = EntranceFactory(office=office)
    HealthStatusFactory(nik=nik_make(1), name="Orang Lupa", doses=2)
    result = visit_checkin(
        entrance_code=entrance.code,
        nik=nik_make(1),
        name="Orang Lupa",
        now=timezone.now() - datetime.timedelta(hours=3),
    )
    tasks.visits_auto_checkout.delay()
    visit = wait_for(lambda: Visit.objects.filter(pk=result.visit_id, checked_out_at__isnull=False).first())
    assert visit.closed_by == "system"
    assert OfficeOccupancy.objects.get(office=office).visitors_inside == 0


@pytest.mark.usefixtures("celery_worker")
@pytest.mark.redis
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_reconcile_through_a_real_worker():
    office = OfficeFactory()
    VisitFactory(entrance_in=EntranceFactory(office=office))
    OfficeOccupancy.objects.filter(office=office).update(visitors_inside=7, staff_inside=2)
    tasks.occupancy_reconcile.delay()
    wait_for(lambda: OfficeOccupancy.objects.filter(office=office, visitors_inside=1, staff_inside=0).exists())


@pytest.mark.usefixtures("celery_worker")
@pytest.mark.redis
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_purge_through_a_real_worker(settings):
    settings.RETENTION_DAYS = 30
    now = timezone.now()
    old = now - datetime.timedelta(days=45)
    gone = PersonFactory(nik=nik_make(1))
    Person.objects.filter(pk=gone.pk).update(created_at=old)
    VisitFactory(person=gone, checked_in_at=old, checked_out_at=old + datetime.timedelta(hours=1), closed_by="person")
    kept = VisitFactory(
        checked_in_at=now - datetime.timedelta(days=2),
        checked_out_at=now - datetime.timedelta(days=1),
        closed_by="person",
    )
    HealthStatusFactory(nik=nik_make(9), refreshed_at=now - datetime.timedelta(days=60))
    tasks.retention_purge.delay()
    wait_for(lambda: not Person.objects.filter(pk=gone.pk).exists() and not HealthStatus.objects.exists())
    assert list(Visit.objects.values_list("pk", flat=True)) == [kept.pk]


@pytest.mark.usefixtures("celery_worker")
@pytest.mark.redis
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_black_checkin_alert_reaches_satgas_through_a_real_worker(settings):
    settings.SATGAS_ALERT_EMAILS = ["satgas@denpasarkota.go.id", "dinkes@denpasarkota.go.id"]
    entrance = EntranceFactory()
    event = black_checkin(entrance)
    tasks.scan_alerts_send.delay()  # what beat queues every 10 s
    wait_for(lambda: mail.outbox)
    [message] = mail.outbox
    assert message.to == ["satgas@denpasarkota.go.id", "dinkes@denpasarkota.go.id"]
    assert entrance.office.name in message.subject
    assert f"/admin/visitors/scanevent/{event.pk}/change/" in message.body
    assert nik_make(1) not in message.body


# --- alerts, inline ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_alert_is_sent_once_per_channel_even_when_the_task_runs_again(settings, loopback_server):
    settings.SATGAS_ALERT_EMAILS = ["satgas@denpasarkota.go.id"]
    settings.ALERT_WEBHOOK_URL = loopback_server.url
    loopback_server.responder = lambda received: Reply(200, {"ok": True})
    event = black_checkin(EntranceFactory())
    assert scan_alert_notify(scan_event_id=event.pk) == {"email": True, "webhook": True}
    assert scan_alert_notify(scan_event_id=event.pk) == {"email": False, "webhook": False}
    assert len(mail.outbox) == 1 and len(loopback_server.received) == 1
    payload = loopback_server.received[0].json()
    assert payload["kind"] == "checkin" and payload["nik_masked"] == "5171********0002"


@pytest.mark.django_db
def test_a_failed_webhook_is_retried_without_repeating_the_email(settings, loopback_server):
    settings.SATGAS_ALERT_EMAILS = ["satgas@denpasarkota.go.id"]
    settings.ALERT_WEBHOOK_URL = loopback_server.url
    settings.ALERT_WEBHOOK_TIMEOUT = 1
    loopback_server.responder = lambda received: Reply(503)
    event = black_checkin(EntranceFactory())
    with pytest.raises(AlertNotSent):
        scan_alert_notify(scan_event_id=event.pk)
    assert len(mail.outbox) == 1
    assert len(loopback_server.received) == 3  # the webhook's own quick retries

    loopback_server.responder = lambda received: Reply(200)
    assert scan_alert_notify(scan_event_id=event.pk) == {"email": False, "webhook": True}
    assert len(mail.outbox) == 1


def test_webhook_retries_with_backoff_and_stops_on_a_refusal(loopback_server):
    replies = iter([Reply(500), Reply(429), Reply(200)])
    loopback_server.responder = lambda received: next(replies)
    pauses: list[float] = []
    webhook_post(url=loopback_server.url, payload={"a": 1}, attempts=3, backoff=0.01, sleep=pauses.append)
    assert len(loopback_server.received) == 3 and pauses == [0.01, 0.02]

    loopback_server.responder = lambda received: Reply(400)
    with pytest.raises(AlertNotSent, match="refused"):
        webhook_post(url=loopback_server.url, payload={"a": 1}, attempts=3, backoff=0.0)
    assert len(loopback_server.received) == 4


def test_webhook_refuses_non_http_urls():
    with pytest.raises(AlertNotSent):
        webhook_post(url="file:///etc/passwd", payload={})


def test_alert_task_retries_on_failure():
    assert tasks.scan_alert_notify.autoretry_for == (Exception,)
    assert tasks.scan_alert_notify.max_retries >= 5
    assert tasks.scan_alert_notify.acks_late


@pytest.mark.django_db(transaction=True)
def test_a_black_checkin_queues_nothing_and_the_sweep_tells_satgas(settings, celery_eager):
    settings.SATGAS_ALERT_EMAILS = ["satgas@denpasarkota.go.id"]
    black_checkin(EntranceFactory())
    assert mail.outbox == []  # committed, and nothing ran for it, even with tasks run inline
    assert scan_alerts_send() == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_a_green_checkin_queues_no_alert(settings, celery_eager):
    settings.SATGAS_ALERT_EMAILS = ["satgas@denpasarkota.go.id"]
    HealthStatusFactory(nik=nik_make(3), name="Orang Sehat", doses=2)
    assert visit_checkin(entrance_code=EntranceFactory().code, nik=nik_make(3), name="Orang Sehat").admitted
    assert mail.outbox == []


@pytest.mark.django_db
def test_notify_ignores_events_that_are_gone_or_not_alerts():
    assert scan_alert_notify(scan_event_id=999_999) is None
    HealthStatusFactory(nik=nik_make(4), name="Orang Sehat", doses=2)
    result = visit_checkin(entrance_code=EntranceFactory().code, nik=nik_make(4), name="Orang Sehat")
    assert scan_alert_notify(scan_event_id=result.scan_event_id) is None


# --- the alert sweep: every check-in alert, and status alerts whose task was lost -------------------------------

BROKER_DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1: queueing fails at once


def later(minutes: int = 2) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(minutes=minutes)


@pytest.mark.django_db(transaction=True)
def test_a_checkin_alert_committed_while_the_broker_is_down_is_sent_once(settings, loopback_server):
    settings.SATGAS_ALERT_EMAILS = ["satgas@denpasarkota.go.id"]
    settings.ALERT_WEBHOOK_URL = loopback_server.url
    loopback_server.responder = lambda received: Reply(200, {"ok": True})
    with broker_at(BROKER_DOWN), eager_tasks(False):
        event = black_checkin(EntranceFactory())  # committed; the check-in queues nothing, so nothing is lost
    assert mail.outbox == [] and loopback_server.received == []
    event.refresh_from_db()
    assert event.notified_at is None

    assert scan_alerts_send(now=timezone.now()) == 1  # a check-in alert has no grace: the sweep is its only sender
    assert len(mail.outbox) == 1 and len(loopback_server.received) == 1
    assert loopback_server.received[0].json()["key"] == f"scan:{event.pk}"
    event.refresh_from_db()
    assert event.notified_at is not None

    assert scan_alerts_send(now=later(3)) == 0
    assert len(mail.outbox) == 1 and len(loopback_server.received) == 1


@pytest.mark.django_db
def test_a_status_alert_is_left_to_its_own_task_for_the_grace_minute(settings):
    settings.SATGAS_ALERT_EMAILS = ["satgas@denpasarkota.go.id"]
    entrance = EntranceFactory()
    event = black_checkin(entrance)
    ScanEvent.objects.filter(pk=event.pk).update(action="alert")  # raised for someone inside, with its own task
    assert scan_alerts_send(now=timezone.now()) == 0
    assert mail.outbox == []
    assert scan_alerts_send(now=later()) == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_sweep_does_not_start_while_another_is_sending(settings):
    settings.SATGAS_ALERT_EMAILS = ["satgas@denpasarkota.go.id"]
    black_checkin(EntranceFactory())
    cache.add(SWEEP_LOCK_KEY, 1, 60)  # a sweep slowed by a webhook is still running
    try:
        assert scan_alerts_send() == 0
        assert mail.outbox == []
    finally:
        cache.delete(SWEEP_LOCK_KEY)
    assert scan_alerts_send() == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_sweep_retries_only_the_channel_that_failed(settings, loopback_server):
    settings.SATGAS_ALERT_EMAILS = ["satgas@denpasarkota.go.id"]
    settings.ALERT_WEBHOOK_URL = loopback_server.url
    settings.ALERT_WEBHOOK_TIMEOUT = 1
    loopback_server.responder = lambda received: Reply(503)
    event = black_checkin(EntranceFactory())  # django_db without transaction: on_commit never runs, no task

    assert scan_alerts_send(now=later()) == 0
    assert len(mail.outbox) == 1 and len(loopback_server.received) == 3
    assert ScanEvent.objects.get(pk=event.pk).notified_at is None

    loopback_server.responder = lambda received: Reply(200)
    assert scan_alerts_send(now=later(3)) == 1
    assert scan_alerts_send(now=later(4)) == 0
    assert len(mail.outbox) == 1 and len(loopback_server.received) == 4


@pytest.mark.django_db
def test_the_sweep_leaves_old_and_already_notified_alerts_alone(settings, loopback_server):
    settings.SATGAS_ALERT_EMAILS = ["satgas@denpasarkota.go.id"]
    settings.ALERT_WEBHOOK_URL = loopback_server.url
    loopback_server.responder = lambda received: Reply(200)
    entrance = EntranceFactory()
    old = black_checkin(entrance, 1)
    ScanEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(hours=25))
    sent = black_checkin(entrance, 2)
    assert scan_alert_notify(scan_event_id=sent.pk) == {"email": True, "webhook": True}  # its own task ran
    assert ScanEvent.objects.get(pk=sent.pk).notified_at is not None

    assert scan_alerts_send(now=later()) == 0
    assert len(mail.outbox) == 1 and len(loopback_server.received) == 1
    assert ScanEvent.objects.get(pk=old.pk).notified_at is None


@pytest.mark.django_db
def test_the_sweep_task_is_scheduled_every_ten_seconds():
    from denpasar_checkin.celery import app

    entry = app.conf.beat_schedule["scan-alerts-send"]
    assert entry["task"] == tasks.scan_alerts_send.name and entry["schedule"] == 10.0
    assert tasks.scan_alerts_send.apply().get() == 0  # run inline: the thin task calls the service
