"""Telling Satgas about a black status: at the door (a check-in) or for someone already inside (a status alert)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from screening.notifications import SatgasAlert, satgas_alert_send
from screening.vocabulary import ScanAction

from .models import ScanEvent


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
    return satgas_alert_send(alert=alert)
