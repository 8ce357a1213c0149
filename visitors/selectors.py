"""Read-only queries for the visitor side: remembered devices and who is inside."""

from __future__ import annotations

from offices.models import Entrance

from .models import Device, Person, Visit
from .services import device_token_hash


def name_mask(name: str | None) -> str:
    """'I Made Wirawan' -> 'I M*** W***': its owner and the officer recognise it, a passer-by learns little."""
    return " ".join(word if len(word) == 1 else f"{word[0]}***" for word in (name or "").split()) or "—"


def entrance_by_code(*, code: str, max_length: int = 64) -> Entrance | None:
    if not code or len(code) > max_length:
        return None
    # Codes are unique: no ORDER BY (first() would sort by Entrance's ordering, which joins and sorts offices).
    return next(iter(Entrance.objects.select_related("office").filter(code=code).order_by()[:1]), None)


def person_for_device(*, token: str | None) -> Person | None:
    """The person a remembered-device token belongs to, or None when the server has forgotten it."""
    if not token:
        return None
    device = Device.objects.select_related("person").filter(token_hash=device_token_hash(token)).first()
    return device.person if device else None


def person_is_inside(*, person: Person, office_id: int) -> bool:
    """Is this adult checked in at this office now (dependants leave with their adult)?"""
    return Visit.objects.filter(
        person=person, office_id=office_id, checked_out_at__isnull=True, guardian_visit__isnull=True
    ).exists()
