"""The door officer's actions: answer a pending scan, acknowledge an alert, check people in and out, close the day.

Every action is recorded twice on purpose: as a ScanEvent when it changes who is inside (so the door screens,
reports and audits keep reading one table) and as an audit entry naming the officer. Neither ever holds a NIK.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from denpasar_checkin.ratelimit import ratelimit_hit
from denpasar_checkin.text import text_check
from offices.access import user_may_work_door
from offices.models import Entrance, Office
from offices.services import audit_record
from screening.vocabulary import Outcome, ScanAction
from visitors.events import scan_event_announce
from visitors.models import Resolution, ScanEvent, Visit
from visitors.pending import CaseState, pending_case_state
from visitors.services import (
    CaseClosed,
    CheckinError,
    CheckinResult,
    CheckoutResult,
    NotInside,
    arrival_for_approval,
    checkin_result_from_event,
    visit_admit,
    visit_checkin,
    visit_checkout,
)

NOTE_MAX_LENGTH = 500
MANUAL_NOTE = "manual"
# Long digit runs in a typed note are most likely a NIK or a phone number: they never reach a log or the audit.
_DIGIT_RUN = re.compile(r"\d{8,}")


class DoorActionError(CheckinError):
    """An officer action that cannot be done; `code` is stable, `status` is the HTTP answer."""


class DoorForbidden(DoorActionError):
    status = 403


class CaseNotFound(DoorActionError):
    status = 404


@dataclass(frozen=True, slots=True)
class DayCloseResult:
    visits_closed: int
    people_out: int


def note_clean(value: Any, *, required: bool = False, field_name: str = "note") -> str:
    # Line breaks and tabs collapse to spaces; any other control character is refused (PostgreSQL refuses NUL).
    text_check(value, field_name=field_name, allow_whitespace=True)
    text = " ".join(str(value or "").split())[:NOTE_MAX_LENGTH]
    text = _DIGIT_RUN.sub(lambda match: "*" * len(match.group()), text)
    if required and not text:
        raise ValidationError({field_name: _("Give a reason.")}, code="required")
    return text


def _announce_on_commit(*, event_id: int, entrance_id: int) -> None:
    transaction.on_commit(lambda: scan_event_announce(event_id=event_id, entrance_id=entrance_id))


def _event_for_officer(*, scan_event_id: int, officer: AbstractBaseUser) -> ScanEvent:
    event = ScanEvent.objects.select_related("entrance", "office").filter(pk=scan_event_id).first()
    if event is None:
        raise CaseNotFound("case_unknown", _("This scan no longer exists."))
    if not user_may_work_door(officer, office_id=event.office_id):
        raise DoorForbidden("forbidden", _("You do not work at this office."))
    return event


def _case_open_lock(*, event: ScanEvent, now: datetime.datetime) -> None:
    """Lock the pending case and make sure it still waits (visitors.pending): a case past PENDING_EXPIRE_MINUTES, or
    settled by the person's admission since, is closed for every officer even before the sweep has marked it."""
    state = pending_case_state(scan_id=event.pk, now=now, lock=True)
    if state in (CaseState.EXPIRED, CaseState.SUPERSEDED):
        raise CaseClosed(
            "case_expired",
            _(
                "This case has expired: nobody answered it in time, or the person has checked in since. If they are "
                "still here, ask them to scan again."
            ),
        )
    if state != CaseState.OPEN:
        raise CaseClosed("case_closed", _("Another officer has already answered this case."))


def scan_approve(*, scan_event_id: int, officer: AbstractBaseUser, note: str = "") -> CheckinResult:
    """Let a pending person in, with the children they came with, through the one admission.

    A full office refuses the approval (capacity_full, recorded as its own scan) and the case stays in the queue,
    so the officer can approve again once someone has left instead of typing the person in by hand. An expired
    case refuses (case_expired): the person has most likely gone, or was let in elsewhere.
    """
    note = note_clean(note)
    event = _event_for_officer(scan_event_id=scan_event_id, officer=officer)
    if event.outcome != Outcome.PENDING:
        raise CaseClosed("not_pending", _("Only a pending scan can be approved."))
    with transaction.atomic():
        now = timezone.now()
        # The case stays locked through the admission, so the expiry sweep cannot close it half-way.
        _case_open_lock(event=event, now=now)
        arrival = arrival_for_approval(scan=event, officer=officer, note=note)
        result = visit_admit(entrance_code=event.entrance.code, arrival=arrival, now=now)
        audit_record(
            actor=officer,
            action="scan.approved" if result.admitted else "scan.approval_refused",
            obj=event,
            office=event.office,
            detail={
                "entrance": event.entrance.name,
                "pending_reason": event.reason,
                "outcome": result.outcome,
                "reason": result.reason,
                "scan_event": result.scan_event_id,
                "note": note,
            },
        )
    return result


def scan_deny(*, scan_event_id: int, officer: AbstractBaseUser, reason_note: str) -> CheckinResult:
    """Turn a pending person away; the scan keeps its health reason, the officer's words go to the note."""
    now = timezone.now()
    note = note_clean(reason_note, required=True, field_name="reason_note")
    event = _event_for_officer(scan_event_id=scan_event_id, officer=officer)
    if event.outcome != Outcome.PENDING:
        raise CaseClosed("not_pending", _("Only a pending scan can be denied."))
    with transaction.atomic():
        _case_open_lock(event=event, now=now)
        answer = ScanEvent.objects.create(
            entrance_id=event.entrance_id,
            office_id=event.office_id,
            person_id=event.person_id,
            action=ScanAction.CHECKIN,
            outcome=Outcome.DENIED,
            reason=event.reason,
            colour=event.colour,
            kind=event.kind,
            officer=officer,
            note=note,
            created_at=now,
        )
        ScanEvent.objects.filter(pk=event.pk).update(
            resolved_at=now, resolved_by=officer, resolution=Resolution.DENIED, resolution_note=note
        )
        audit_record(
            actor=officer,
            action="scan.denied",
            obj=event,
            office=event.office,
            detail={
                "entrance": event.entrance.name,
                "pending_reason": event.reason,
                "scan_event": answer.pk,
                "note": note,
            },
        )
        _announce_on_commit(event_id=answer.pk, entrance_id=event.entrance_id)
    answer = ScanEvent.objects.select_related("office__occupancy", "entrance").get(pk=answer.pk)
    return checkin_result_from_event(answer, person_name=event.person.name if event.person else "")


def alert_acknowledge(*, scan_event_id: int, officer: AbstractBaseUser) -> bool:
    """Take down a black-status banner; True when this call acknowledged it, False when someone already had."""
    now = timezone.now()
    event = _event_for_officer(scan_event_id=scan_event_id, officer=officer)
    if not event.alert:
        raise CaseClosed("not_an_alert", _("This scan raised no alert."))
    with transaction.atomic():
        acknowledged = ScanEvent.objects.filter(pk=event.pk, alert_acknowledged_at__isnull=True).update(
            alert_acknowledged_at=now, alert_acknowledged_by=officer
        )
        if acknowledged:
            audit_record(
                actor=officer,
                action="alert.acknowledged",
                obj=event,
                office=event.office,
                detail={"entrance": event.entrance.name, "reason": event.reason},
            )
            # No new scan, but every open screen of this door must drop the banner now.
            _announce_on_commit(event_id=event.pk, entrance_id=event.entrance_id)
    return bool(acknowledged)


def _entrance_for_officer(*, entrance_id: int, officer: AbstractBaseUser) -> Entrance:
    entrance = Entrance.objects.select_related("office").filter(pk=entrance_id).first()
    if entrance is None:
        raise CaseNotFound("entrance_unknown", _("No such entrance."))
    if not user_may_work_door(officer, office_id=entrance.office_id):
        raise DoorForbidden("forbidden", _("You do not work at this office."))
    return entrance


def visit_officer_checkin(
    *, entrance_id: int, officer: AbstractBaseUser, nik: Any, name: Any, dependants: Any = None
) -> CheckinResult:
    """A person without a phone, typed in by the officer: the same check-in service, the same rules.

    Rate-limited per officer, because a logged-in officer sees true health results and a stolen session must not
    become a NIK oracle.
    """
    entrance = _entrance_for_officer(entrance_id=entrance_id, officer=officer)
    ratelimit_hit(scope="officer", key=str(officer.pk), rate=settings.RATE_LIMIT_OFFICER)
    result = visit_checkin(
        entrance_code=entrance.code,
        nik=nik,
        name=name,
        dependants=dependants,
        officer=officer,
        note=MANUAL_NOTE,
    )
    if result.scan_event_id is not None:
        audit_record(
            actor=officer,
            action="scan.manual_checkin",
            obj=ScanEvent(pk=result.scan_event_id),
            office=entrance.office,
            detail={"entrance": entrance.name, "outcome": result.outcome, "reason": result.reason},
        )
    return result


def visit_officer_checkout(*, entrance_id: int, visit_id: int, officer: AbstractBaseUser) -> CheckoutResult:
    """Check someone out by hand (found by name among the people inside); their children leave with them."""
    entrance = _entrance_for_officer(entrance_id=entrance_id, officer=officer)
    with transaction.atomic():
        result = visit_checkout(entrance_code=entrance.code, visit_id=visit_id, officer=officer)
        audit_record(
            actor=officer,
            action="visit.checked_out_by_officer",
            obj=Visit(pk=result.visit_id),
            office=entrance.office,
            detail={"entrance": entrance.name, "people_out": result.people_out, "scan_event": result.scan_event_id},
        )
    return result


def office_day_close(*, office_id: int, officer: AbstractBaseUser, entrance_id: int | None = None) -> DayCloseResult:
    """Check out everyone still inside, closed by this officer, at their door (or the office's first entrance).

    Each visit is closed in its own short transaction so check-ins at the other doors never wait behind a long
    lock; a second run closes whatever a first one left, and someone leaving meanwhile is simply skipped.
    """
    office = Office.objects.filter(pk=office_id).first()
    if office is None:
        raise CaseNotFound("office_unknown", _("No such office."))
    if not user_may_work_door(officer, office_id=office.pk):
        raise DoorForbidden("forbidden", _("You do not work at this office."))
    entrances = Entrance.objects.filter(office_id=office.pk).order_by("-active", "pk")
    if entrance_id is not None:
        entrances = entrances.filter(pk=entrance_id)
    entrance = entrances.first()
    if entrance is None:
        raise CaseNotFound("entrance_unknown", _("This office has no entrance."))
    visit_ids = list(
        Visit.objects.filter(office_id=office.pk, checked_out_at__isnull=True, guardian_visit__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    closed = people_out = 0
    for visit_id in visit_ids:
        try:
            result = visit_checkout(entrance_code=entrance.code, visit_id=visit_id, officer=officer)
        except NotInside:
            continue
        closed += 1
        people_out += result.people_out
    audit_record(
        actor=officer,
        action="office.day_closed",
        obj=office,
        office=office,
        detail={"entrance": entrance.name, "visits_closed": closed, "people_out": people_out},
    )
    return DayCloseResult(visits_closed=closed, people_out=people_out)
