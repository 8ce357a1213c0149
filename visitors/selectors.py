"""Read-only queries for the visitor side: the entrance as a scan sees it, remembered devices, who is inside."""

from __future__ import annotations

import datetime
import functools
import hashlib
from dataclasses import dataclass

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from denpasar_checkin.sql import prepared_cursor
from offices.live_codes import live_digits_matches
from offices.models import Entrance, Office, OfficeOccupancy, Staff
from offices.short_codes import short_code_normalise

from .models import Device, Person, Visit


def device_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def name_mask(name: str | None) -> str:
    """'I Made Wirawan' -> 'I M*** W***': its owner and the officer recognise it, a passer-by learns little."""
    return " ".join(word if len(word) == 1 else f"{word[0]}***" for word in (name or "").split()) or "—"


def _entrance_where(**lookup: str) -> Entrance | None:
    # Codes are unique: no ORDER BY (first() would sort by Entrance's ordering, which joins and sorts offices).
    return next(iter(Entrance.objects.select_related("office").filter(**lookup).order_by()[:1]), None)


def entrance_by_code(*, code: str, max_length: int = 64) -> Entrance | None:
    """The entrance of a QR code (exact), else of a short code as a person types it (any case, spaces, dashes)."""
    if not code or len(code) > max_length:
        return None
    entrance = _entrance_where(code=code)
    if entrance is None:
        # Only after the exact match, so a scan of the QR (the busy path) costs the one query it always did.
        short_code = short_code_normalise(code)
        if short_code is not None:
            entrance = _entrance_where(short_code=short_code)
    return entrance


def entrances_by_live_digits(*, digits: str, at: datetime.datetime) -> list[Entrance]:
    """The open live-QR entrances whose door screen shows these six digits, or did a period ago (usually one)."""
    # Digits are never stored, so each live entrance's are worked out; a city has a handful of kiosks.
    candidates = Entrance.objects.filter(active=True, live_qr=True).only("id", "code").order_by("id")
    return live_digits_matches(entrances=candidates.iterator(), digits=digits, at=at)


def person_for_device(*, token: str | None) -> Person | None:
    """The person a remembered-device token belongs to, or None when the server has forgotten it."""
    device = device_for_token(token=token)
    return device.person if device else None


def device_for_token(*, token: str | None) -> Device | None:
    if not token:
        return None
    return Device.objects.select_related("person").filter(token_hash=device_token_hash(token)).first()


def device_owner_digest(*, token: str) -> str | None:
    """The NIK hash of a remembered phone's owner (None when the server has forgotten the phone)."""
    return Device.objects.filter(token_hash=device_token_hash(token)).values_list("person__nik_hash", flat=True).first()


def person_is_inside(*, person: Person, office_id: int) -> bool:
    """Is this adult checked in at this office now (dependants leave with their adult)?"""
    return Visit.objects.filter(
        person=person, office_id=office_id, checked_out_at__isnull=True, guardian_visit__isnull=True
    ).exists()


# --- the entrance as one scan sees it ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntranceRead:
    """An entrance, its office and counter, and (when a NIK hash was given) the person as this office knows them."""

    id: int
    name: str
    code: str
    active: bool
    live_qr: bool
    office_id: int
    office_name: str
    office_sector: str
    office_capacity: int
    office_deny_staff_when_full: bool
    staff_inside: int | None  # None: the office has no counter row yet
    visitors_inside: int | None
    is_staff: bool = False
    person_id: int | None = None
    person_name: str | None = None
    person_phone: str | None = None
    open_visit_id: int | None = None
    open_visit_office_id: int | None = None
    open_visit_kind: str | None = None
    open_visit_in_at: datetime.datetime | None = None


ENTRANCE_FIELDS = 12  # the entrance, office and counter columns come first, the person's after them


@functools.cache
def _entrance_sql(*, with_person: bool) -> str:
    """The entrance, its office and counter, and everything about the person at this office, as one statement.

    Written by hand, not with the ORM: Person is not related to Entrance, so the ORM can only reach the person,
    their open visit and their staff membership through eight correlated subqueries, which PostgreSQL took three
    times longer to plan than these joins. Each join is a unique or partial-index lookup: one person per NIK hash,
    one open visit per person (visit_one_open_per_person), one counter per office.
    """
    entrance, office = Entrance._meta.db_table, Office._meta.db_table
    occupancy, staff = OfficeOccupancy._meta.db_table, Staff._meta.db_table
    person, visit = Person._meta.db_table, Visit._meta.db_table
    columns = (
        "e.id, e.name, e.code, e.active, e.live_qr, e.office_id, o.name, o.sector, o.capacity, "
        "o.deny_staff_when_full, oc.staff_inside, oc.visitors_inside"
    )
    joins = ""
    if with_person:
        columns += (
            f", EXISTS (SELECT 1 FROM {staff} s WHERE s.office_id = e.office_id AND s.nik_hash = %s AND s.active), "  # noqa: S608
            "p.id, p.name, p.phone, v.id, v.office_id, v.kind, v.checked_in_at"
        )
        joins = (
            f"LEFT JOIN {person} p ON p.nik_hash = %s "
            f"LEFT JOIN {visit} v ON v.person_id = p.id AND v.checked_out_at IS NULL "
        )
    return (
        f"SELECT {columns} FROM {entrance} e INNER JOIN {office} o ON o.id = e.office_id "  # noqa: S608 - names only
        f"LEFT JOIN {occupancy} oc ON oc.office_id = e.office_id {joins}WHERE e.code = %s"
    )


def _aware(value: datetime.datetime | str | None) -> datetime.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite may hand back text
        value = parse_datetime(value)
    if timezone.is_naive(value):  # SQLite stores naive UTC
        value = value.replace(tzinfo=datetime.UTC)
    return value


def entrance_read(*, code: str, digest: str | None) -> EntranceRead | None:
    """One statement for everything a scan needs to know before it decides (None: no entrance has this code)."""
    with prepared_cursor() as cursor:
        cursor.execute(_entrance_sql(with_person=bool(digest)), [digest, digest, code] if digest else [code])
        values = cursor.fetchone()
    if values is None:
        return None
    entrance = list(values[:ENTRANCE_FIELDS])
    entrance[3], entrance[4], entrance[9] = bool(entrance[3]), bool(entrance[4]), bool(entrance[9])
    if not digest:
        return EntranceRead(*entrance)
    is_staff, person_id, person_name, person_phone, visit_id, visit_office_id, visit_kind, visit_in_at = values[
        ENTRANCE_FIELDS:
    ]
    return EntranceRead(
        *entrance,
        is_staff=bool(is_staff),
        person_id=person_id,
        person_name=person_name,
        person_phone=person_phone,
        open_visit_id=visit_id,
        open_visit_office_id=visit_office_id,
        open_visit_kind=visit_kind,
        open_visit_in_at=_aware(visit_in_at),
    )
