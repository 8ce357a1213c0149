"""The pure admit/deny decision: health snapshot, person kind, policy and the day in, a Decision out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .vocabulary import HEALTH_REASONS, CaseStatus, Colour, Outcome, PersonKind, PublicOutcome, Reason


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    found: bool  # in the registry and the name matches; anything else is indistinguishable from "not found"
    doses: int = 0
    last_dose_on: date | None = None
    case_status: CaseStatus = CaseStatus.NONE
    case_reported_on: date | None = None
    isolated_until: date | None = None
    exemption_until: date | None = None
    # The registry holds this NIK, whether or not the name matched: the name on record is then the registry's.
    # Only identity checks read it; the decision never does.
    registered: bool = False

    @classmethod
    def unknown(cls, *, registered: bool = False) -> HealthSnapshot:
        return cls(found=False, registered=registered)


@dataclass(frozen=True, slots=True)
class Policy:
    min_doses_for_green: int = 2  # 3 when a booster is required
    unknown_status_denies: bool = False
    isolation_days: int = 10
    deny_staff_when_full: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    reason: Reason
    colour: Colour
    alert: bool = False

    @property
    def admitted(self) -> bool:
        return self.outcome == Outcome.ADMITTED

    @property
    def is_health_based(self) -> bool:
        return self.reason in HEALTH_REASONS

    def public(self) -> tuple[PublicOutcome, Reason]:
        """What an anonymous caller may see: health results collapse into one answer so a NIK leaks nothing."""
        if self.admitted:
            return PublicOutcome.ADMITTED, Reason.OK
        # A pending decision always needs the officer, so it is hidden the same way even without a health reason.
        if self.is_health_based or self.outcome == Outcome.PENDING:
            return PublicOutcome.SEE_OFFICER, Reason.SEE_OFFICER
        return PublicOutcome.DENIED, self.reason


def _isolation_end(snapshot: HealthSnapshot, *, policy: Policy) -> date | None:
    if snapshot.isolated_until is not None:
        return snapshot.isolated_until
    if snapshot.case_reported_on is not None:
        return snapshot.case_reported_on + timedelta(days=policy.isolation_days)
    return None


def health_colour(snapshot: HealthSnapshot, *, policy: Policy, today: date) -> Colour:
    if not snapshot.found:
        return Colour.UNKNOWN
    if snapshot.case_status in (CaseStatus.POSITIVE, CaseStatus.CLOSE_CONTACT):
        end = _isolation_end(snapshot, policy=policy)
        # A case with no dates at all is treated as still isolating: admitting a positive case is the costly error.
        if end is None or today <= end:
            return Colour.BLACK
    if snapshot.doses >= policy.min_doses_for_green:
        return Colour.GREEN
    if snapshot.doses >= 1:
        return Colour.YELLOW
    return Colour.RED


def screening_decide(
    *,
    snapshot: HealthSnapshot,
    kind: PersonKind,
    policy: Policy,
    today: date,
) -> Decision:
    """Screen one person; staff and visitors alike (capacity is a separate step: the gate in services)."""
    colour = health_colour(snapshot, policy=policy, today=today)
    match colour:
        case Colour.BLACK:
            return Decision(Outcome.DENIED, Reason.ISOLATION, colour, alert=True)
        case Colour.RED:
            exempt = snapshot.exemption_until is not None and snapshot.exemption_until >= today
            return Decision(Outcome.PENDING if exempt else Outcome.DENIED, Reason.NOT_VACCINATED, colour)
        case Colour.YELLOW:
            return Decision(Outcome.PENDING, Reason.PARTIALLY_VACCINATED, colour)
        case Colour.UNKNOWN:
            outcome = Outcome.DENIED if policy.unknown_status_denies else Outcome.PENDING
            return Decision(outcome, Reason.STATUS_UNKNOWN, colour)
        case _:
            return Decision(Outcome.ADMITTED, Reason.OK, colour)
