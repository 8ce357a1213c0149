"""Periodic upkeep: close forgotten visits, reconcile occupancy counters, and delete personal data past retention."""

from __future__ import annotations

import datetime
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from offices.models import Office, OfficeOccupancy
from offices.services import audit_record
from screening.services import health_statuses_purge
from screening.vocabulary import PersonKind

from .closing import visit_close
from .models import ClosedBy, Device, ExposureCase, ExposureNotice, Person, ScanEvent, Visit

logger = logging.getLogger(__name__)

DELETE_BATCH = 2000  # rows per delete statement: short locks, bounded memory


# --- auto check-out ---------------------------------------------------------------------------------------------


def visit_checkout_due_at(
    *,
    checked_in_at: datetime.datetime,
    closes_at: datetime.time,
    max_stay: datetime.timedelta,
    grace: datetime.timedelta,
) -> datetime.datetime:
    """When a forgotten visit ends: the office's next closing time after check-in plus the grace, or the maximum
    stay, whichever comes first (someone checking in after hours is bounded by the maximum stay)."""
    local_in = timezone.localtime(checked_in_at)
    closing = timezone.make_aware(datetime.datetime.combine(local_in.date(), closes_at)) + grace
    if closing <= checked_in_at:
        closing = timezone.make_aware(
            datetime.datetime.combine(local_in.date() + datetime.timedelta(days=1), closes_at)
        )
        closing += grace
    return min(closing, checked_in_at + max_stay)


def visits_auto_checkout(*, now: datetime.datetime | None = None) -> int:
    """Close every open visit that is past its due time (see visit_checkout_due_at), with the due time as its end.

    Each visit closes in its own short transaction through the same conditional update as a check-out, so a person
    checking out at the same moment is never released twice, and running this twice closes nothing twice.
    Returns how many people were checked out (dependants included).
    """
    now = now or timezone.now()
    max_stay = datetime.timedelta(hours=settings.MAX_STAY_HOURS)
    grace = datetime.timedelta(minutes=settings.AUTO_CHECKOUT_GRACE_MINUTES)
    per_office: dict[int, int] = defaultdict(int)
    # Adults (and orphans whose adult's visit is already closed); dependants close with their adult.
    candidates = (
        Visit.objects.filter(checked_out_at__isnull=True, checked_in_at__lt=now)
        .filter(Q(guardian_visit__isnull=True) | Q(guardian_visit__checked_out_at__isnull=False))
        .values("id", "office_id", "kind", "checked_in_at", "office__closes_at")
    )
    for visit in list(candidates):
        due = visit_checkout_due_at(
            checked_in_at=visit["checked_in_at"], closes_at=visit["office__closes_at"], max_stay=max_stay, grace=grace
        )
        if due > now:
            continue
        with transaction.atomic():
            people = visit_close(
                visit_id=visit["id"],
                office_id=visit["office_id"],
                kind=visit["kind"],
                closed_by=ClosedBy.SYSTEM,
                now=due,
            ).people
        per_office[visit["office_id"]] += people
    for office_id, people in per_office.items():
        if people:
            audit_record(
                actor=None, action="visits.auto_checked_out", office=Office(pk=office_id), detail={"people": people}
            )
    total = sum(per_office.values())
    if total:
        logger.info("auto check-out closed %d visit(s) in %d office(s)", total, len(per_office))
    return total


# --- reconcile --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OccupancyDrift:
    office_id: int
    staff_before: int
    staff_after: int
    visitors_before: int
    visitors_after: int


def _open_counts(office_id: int | None = None) -> dict[int, dict[str, int]]:
    visits = Visit.objects.filter(checked_out_at__isnull=True)
    if office_id is not None:
        visits = visits.filter(office_id=office_id)
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {PersonKind.STAFF: 0, PersonKind.VISITOR: 0})
    for row in visits.values("office_id", "kind").annotate(n=Count("id")):
        counts[row["office_id"]][row["kind"]] = row["n"]
    return counts


def occupancy_reconcile() -> list[OccupancyDrift]:
    """Set every office's counters to its open visits where they differ; log and audit each drift.

    A quick unlocked pass finds suspects; each is re-counted under the counter's row lock, which check-ins take
    too (the gate's UPDATE), so a check-in in flight is either fully counted or not yet begun.
    """
    counts = _open_counts()
    counters = {
        row["office_id"]: row for row in OfficeOccupancy.objects.values("office_id", "staff_inside", "visitors_inside")
    }
    suspects = set()
    for office_id in set(counters) | set(counts):
        expected = counts.get(office_id, {PersonKind.STAFF: 0, PersonKind.VISITOR: 0})
        counter = counters.get(office_id)
        if (
            counter is None
            or counter["staff_inside"] != expected[PersonKind.STAFF]
            or counter["visitors_inside"] != expected[PersonKind.VISITOR]
        ):
            suspects.add(office_id)
    drifts = [drift for office_id in sorted(suspects) if (drift := _office_reconcile(office_id)) is not None]
    return drifts


def _office_reconcile(office_id: int) -> OccupancyDrift | None:
    with transaction.atomic():
        OfficeOccupancy.objects.get_or_create(office_id=office_id)
        occupancy = OfficeOccupancy.objects.select_for_update().get(office_id=office_id)
        expected = _open_counts(office_id).get(office_id, {PersonKind.STAFF: 0, PersonKind.VISITOR: 0})
        drift = OccupancyDrift(
            office_id=office_id,
            staff_before=occupancy.staff_inside,
            staff_after=expected[PersonKind.STAFF],
            visitors_before=occupancy.visitors_inside,
            visitors_after=expected[PersonKind.VISITOR],
        )
        if drift.staff_before == drift.staff_after and drift.visitors_before == drift.visitors_after:
            return None
        OfficeOccupancy.objects.filter(office_id=office_id).update(
            staff_inside=drift.staff_after, visitors_inside=drift.visitors_after, updated_at=timezone.now()
        )
        audit_record(
            actor=None,
            action="occupancy.reconciled",
            office=Office(pk=office_id),
            detail={
                "staff_inside": [drift.staff_before, drift.staff_after],
                "visitors_inside": [drift.visitors_before, drift.visitors_after],
            },
        )
    logger.warning(
        "occupancy drift fixed for office %s: staff %d -> %d, visitors %d -> %d",
        office_id,
        drift.staff_before,
        drift.staff_after,
        drift.visitors_before,
        drift.visitors_after,
    )
    return drift


# --- retention --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PurgeResult:
    scan_events: int
    visits: int
    people: int
    devices: int
    health_statuses: int
    exposure_notices: int = 0


def _delete_in_batches(queryset) -> Counter:
    """Delete in batches; returns rows deleted per model label (cascades included)."""
    deleted: Counter = Counter()
    while True:
        ids = list(queryset.values_list("id", flat=True)[:DELETE_BATCH])
        if not ids:
            return deleted
        with transaction.atomic():
            _total, per_model = queryset.model.objects.filter(id__in=ids).delete()
        deleted.update(per_model)


def personal_data_purge(*, now: datetime.datetime | None = None) -> PurgeResult:
    """Delete what UU PDP says not to keep: scans and visits that ended more than RETENTION_DAYS ago, exposure cases
    (and their notices) whose window ended that long ago, people with nothing left inside that period (and their
    remembered devices), devices unused for that long, and health
    statuses not refreshed for STATUS_RETENTION_DAYS. Keeps everything younger; safe to run any number of times.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.RETENTION_DAYS)
    # A visit left open past the maximum stay would otherwise outlive the retention period.
    visits_auto_checkout(now=now)

    deleted: Counter = Counter()
    deleted += _delete_in_batches(ScanEvent.objects.filter(created_at__lt=cutoff))
    deleted += _delete_in_batches(Visit.objects.filter(checked_out_at__lt=cutoff))
    # A case whose window ended before the cutoff covers no visit that is still kept: it goes with its notices.
    deleted += _delete_in_batches(ExposureCase.objects.filter(window_until__lt=cutoff))
    # What remains of scans and visits is younger than the cutoff (or still open): a person without any is gone.
    any_scan = ScanEvent.objects.filter(person_id=OuterRef("pk"))
    any_visit = Visit.objects.filter(person_id=OuterRef("pk"))
    deleted += _delete_in_batches(
        Person.objects.filter(created_at__lt=cutoff)
        .filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=cutoff))
        .exclude(Exists(any_visit))
        .exclude(Exists(any_scan))
    )
    seen_recently = ScanEvent.objects.filter(person_id=OuterRef("person_id"), created_at__gte=cutoff)
    deleted += _delete_in_batches(
        Device.objects.annotate(used=Coalesce("last_used_at", "created_at"))
        .filter(used__lt=cutoff)
        .exclude(Exists(seen_recently))
    )
    scan_events, visits = deleted[ScanEvent._meta.label], deleted[Visit._meta.label]
    people, devices = deleted[Person._meta.label], deleted[Device._meta.label]
    notices = deleted[ExposureNotice._meta.label]
    statuses = health_statuses_purge(now=now)
    result = PurgeResult(
        scan_events=scan_events,
        visits=visits,
        people=people,
        devices=devices,
        health_statuses=statuses,
        exposure_notices=notices,
    )
    if any((scan_events, visits, people, devices, statuses, notices)):
        audit_record(
            actor=None,
            action="retention.purged",
            detail={
                "scan_events": scan_events,
                "visits": visits,
                "people": people,
                "devices": devices,
                "health_statuses": statuses,
                "exposure_notices": notices,
            },
        )
        logger.info("retention purge: %s", result)
    return result
