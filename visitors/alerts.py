"""Telling Satgas about a black status: at the door (a check-in) or for someone already inside (a status alert)."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from screening.notifications import SatgasAlert, satgas_alert_configured, satgas_alert_send
from screening.vocabulary import ScanAction

from .models import ScanEvent

logger = logging.getLogger(__name__)

RESEND_WINDOW = datetime.timedelta(hours=24)  # older alerts are stale news: the sweep leaves them alone
# A status alert (raised by a task, for someone already inside) queues its own notice; the sweep gives it this long.
# A check-in alert queues nothing: the sweep is how it reaches Satgas.
RESEND_GRACE = datetime.timedelta(minutes=1)
RESEND_BATCH = 100  # per sweep run; the next run takes the rest
# One sweep at a time: a slow webhook must not let the next run send the same alert again meanwhile.
SWEEP_LOCK_KEY = "visitors:alerts:sweep-lock"
SWEEP_LOCK_SECONDS = 300  # outlives any sweep (RESEND_BATCH alerts at the webhook timeout); freed when it ends


def scan_alert_notify(*, scan_event_id: int) -> dict[str, bool] | None:
    """Tell Satgas about one alert event (e-mail, webhook); None when the event is gone or is not an alert."""
    event = (
        ScanEvent.objects.select_related("office", "entrance", "person").filter(pk=scan_event_id, alert=True).first()
    )
    if event is None:
        return None
    alert = SatgasAlert(
        key=f"scan:{event.pk}",
        kind="inside" if event.action == ScanAction.STATUS_ALERT else "checkin",
        office_id=event.office_id,
        office_name=event.office.name,
        entrance_name=event.entrance.name,
        at=event.created_at,
        nik_masked=event.person.nik_masked if event.person else "",
        person_kind=event.kind,
        url=settings.SITE_URL + reverse("admin:visitors_scanevent_change", args=[event.pk]),
    )
    sent = satgas_alert_send(alert=alert)  # raises AlertNotSent unless every configured channel has sent
    if satgas_alert_configured():  # with no channel there is nothing to mark (and nothing for the sweep to do)
        ScanEvent.objects.filter(pk=event.pk, notified_at__isnull=True).update(notified_at=timezone.now())
    return sent


def scan_alerts_send(*, now: datetime.datetime | None = None) -> int:
    """Notify Satgas of the alerts of the last RESEND_WINDOW that are not yet marked notified (Celery beat, every
    10 s): the transactional outbox for alerts.

    A check-in alert is sent by this sweep and by nothing else. The check-in request queues no work for it, so a black
    answer costs the request, and the worker after it, exactly what any other referral costs; and an alert committed
    while the broker is down is sent all the same. A status alert is left to its own task for RESEND_GRACE first.
    Channels that already sent are not sent again (satgas_alert_send marks each per alert key). Returns how many
    alerts are now fully notified.
    """
    if not satgas_alert_configured():
        return 0
    if not cache.add(SWEEP_LOCK_KEY, 1, SWEEP_LOCK_SECONDS):
        return 0  # the previous sweep is still sending
    try:
        return _alerts_send(now=now or timezone.now())
    finally:
        cache.delete(SWEEP_LOCK_KEY)


def _alerts_send(*, now: datetime.datetime) -> int:
    pending = (
        ScanEvent.objects.filter(alert=True, notified_at__isnull=True, created_at__gte=now - RESEND_WINDOW)
        .filter(Q(action=ScanAction.CHECKIN) | Q(created_at__lte=now - RESEND_GRACE))
        .order_by("created_at")
        .values_list("pk", flat=True)[:RESEND_BATCH]
    )
    done = 0
    for event_id in list(pending):
        try:
            if scan_alert_notify(scan_event_id=event_id) is not None:
                done += 1
        except Exception as error:  # one failing alert must not hold back the others; the next sweep tries again
            logger.warning("Satgas alert for scan %d still not sent: %s", event_id, type(error).__name__)
    return done
