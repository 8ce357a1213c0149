"""Identity before anything: someone who knows only a NIK learns nothing about its owner and changes nothing.

Each test is one of the outsider's tries: a made-up name with the victim's NIK, at another office, at the
victim's office, at check-out and with "remember this phone"; and the privacy oracle over every referral.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from reports.services import exposure_report_by_nik
from tests.factories import EntranceFactory, HealthStatusFactory, PersonFactory, VisitFactory, nik_make
from visitors.models import Device, Person, ScanEvent, Visit
from visitors.services import visit_checkin

pytestmark = pytest.mark.django_db

VICTIM = "Ni Wayan Korban"
STRANGER = "Orang Asing"
NIK = nik_make(1)
PHONE = "081111111111"


def _api_checkin(code: str, **body):
    return APIClient().post("/api/v1/checkins/", {"entrance": code, **body}, format="json")


def _api_checkout(code: str, **body):
    return APIClient().post("/api/v1/checkouts/", {"entrance": code, **body}, format="json")


@pytest.fixture
def victim_inside():
    """The victim, green in the registry, checked in at office A with their own phone."""
    entrance = EntranceFactory()
    HealthStatusFactory(nik=NIK, name=VICTIM, doses=2)
    result = visit_checkin(entrance_code=entrance.code, nik=NIK, name=VICTIM, phone=PHONE)
    assert result.outcome == "admitted"
    return entrance, Visit.objects.get(pk=result.visit_id)


def test_a_stranger_at_another_office_changes_nothing_about_the_victim(victim_inside):
    entrance_a, visit = victim_inside
    elsewhere = EntranceFactory()

    answer = _api_checkin(elsewhere.code, nik=NIK, name=STRANGER, phone="089999999999")

    assert (answer.status_code, answer.json()["outcome"], answer.json()["visit"]) == (200, "see_officer", None)
    visit.refresh_from_db()
    assert visit.checked_out_at is None
    person = Person.objects.get()
    assert (person.name, person.phone) == (VICTIM, PHONE)
    # Satgas still finds the victim, and the visit, by their real NIK and name.
    report = exposure_report_by_nik(
        actor=None,
        nik=NIK,
        name=VICTIM,
        since=timezone.localdate() - datetime.timedelta(days=1),
        now=timezone.now(),
        channel="test",
    )
    assert report.person == person


def test_a_stranger_at_the_victims_office_learns_nothing_of_their_presence(victim_inside):
    entrance, visit = victim_inside
    before = ScanEvent.objects.count()

    for _try in range(2):  # at once (a "double tap") and again later
        answer = _api_checkin(entrance.code, nik=NIK, name=STRANGER)
        assert (answer.json()["outcome"], answer.json()["reason"], answer.json()["visit"]) == (
            "see_officer",
            "see_officer",
            None,
        )
    # The door still sees who tried, without the victim's name on it.
    tries = ScanEvent.objects.filter(pk__gt=ScanEvent.objects.order_by("pk")[before - 1].pk)
    assert [(scan.reason, scan.person_id) for scan in tries] == [("status_unknown", None)] * 2


def test_a_check_out_needs_the_name_and_a_wrong_one_is_not_inside(victim_inside):
    entrance, visit = victim_inside

    without_name = _api_checkout(entrance.code, nik=NIK)
    wrong_name = _api_checkout(entrance.code, nik=NIK, name=STRANGER)
    nobody = _api_checkout(entrance.code, nik=nik_make(2), name=STRANGER)

    assert without_name.status_code == 400 and "name" in without_name.json()
    assert (wrong_name.status_code, wrong_name.json()) == (nobody.status_code, nobody.json())
    assert wrong_name.status_code == 409
    visit.refresh_from_db()
    assert visit.checked_out_at is None
    right = _api_checkout(entrance.code, nik=NIK, name=VICTIM.upper())
    assert right.status_code == 200


def test_remember_this_phone_is_refused_to_a_stranger(client, victim_inside):
    entrance, _visit = victim_inside
    form = {"nik": NIK, "name": STRANGER, "consent": "on", "remember": "on", "nonce": "nonce-stranger-1"}

    response = client.post(f"/c/{entrance.code}/", form)

    assert response.status_code == 303
    assert "dc_device" not in response.cookies
    assert not Device.objects.exists()


def test_without_the_registry_the_name_on_record_is_the_first_check_ins(client):
    """A NIK the registry does not know: the name stored at the first check-in is the one that must match."""
    entrance = EntranceFactory()
    person = PersonFactory(nik=NIK, name=VICTIM, phone=PHONE)
    VisitFactory(person=person, entrance_in=entrance)

    answer = _api_checkin(EntranceFactory().code, nik=NIK, name=STRANGER, phone="089999999999")

    assert answer.json()["outcome"] == "see_officer"
    assert Visit.objects.get(person=person).checked_out_at is None
    person.refresh_from_db()
    assert (person.name, person.phone) == (VICTIM, PHONE)


def test_the_phone_given_belongs_to_the_visit(victim_inside):
    entrance, visit = victim_inside
    assert visit.phone == PHONE
    HealthStatusFactory(nik=nik_make(3), name="Made Kedua", doses=2)
    visit_checkin(entrance_code=entrance.code, nik=nik_make(3), name="Made Kedua", phone="082222222222")

    contact = exposure_report_by_nik(
        actor=None,
        nik=NIK,
        name=VICTIM,
        since=timezone.localdate() - datetime.timedelta(days=1),
        now=timezone.now() + datetime.timedelta(minutes=1),
        channel="test",
    ).contacts[0]
    assert (contact.name, contact.phone) == ("Made Kedua", "082222222222")


# --- the privacy oracle -------------------------------------------------------------------------------------------

REFERRALS = {
    "yellow": {"doses": 1},
    "red": {"doses": 0},
    "black": {"doses": 2, "case_status": "positive", "isolated_until": datetime.date(2099, 1, 1)},
    "unknown": None,
    "name mismatch": {"doses": 2, "name": VICTIM},
}


def _headers(response) -> dict[str, frozenset[str]]:
    """Every header with its value's parts as a set: some servers list the parts of Allow or a CSP in any order,
    which says nothing about the person."""
    assert int(response.headers["Content-Length"]) == len(response.content)
    return {
        name: frozenset(part.strip() for part in value.replace(";", ",").split(","))
        for name, value in response.headers.items()
        if name != "Content-Length"  # each case meets its own office, whose id and name differ in length
    }


def _one_inside(entrance, *, n: int) -> None:
    """Someone green inside the office, so every case meets the same occupancy."""
    HealthStatusFactory(nik=nik_make(n), name="Sudah Di Dalam", doses=2)
    visit_checkin(entrance_code=entrance.code, nik=nik_make(n), name="Sudah Di Dalam")


@pytest.mark.parametrize("inside", [False, True], ids=["not inside", "inside"])
def test_every_referral_answers_alike_inside_or_not(inside):
    answers = []
    for n, (kind, status) in enumerate(REFERRALS.items(), start=10):
        entrance = EntranceFactory()
        nik = nik_make(n)
        if status is not None:
            HealthStatusFactory(nik=nik, **{"name": STRANGER, **status})
        if inside and kind == "name mismatch":
            visit_checkin(entrance_code=entrance.code, nik=nik, name=VICTIM)  # the victim is the one inside
        else:
            _one_inside(entrance, n=n + 100)
        response = _api_checkin(entrance.code, nik=nik, name=STRANGER)
        body = response.json()
        body["office"] = {key: value for key, value in body["office"].items() if key not in ("id", "name")}
        answers.append((kind, response.status_code, body, _headers(response)))
    first = answers[0][1:]
    for kind, *answer in answers:
        differences = {name for name in answer[2].keys() | first[2].keys() if answer[2].get(name) != first[2].get(name)}
        assert (tuple(answer[:2]), differences) == (first[:2], set()), kind
    assert first[1]["outcome"] == "see_officer"


@pytest.mark.parametrize("status", [None, {"doses": 2}], ids=["not in the registry", "in the registry"])
def test_a_check_out_answers_alike_for_not_inside_and_a_wrong_name(status):
    entrance = EntranceFactory()
    if status is not None:
        HealthStatusFactory(nik=NIK, name=VICTIM, **status)
        visit_checkin(entrance_code=entrance.code, nik=NIK, name=VICTIM)
    else:
        VisitFactory(person=PersonFactory(nik=NIK, name=VICTIM), entrance_in=entrance)

    wrong_name = _api_checkout(entrance.code, nik=NIK, name=STRANGER)
    not_inside = _api_checkout(entrance.code, nik=nik_make(2), name=STRANGER)

    assert wrong_name.status_code == not_inside.status_code == 409
    assert wrong_name.json() == not_inside.json()
    assert _headers(wrong_name) == _headers(not_inside)
    assert Visit.objects.filter(checked_out_at__isnull=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_every_referral_does_the_same_work():
    """A black answer must not take longer than another referral: the same statements, and no queued work.

    The Satgas notice of a black result is sent by the alert sweep, not queued by the request (queued work would
    run inline here without Redis, and its reads would show).
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    entrance = EntranceFactory()
    people = {}
    for n, (kind, status) in enumerate(REFERRALS.items(), start=30):
        if status is not None:
            HealthStatusFactory(nik=nik_make(n), **{"name": STRANGER, **status})
        people[kind] = nik_make(n)
        _api_checkin(entrance.code, nik=people[kind], name=STRANGER)  # caches warm, first-visit writes done
    work = {}
    for kind, nik in people.items():
        with CaptureQueriesContext(connection) as queries:
            assert _api_checkin(entrance.code, nik=nik, name=STRANGER).json()["outcome"] == "see_officer"
        # The statement's shape: its verb and the table it touches, not its values.
        shapes = [" ".join(query["sql"].split()[:4]) for query in queries.captured_queries]
        work[kind] = shapes
    first = work["red"]
    assert all(found == first for found in work.values()), work
