"""The visitor's result page: a signed, short-lived reference to their scan, and what that scan shows now."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core import signing
from django.utils import timezone

from offices.models import Entrance
from screening.decision import Decision
from screening.vocabulary import Colour, Outcome, PublicOutcome, Reason, ScanAction

from .models import Resolution, ScanEvent, Visit
from .pending import CaseState, pending_admitted_since, pending_state

# Long enough to show the officer at the door, to reload on a bad connection, or to wait in a queue for a referral;
# short enough that a shared phone's history soon stops telling where its last visitor went.
RESULT_MAX_AGE = datetime.timedelta(hours=2)
RESULT_TOKEN_MAX_LENGTH = 128
_SALT = "dc-result"

# The public outcome of a referral the officer turned away: the same words whatever the health reason was.
NOT_ADMITTED = "not_admitted"
# A referral nobody answered in time (or settled by an admission since): scan again. Shown as outcome "denied".
PENDING_EXPIRED = "pending_expired"


@dataclass(frozen=True, slots=True)
class PublicResult:
    """What a result page shows: the public outcome only, never the colour or the health reason."""

    outcome: str
    reason: str
    entrance: Entrance
    at: datetime.datetime
    children: int = 0
    waiting: bool = False  # a referral the officer has not answered: the page follows the officer's decision

    @property
    def can_check_out(self) -> bool:
        return self.outcome == "admitted" and self.reason in (Reason.OK, Reason.ALREADY_INSIDE)


class ResultExpired(Exception):
    pass


class ResultUnknown(Exception):
    pass


def result_token_make(*, scan_event_id: int | None = None, visit_id: int | None = None) -> str:
    """A token naming the scan (or, for a double tap that wrote no scan, the visit) behind a page's result."""
    if scan_event_id is not None:
        value = f"s{scan_event_id}"
    elif visit_id is not None:
        value = f"v{visit_id}"
    else:
        raise ValueError("a result token needs a scan event or a visit")
    return signing.TimestampSigner(salt=_SALT).sign(value)


def result_for_token(*, token: str) -> PublicResult:
    """The result as it stands now; raises ResultUnknown for a token we did not make, ResultExpired for an old one."""
    if not token or len(token) > RESULT_TOKEN_MAX_LENGTH:
        raise ResultUnknown
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(token, max_age=RESULT_MAX_AGE)
    except signing.SignatureExpired as error:
        raise ResultExpired from error
    except signing.BadSignature as error:
        raise ResultUnknown from error
    kind, raw_id = value[:1], value[1:]
    if not raw_id.isdigit():
        raise ResultUnknown
    if kind == "s":
        event = (
            ScanEvent.objects.select_related("entrance__office")
            .annotate(admitted_since=pending_admitted_since())
            .filter(pk=int(raw_id))
            .first()
        )
        if event is not None:
            return _scan_result(event, now=timezone.now())
    if kind == "v":
        visit = Visit.objects.select_related("entrance_in__office").filter(pk=int(raw_id)).first()
        if visit is not None:
            return PublicResult(
                outcome="admitted", reason=Reason.OK, entrance=visit.entrance_in, at=visit.checked_in_at
            )
    # Signed by us but gone: deleted under the retention rule, or the database was reset.
    raise ResultExpired


def _scan_result(event: ScanEvent, *, now: datetime.datetime) -> PublicResult:
    if event.action == ScanAction.CHECKOUT:
        return PublicResult(
            outcome="admitted",
            reason=Reason.CHECKED_OUT,
            entrance=event.entrance,
            at=event.created_at,
            children=event.dependants,
        )
    if event.outcome == Outcome.PENDING:
        if event.resolution == Resolution.APPROVED:
            return PublicResult(
                outcome="admitted",
                reason=Reason.OK,
                entrance=event.entrance,
                at=event.resolved_at,
                children=event.dependants,
            )
        if event.resolution == Resolution.DENIED:
            return PublicResult(outcome="denied", reason=NOT_ADMITTED, entrance=event.entrance, at=event.resolved_at)
    decision = Decision(Outcome(event.outcome), Reason(event.reason), Colour(event.colour or Colour.UNKNOWN))
    outcome, reason = decision.public()
    if outcome == PublicOutcome.SEE_OFFICER and _referral_closed(event, now=now):
        # Every unanswered referral expires by the same rule, red and black ones too (the officer cannot answer
        # those): a page that went on waiting only for them would tell, after the limit, which colour it was.
        return PublicResult(outcome="denied", reason=PENDING_EXPIRED, entrance=event.entrance, at=event.created_at)
    if event.reason == Reason.ALREADY_INSIDE:
        reason = Reason.ALREADY_INSIDE
    return PublicResult(
        outcome=str(outcome),
        reason=str(reason),
        entrance=event.entrance,
        at=event.created_at,
        children=event.dependants if decision.admitted else 0,
        # Every referral page follows, not only a pending one: a page that did not would tell red or black apart.
        waiting=outcome == PublicOutcome.SEE_OFFICER,
    )


def _referral_closed(event: ScanEvent, *, now: datetime.datetime) -> bool:
    state = pending_state(
        resolution=event.resolution, created_at=event.created_at, admitted_since=event.admitted_since, now=now
    )
    return state in (CaseState.EXPIRED, CaseState.SUPERSEDED)
