"""Screening services: the status lookup, the atomic occupancy gate, and cache invalidation after changes."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from denpasar_checkin.nik import nik_hash as nik_hash_of
from denpasar_checkin.nik import nik_mask
from denpasar_checkin.safe_cache import cache_delete_many, cache_get_many, cache_set
from offices.models import OfficeOccupancy

from .decision import HealthSnapshot, health_colour
from .models import CaseStatus, HealthStatus, StatusSource
from .selectors import (
    POLICY_KEY,
    STATUS_CACHE_TTL,
    STATUS_MISSING_TTL,
    ScreeningContext,
    level_cache_key,
    policy_from_db,
    screening_context_cache_keys,
    screening_context_from_cache,
    snapshot_from_record,
    status_cache_key,
    status_record_from_row,
)
from .signals import health_statuses_now_black
from .sources import SourceUnavailable, StatusItem, status_source_remote
from .vocabulary import Colour, PersonKind

_TABLE = OfficeOccupancy._meta.db_table
_DATA_FIELDS = ("name", "doses", "last_dose_on", "case_status", "case_reported_on", "isolated_until", "exemption_until")
# What a write of a source's statement sets; created rows also get nik_hash and nik_masked.
HEALTH_STATUS_WRITE_FIELDS = [*_DATA_FIELDS, "source", "refreshed_at", "updated_at"]


# --- the status lookup ------------------------------------------------------------------------------------------


def status_lookup(
    *, nik_hash: str | None, name: str, today: datetime.date, nik: str | None = None
) -> tuple[ScreeningContext, HealthSnapshot]:
    """Policy, restriction level and the person's status: one cache round trip, the database only on a miss.

    Runs before the check-in transaction so no lock is ever held while waiting on the cache or registry. `nik` (the
    raw NIK, never cached or logged) lets a registry miss be asked of the upstream source when STATUS_SOURCE=http.
    """
    keys = screening_context_cache_keys(today=today)
    if nik_hash:
        keys.append(status_cache_key(nik_hash))
    cached = cache_get_many(keys)
    context = screening_context_from_cache(cached=cached, today=today)
    if not nik_hash:
        return context, HealthSnapshot.unknown()
    record = cached.get(status_cache_key(nik_hash))
    if record is None:
        record = _status_record_load(nik_hash=nik_hash, nik=nik, name=name)
    return context, snapshot_from_record(record, name=name)


def _status_record_load(*, nik_hash: str, nik: str | None, name: str) -> dict:
    """Registry row for a NIK hash (or a 'missing' marker), stored in the cache for the next scan.

    On a registry miss with STATUS_SOURCE=http and the raw NIK at hand, the upstream source is asked (bounded by
    STATUS_SOURCE_TIMEOUT, through the shared circuit breaker) and its answer kept in the registry. When it cannot
    answer, the status is unknown and nothing is cached, so the next scan asks again (the breaker bounds the cost).
    """
    row = HealthStatus.objects.filter(nik_hash=nik_hash).first()
    if row is None and nik and settings.STATUS_SOURCE == "http":
        try:
            row = status_fetch_remote(nik=nik, name=name)
        except SourceUnavailable:
            return {"missing": True}
    if row is None:
        record = {"missing": True}
        cache_set(status_cache_key(nik_hash), record, STATUS_MISSING_TTL)
    else:
        record = status_record_from_row(row)
        cache_set(status_cache_key(nik_hash), record, STATUS_CACHE_TTL)
    return record


def status_fetch_remote(*, nik: str, name: str) -> HealthStatus | None:
    """Ask the upstream source once (bounded, through the breaker) and keep its answer; None when it does not know
    the person. Raises SourceUnavailable when it cannot answer now."""
    source = status_source_remote()
    if source is None:
        return None
    item = source.item_fetch(nik=nik, name=name)
    if item is None:
        return None
    return status_item_store(item=item, source=StatusSource.HTTP)


def status_item_store(*, item: StatusItem, source: str, now: datetime.datetime | None = None) -> HealthStatus:
    """Keep one source answer in the registry: a single statement, used on the check-in path after a registry miss."""
    now = now or timezone.now()
    row = HealthStatus(
        nik_hash=nik_hash_of(item.nik),
        nik_masked=nik_mask(item.nik),
        source=source,
        refreshed_at=now,
        **health_status_values(item=item, previous=None, today=timezone.localdate(now)),
    )
    HealthStatus.objects.bulk_create(
        [row], update_conflicts=True, unique_fields=["nik_hash"], update_fields=HEALTH_STATUS_WRITE_FIELDS
    )
    return row


def health_status_values(*, item: StatusItem, previous: HealthStatus | None, today: datetime.date) -> dict[str, Any]:
    """The registry fields for a source's statement about a person, given the row it replaces (if any)."""
    if item.case_status == CaseStatus.NONE:
        reported_on = None
    elif previous is not None and previous.case_status == item.case_status and previous.case_reported_on:
        reported_on = previous.case_reported_on  # the same case again: isolation still counts from the first report
    else:
        reported_on = today
    return {
        "name": item.name,
        "doses": item.doses,
        "last_dose_on": item.last_dose_on,
        "case_status": item.case_status,
        "case_reported_on": reported_on,
        "isolated_until": item.isolated_until,
        "exemption_until": item.exemption_until,
    }


# --- the occupancy gate -----------------------------------------------------------------------------------------


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


# --- after changes ----------------------------------------------------------------------------------------------


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
    policy = policy_from_db()
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
