"""Telling Satgas about a black status: at the door (a check-in) or for someone already inside (a status alert)."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from screening.notifications import SatgasAlert, satgas_alert_configured, satgas_alert_send
from screening.vocabulary import ScanAction

from .models import ScanEvent

logger = logging.getLogger(__name__)

RESEND_WINDOW = datetime.timedelta(hours=24)  # older alerts are stale news: the sweep leaves them alone
# Younger alerts are left to their own task, which normally sends within seconds (and retries for itself).
RESEND_GRACE = datetime.timedelta(minutes=1)
RESEND_BATCH = 100  # per sweep run; the next run (a minute later) takes the rest


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


def scan_alerts_resend(*, now: datetime.datetime | None = None) -> int:
    """Notify Satgas of the alerts of the last RESEND_WINDOW that are not yet marked notified.

    Their task was lost (the broker was down after commit) or gave up. Channels that already sent are not sent
    again (satgas_alert_send marks each per alert key). Returns how many alerts are now fully notified.
    """
    if not satgas_alert_configured():
        return 0
    now = now or timezone.now()
    pending = (
        ScanEvent.objects.filter(
            alert=True,
            notified_at__isnull=True,
            created_at__gte=now - RESEND_WINDOW,
            created_at__lte=now - RESEND_GRACE,
        )
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
    if done:
        logger.warning("Satgas alert sweep: %d alert(s) sent late", done)
    return done
