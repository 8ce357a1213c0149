"""Celery tasks of visitors: thin wrappers that take ids and call one service each; all safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from . import alerts, maintenance, pending


@shared_task(acks_late=True, ignore_result=True)
def visits_auto_checkout() -> int:
    return maintenance.visits_auto_checkout()


@shared_task(acks_late=True, ignore_result=True)
def occupancy_reconcile() -> int:
    return len(maintenance.occupancy_reconcile())


@shared_task(acks_late=True, ignore_result=True)
def pending_expire() -> dict[str, int]:
    result = pending.pending_expire(now=timezone.now())
    return {"expired": result.expired, "superseded": result.superseded}


@shared_task(acks_late=True, ignore_result=True)
def retention_purge() -> dict[str, int]:
    result = maintenance.personal_data_purge()
    return {
        "scan_events": result.scan_events,
        "visits": result.visits,
        "people": result.people,
        "devices": result.devices,
        "health_statuses": result.health_statuses,
        "exposure_notices": result.exposure_notices,
    }


# Mail servers and webhooks fail for minutes at a time: retry with growing pauses (about 30 s to 15 min).
# Each channel is marked once sent, so a retry or a redelivery does not repeat what already went out.
@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=900,
    retry_jitter=True,
    max_retries=8,
)
def scan_alert_notify(scan_event_id: int) -> dict[str, bool] | None:
    return alerts.scan_alert_notify(scan_event_id=scan_event_id)


# How check-in alerts reach Satgas, and the safety net under a status alert's own scan_alert_notify.
@shared_task(acks_late=True, ignore_result=True)
def scan_alerts_send() -> int:
    return alerts.scan_alerts_send()
