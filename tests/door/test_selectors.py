"""What the door screen reads: event cards after a cursor (the truth, full names and the NIK's last four digits),
people inside, the gauge, and the office a scan belongs to."""

from __future__ import annotations

import datetime
import json

import pytest

from door.selectors import (
    door_alerts_open,
    door_events_after,
    door_occupancy,
    door_pending,
    door_people_inside,
    door_scan_office_id,
    door_state,
    gauge_state,
)
from screening.models import RestrictionLevel
from tests.factories import HealthStatusFactory, OfficeFactory, nik_make
from visitors.services import visit_checkin, visit_checkout

pytestmark = pytest.mark.django_db


def test_events_after_a_cursor_are_the_truth_with_the_full_name(entrance, scan):
    first = scan(entrance, 2, name="I Made Wirawan")
    case = scan(entrance, 3, doses=1, name="Komang Ayu")

    cards = door_events_after(entrance_id=entrance.pk, after=first.scan_event_id)

    assert [c["id"] for c in cards] == [case.scan_event_id]
    card = cards[0]
    assert (card["outcome"], card["reason"], card["colour"], card["name"], card["nik_last4"]) == (
        "pending",
        "partially_vaccinated",
        "yellow",
        "Komang Ayu",
        nik_make(3)[-4:],
    )
    assert card["reason_label"] and card["kind"] == "visitor"
    assert nik_make(3) not in json.dumps(cards)
    assert door_events_after(entrance_id=entrance.pk, after=case.scan_event_id) == []


def test_pending_and_alerts_are_the_open_cases_of_that_door(entrance, scan):
    case = scan(entrance, 1, doses=1, name="Komang Ayu")
    HealthStatusFactory(nik=nik_make(9), name="Wayan Hitam", case_status="positive", isolated_until="2099-01-01")
    alert = visit_checkin(entrance_code=entrance.code, nik=nik_make(9), name="Wayan Hitam")

    assert [c["id"] for c in door_pending(entrance_id=entrance.pk)] == [case.scan_event_id]
    assert [c["id"] for c in door_alerts_open(entrance_id=entrance.pk)] == [alert.scan_event_id]
    state = door_state(entrance_id=entrance.pk, office_id=entrance.office_id)
    assert [c["id"] for c in state["pending"]] == [case.scan_event_id]
    assert state["occupancy"]["inside"] == 0


def test_people_inside_search_names_people_as_their_ktp_does(entrance, scan):
    scan(entrance, 2, name="I Made Wirawan")
    scan(entrance, 3, name="Ni Luh Sari")

    people = door_people_inside(office_id=entrance.office_id, query="made")

    assert [(p["name"], p["nik_last4"]) for p in people] == [("I Made Wirawan", nik_make(2)[-4:])]
    assert len(door_people_inside(office_id=entrance.office_id)) == 2


def test_people_inside_are_only_those_with_an_open_visit(entrance, scan):
    inside = scan(entrance, 2, name="I Made Wirawan")
    scan(entrance, 3, name="I Made Sari")
    visit_checkout(entrance_code=entrance.code, nik=nik_make(3), name="I Made Sari")

    people = door_people_inside(office_id=entrance.office_id, query="made")

    assert [p["visit_id"] for p in people] == [inside.visit_id]


def test_occupancy_states_and_level():
    assert [gauge_state(inside=n, limit=10) for n in (0, 7, 8, 10, 11)] == ["ok", "ok", "near", "full", "over"]
    office = OfficeFactory(capacity=40, sector="esensial")
    RestrictionLevel.objects.create(
        level=3, name="PPKM 3", effective_from=datetime.date(2021, 7, 1), pct_non_esensial=25, pct_esensial=50
    )
    occupancy = door_occupancy(office_id=office.pk)
    assert (occupancy.effective_capacity, occupancy.level, occupancy.percentage) == (20, 3, 50)
    assert "3" in occupancy.as_dict()["level_text"]


def test_a_scan_belongs_to_its_office(entrance, scan):
    case = scan(entrance, 1, doses=1)
    assert door_scan_office_id(scan_event_id=case.scan_event_id) == entrance.office_id
    assert door_scan_office_id(scan_event_id=case.scan_event_id + 1000) is None
