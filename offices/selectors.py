"""Read-only queries about offices."""

from __future__ import annotations

from .models import Entrance, Staff

HOSTS_LIMIT = 10


def entrance_office_id(*, code: str) -> int | None:
    """The office of an entrance code, or None for an unknown or retired code."""
    return Entrance.objects.filter(code=code).values_list("office_id", flat=True).first()


def hosts_matching(*, office_id: int, query: str, limit: int = HOSTS_LIMIT) -> list[dict[str, object]]:
    """Active staff of the office who receive visitors and whose name holds every word typed: id and name only
    (never a NIK or NIP: a visitor picks whom they came to see, nothing more)."""
    staff = Staff.objects.filter(office_id=office_id, active=True, receives_visitors=True)
    for word in query.split():
        staff = staff.filter(name__icontains=word)
    return list(staff.order_by("name").values("id", "name")[:limit])
