"""The one admission: every way in (phone page, API, officer's form, approval) gives the same answer."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from door.services import scan_approve, visit_officer_checkin
from offices.models import OfficeOccupancy
from reports.services import exposure_report_by_nik
from tests.factories import EntranceFactory, HealthStatusFactory, OfficeFactory, StaffFactory, UserFactory, nik_make
from visitors.models import ClosedBy, ScanEvent, Visit
from visitors.services import visit_checkin

pytestmark = pytest.mark.django_db

ADULT = "Komang Ayu"
CHILDREN = [{"nik": "5171014502150003", "name": "Putu Kecil"}, {"nik": "5171011203170002", "name": "Made Kecil"}]


def inside(office) -> int:
    counter = OfficeOccupancy.objects.get(office=office)
    return counter.staff_inside + counter.visitors_inside


def status(n: int, *, doses: int, name: str = ADULT, **kwargs) -> None:
    HealthStatusFactory(nik=nik_make(n), name=name, doses=doses, **kwargs)


def test_approving_a_yellow_adult_admits_their_children_and_traces_all_three():
    entrance = EntranceFactory()
    officer = UserFactory(roles=["Petugas"], offices=[entrance.office])
    status(1, doses=1)
    pending = visit_checkin(entrance_code=entrance.code, nik=nik_make(1), name=ADULT, dependants=CHILDREN)
    assert (pending.outcome, inside(entrance.office)) == ("pending", 0)

    answer = scan_approve(scan_event_id=pending.scan_event_id, officer=officer)

    assert (answer.outcome, answer.reason, answer.dependants) == ("admitted", "ok", 2)
    assert inside(entrance.office) == 3
    assert Visit.objects.filter(guardian_visit_id=answer.visit_id).count() == 2
    # Someone who was there at the same time sees all three in their exposure report.
    status(2, doses=2, name="Wayan Positif", case_status="positive", case_reported_on=timezone.localdate())
    HealthStatusFactory(nik=nik_make(3), name="Wayan Positif", doses=2)
    visit_checkin(entrance_code=entrance.code, nik=nik_make(3), name="Wayan Positif")
    report = exposure_report_by_nik(
        actor=None,
        nik=nik_make(3),
        name="Wayan Positif",
        since=timezone.localdate() - datetime.timedelta(days=1),
        now=timezone.now() + datetime.timedelta(minutes=1),
        channel="test",
    )
    assert {contact.name for contact in report.contacts} == {ADULT, "Putu Kecil", "Made Kecil"}


def test_approving_someone_inside_elsewhere_closes_that_visit_as_a_checkin_does():
    first, second = EntranceFactory(), EntranceFactory()
    officer = UserFactory(roles=["Petugas"], offices=[second.office])
    status(1, doses=1)
    # A yellow person let in at the first office by its own officer, then pending at the second.
    first_officer = UserFactory(roles=["Petugas"], offices=[first.office])
    at_first = visit_checkin(entrance_code=first.code, nik=nik_make(1), name=ADULT)
    admitted = scan_approve(scan_event_id=at_first.scan_event_id, officer=first_officer)
    assert admitted.outcome == "admitted"
    at_second = visit_checkin(
        entrance_code=second.code, nik=nik_make(1), name=ADULT, now=timezone.now() + datetime.timedelta(minutes=5)
    )
    assert at_second.outcome == "pending"

    answer = scan_approve(scan_event_id=at_second.scan_event_id, officer=officer)

    assert answer.outcome == "admitted"
    closed = Visit.objects.get(pk=admitted.visit_id)
    assert (closed.closed_by, closed.checked_out_at is not None) == (ClosedBy.SYSTEM, True)
    assert (inside(first.office), inside(second.office)) == (0, 1)


def _by_page(client: APIClient, entrance, *, nik: str, name: str) -> tuple[str, str, int]:
    answer = client.post(f"/c/{entrance.code}/", {"nik": nik, "name": name, "consent": "on", "nonce": "page-nonce-1"})
    assert answer.status_code == 303 and answer["Location"].startswith("/c/r/")
    event = ScanEvent.objects.latest("pk")
    return event.outcome, event.reason, inside(entrance.office)


def _by_api(client: APIClient, entrance, *, nik: str, name: str) -> tuple[str, str, int]:
    officer = UserFactory(roles=["Petugas"], offices=[entrance.office])
    client.force_authenticate(officer)
    body = client.post("/api/v1/checkins/", {"entrance": entrance.code, "nik": nik, "name": name}, format="json")
    return body.json()["outcome"], body.json()["reason"], body.json()["office"]["occupancy"]


def _by_manual(client: APIClient, entrance, *, nik: str, name: str) -> tuple[str, str, int]:
    officer = UserFactory(roles=["Petugas"], offices=[entrance.office])
    result = visit_officer_checkin(entrance_id=entrance.pk, officer=officer, nik=nik, name=name)
    return result.outcome, result.reason, inside(entrance.office)


def _by_approval(client: APIClient, entrance, *, nik: str, name: str) -> tuple[str, str, int]:
    """A pending scan first (the status says yellow), then the same situation as the others, then the approval."""
    officer = UserFactory(roles=["Petugas"], offices=[entrance.office])
    result = scan_approve(scan_event_id=ScanEvent.objects.get(outcome="pending").pk, officer=officer)
    return result.outcome, result.reason, inside(entrance.office)


WAYS_IN = {"page": _by_page, "api": _by_api, "manual": _by_manual, "approval": _by_approval}


@pytest.mark.parametrize(
    ("situation", "expected"),
    [
        ("room", ("admitted", "ok", 2)),
        ("full", ("denied", "capacity_full", 1)),
        ("staff_full", ("admitted", "ok", 2)),
    ],
)
@pytest.mark.parametrize("way", list(WAYS_IN))
def test_every_way_in_gives_the_same_answer(way, situation, expected):
    office = OfficeFactory(capacity=2 if situation == "room" else 1)
    entrance = EntranceFactory(office=office)
    status(9, doses=2, name="Sudah Masuk")
    visit_checkin(entrance_code=entrance.code, nik=nik_make(9), name="Sudah Masuk")
    if situation == "staff_full":
        StaffFactory(office=office, nik=nik_make(1), name=ADULT)
    if way == "approval":
        # The officer's approval replaces a yellow result; capacity still applies exactly as for green.
        status(1, doses=1)
        visit_checkin(entrance_code=entrance.code, nik=nik_make(1), name=ADULT)
        assert inside(office) == 1
    else:
        status(1, doses=2)
    assert WAYS_IN[way](APIClient(), entrance, nik=nik_make(1), name=ADULT) == expected
