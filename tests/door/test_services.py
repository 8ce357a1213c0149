"""The door officer's services and the door selectors: approve/deny pending cases through the gate, alerts,
manual check-in and check-out, closing the day, and what the screen reads."""

from __future__ import annotations

import datetime
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connections
from django.utils import timezone

from denpasar_checkin.nik import nik_hash
from denpasar_checkin.ratelimit import RateLimited
from door import services as officer_module
from door.selectors import (
    door_alerts_open,
    door_occupancy,
    door_pending,
)
from door.services import (
    CaseClosed,
    DoorForbidden,
    alert_acknowledge,
    note_clean,
    office_day_close,
    scan_approve,
    scan_deny,
    visit_officer_checkin,
    visit_officer_checkout,
)
from offices.models import AuditEvent, OfficeOccupancy
from screening.models import HealthStatus, RestrictionLevel
from screening.services import health_status_cache_invalidate
from tests.factories import (
    EntranceFactory,
    HealthStatusFactory,
    OfficeFactory,
    StaffFactory,
    UserFactory,
    nik_make,
)
from visitors import services as services_module
from visitors.models import ScanEvent, Visit
from visitors.pending import pending_expire
from visitors.services import visit_checkin

pytestmark = pytest.mark.django_db


@pytest.fixture
def entrance():
    return EntranceFactory(office__capacity=10, name="Pintu Utama")


@pytest.fixture
def officer(entrance):
    return UserFactory(roles=["Petugas"], offices=[entrance.office])


@pytest.fixture
def announced(monkeypatch):
    """The door wake-ups sent after commit, as (event id, entrance id)."""
    calls = []

    def announce(*, event_id, entrance_id):
        calls.append((event_id, entrance_id))

    monkeypatch.setattr(officer_module, "scan_event_announce", announce)
    monkeypatch.setattr(services_module, "scan_event_announce", announce)
    return calls


def green(entrance, n: int, name: str = "Made Hijau"):
    HealthStatusFactory(nik=nik_make(n), name=name, doses=2)
    return visit_checkin(entrance_code=entrance.code, nik=nik_make(n), name=name)


def pending(entrance, n: int = 1, name: str = "Komang Ayu") -> ScanEvent:
    HealthStatusFactory(nik=nik_make(n), name=name, doses=1)
    result = visit_checkin(entrance_code=entrance.code, nik=nik_make(n), name=name)
    assert (result.outcome, result.reason) == ("pending", "partially_vaccinated")
    return ScanEvent.objects.get(pk=result.scan_event_id)


def black(entrance, n: int = 9, name: str = "Wayan Hitam") -> ScanEvent:
    HealthStatusFactory(nik=nik_make(n), name=name, case_status="positive", isolated_until=datetime.date(2099, 1, 1))
    result = visit_checkin(entrance_code=entrance.code, nik=nik_make(n), name=name)
    assert result.alert
    return ScanEvent.objects.get(pk=result.scan_event_id)


def inside(office) -> int:
    occupancy = OfficeOccupancy.objects.get(office=office)
    return occupancy.staff_inside + occupancy.visitors_inside


def audit_text(action: str) -> str:
    entry = AuditEvent.objects.get(action=action)
    return json.dumps(entry.detail)


# --- approve ------------------------------------------------------------------------------------------------------


def test_approve_admits_through_the_gate_and_closes_the_case(
    entrance, officer, announced, django_capture_on_commit_callbacks
):
    case = pending(entrance)

    with django_capture_on_commit_callbacks(execute=True):
        answer = scan_approve(scan_event_id=case.pk, officer=officer, note="checked the card")

    assert (answer.outcome, answer.reason, answer.scan_event_id is not None) == ("admitted", "ok", True)
    visit = Visit.objects.get()
    assert visit.pk == answer.visit_id and visit.person_id == case.person_id and visit.entrance_in_id == entrance.pk
    new = ScanEvent.objects.get(pk=answer.scan_event_id)
    assert (new.outcome, new.reason, new.officer, new.colour, new.visit_id) == (
        "admitted",
        "ok",
        officer,
        "yellow",
        visit.pk,
    )
    case.refresh_from_db()
    assert (case.resolution, case.resolved_by, case.resolution_note) == ("approved", officer, "checked the card")
    assert case.resolved_at is not None
    assert inside(entrance.office) == 1
    entry = AuditEvent.objects.get(action="scan.approved")
    assert (entry.actor, entry.object_id, entry.office) == (officer, str(case.pk), entrance.office)
    assert nik_make(1) not in audit_text("scan.approved")
    assert announced == [(new.pk, entrance.pk)]


def test_approve_at_full_capacity_is_refused_and_the_case_stays_open(officer, entrance):
    entrance.office.capacity = 1
    entrance.office.save()
    assert green(entrance, 2).outcome == "admitted"
    case = pending(entrance)

    answer = scan_approve(scan_event_id=case.pk, officer=officer)

    assert (answer.outcome, answer.reason, answer.visit_id) == ("denied", "capacity_full", None)
    refused = ScanEvent.objects.get(pk=answer.scan_event_id)
    assert (refused.outcome, refused.reason, refused.officer) == ("denied", "capacity_full", officer)
    assert Visit.objects.count() == 1 and inside(entrance.office) == 1
    case.refresh_from_db()
    assert case.resolved_at is None and case.resolution == ""
    assert [c["id"] for c in door_pending(entrance_id=entrance.pk)] == [case.pk]
    assert AuditEvent.objects.filter(action="scan.approval_refused").count() == 1


def test_approve_uses_the_effective_capacity_of_the_restriction_level(officer, entrance):
    RestrictionLevel.objects.create(
        level=4, name="PPKM 4", effective_from=datetime.date(2021, 7, 1), pct_non_esensial=10, pct_esensial=50
    )
    assert green(entrance, 2).outcome == "admitted"  # 10 x 10 % = 1 place, now taken
    case = pending(entrance)
    assert scan_approve(scan_event_id=case.pk, officer=officer).reason == "capacity_full"


def test_staff_approval_passes_a_full_office(officer, entrance):
    entrance.office.capacity = 1
    entrance.office.save()
    green(entrance, 2)
    StaffFactory(office=entrance.office, nik=nik_make(3), name="Staf Kuning")
    case = pending(entrance, 3, name="Staf Kuning")
    assert case.kind == "staff"

    answer = scan_approve(scan_event_id=case.pk, officer=officer)

    assert (answer.outcome, answer.reason) == ("admitted", "ok")
    assert door_occupancy(office_id=entrance.office_id).state == "over"


def test_a_case_is_answered_once(officer, entrance):
    case = pending(entrance)
    scan_approve(scan_event_id=case.pk, officer=officer)
    with pytest.raises(CaseClosed):
        scan_approve(scan_event_id=case.pk, officer=officer)
    with pytest.raises(CaseClosed):
        scan_deny(scan_event_id=case.pk, officer=officer, reason_note="late")
    assert Visit.objects.count() == 1


def test_only_pending_scans_can_be_approved(officer, entrance):
    result = green(entrance, 2)
    with pytest.raises(CaseClosed):
        scan_approve(scan_event_id=result.scan_event_id, officer=officer)


def test_officer_of_another_office_cannot_answer(entrance):
    stranger = UserFactory(roles=["Petugas"], offices=[OfficeFactory()])
    case = pending(entrance)
    with pytest.raises(DoorForbidden):
        scan_approve(scan_event_id=case.pk, officer=stranger)
    with pytest.raises(DoorForbidden):
        scan_deny(scan_event_id=case.pk, officer=stranger, reason_note="no")
    assert not Visit.objects.exists()


# --- deny ---------------------------------------------------------------------------------------------------------


def test_deny_records_the_health_reason_and_the_officers_words(
    officer, entrance, announced, django_capture_on_commit_callbacks
):
    case = pending(entrance)

    with django_capture_on_commit_callbacks(execute=True):
        answer = scan_deny(scan_event_id=case.pk, officer=officer, reason_note="No proof of vaccination")

    new = ScanEvent.objects.get(pk=answer.scan_event_id)
    assert (new.outcome, new.reason, new.officer, new.note) == (
        "denied",
        "partially_vaccinated",
        officer,
        "No proof of vaccination",
    )
    case.refresh_from_db()
    assert (case.resolution, case.resolution_note) == ("denied", "No proof of vaccination")
    assert not Visit.objects.exists()
    assert AuditEvent.objects.get(action="scan.denied").actor == officer
    assert announced == [(new.pk, entrance.pk)]


def test_deny_needs_a_reason(officer, entrance):
    case = pending(entrance)
    with pytest.raises(ValidationError) as error:
        scan_deny(scan_event_id=case.pk, officer=officer, reason_note="   ")
    assert "reason_note" in error.value.message_dict
    case.refresh_from_db()
    assert case.resolved_at is None


def test_a_nik_typed_into_a_note_never_reaches_the_audit(officer, entrance):
    case = pending(entrance)
    scan_deny(scan_event_id=case.pk, officer=officer, reason_note=f"KTP shows {nik_make(1)}, not hers")
    assert nik_make(1) not in audit_text("scan.denied")
    assert nik_make(1) not in ScanEvent.objects.get(officer=officer).note
    assert note_clean("call 081234567890") == "call ************"


# --- alerts -------------------------------------------------------------------------------------------------------


def test_alert_is_open_until_acknowledged_once(officer, entrance, announced, django_capture_on_commit_callbacks):
    alert = black(entrance)
    assert [a["id"] for a in door_alerts_open(entrance_id=entrance.pk)] == [alert.pk]

    with django_capture_on_commit_callbacks(execute=True):
        assert alert_acknowledge(scan_event_id=alert.pk, officer=officer) is True
    assert alert_acknowledge(scan_event_id=alert.pk, officer=officer) is False

    alert.refresh_from_db()
    assert alert.alert_acknowledged_by == officer and alert.alert_acknowledged_at is not None
    assert door_alerts_open(entrance_id=entrance.pk) == []
    assert AuditEvent.objects.filter(action="alert.acknowledged").count() == 1
    assert announced == [(alert.pk, entrance.pk)]


def test_only_alerts_can_be_acknowledged(officer, entrance):
    with pytest.raises(CaseClosed):
        alert_acknowledge(scan_event_id=pending(entrance).pk, officer=officer)


# --- manual check-in and check-out --------------------------------------------------------------------------------


def test_manual_checkin_uses_the_same_rules_and_tells_the_truth(officer, entrance):
    HealthStatusFactory(nik=nik_make(4), name="Nyoman Merah", doses=0)

    result = visit_officer_checkin(entrance_id=entrance.pk, officer=officer, nik=nik_make(4), name="Nyoman Merah")

    assert (result.outcome, result.reason, result.colour) == ("denied", "not_vaccinated", "red")
    event = ScanEvent.objects.get()
    assert (event.officer, event.note) == (officer, "manual")
    assert nik_make(4) not in audit_text("scan.manual_checkin")


def test_manual_checkin_with_a_child(officer, entrance):
    HealthStatusFactory(nik=nik_make(5), name="Ketut Ibu", doses=2)
    child = {
        "nik": nik_make(6, born=datetime.date(datetime.date.today().year - 5, 1, 1)),
        "name": "Putu",
    }

    result = visit_officer_checkin(
        entrance_id=entrance.pk, officer=officer, nik=nik_make(5), name="Ketut Ibu", dependants=[child]
    )

    assert (result.outcome, result.dependants) == ("admitted", 1)
    assert inside(entrance.office) == 2


def test_manual_checkin_is_rate_limited_per_officer(officer, entrance, settings):
    settings.RATE_LIMIT_OFFICER = "2/m"
    for n in (10, 11):
        visit_officer_checkin(entrance_id=entrance.pk, officer=officer, nik=nik_make(n), name="Orang Baru")
    with pytest.raises(RateLimited):
        visit_officer_checkin(entrance_id=entrance.pk, officer=officer, nik=nik_make(12), name="Orang Baru")


def test_manual_checkin_refused_for_another_office(entrance):
    stranger = UserFactory(roles=["Petugas"], offices=[OfficeFactory()])
    with pytest.raises(DoorForbidden):
        visit_officer_checkin(entrance_id=entrance.pk, officer=stranger, nik=nik_make(4), name="Siapa")
    assert not ScanEvent.objects.exists()


def test_manual_checkout_closes_the_visit_as_the_officer(officer, entrance):
    visit_id = green(entrance, 2).visit_id

    result = visit_officer_checkout(entrance_id=entrance.pk, visit_id=visit_id, officer=officer)

    visit = Visit.objects.get(pk=visit_id)
    assert (visit.closed_by, visit.closed_by_user) == ("officer", officer)
    assert result.people_out == 1 and inside(entrance.office) == 0
    assert AuditEvent.objects.get(action="visit.checked_out_by_officer").object_id == str(visit_id)


def test_close_the_day_checks_everyone_out(officer, entrance):
    other_door = EntranceFactory(office=entrance.office)
    green(entrance, 2, name="Satu Orang")
    green(other_door, 3, name="Dua Orang")
    HealthStatusFactory(nik=nik_make(4), name="Tiga Ibu", doses=2)
    child = {
        "nik": nik_make(5, born=datetime.date(datetime.date.today().year - 3, 1, 1)),
        "name": "Anak",
    }
    visit_checkin(entrance_code=entrance.code, nik=nik_make(4), name="Tiga Ibu", dependants=[child])
    elsewhere = green(EntranceFactory(), 6, name="Kantor Lain")
    assert inside(entrance.office) == 4

    result = office_day_close(office_id=entrance.office_id, officer=officer, entrance_id=entrance.pk)

    assert (result.visits_closed, result.people_out) == (3, 4)
    assert inside(entrance.office) == 0
    assert not Visit.objects.filter(office=entrance.office, checked_out_at__isnull=True).exists()
    assert set(Visit.objects.filter(office=entrance.office).values_list("closed_by", "closed_by_user")) == {
        ("officer", officer.pk)
    }
    assert Visit.objects.get(pk=elsewhere.visit_id).is_open
    assert json.loads(audit_text("office.day_closed"))["people_out"] == 4
    assert office_day_close(office_id=entrance.office_id, officer=officer).people_out == 0


# --- selectors ----------------------------------------------------------------------------------------------------


# --- expired and settled cases -----------------------------------------------------------------------------------


def aged(case: ScanEvent, minutes: float) -> ScanEvent:
    ScanEvent.objects.filter(pk=case.pk).update(created_at=case.created_at - datetime.timedelta(minutes=minutes))
    return case


def admitted_elsewhere(n: int = 1, name: str = "Komang Ayu"):
    """The pending person, fully vaccinated meanwhile, is let in at another office."""
    digest = nik_hash(nik_make(n))
    HealthStatus.objects.filter(nik_hash=digest).update(doses=2)
    health_status_cache_invalidate(nik_hashes=[digest])
    result = visit_checkin(entrance_code=EntranceFactory().code, nik=nik_make(n), name=name)
    assert result.outcome == "admitted"
    return result


def test_an_expired_case_cannot_be_approved(officer, entrance, settings):
    settings.PENDING_EXPIRE_MINUTES = 15
    case = aged(pending(entrance), 16)

    with pytest.raises(CaseClosed) as refused:
        scan_approve(scan_event_id=case.pk, officer=officer)

    assert (refused.value.code, refused.value.status) == ("case_expired", 409)
    assert not Visit.objects.exists() and inside(entrance.office) == 0
    assert ScanEvent.objects.get(pk=case.pk).resolution == ""
    assert not AuditEvent.objects.filter(action__startswith="scan.approv").exists()


def test_an_expired_case_cannot_be_denied(officer, entrance):
    case = aged(pending(entrance), 16)
    scans = ScanEvent.objects.count()

    with pytest.raises(CaseClosed) as refused:
        scan_deny(scan_event_id=case.pk, officer=officer, reason_note="gone")

    assert refused.value.code == "case_expired"
    assert ScanEvent.objects.count() == scans  # no answer was recorded
    assert not AuditEvent.objects.filter(action="scan.denied").exists()


def test_a_case_younger_than_the_limit_is_still_answered(officer, entrance):
    case = aged(pending(entrance), 14)
    assert scan_approve(scan_event_id=case.pk, officer=officer).outcome == "admitted"


def test_a_case_whose_person_was_let_in_elsewhere_cannot_be_approved(officer, entrance):
    case = pending(entrance)
    elsewhere = admitted_elsewhere()

    with pytest.raises(CaseClosed) as refused:
        scan_approve(scan_event_id=case.pk, officer=officer)

    assert refused.value.code == "case_expired"
    # The approval would have moved them here and closed the visit they have now.
    assert Visit.objects.get(pk=elsewhere.visit_id).is_open and Visit.objects.count() == 1


def test_a_case_the_sweep_closed_answers_case_expired(officer, entrance):
    case = aged(pending(entrance), 20)
    assert pending_expire(now=timezone.now()).expired == 1
    for answer in (
        lambda: scan_approve(scan_event_id=case.pk, officer=officer),
        lambda: scan_deny(scan_event_id=case.pk, officer=officer, reason_note="late"),
    ):
        with pytest.raises(CaseClosed) as refused:
            answer()
        assert refused.value.code == "case_expired"


def test_an_answered_case_stays_case_closed(officer, entrance):
    case = pending(entrance)
    scan_deny(scan_event_id=case.pk, officer=officer, reason_note="no card")
    with pytest.raises(CaseClosed) as refused:
        scan_approve(scan_event_id=case.pk, officer=officer)
    assert refused.value.code == "case_closed"


def test_the_queue_drops_expired_and_settled_cases_before_any_sweep(entrance):
    kept = pending(entrance, 1, name="Komang Ayu")
    aged(pending(entrance, 2, name="Wayan Lama"), 16)
    pending(entrance, 3, name="Made Pergi")
    admitted_elsewhere(3, name="Made Pergi")

    assert [c["id"] for c in door_pending(entrance_id=entrance.pk)] == [kept.pk]
    assert not ScanEvent.objects.filter(resolution="expired").exists()


# --- races (PostgreSQL, real threads) -----------------------------------------------------------------------------


def _race(calls: list[dict], action) -> list:
    start = threading.Barrier(len(calls))

    def one(kwargs: dict):
        try:
            start.wait(timeout=10)
            try:
                return action(**kwargs)
            except CaseClosed as error:
                return error
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, calls))


@pytest.fixture
def race_officer(require_postgres):
    # A transactional test's flush drops the groups the roles migration made.
    Group.objects.get_or_create(name="Petugas")
    office = OfficeFactory(capacity=1)
    return EntranceFactory(office=office), office


@pytest.mark.django_db(transaction=True)
def test_officers_racing_on_one_case_admit_it_once(race_officer):
    entrance, office = race_officer
    officers = [UserFactory(roles=["Petugas"], offices=[office]) for _ in range(8)]
    case = pending(entrance)

    results = _race([{"scan_event_id": case.pk, "officer": o} for o in officers], scan_approve)

    assert sum(not isinstance(r, CaseClosed) for r in results) == 1
    assert Visit.objects.count() == 1 and inside(office) == 1
    assert AuditEvent.objects.filter(action="scan.approved").count() == 1


@pytest.mark.django_db(transaction=True)
def test_approvals_racing_for_the_last_place_admit_one(race_officer):
    entrance, office = race_officer
    officer = UserFactory(roles=["Petugas"], offices=[office])
    cases = [pending(entrance, n, name=f"Kuning {n}") for n in range(1, 7)]

    results = _race([{"scan_event_id": c.pk, "officer": officer} for c in cases], scan_approve)

    assert sorted(r.reason for r in results) == ["capacity_full"] * 5 + ["ok"]
    assert Visit.objects.count() == 1 and inside(office) == 1
