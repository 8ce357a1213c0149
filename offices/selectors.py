"""Read-only queries about offices."""

from __future__ import annotations

from .models import Entrance


def entrance_office_id(*, code: str) -> int | None:
    """The office of an entrance code, or None for an unknown or retired code."""
    return Entrance.objects.filter(code=code).values_list("office_id", flat=True).first()
