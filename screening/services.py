"""Screening services: the atomic occupancy gate and cache invalidation after registry or settings changes."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from denpasar_checkin.safe_cache import cache_delete_many
from offices.models import OfficeOccupancy

from .decision import PersonKind
from .selectors import POLICY_KEY, level_cache_key, status_cache_key

_TABLE = OfficeOccupancy._meta.db_table


@dataclass(frozen=True, slots=True)
class GateResult:
    admitted: bool
    staff_inside: int
    visitors_inside: int

    @property
    def inside(self) -> int:
        return self.staff_inside + self.visitors_inside


def _column(kind: PersonKind) -> str:
    return "staff_inside" if kind == PersonKind.STAFF else "visitors_inside"


def occupancy_admit(
    *, office_id: int, kind: PersonKind, count: int, effective_capacity: int, enforce_limit: bool
) -> GateResult:
    """Let `count` people of one kind in, atomically, if the office has room (or the limit is not enforced).

    Must run inside the check-in transaction. One conditional UPDATE: PostgreSQL re-checks the WHERE clause after
    taking the row lock, so two requests racing for the last place can never both succeed, whatever the number of
    web processes; SQLite serialises writers with IMMEDIATE transactions.
    """
    column = _column(kind)
    now = timezone.now()
    limit_sql = " AND staff_inside + visitors_inside + %s <= %s" if enforce_limit else ""
    params: list = [count, now, office_id] + ([count, effective_capacity] if enforce_limit else [])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_TABLE} SET {column} = {column} + %s, updated_at = %s "  # noqa: S608 - identifiers are ours
            f"WHERE office_id = %s{limit_sql} RETURNING staff_inside, visitors_inside",
            params,
        )
        row = cursor.fetchone()
        if row is not None:
            return GateResult(True, row[0], row[1])
        cursor.execute(f"SELECT staff_inside, visitors_inside FROM {_TABLE} WHERE office_id = %s", [office_id])  # noqa: S608
        row = cursor.fetchone()
    if row is None:
        # An office saved without its counter (e.g. created by hand in a shell): create it and try again.
        OfficeOccupancy.objects.get_or_create(office_id=office_id)
        return occupancy_admit(
            office_id=office_id,
            kind=kind,
            count=count,
            effective_capacity=effective_capacity,
            enforce_limit=enforce_limit,
        )
    return GateResult(False, row[0], row[1])


def occupancy_release(*, office_id: int, kind: PersonKind, count: int) -> GateResult:
    """Let `count` people of one kind out; never below zero, so drift cannot break a check-out."""
    column = _column(kind)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_TABLE} SET {column} = CASE WHEN {column} >= %s THEN {column} - %s ELSE 0 END, "  # noqa: S608
            f"updated_at = %s WHERE office_id = %s RETURNING staff_inside, visitors_inside",
            [count, count, timezone.now(), office_id],
        )
        row = cursor.fetchone()
    return GateResult(True, *(row or (0, 0)))


def health_status_cache_invalidate(*, nik_hashes: list[str]) -> None:
    """Forget cached statuses after the registry changed, so the next scan reads the new one."""
    cache_delete_many(status_cache_key(h) for h in nik_hashes)


def screening_settings_invalidate(*, day: datetime.date | None = None) -> None:
    """Forget the cached policy and today's restriction level after an admin changed them."""
    today = day or timezone.localdate()
    cache_delete_many([POLICY_KEY, level_cache_key(today), level_cache_key(today + datetime.timedelta(days=1))])
