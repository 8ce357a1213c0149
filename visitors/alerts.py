"""Black-status alerts: at the door (from a check-in) and for someone already inside whose status turned black.

The door screen learns from a ScanEvent with alert=True (the table it follows); Satgas by e-mail and webhook.
"""

from __future__ import annotations

import datetime
import logging
from functools import partial

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from denpasar_checkin.celery import task_enqueue
from screening.decision import Colour, Outcome, Reason
from screening.notifications import SatgasAlert, satgas_alert_send

from .events import scan_event_announce
from .models import ScanAction, ScanEvent, Visit

logger = logging.getLogger(__name__)

INSIDE_ALERT_NOTE = "Health status turned black while inside; see the person privately."


def scan_alert_queue(*, scan_event_id: int) -> bool:
    """After commit: queue the Satgas notification of an alert event; never raises (see task_enqueue)."""
    from .tasks import scan_alert_notify  # the tasks module builds on this one

    return task_enqueue(scan_alert_notify, scan_event_id=scan_event_id)


def _announce_and_queue(*, event_id: int, entrance_id: int) -> None:
    scan_event_announce(event_id=event_id, entrance_id=entrance_id)
    scan_alert_queue(scan_event_id=event_id)


def inside_status_alert(*, nik_hashes: list[str], now: datetime.datetime | None = None) -> list[int]:
    """For everyone among these people who is inside an office now: one alert event at that office's door.

    Idempotent: a visit that already carries an alert (from this or an earlier run) gets no second one.
    Returns the new scan event ids.
    """
    now = now or timezone.now()
    created: list[int] = []
    open_visits = Visit.objects.filter(checked_out_at__isnull=True, person__nik_hash__in=nik_hashes).values_list(
        "id", flat=True
    )
    for visit_id in list(open_visits):
        with transaction.atomic():
            # The row lock makes two concurrent runs agree on whether the alert exists.
            visit = Visit.objects.select_for_update().filter(pk=visit_id, checked_out_at__isnull=True).first()
            if visit is None or ScanEvent.objects.filter(visit_id=visit_id, alert=True).exists():
                continue
            event = ScanEvent.objects.create(
                entrance_id=visit.entrance_in_id,
                office_id=visit.office_id,
                person_id=visit.person_id,
                visit_id=visit.pk,
                action=ScanAction.CHECKIN,
                outcome=Outcome.DENIED,
                reason=Reason.ISOLATION,
                colour=Colour.BLACK,
                kind=visit.kind,
                alert=True,
                note=INSIDE_ALERT_NOTE,
                created_at=now,
            )
            transaction.on_commit(partial(_announce_and_queue, event_id=event.pk, entrance_id=visit.entrance_in_id))
        created.append(event.pk)
    if created:
        logger.warning("black status inside: %d alert(s) raised", len(created))
    return created


def scan_alert_notify(*, scan_event_id: int) -> dict[str, bool] | None:
    """Tell Satgas about one alert event (e-mail, webhook); None when the event is gone or is not an alert."""
    event = (
        ScanEvent.objects.select_related("office", "entrance", "person").filter(pk=scan_event_id, alert=True).first()
    )
    if event is None:
        return None
    alert = SatgasAlert(
        key=f"scan:{event.pk}",
        kind="inside" if event.note == INSIDE_ALERT_NOTE else "checkin",
        office_id=event.office_id,
        office_name=event.office.name,
        entrance_name=event.entrance.name,
        at=event.created_at,
        nik_masked=event.person.nik_masked if event.person else "",
        person_kind=event.kind,
        url=settings.SITE_URL + reverse("admin:visitors_scanevent_change", args=[event.pk]),
    )
    return satgas_alert_send(alert=alert)
