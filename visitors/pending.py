"""Whether a pending case still waits for the door officer, and the sweep that closes the ones that no longer do."""

from __future__ import annotations

import datetime
import enum
import functools
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from offices.models import Office
from offices.services import audit_record
from screening.vocabulary import Outcome

from .events import scan_event_announce
from .models import Resolution, ScanEvent, Visit

logger = logging.getLogger(__name__)


class CaseState(enum.StrEnum):
    OPEN = "open"  # still waiting for an officer
    ANSWERED = "answered"  # an officer approved or denied it
    EXPIRED = "expired"  # nobody answered within PENDING_EXPIRE_MINUTES
    SUPERSEDED = "superseded"  # the person was admitted somewhere after this scan: nothing is left to decide


@dataclass(frozen=True, slots=True)
class PendingExpireResult:
    expired: int
    superseded: int


def pending_limit() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.PENDING_EXPIRE_MINUTES)


def pending_admitted_since() -> Exists:
    """For a ScanEvent query: whether its person was admitted anywhere after it (a visit opened since).

    The (person, checked_in_at) index answers it; a scan that names nobody (a name mismatch) never matches.
    """
    return Exists(Visit.objects.filter(person_id=OuterRef("person_id"), checked_in_at__gt=OuterRef("created_at")))


def pending_state(
    *, resolution: str, created_at: datetime.datetime, admitted_since: bool, now: datetime.datetime
) -> CaseState:
    """The rule for one pending scan at `now`, as `pending_open` applies it in a query.

    An officer's answer is final; then a later admission of the same person settles the case; then age expires it.
    A case the sweep already closed reads as expired whichever of the two it was.
    """
    if resolution == Resolution.EXPIRED:
        return CaseState.EXPIRED
    if resolution:
        return CaseState.ANSWERED
    if admitted_since:
        return CaseState.SUPERSEDED
    if created_at <= now - pending_limit():
        return CaseState.EXPIRED
    return CaseState.OPEN


def pending_open_q(*, now: datetime.datetime) -> Q:
    """The still-waiting rule (CaseState.OPEN) as a condition on ScanEvent, for filters and filtered counts.

    Its first conditions are those of the partial index of open cases, so a door's queue reads only that index.
    """
    fresh = Q(outcome=Outcome.PENDING, resolved_at__isnull=True, created_at__gt=now - pending_limit())
    return fresh & ~pending_admitted_since()


def pending_open(scans: QuerySet[ScanEvent], *, now: datetime.datetime) -> QuerySet[ScanEvent]:
    """The scans of `scans` still waiting for an officer at `now`, whether or not the sweep has run."""
    return scans.filter(pending_open_q(now=now))


def pending_case_state(*, scan_id: int, now: datetime.datetime, lock: bool = False) -> CaseState | None:
    """What a scan's case is at `now`; None when there is no such scan or it was never pending.

    With `lock` (inside a transaction) the row is locked first: an officer's answer and the sweep then wait for each
    other, and whoever comes second finds the case closed.
    """
    scans = ScanEvent.objects.filter(pk=scan_id)
    if lock:
        scans = scans.select_for_update()
    row = (
        scans.annotate(admitted_since=pending_admitted_since())
        .values("outcome", "resolution", "created_at", "admitted_since")
        .first()
    )
    if row is None or row["outcome"] != Outcome.PENDING:
        return None
    return pending_state(
        resolution=row["resolution"], created_at=row["created_at"], admitted_since=row["admitted_since"], now=now
    )


def pending_expire(*, now: datetime.datetime) -> PendingExpireResult:
    """Close every pending case that no longer waits as expired, with one audit entry each ("scan.expired" or
    "scan.superseded"), then wake the door screens of the entrances concerned.

    The door queue already leaves these out when it reads; closing them keeps the record true (reports, the
    visitor's page) and the open-case index small. Each case closes in its own short transaction through a
    conditional update, so an officer answering at the same moment either wins or finds it closed, and a second
    run closes nothing twice.
    """
    cutoff = now - pending_limit()
    candidates = list(
        ScanEvent.objects.filter(outcome=Outcome.PENDING, resolved_at__isnull=True, created_at__lte=now)
        .annotate(admitted_since=pending_admitted_since())
        .filter(Q(created_at__lte=cutoff) | Q(admitted_since=True))
        .order_by("id")
        .values("id", "entrance_id", "entrance__name", "office_id", "reason", "created_at", "admitted_since")
    )
    closed: dict[CaseState, int] = {CaseState.EXPIRED: 0, CaseState.SUPERSEDED: 0}
    woken: dict[int, int] = {}
    for case in candidates:
        state = CaseState.SUPERSEDED if case["admitted_since"] else CaseState.EXPIRED
        with transaction.atomic():
            done = ScanEvent.objects.filter(pk=case["id"], outcome=Outcome.PENDING, resolved_at__isnull=True).update(
                resolved_at=now, resolution=Resolution.EXPIRED
            )
            if done:
                audit_record(
                    actor=None,
                    action=f"scan.{state}",
                    obj=ScanEvent(pk=case["id"]),
                    office=Office(pk=case["office_id"]),
                    detail={
                        "entrance": case["entrance__name"],
                        "pending_reason": case["reason"],
                        "waited_minutes": int((now - case["created_at"]).total_seconds() // 60),
                    },
                )
        if done:
            closed[state] += 1
            woken[case["entrance_id"]] = case["id"]
    for entrance_id, event_id in woken.items():
        # No new scan, but every open screen of that door must drop the case now (as an acknowledged alert does).
        transaction.on_commit(functools.partial(scan_event_announce, event_id=event_id, entrance_id=entrance_id))
    if woken:
        logger.info(
            "pending cases closed: %d expired, %d superseded",
            closed[CaseState.EXPIRED],
            closed[CaseState.SUPERSEDED],
        )
    return PendingExpireResult(expired=closed[CaseState.EXPIRED], superseded=closed[CaseState.SUPERSEDED])
