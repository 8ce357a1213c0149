"""The pure screening decision: one row per rule of DESIGN.md's colour table, no database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from screening.decision import Decision, HealthSnapshot, Policy, health_colour, screening_decide
from screening.vocabulary import CaseStatus, Colour, Outcome, PersonKind, PublicOutcome, Reason

TODAY = date(2021, 9, 15)
DEFAULT = Policy()


def decide(
    snapshot: HealthSnapshot,
    *,
    kind: PersonKind = PersonKind.VISITOR,
    policy: Policy = DEFAULT,
    today: date = TODAY,
) -> Decision:
    return screening_decide(snapshot=snapshot, kind=kind, policy=policy, today=today)


def vaccinated(doses: int, **kwargs) -> HealthSnapshot:
    return HealthSnapshot(found=True, doses=doses, **kwargs)


@pytest.mark.parametrize(
    ("snapshot", "colour", "outcome", "reason", "alert"),
    [
        pytest.param(vaccinated(2), Colour.GREEN, Outcome.ADMITTED, Reason.OK, False, id="green-admit"),
        pytest.param(
            vaccinated(1), Colour.YELLOW, Outcome.PENDING, Reason.PARTIALLY_VACCINATED, False, id="yellow-pending"
        ),
        pytest.param(vaccinated(0), Colour.RED, Outcome.DENIED, Reason.NOT_VACCINATED, False, id="red-deny"),
        pytest.param(
            vaccinated(2, case_status=CaseStatus.POSITIVE, isolated_until=TODAY + timedelta(days=3)),
            Colour.BLACK,
            Outcome.DENIED,
            Reason.ISOLATION,
            True,
            id="black-positive-deny-alert",
        ),
        pytest.param(
            vaccinated(2, case_status=CaseStatus.CLOSE_CONTACT, isolated_until=TODAY + timedelta(days=3)),
            Colour.BLACK,
            Outcome.DENIED,
            Reason.ISOLATION,
            True,
            id="black-close-contact-deny-alert",
        ),
        pytest.param(
            HealthSnapshot.unknown(),
            Colour.UNKNOWN,
            Outcome.PENDING,
            Reason.STATUS_UNKNOWN,
            False,
            id="unknown-pending",
        ),
    ],
)
def test_colour_table(snapshot, colour, outcome, reason, alert):
    decision = decide(snapshot)
    assert health_colour(snapshot, policy=DEFAULT, today=TODAY) == colour
    assert (decision.colour, decision.outcome, decision.reason, decision.alert) == (colour, outcome, reason, alert)


@pytest.mark.parametrize("kind", list(PersonKind), ids=str)
def test_staff_and_visitors_are_screened_alike(kind):
    assert decide(vaccinated(1), kind=kind).outcome == Outcome.PENDING
    assert decide(vaccinated(0), kind=kind).outcome == Outcome.DENIED
    assert decide(vaccinated(2), kind=kind).outcome == Outcome.ADMITTED


@pytest.mark.parametrize(
    ("doses", "after_isolation"),
    [pytest.param(2, Colour.GREEN, id="to-green"), pytest.param(0, Colour.RED, id="to-red")],
)
def test_isolation_is_black_through_its_end_date_then_falls_back(doses, after_isolation):
    snapshot = vaccinated(doses, case_status=CaseStatus.POSITIVE, isolated_until=TODAY)
    assert health_colour(snapshot, policy=DEFAULT, today=TODAY) == Colour.BLACK
    assert health_colour(snapshot, policy=DEFAULT, today=TODAY + timedelta(days=1)) == after_isolation


def test_isolation_end_defaults_to_case_reported_on_plus_isolation_days():
    snapshot = vaccinated(2, case_status=CaseStatus.POSITIVE, case_reported_on=TODAY)
    policy = Policy(isolation_days=10)
    assert health_colour(snapshot, policy=policy, today=TODAY + timedelta(days=10)) == Colour.BLACK
    assert health_colour(snapshot, policy=policy, today=TODAY + timedelta(days=11)) == Colour.GREEN
    assert health_colour(snapshot, policy=Policy(isolation_days=5), today=TODAY + timedelta(days=6)) == Colour.GREEN


def test_isolated_until_wins_over_case_reported_on():
    snapshot = vaccinated(
        2, case_status=CaseStatus.POSITIVE, case_reported_on=TODAY, isolated_until=TODAY + timedelta(days=2)
    )
    assert health_colour(snapshot, policy=DEFAULT, today=TODAY + timedelta(days=3)) == Colour.GREEN


def test_case_without_any_date_stays_black():
    snapshot = vaccinated(3, case_status=CaseStatus.POSITIVE)
    assert health_colour(snapshot, policy=DEFAULT, today=TODAY + timedelta(days=365)) == Colour.BLACK


@pytest.mark.parametrize(
    ("exemption_until", "outcome"),
    [
        pytest.param(TODAY + timedelta(days=30), Outcome.PENDING, id="valid"),
        pytest.param(TODAY, Outcome.PENDING, id="last-day-valid"),
        pytest.param(TODAY - timedelta(days=1), Outcome.DENIED, id="expired"),
    ],
)
def test_medical_exemption_turns_red_into_pending_until_it_expires(exemption_until, outcome):
    decision = decide(vaccinated(0, exemption_until=exemption_until))
    assert (decision.colour, decision.outcome, decision.reason) == (Colour.RED, outcome, Reason.NOT_VACCINATED)


def test_booster_policy_makes_two_doses_yellow_pending():
    booster = Policy(min_doses_for_green=3)
    two = decide(vaccinated(2), policy=booster)
    assert (two.colour, two.outcome, two.reason) == (Colour.YELLOW, Outcome.PENDING, Reason.PARTIALLY_VACCINATED)
    assert decide(vaccinated(3), policy=booster).outcome == Outcome.ADMITTED


def test_unknown_status_denied_when_policy_says_so():
    decision = decide(HealthSnapshot.unknown(), policy=Policy(unknown_status_denies=True))
    assert (decision.outcome, decision.reason) == (Outcome.DENIED, Reason.STATUS_UNKNOWN)


def test_alert_only_for_black():
    black = vaccinated(2, case_status=CaseStatus.POSITIVE, case_reported_on=TODAY)
    others = [
        vaccinated(2),
        vaccinated(1),
        vaccinated(0),
        vaccinated(0, exemption_until=TODAY),
        HealthSnapshot.unknown(),
    ]
    assert decide(black).alert is True
    assert [decide(s).alert for s in others] == [False] * len(others)


def test_public_view_cannot_tell_health_results_apart():
    black = vaccinated(2, case_status=CaseStatus.POSITIVE, case_reported_on=TODAY)
    snapshots = [vaccinated(1), vaccinated(0), vaccinated(0, exemption_until=TODAY), black, HealthSnapshot.unknown()]
    deny_unknown = decide(HealthSnapshot.unknown(), policy=Policy(unknown_status_denies=True))
    answers = {decide(s).public() for s in snapshots} | {deny_unknown.public()}
    assert answers == {(PublicOutcome.SEE_OFFICER, Reason.SEE_OFFICER)}
    assert all(decide(s).is_health_based for s in snapshots)


def test_public_view_of_non_health_results():
    assert decide(vaccinated(2)).public() == (PublicOutcome.ADMITTED, Reason.OK)
    for reason in (Reason.CAPACITY_FULL, Reason.ENTRANCE_CLOSED, Reason.ALREADY_INSIDE, Reason.CHECKED_OUT):
        decision = Decision(Outcome.DENIED, reason, Colour.GREEN)
        assert not decision.is_health_based
        assert decision.public() == (PublicOutcome.DENIED, reason)
