"""Screening services: the atomic occupancy gate and cache invalidation after registry or settings changes."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from denpasar_checkin.safe_cache import cache_delete_many
from offices.models import OfficeOccupancy

from .decision import Colour, PersonKind, health_colour
from .models import CaseStatus, HealthStatus
from .selectors import (
    POLICY_KEY,
    _policy_from_db,
    _policy_from_row,
    level_cache_key,
    snapshot_from_record,
    status_cache_key,
    status_record_from_row,
)
from .signals import health_statuses_now_black

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


def occupancy_gate_sql(
    *, office_id: int, kind: PersonKind, count: int, effective_capacity: int, enforce_limit: bool
) -> tuple[str, list]:
    """The gate as one conditional UPDATE ... RETURNING staff_inside, visitors_inside (no row: refused).

    PostgreSQL re-checks the WHERE clause after taking the row lock, so two requests racing for the last place can
    never both succeed, whatever the number of web processes; SQLite serialises writers. Exposed so a check-in can
    fold the gate and its own INSERTs into one statement.
    """
    column = _column(kind)
    limit_sql = " AND staff_inside + visitors_inside + %s <= %s" if enforce_limit else ""
    params: list = [count, timezone.now(), office_id] + ([count, effective_capacity] if enforce_limit else [])
    sql = (
        f"UPDATE {_TABLE} SET {column} = {column} + %s, updated_at = %s "  # noqa: S608 - identifiers are ours
        f"WHERE office_id = %s{limit_sql} RETURNING staff_inside, visitors_inside"
    )
    return sql, params


def occupancy_admit(
    *, office_id: int, kind: PersonKind, count: int, effective_capacity: int, enforce_limit: bool
) -> GateResult:
    """Let `count` people of one kind in, atomically, if the office has room (or the limit is not enforced).

    Must run inside the check-in transaction (see occupancy_gate_sql for why it is race-free).
    """
    sql, params = occupancy_gate_sql(
        office_id=office_id, kind=kind, count=count, effective_capacity=effective_capacity, enforce_limit=enforce_limit
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
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


def health_status_changes_apply(*, nik_hashes: list[str], today: datetime.date | None = None) -> list[str]:
    """After registry rows changed (committed): drop their cached copies and tell listeners who is black now.

    Runs in a worker (screening.tasks.health_statuses_changed); safe to run twice, since the listener alerts a visit
    at most once. Returns the hashes that are black.
    """
    health_status_cache_invalidate(nik_hashes=nik_hashes)
    today = today or timezone.localdate()
    policy = _policy_from_row(_policy_from_db())
    black = [
        row.nik_hash
        for row in HealthStatus.objects.filter(nik_hash__in=nik_hashes).exclude(case_status=CaseStatus.NONE)
        if health_colour(snapshot_from_record(status_record_from_row(row), name=row.name), policy=policy, today=today)
        == Colour.BLACK
    ]
    if black:
        health_statuses_now_black.send(sender=HealthStatus, nik_hashes=black)
    return black


def health_statuses_purge(*, now: datetime.datetime | None = None, batch_size: int = 1000) -> int:
    """Delete statuses nobody refreshed for STATUS_RETENTION_DAYS (health data is kept no longer than needed)."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.STATUS_RETENTION_DAYS)
    deleted = 0
    while True:
        batch = list(HealthStatus.objects.filter(refreshed_at__lt=cutoff).values_list("id", "nik_hash")[:batch_size])
        if not batch:
            return deleted
        with transaction.atomic():
            deleted += HealthStatus.objects.filter(id__in=[pk for pk, _digest in batch]).delete()[0]
        health_status_cache_invalidate(nik_hashes=[digest for _pk, digest in batch])
