"""Report fixtures shared by the selector and service tests: a tracing case, a known office day, a staff roster."""

from __future__ import annotations

import datetime

import pytest

from screening.models import RestrictionLevel
from screening.vocabulary import CaseStatus, PersonKind
from tests.factories import EntranceFactory, HealthStatusFactory, OfficeFactory, PersonFactory, StaffFactory, nik_make
from visitors.models import Resolution, ScanEvent

from .scenarios import INDEX_NAME, INDEX_NIK, at, visit


@pytest.fixture
def tracing():
    """An index case with visits at two offices and contacts covering every overlap shape.

    The positive date is 8 March, so the default window starts 6 March 00:00 (local) and runs until NOW.
    """
    a, b, c = EntranceFactory(), EntranceFactory(), EntranceFactory()
    index = PersonFactory(nik=INDEX_NIK, name=INDEX_NAME)
    HealthStatusFactory(
        nik=INDEX_NIK, name=INDEX_NAME, case_status=CaseStatus.POSITIVE, case_reported_on=datetime.date(2024, 3, 8)
    )
    visit(index, a, at(4, "09:00"), at(4, "10:00"))  # before the window
    visit(index, a, at(5, "23:00"), at(6, "01:00"))  # straddles the window's start
    visit(index, a, at(7, "09:00"), at(7, "11:00"))
    visit(index, b, at(9, "13:00"), at(9, "14:00"))
    visit(index, a, at(10, "10:00"))  # still inside at NOW

    people = {}

    def contact(key, entrance, start, end=None):
        person = people.get(key) or PersonFactory(name=key, phone="0812000" + str(len(people)).zfill(4))
        people[key] = person
        visit(person, entrance, start, end)

    contact("Touch After", a, at(7, "11:00"), at(7, "12:00"))  # arrives the instant the index case leaves
    contact("Touch Before", a, at(7, "08:00"), at(7, "09:00"))  # leaves the instant the index case arrives
    contact("Nested", a, at(7, "09:30"), at(7, "10:00"))  # 30 min, inside the index visit
    contact("Partial", a, at(7, "08:00"), at(7, "09:15"))  # 15 min
    contact("Covering", a, at(7, "08:00"), at(7, "12:00"))  # the whole 2 h index visit
    contact("Twice", a, at(7, "10:30"), at(7, "10:45"))  # 15 min ...
    contact("Twice", a, at(10, "09:00"), at(10, "10:20"))  # ... + 20 min with the open visit = 35
    contact("Open Too", a, at(10, "11:30"))  # both still inside: 30 min until NOW
    contact("Office B", b, at(9, "13:30"), at(9, "15:00"))  # 30 min at the other office
    contact("Clipped", a, at(5, "23:00"), at(6, "00:30"))  # 90 min together, 30 inside the window
    contact("Other Office", c, at(7, "09:00"), at(7, "11:00"))  # same time, different office
    contact("Before Window", a, at(4, "09:00"), at(4, "10:00"))  # overlaps only the visit before the window
    contact("Near Miss", a, at(7, "11:00", 1), at(7, "12:00"))  # one second after the index case left
    contact("Early Leaver", a, at(7, "07:00"), at(7, "08:59", 59))  # one second before the index case came
    return {"index": index, "a": a, "b": b, "c": c, "people": people}


@pytest.fixture
def day_office():
    """One office on Sunday 10 March: capacity 10 at 25 % (effective 2), two entrances, a known morning."""
    RestrictionLevel.objects.create(
        level=3, name="PPKM 3", effective_from=datetime.date(2024, 3, 1), pct_non_esensial=25
    )
    office = OfficeFactory(capacity=10, sector="non_esensial")
    e1 = EntranceFactory(office=office, name="Pintu Utama")
    e2 = EntranceFactory(office=office, name="Pintu Samping")
    EntranceFactory(office=office, name="Pintu Belakang", active=False)
    p = [PersonFactory() for _ in range(5)]
    visit(p[0], e1, at(10, "08:00"), at(10, "09:00"), entrance_out=e1, kind=PersonKind.STAFF)
    visit(p[1], e1, at(10, "08:30"), at(10, "10:00"), entrance_out=e2)
    visit(p[2], e2, at(10, "08:45"))
    visit(p[3], e1, at(9, "16:00"))  # inside since yesterday
    visit(p[4], e2, at(10, "09:00"), at(10, "09:30"), entrance_out=e2)  # arrives as p[0] leaves

    def scan(entrance, outcome, reason, when, resolution=""):
        ScanEvent.objects.create(
            entrance=entrance,
            office=office,
            outcome=outcome,
            reason=reason,
            created_at=when,
            resolution=resolution,
            resolved_at=when if resolution else None,
        )

    scan(e1, "denied", "capacity_full", at(10, "09:05"))
    scan(e1, "denied", "capacity_full", at(10, "09:06"))
    scan(e2, "denied", "isolation", at(10, "09:10"))
    scan(e1, "denied", "isolation", at(9, "09:10"))  # yesterday
    scan(e1, "pending", "partially_vaccinated", at(10, "08:10"), Resolution.APPROVED)
    scan(e1, "pending", "status_unknown", at(10, "08:20"), Resolution.DENIED)
    scan(e1, "pending", "status_unknown", at(10, "11:50"))
    scan(e1, "admitted", "ok", at(10, "08:00"))
    return {"office": office, "e1": e1, "e2": e2}


@pytest.fixture
def roster():
    """Three active staff and one inactive at office A; the week of Monday 4 March."""
    a, b = EntranceFactory(), EntranceFactory()
    office = a.office
    s = [StaffFactory(office=office, nik=nik_make(9100 + n), name=f"Staf {n}") for n in range(4)]
    s[3].active = False
    s[3].save()
    people = [PersonFactory(nik=nik_make(9100 + n), name=f"Staf {n}") for n in range(4)]
    staff = PersonKind.STAFF
    visit(people[0], a, at(4, "07:30"), at(4, "16:00"), kind=staff)  # Monday
    visit(people[0], a, at(4, "17:00"), at(4, "17:30"), kind=staff)  # twice on Monday: counts once
    visit(people[1], a, at(4, "07:45"), at(4, "16:00"), kind=staff)
    visit(people[0], a, at(5, "07:30"), at(5, "16:00"), kind=staff)  # Tuesday
    visit(people[0], b, at(6, "07:30"), at(6, "16:00"), kind=staff)  # Wednesday, another office
    visit(people[2], a, at(6, "08:00"), at(6, "09:00"), kind=PersonKind.VISITOR)  # not a staff visit
    visit(people[3], a, at(6, "08:00"), at(6, "16:00"), kind=staff)  # no longer on the roster
    visit(people[1], a, at(9, "08:00"), at(9, "12:00"), kind=staff)  # Saturday
    return {"office": office, "staff": s}
