"""Closing a visit: the visit, its children's visits and their places, as one step every check-out shares."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Greatest

from screening.services import GateResult, occupancy_release
from screening.vocabulary import PersonKind

from .models import Visit


@dataclass(frozen=True, slots=True)
class VisitClosed:
    people: int  # 0: the visit was already closed
    occupancy: GateResult | None  # the office's counter after the release


def visit_close(
    *,
    visit_id: int,
    office_id: int,
    kind: str,
    closed_by: str,
    now: datetime.datetime,
    entrance_id: int | None = None,
    officer: AbstractBaseUser | None = None,
) -> VisitClosed:
    """Close a visit and its dependants' visits, and release their places; says how many people left.

    Must run inside the caller's transaction, so the visits and the counter change together.
    """
    # A concurrent request may have opened the visit after our clock was read: never close before it began.
    out_at = Greatest(F("checked_in_at"), Value(now, output_field=DateTimeField()))
    closing = {
        "checked_out_at": out_at,
        "closed_by": closed_by,
        "entrance_out_id": entrance_id,
        "closed_by_user": officer,
    }
    closed = Visit.objects.filter(checked_out_at__isnull=True).filter(pk=visit_id).update(**closing)
    if not closed:
        return VisitClosed(0, None)
    closed += Visit.objects.filter(guardian_visit_id=visit_id, checked_out_at__isnull=True).update(**closing)
    return VisitClosed(closed, occupancy_release(office_id=office_id, kind=PersonKind(kind), count=closed))
