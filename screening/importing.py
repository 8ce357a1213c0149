"""Writing statuses into the registry: the bulk upsert (API, CSV, admin upload) and the background refresh.

Every path that changes rows ends the same way after commit: the cached copies are dropped at once, and a task
checks whether anyone who is inside an office now turned black.
"""

from __future__ import annotations

import csv
import datetime
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from denpasar_checkin.celery import task_enqueue
from denpasar_checkin.nik import nik_hash, nik_mask
from denpasar_checkin.safe_cache import cache_delete_many
from denpasar_checkin.text import CONTROL_MESSAGE, text_has_control
from offices.models import Staff
from offices.services import audit_record

from .models import HealthStatus, StatusSource
from .selectors import STATUS_CACHE_TTL, status_cache_key, status_record_from_row
from .services import HEALTH_STATUS_WRITE_FIELDS, health_status_cache_invalidate, health_status_values
from .signals import status_people_resolve, status_refresh_people
from .sources import (
    ITEM_FIELDS,
    NON_FIELD,
    CircuitOpen,
    ItemInvalid,
    SourceUnavailable,
    StatusItem,
    status_item_clean,
    status_source_remote,
)

logger = logging.getLogger(__name__)

CSV_COLUMNS = ITEM_FIELDS
CHUNK_SIZE = 1000  # rows read and written per round trip: bounded memory for a city-wide registry export
CHANGED_BATCH = 500  # NIK hashes per follow-up task, to keep broker messages small
REFRESH_BATCH = 200  # people per refresh task (with the HTTP source each may take up to the timeout)
# Registered name of screening.tasks.health_statuses_changed: queued by name, since the tasks build on this module.
HEALTH_STATUSES_CHANGED_TASK = "screening.tasks.health_statuses_changed"


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # (line number for CSV, 0-based index for the API, {field: [messages]}); sorted by position.
    errors: list[tuple[int, dict[str, list[str]]]] = field(default_factory=list)

    def as_api(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [{"index": position, "errors": errors} for position, errors in self.errors],
        }


# --- the upsert -------------------------------------------------------------------------------------------------


def health_statuses_upsert(
    *,
    items: Iterable[Any],
    source: str,
    actor: AbstractBaseUser | None = None,
    now: datetime.datetime | None = None,
) -> UpsertResult:
    """Create or update registry rows from raw items in the CSV/API shape; errors are reported by 0-based index.

    Bad items are reported and skipped, good ones applied. Re-sending the same data changes nothing: those rows are
    counted unchanged and keep their data and updated_at; only refreshed_at moves, since the source confirmed them.
    """
    return _upsert_positioned(enumerate(items), source=source, actor=actor, now=now)


def _upsert_positioned(
    pairs: Iterable[tuple[int, Any]],
    *,
    source: str,
    actor: AbstractBaseUser | None,
    now: datetime.datetime | None,
    result: UpsertResult | None = None,
) -> UpsertResult:
    now = now or timezone.now()
    today = timezone.localdate(now)
    result = result or UpsertResult()
    seen: set[str] = set()
    pending: list[tuple[StatusItem, str]] = []
    for position, raw in pairs:
        control = _control_errors(raw)
        try:
            item = status_item_clean(raw, today=today)
        except ItemInvalid as error:
            merged = {name: list(messages) for name, messages in error.errors.items()}
            for name, messages in control.items():
                merged.setdefault(name, []).extend(messages)
            result.errors.append((position, merged))
            continue
        if control:
            result.errors.append((position, control))
            continue
        digest = nik_hash(item.nik)
        if digest in seen:
            result.errors.append(
                (
                    position,
                    {"nik": [str(_("This NIK is listed more than once in this upload; the first one is used."))]},
                )
            )
            continue
        seen.add(digest)
        pending.append((item, digest))
        if len(pending) >= CHUNK_SIZE:
            _chunk_write(pending, source=source, now=now, today=today, result=result)
            pending = []
    if pending:
        _chunk_write(pending, source=source, now=now, today=today, result=result)
    if source != StatusSource.HTTP:
        # Counts only: an audit entry never carries a NIK or a status.
        audit_record(
            actor=actor,
            action="health_status.imported",
            detail={
                "source": str(source),
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "errors": len(result.errors),
            },
        )
    return result


def _control_errors(raw: Any) -> dict[str, list[str]]:
    """A message for each field holding a control character: PostgreSQL refuses NUL (the whole chunk would fail),
    and a name with control characters is not one a screen can show. Only this item is skipped."""
    if not isinstance(raw, Mapping):
        return {}
    return {
        (key if key in ITEM_FIELDS else NON_FIELD): [str(CONTROL_MESSAGE)]
        for key, value in raw.items()
        if isinstance(value, str) and text_has_control(value, allow_whitespace=True)
    }


def _chunk_write(
    pending: list[tuple[StatusItem, str]],
    *,
    source: str,
    now: datetime.datetime,
    today: datetime.date,
    result: UpsertResult,
) -> None:
    existing = {row.nik_hash: row for row in HealthStatus.objects.filter(nik_hash__in=[d for _i, d in pending])}
    creates: list[HealthStatus] = []
    updates: list[HealthStatus] = []
    unchanged: list[str] = []
    for item, digest in pending:
        row = existing.get(digest)
        values = health_status_values(item=item, previous=row, today=today)
        if row is None:
            creates.append(
                HealthStatus(nik_hash=digest, nik_masked=nik_mask(item.nik), source=source, refreshed_at=now, **values)
            )
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.source, row.refreshed_at, row.updated_at = source, now, now
            updates.append(row)
        else:
            unchanged.append(digest)
    changed = [row.nik_hash for row in creates + updates]
    with transaction.atomic():
        if creates:
            # A concurrent import may create the same person first: then this write wins, it does not fail.
            HealthStatus.objects.bulk_create(
                creates, update_conflicts=True, unique_fields=["nik_hash"], update_fields=HEALTH_STATUS_WRITE_FIELDS
            )
        if updates:
            HealthStatus.objects.bulk_update(updates, HEALTH_STATUS_WRITE_FIELDS, batch_size=500)
        if unchanged:
            HealthStatus.objects.filter(nik_hash__in=unchanged).update(refreshed_at=now)
        if changed:
            transaction.on_commit(partial(health_statuses_changed_announce, nik_hashes=changed))
    result.created += len(creates)
    result.updated += len(updates)
    result.unchanged += len(unchanged)


def health_statuses_changed_announce(*, nik_hashes: list[str]) -> None:
    """After commit: forget cached copies now (so the next scan reads the change even with no worker running), and
    queue the check for people inside an office who turned black."""
    health_status_cache_invalidate(nik_hashes=nik_hashes)
    for start in range(0, len(nik_hashes), CHANGED_BATCH):
        task_enqueue(HEALTH_STATUSES_CHANGED_TASK, nik_hashes=nik_hashes[start : start + CHANGED_BATCH])


# --- CSV --------------------------------------------------------------------------------------------------------


def _csv_item(row: dict[str, Any]) -> dict[str, Any]:
    """A CSV row in the JSON item's types: doses a number when it is digits, empty cells missing."""
    item: dict[str, Any] = {}
    for key, value in row.items():
        text = (value or "").strip()
        if not text:
            continue
        item[key] = int(text) if key == "doses" and text.isdigit() and len(text) < 4 else text
    return item


def _text_lines(stream: IO[str] | IO[bytes], result: UpsertResult) -> Iterator[str]:
    """The file's physical lines as text. A line that is not UTF-8 is reported and read as empty (so skipped): the
    rest of the file still loads, and csv's line numbers stay the file's line numbers."""
    for number, raw in enumerate(stream, start=1):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                result.errors.append((number, {NON_FIELD: [str(_("This line is not UTF-8 text; it was skipped."))]}))
                raw = "\n"
        yield raw.removeprefix("\ufeff") if number == 1 else raw


def _csv_rows(stream: IO[str] | IO[bytes], result: UpsertResult) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(_text_lines(stream, result))
    try:
        header = reader.fieldnames
    except csv.Error:
        result.errors.append((1, {NON_FIELD: [str(_("The file is not UTF-8 CSV text."))]}))
        return
    if not header:
        if not result.errors:
            result.errors.append((1, {NON_FIELD: [str(_("The file is empty: it needs a header row."))]}))
        return
    normalized = [(name or "").strip().lower() for name in header]
    missing = [name for name in CSV_COLUMNS if name not in normalized]
    extra = [name for name in normalized if name not in CSV_COLUMNS]
    if missing or extra or len(set(normalized)) != len(normalized):
        message = _("The header must be exactly: %(columns)s.") % {"columns": ",".join(CSV_COLUMNS)}
        result.errors.append((1, {NON_FIELD: [str(message)]}))
        return
    reader.fieldnames = normalized
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            # Not CSV any more (e.g. NUL bytes of a UTF-16 file): what came before is loaded.
            message = _("This line is not UTF-8 CSV text; the import stopped here.")
            result.errors.append((reader.line_num, {NON_FIELD: [str(message)]}))
            return
        line = reader.line_num
        if None in row:
            result.errors.append((line, {NON_FIELD: [str(_("This line has more cells than the header."))]}))
            continue
        yield line, _csv_item(row)


def health_statuses_import_csv(
    *,
    stream: IO[str] | IO[bytes],
    source: str = StatusSource.REGISTRY,
    actor: AbstractBaseUser | None = None,
    now: datetime.datetime | None = None,
) -> UpsertResult:
    """Load a registry export (header nik,name,doses,last_dose_on,case_status,isolated_until,exemption_until).

    Bad rows are reported by line number (the header is line 1) and skipped; good rows load. Streams the file
    (binary, UTF-8, or already text), so a city-wide export never sits in memory at once.
    """
    result = UpsertResult()
    _upsert_positioned(_csv_rows(stream, result), source=source, actor=actor, now=now, result=result)
    result.errors.sort(key=lambda error: error[0])
    return result


# --- refresh ----------------------------------------------------------------------------------------------------


def status_refresh_batches(*, now: datetime.datetime | None = None, size: int = REFRESH_BATCH) -> list[list[str]]:
    """NIK hashes whose statuses Celery keeps fresh: active staff and people seen recently, in batches."""
    since = (now or timezone.now()) - datetime.timedelta(days=settings.STATUS_REFRESH_SEEN_DAYS)
    hashes = set(Staff.objects.filter(active=True).values_list("nik_hash", flat=True))
    for _receiver, answer in status_refresh_people.send(sender=HealthStatus, since=since):
        hashes.update(answer or ())
    ordered = sorted(hashes)
    return [ordered[start : start + size] for start in range(0, len(ordered), size)]


@dataclass
class RefreshResult:
    warmed: int = 0
    fetched: int = 0
    unknown: int = 0
    failed: int = 0


def health_statuses_refresh(*, nik_hashes: Sequence[str], now: datetime.datetime | None = None) -> RefreshResult:
    """Refresh one batch: with the HTTP source ask it again (retries, backoff, breaker), then warm the cache.

    Rows pushed by Satgas (CSV, admin, API) are their statement and are not overwritten by the upstream source.
    """
    result = RefreshResult()
    source = status_source_remote()
    if source is not None:
        _refresh_from_source(list(nik_hashes), source=source, now=now, result=result)
    result.warmed = status_cache_warm(nik_hashes=nik_hashes)
    return result


def _refresh_from_source(hashes: list[str], *, source, now: datetime.datetime | None, result: RefreshResult) -> None:
    sources = dict(HealthStatus.objects.filter(nik_hash__in=hashes).values_list("nik_hash", "source"))
    wanted = [digest for digest in hashes if sources.get(digest) in (None, StatusSource.HTTP)]
    people: dict[str, tuple[str, str]] = {}
    if wanted:
        for _receiver, answer in status_people_resolve.send(sender=HealthStatus, nik_hashes=wanted):
            people.update(answer or {})
    items: list[dict[str, Any]] = []
    forgotten: list[str] = []
    for position, digest in enumerate(wanted):
        if digest not in people:
            continue  # staff who never scanned: nobody here can read their NIK back
        nik, name = people[digest]
        try:
            item = source.item_fetch_retrying(
                nik=nik, name=name, attempts=settings.STATUS_SOURCE_RETRIES, backoff=settings.STATUS_SOURCE_BACKOFF
            )
        except CircuitOpen:
            result.failed += sum(1 for d in wanted[position:] if d in people)
            break
        except SourceUnavailable:
            result.failed += 1
            continue
        if item is None:
            result.unknown += 1
            if sources.get(digest) == StatusSource.HTTP:
                forgotten.append(digest)  # the upstream no longer knows them: its old answer must not linger
        else:
            result.fetched += 1
            items.append(item.as_raw())
    if items:
        health_statuses_upsert(items=items, source=StatusSource.HTTP, now=now)
    if forgotten:
        HealthStatus.objects.filter(nik_hash__in=forgotten, source=StatusSource.HTTP).delete()
        health_status_cache_invalidate(nik_hashes=forgotten)
    if result.failed:
        logger.warning("status refresh: %d of %d people could not be asked upstream", result.failed, len(wanted))


def status_cache_warm(*, nik_hashes: Sequence[str]) -> int:
    """Put the registry rows of these people in the cache; returns how many were cached."""
    rows = list(HealthStatus.objects.filter(nik_hash__in=list(nik_hashes)))
    if not rows:
        return 0
    stamps = {row.nik_hash: row.updated_at for row in rows}
    try:
        cache.set_many({status_cache_key(row.nik_hash): status_record_from_row(row) for row in rows}, STATUS_CACHE_TTL)
    except Exception:
        logger.warning("cache unavailable: status warm-up skipped", exc_info=True)
        return 0
    # A change committed while we read may already have dropped its key before our write put the old copy back:
    # every writer moves updated_at (or deletes the row), so drop those keys again.
    after = dict(HealthStatus.objects.filter(nik_hash__in=list(stamps)).values_list("nik_hash", "updated_at"))
    stale = [digest for digest, stamp in stamps.items() if after.get(digest) != stamp]
    if stale:
        cache_delete_many(status_cache_key(digest) for digest in stale)
    return len(stamps) - len(stale)
