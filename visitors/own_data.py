"""A person's own data: what we hold about them (to read or download), erasing it on request, and their exposure
notices. An exposure case that is still open keeps the visits it needs until the retention period ends them."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from denpasar_checkin.nik import nik_hash_candidates
from offices.services import audit_record
from screening.names import names_match

from .inputs import name_clean, nik_clean
from .models import Device, ExposureCase, ExposureNotice, Person, ScanEvent, Visit
from .services import CheckinError


class OwnDataError(CheckinError):
    """A request about one's own data that cannot be done; `code` is stable, `message` is for the person."""


class StillInside(OwnDataError):
    status = 409


class NoticeUnknown(OwnDataError):
    status = 404


class PersonUnknown(OwnDataError):
    status = 404


@dataclass(frozen=True, slots=True)
class ErasureResult:
    person_deleted: bool
    devices: int
    visits_deleted: int
    visits_kept: int
    # The end of the retention period of the latest kept visit: when the last of them goes.
    kept_until: datetime.datetime | None
    scan_events: int
    notices: int


@dataclass(frozen=True, slots=True)
class OwnVisit:
    visit: Visit
    children: int
    # Set when an open exposure case keeps this visit past a deletion request: its retention end.
    kept_until: datetime.datetime | None


def _retention() -> datetime.timedelta:
    return datetime.timedelta(days=settings.RETENTION_DAYS)


def _iso(value: datetime.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value is not None else None


def _audit_detail(person: Person, via: str) -> dict[str, Any]:
    # The masked NIK and the row id name the person in the log; the NIK itself never goes there.
    return {"person": person.pk, "nik": person.nik_masked, "via": via}


# --- reading ------------------------------------------------------------------------------------------------------


def person_notices_unread(*, person: Person) -> list[ExposureNotice]:
    """The person's notices not yet acknowledged, oldest first: one query (the partial index notice_unread_idx)."""
    return list(
        ExposureNotice.objects.filter(person=person, acknowledged_at__isnull=True)
        .select_related("office")
        .order_by("created_at", "pk")
    )


def person_by_identity(*, nik: Any, name: Any) -> Person:
    """The person with this NIK, when the name is the name on record (the officer has checked the KTP).

    A NIK we hold nothing about and a name that does not match answer the same: nobody learns who was here.
    """
    errors: dict[str, list] = {}
    cleaned: dict[str, str] = {}
    for key, clean, raw in (("nik", nik_clean, nik), ("name", name_clean, name)):
        try:
            cleaned[key] = clean(raw)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    person = Person.objects.filter(nik_hash__in=nik_hash_candidates(cleaned["nik"])).first()
    if person is None or not names_match(cleaned["name"], person.name):
        raise PersonUnknown("person_unknown", str(_("We hold no data for this NIK and name.")))
    return person


def _open_case_windows(person: Person) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """The windows of open exposure cases this person is the case of, or a notified contact of."""
    cases = (
        ExposureCase.objects.filter(closed_at__isnull=True)
        .filter(Q(case_person=person) | Q(notices__person=person))
        .values_list("window_from", "window_until")
        .distinct()
    )
    return list(cases)


def _kept_filter(windows: list[tuple[datetime.datetime, datetime.datetime]]) -> Q | None:
    """Visits overlapping any of these windows (an open visit overlaps every window it started before)."""
    kept = None
    for start, end in windows:
        overlap = Q(checked_in_at__lte=end) & (Q(checked_out_at__isnull=True) | Q(checked_out_at__gte=start))
        kept = overlap if kept is None else kept | overlap
    return kept


def person_visits(*, person: Person, now: datetime.datetime, within_retention: bool = True) -> list[OwnVisit]:
    """The person's own visits, newest first, each with how many children came with them and, when an open case
    keeps it past a deletion request, until when."""
    visits = (
        Visit.objects.filter(person=person)
        .select_related("office", "entrance_in", "entrance_out")
        .annotate(children=Count("dependant_visits"))
        .order_by("-checked_in_at", "-pk")
    )
    if within_retention:
        visits = visits.filter(Q(checked_out_at__isnull=True) | Q(checked_out_at__gte=now - _retention()))
    kept_filter = _kept_filter(_open_case_windows(person))
    kept_ids = set(visits.filter(kept_filter).values_list("pk", flat=True)) if kept_filter is not None else set()
    rows = []
    for visit in visits:
        kept_until = None
        if visit.pk in kept_ids:
            kept_until = (visit.checked_out_at or now) + _retention()
        rows.append(OwnVisit(visit=visit, children=visit.children, kept_until=kept_until))
    return rows


def person_data_export(
    *,
    person: Person,
    now: datetime.datetime | None = None,
    actor: AbstractBaseUser | None = None,
    via: str = "device",
) -> dict[str, Any]:
    """Everything we hold about this person, JSON-able: never anyone else's data. Audited: who asked (the
    officer, or nobody for the person's own phone) and whose data (the masked NIK, never the NIK).

    Children who came with the person appear only as a count on the adult's visit: a child's visits, name and
    NIK are the child's (an officer can export them with the child's own NIK).
    """
    now = now or timezone.now()
    visits, scans, notices = _visits_export(person, now=now), _scans_export(person), _notices_export(person)
    audit_record(actor=actor, action="person.data_exported", obj=person, detail=_audit_detail(person, via))
    return {
        "exported_at": _iso(now),
        "retention_days": settings.RETENTION_DAYS,
        "person": {
            "name": person.name,
            "nik_masked": person.nik_masked,
            "phone": person.phone,
            "created_at": _iso(person.created_at),
            "last_seen_at": _iso(person.last_seen_at),
        },
        "remembered_devices": Device.objects.filter(person=person).count(),
        "visits": visits,
        "scans": scans,
        "notices": notices,
    }


def _visits_export(person: Person, *, now: datetime.datetime) -> list[dict[str, Any]]:
    return [
        {
            "office": row.visit.office.name,
            "entrance_in": row.visit.entrance_in.name,
            "entrance_out": row.visit.entrance_out.name if row.visit.entrance_out else None,
            "kind": row.visit.kind,
            "checked_in_at": _iso(row.visit.checked_in_at),
            "checked_out_at": _iso(row.visit.checked_out_at),
            "closed_by": row.visit.closed_by,
            "phone": row.visit.phone,
            "children": row.children,
            "kept_for_exposure_case_until": _iso(row.kept_until),
        }
        for row in person_visits(person=person, now=now, within_retention=False)
    ]


def _scans_export(person: Person) -> list[dict[str, Any]]:
    scans = ScanEvent.objects.filter(person=person).select_related("office", "entrance").order_by("-created_at", "-pk")
    return [
        {
            "office": scan.office.name,
            "entrance": scan.entrance.name,
            "action": scan.action,
            "outcome": scan.outcome,
            "reason": scan.reason,
            "colour": scan.colour,
            "children": scan.dependants,
            "at": _iso(scan.created_at),
        }
        for scan in scans
    ]


def _notices_export(person: Person) -> list[dict[str, Any]]:
    notices = ExposureNotice.objects.filter(person=person).select_related("office").order_by("created_at")
    return [
        {
            "office": notice.office.name,
            "date": timezone.localtime(notice.window_from).date().isoformat(),
            "window_from": _iso(notice.window_from),
            "window_until": _iso(notice.window_until),
            "message": notice.message,
            "phone": notice.phone,
            "created_at": _iso(notice.created_at),
            "acknowledged_at": _iso(notice.acknowledged_at),
        }
        for notice in notices
    ]


# --- writing ------------------------------------------------------------------------------------------------------


@transaction.atomic
def person_data_erase(
    *, person: Person, now: datetime.datetime | None = None, actor: AbstractBaseUser | None = None, via: str = "device"
) -> ErasureResult:
    """Erase what we hold about this person, at once, except the visits an open exposure case still needs.

    Devices and phone numbers go now. Visits go now unless they overlap the window of an open case this person is
    the case of or a notified contact of: those stay (with their scans and the case's notices) until the
    retention purge ends them. Scans of deleted visits are deleted, as the purge deletes old scans (they hold
    the person's outcomes). A child's visits are the child's: they stay, no longer tied to the adult's. The
    Person row goes when nothing is kept; else its name and NIK hash stay for the kept visits.
    Raises StillInside while the person is checked in somewhere (check out first; nothing changes).
    """
    now = now or timezone.now()
    person = Person.objects.select_for_update().get(pk=person.pk)
    if Visit.objects.filter(person=person, checked_out_at__isnull=True).exists():
        raise StillInside("still_inside", str(_("You are checked in now. Check out first, then ask again.")))
    audit_record(actor=actor, action="person.data_erased", obj=person, detail=_audit_detail(person, via))

    devices, _details = Device.objects.filter(person=person).delete()
    visits = Visit.objects.filter(person=person)
    kept_filter = _kept_filter(_open_case_windows(person))
    kept = visits.filter(kept_filter) if kept_filter is not None else visits.none()
    kept_ids = list(kept.values_list("pk", flat=True))
    latest_kept = max((v for v in kept.values_list("checked_out_at", flat=True) if v is not None), default=None)
    doomed_ids = list(visits.exclude(pk__in=kept_ids).values_list("pk", flat=True))

    _total, per_model = ScanEvent.objects.filter(person=person).exclude(visit_id__in=kept_ids).delete()
    scans = per_model.get(ScanEvent._meta.label, 0)
    # Children's visits would go with their adult's by cascade; they are the children's own record.
    Visit.objects.filter(guardian_visit_id__in=doomed_ids).update(guardian_visit=None)
    _total, per_model = Visit.objects.filter(pk__in=doomed_ids).delete()
    visits_deleted = per_model.get(Visit._meta.label, 0)

    if not kept_ids:
        notices = ExposureNotice.objects.filter(person=person).count()
        person.delete()
        person_deleted = True
    else:
        Visit.objects.filter(pk__in=kept_ids).update(phone="")
        notices, _details = ExposureNotice.objects.filter(person=person).exclude(case__closed_at__isnull=True).delete()
        ExposureNotice.objects.filter(person=person).update(phone="")
        # Listed as someone else's child at a pending scan: that link is this person's data too.
        ScanEvent.dependant_people.through.objects.filter(person_id=person.pk).delete()
        person.phone = ""
        person.save(update_fields=["phone"])
        person_deleted = False
    return ErasureResult(
        person_deleted=person_deleted,
        devices=devices,
        visits_deleted=visits_deleted,
        visits_kept=len(kept_ids),
        kept_until=latest_kept + _retention() if latest_kept is not None else None,
        scan_events=scans,
        notices=notices,
    )


def notice_acknowledge(*, person: Person, notice_id: Any, now: datetime.datetime | None = None) -> bool:
    """The person has read this notice: it stops showing on their phone. False when it already was acknowledged.
    Raises NoticeUnknown for a notice that is not this person's (or no notice at all)."""
    try:
        notice_id = int(str(notice_id))
    except ValueError:
        notice_id = 0
    notices = ExposureNotice.objects.filter(pk=notice_id, person=person)
    with transaction.atomic():
        changed = notices.filter(acknowledged_at__isnull=True).update(acknowledged_at=now or timezone.now())
        if changed:
            audit_record(
                actor=None,
                action="notice.acknowledged",
                detail={**_audit_detail(person, "device"), "notice": notice_id},
            )
            return True
    if not notices.exists():
        raise NoticeUnknown("notice_unknown", str(_("This notice is not for this phone.")))
    return False
