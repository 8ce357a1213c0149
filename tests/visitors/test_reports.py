"""Report selectors and services: exposure overlaps, dashboard numbers, staff compliance, CSV exports, audit."""

from __future__ import annotations

import csv
import datetime
import io
import json

import pytest
from django.utils import timezone
from freezegun import freeze_time

from offices.models import AuditEvent
from screening.models import CaseStatus, RestrictionLevel
from tests.factories import (
    EntranceFactory,
    HealthStatusFactory,
    OfficeFactory,
    PersonFactory,
    StaffFactory,
    UserFactory,
    VisitFactory,
    nik_make,
)
from visitors.models import ClosedBy, Resolution, ScanEvent, VisitKind
from visitors.report_services import (
    ExposurePersonNotFound,
    ExposureSinceRequired,
    city_summary_export,
    exposure_export,
    exposure_report_by_nik,
    exposure_report_for_person,
    office_visits_export,
    staff_compliance_export,
)
from visitors.reports import (
    DateRange,
    city_dashboard,
    exposure_contacts,
    exposure_person_find,
    local_midnight,
    occupancy_series,
    office_dashboard,
    staff_attendance,
    staff_compliance,
    staff_compliance_weeks,
)

pytestmark = pytest.mark.django_db

TZ = datetime.timezone(datetime.timedelta(hours=8))  # Asia/Makassar, no daylight saving
NOW = datetime.datetime(2024, 3, 10, 12, 0, tzinfo=TZ)  # a Sunday, noon
INDEX_NAME = "Ni Luh Putu Ayu"
INDEX_NIK = nik_make(9001)


def at(day: int, hhmm: str, second: int = 0) -> datetime.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime.datetime(2024, 3, day, hour, minute, second, tzinfo=TZ)


def visit(person, entrance, start, end=None, **kwargs):
    return VisitFactory(
        person=person,
        entrance_in=entrance,
        checked_in_at=start,
        checked_out_at=end,
        closed_by=ClosedBy.PERSON if end else "",
        **kwargs,
    )


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


# --- exposure -------------------------------------------------------------------------------------------------


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


EXPECTED = {
    # name: (office key, minutes)
    "Clipped": ("a", 30),
    "Touch Before": ("a", 0),
    "Partial": ("a", 15),
    "Covering": ("a", 120),
    "Nested": ("a", 30),
    "Twice": ("a", 35),
    "Touch After": ("a", 0),
    "Office B": ("b", 30),
    "Open Too": ("a", 30),
}


def _contacts(tracing, **kwargs):
    return exposure_contacts(
        person_id=tracing["index"].pk, since=local_midnight(datetime.date(2024, 3, 6)), now=NOW, **kwargs
    )


def test_exposure_returns_exactly_the_overlapping_people_and_minutes(tracing):
    contacts = _contacts(tracing)

    found = {c.name: (c.office_id, c.overlap_minutes) for c in contacts}
    expected = {name: (tracing[office].office_id, minutes) for name, (office, minutes) in EXPECTED.items()}
    assert found == expected


def test_exposure_touching_visits_count_as_zero_minute_contacts(tracing):
    contacts = {c.name: c for c in _contacts(tracing)}

    assert contacts["Touch After"].overlap_seconds == 0
    assert contacts["Touch After"].first_overlap_at == at(7, "11:00")
    assert contacts["Touch Before"].first_overlap_at == at(7, "09:00")
    assert "Near Miss" not in contacts and "Early Leaver" not in contacts


def test_exposure_first_overlap_and_order(tracing):
    contacts = _contacts(tracing)

    assert [c.first_overlap_at for c in contacts] == sorted(c.first_overlap_at for c in contacts)
    by_name = {c.name: c for c in contacts}
    assert by_name["Clipped"].first_overlap_at == at(6, "00:00")  # clipped to the window
    assert by_name["Twice"].first_overlap_at == at(7, "10:30")
    assert by_name["Twice"].last_overlap_at == at(10, "10:20")
    assert by_name["Open Too"].last_overlap_at == NOW
    assert by_name["Office B"].office == tracing["b"].office.name
    assert by_name["Nested"].phone.startswith("0812000")
    assert by_name["Nested"].nik_masked == tracing["people"]["Nested"].nik_masked


def test_exposure_window_end_clips_open_visits(tracing):
    contacts = {c.name: c.overlap_minutes for c in _contacts(tracing, until=at(10, "11:45"))}

    assert contacts["Open Too"] == 15
    assert contacts["Twice"] == 35


def test_exposure_with_an_early_since_includes_older_visits(tracing):
    contacts = exposure_contacts(
        person_id=tracing["index"].pk, since=local_midnight(datetime.date(2024, 3, 1)), now=NOW
    )

    minutes = {c.name: c.overlap_minutes for c in contacts}
    assert minutes["Before Window"] == 60
    assert minutes["Clipped"] == 90


def test_exposure_never_lists_the_index_case(tracing):
    assert tracing["index"].pk not in {c.person_id for c in _contacts(tracing)}


def test_exposure_person_needs_matching_nik_and_name(tracing):
    assert exposure_person_find(nik=INDEX_NIK, name="  ni luh PUTU-ayu ") == tracing["index"]
    assert exposure_person_find(nik=INDEX_NIK, name="I Made Wirawan") is None
    assert exposure_person_find(nik=nik_make(9999 - 1), name=INDEX_NAME) is None


@freeze_time(NOW)
def test_exposure_service_defaults_to_two_days_before_the_positive_date_and_audits(tracing):
    satgas = UserFactory(roles=["Satgas"])

    report = exposure_report_by_nik(actor=satgas, nik=INDEX_NIK, name=INDEX_NAME, since=None, now=NOW, channel="web")

    assert report.since == datetime.date(2024, 3, 6)
    assert report.positive_on == datetime.date(2024, 3, 8)
    assert {c.name for c in report.contacts} == set(EXPECTED)
    entry = AuditEvent.objects.get(action="exposure.query")
    assert entry.actor == satgas
    assert entry.object_id == str(tracing["index"].pk)
    assert entry.detail["person_id"] == tracing["index"].pk
    assert entry.detail["contacts"] == len(EXPECTED)
    assert entry.detail["channel"] == "web"
    assert INDEX_NIK not in json.dumps(entry.detail)


def test_exposure_service_audits_a_miss_without_the_nik():
    satgas = UserFactory(roles=["Satgas"])

    with pytest.raises(ExposurePersonNotFound):
        exposure_report_by_nik(actor=satgas, nik=INDEX_NIK, name=INDEX_NAME, since=None, now=NOW, channel="api")

    entry = AuditEvent.objects.get(action="exposure.query")
    assert entry.detail["found"] is False
    assert INDEX_NIK not in json.dumps(entry.detail)


def test_exposure_service_needs_since_without_a_positive_date():
    person = PersonFactory(nik=nik_make(9005), name="I Made Wirawan")

    with pytest.raises(ExposureSinceRequired):
        exposure_report_for_person(actor=None, person=person, since=None, now=NOW, channel="web")
    assert not AuditEvent.objects.exists()


@freeze_time(NOW)
def test_exposure_export_has_full_niks_and_one_audit_entry(tracing):
    satgas = UserFactory(roles=["Satgas"])

    export = exposure_export(actor=satgas, person=tracing["index"], since=None, now=NOW)

    rows = {row["name"]: row for row in csv_rows(export.content)}
    assert set(rows) == set(EXPECTED)
    nested = tracing["people"]["Nested"]
    assert rows["Nested"]["nik_masked"] == nested.nik_masked
    assert len(rows["Nested"]["nik"]) == 16 and rows["Nested"]["nik"].isdigit()
    assert rows["Nested"]["nik"][:4] + "********" + rows["Nested"]["nik"][-4:] == nested.nik_masked
    assert rows["Twice"]["overlap_minutes"] == "35"
    assert rows["Touch After"]["first_overlap_at"] == "2024-03-07 11:00:00"
    entries = list(AuditEvent.objects.values_list("action", flat=True))
    assert entries == ["exposure.export"]
    detail = AuditEvent.objects.get().detail
    assert detail["rows"] == len(EXPECTED)
    assert not any(row["nik"] in json.dumps(detail) for row in rows.values())


# --- occupancy and dashboards ---------------------------------------------------------------------------------


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
    visit(p[0], e1, at(10, "08:00"), at(10, "09:00"), entrance_out=e1, kind=VisitKind.STAFF)
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


def test_occupancy_series_peaks_per_quarter_hour(day_office):
    office = day_office["office"]

    series = occupancy_series(office_ids=[office.pk], rng=DateRange.single(NOW.date()), now=NOW)[office.pk]

    by_time = {p.at.astimezone(TZ).strftime("%H:%M"): p.peak for p in series.points}
    assert len(series.points) == 48  # midnight to noon
    assert by_time["00:00"] == 1 and by_time["07:45"] == 1
    assert by_time["08:00"] == 2
    assert by_time["08:30"] == 3
    assert by_time["08:45"] == 4
    assert by_time["09:00"] == 4  # one leaves as another arrives: never 5
    assert by_time["09:30"] == 4  # the level at the start of the bucket counts
    assert by_time["09:45"] == 3
    assert by_time["10:00"] == 3
    assert by_time["10:15"] == 2
    assert by_time["11:45"] == 2
    assert series.peak == 4
    assert series.peak_at == at(10, "08:45")


def test_office_dashboard_numbers(day_office):
    office = day_office["office"]

    d = office_dashboard(office=office, rng=DateRange.single(NOW.date()), now=NOW)

    s = d.summary
    assert (s.checkins, s.checkins_staff, s.checkins_visitors, s.checkouts) == (4, 1, 3, 3)
    assert s.denied == 3
    assert d.denials == [("capacity_full", 2), ("isolation", 1)]
    assert (s.pending.total, s.pending.approved, s.pending.denied, s.pending.open) == (3, 1, 1, 1)
    assert (s.peak, s.effective_capacity, s.over_capacity) == (4, 2, True)
    assert d.effective_capacity_now == 2
    entrances = {e.name: (e.checkins, e.checkouts, e.denied, e.pending, e.active) for e in d.entrances}
    assert entrances == {
        "Pintu Utama": (2, 1, 2, 3, True),
        "Pintu Samping": (2, 2, 1, 0, True),
        "Pintu Belakang": (0, 0, 0, 0, False),
    }
    assert [(row.day, row.checkins, row.checkouts, row.peak) for row in d.days] == [(NOW.date(), 4, 3, 4)]


def test_office_dashboard_over_a_range(day_office):
    office = day_office["office"]
    rng = DateRange(datetime.date(2024, 3, 9), datetime.date(2024, 3, 10))

    d = office_dashboard(office=office, rng=rng, now=NOW)

    assert d.summary.checkins == 5
    assert d.summary.denied == 4
    assert [(row.day.day, row.checkins, row.checkouts, row.peak) for row in d.days] == [(9, 1, 0, 1), (10, 4, 3, 4)]
    assert len(d.series.points) == (24 + 12) * 4


def test_city_dashboard_sums_offices(day_office):
    other = EntranceFactory()
    visit(PersonFactory(), other, at(10, "08:50"), at(10, "09:10"))
    offices = [day_office["office"], other.office]

    d = city_dashboard(offices=offices, rng=DateRange.single(NOW.date()), now=NOW)

    assert d.totals["checkins"] == 5
    assert d.totals["denied"] == 3
    assert d.totals["pending_open"] == 1
    assert d.totals["over_capacity"] == 1
    assert d.series.peak == 5  # 4 in the first office plus 1 in the other at 08:50
    assert [row.office_id for row in d.offices] == [o.pk for o in offices]
    assert d.offices[1].peak == 1 and not d.offices[1].over_capacity


def test_dashboard_ignores_other_offices_and_days(day_office):
    stranger = EntranceFactory()
    visit(PersonFactory(), stranger, at(10, "08:00"), at(10, "09:00"))
    visit(PersonFactory(), day_office["e1"], at(8, "08:00"), at(8, "09:00"))

    d = office_dashboard(office=day_office["office"], rng=DateRange.single(NOW.date()), now=NOW)

    assert d.summary.checkins == 4
    assert d.summary.peak == 4


# --- staff compliance -----------------------------------------------------------------------------------------


@pytest.fixture
def roster():
    """Three active staff and one inactive at office A; the week of Monday 4 March."""
    a, b = EntranceFactory(), EntranceFactory()
    office = a.office
    s = [StaffFactory(office=office, nik=nik_make(9100 + n), name=f"Staf {n}") for n in range(4)]
    s[3].active = False
    s[3].save()
    people = [PersonFactory(nik=nik_make(9100 + n), name=f"Staf {n}") for n in range(4)]
    staff = VisitKind.STAFF
    visit(people[0], a, at(4, "07:30"), at(4, "16:00"), kind=staff)  # Monday
    visit(people[0], a, at(4, "17:00"), at(4, "17:30"), kind=staff)  # twice on Monday: counts once
    visit(people[1], a, at(4, "07:45"), at(4, "16:00"), kind=staff)
    visit(people[0], a, at(5, "07:30"), at(5, "16:00"), kind=staff)  # Tuesday
    visit(people[0], b, at(6, "07:30"), at(6, "16:00"), kind=staff)  # Wednesday, another office
    visit(people[2], a, at(6, "08:00"), at(6, "09:00"), kind=VisitKind.VISITOR)  # not a staff visit
    visit(people[3], a, at(6, "08:00"), at(6, "16:00"), kind=staff)  # no longer on the roster
    visit(people[1], a, at(9, "08:00"), at(9, "12:00"), kind=staff)  # Saturday
    return {"office": office, "staff": s}


def test_staff_compliance_per_day(roster):
    office = roster["office"]
    rng = DateRange(datetime.date(2024, 3, 4), datetime.date(2024, 3, 10))

    days = staff_compliance(office_ids=[office.pk], rng=rng, today=NOW.date())[office.pk]

    assert [(d.day.day, d.roster, d.present, d.absent, d.working) for d in days] == [
        (4, 3, 2, 1, True),
        (5, 3, 1, 2, True),
        (6, 3, 0, 3, True),
        (7, 3, 0, 3, True),
        (8, 3, 0, 3, True),
        (9, 3, 1, 2, False),
        (10, 3, 0, 3, False),
    ]
    assert days[0].pct == 67


def test_staff_compliance_weekly_trend(roster):
    office = roster["office"]

    weeks = staff_compliance_weeks(office_ids=[office.pk], last_day=NOW.date(), today=NOW.date(), weeks=2)[office.pk]

    assert [(w.week_start, w.roster, w.working_days, w.present_days) for w in weeks] == [
        (datetime.date(2024, 2, 26), 3, 5, 0),
        (datetime.date(2024, 3, 4), 3, 5, 3),  # the Saturday visit does not count
    ]
    assert weeks[1].pct == 20


def test_staff_attendance_lists_who_did_not_check_in(roster):
    rows = staff_attendance(office_id=roster["office"].pk, day=datetime.date(2024, 3, 4))

    assert [(r["name"], r["first_in"] is not None) for r in rows] == [
        ("Staf 0", True),
        ("Staf 1", True),
        ("Staf 2", False),
    ]
    assert rows[0]["first_in"] == at(4, "07:30")


def test_dashboard_summary_carries_compliance(roster):
    office = roster["office"]
    rng = DateRange(datetime.date(2024, 3, 4), datetime.date(2024, 3, 8))

    d = office_dashboard(office=office, rng=rng, now=NOW)

    assert (d.summary.staff_roster, d.summary.staff_present_days, d.summary.staff_expected_days) == (3, 3, 15)
    assert d.summary.pct == 20


@freeze_time(NOW)
def test_staff_compliance_export_is_masked_and_audited(roster):
    office = roster["office"]
    admin = UserFactory(roles=["Admin Kantor"], offices=[office])

    export = staff_compliance_export(
        actor=admin, office=office, rng=DateRange(datetime.date(2024, 3, 4), datetime.date(2024, 3, 5))
    )

    rows = csv_rows(export.content)
    assert len(rows) == 6
    monday = {r["name"]: r for r in rows if r["date"] == "2024-03-04"}
    assert monday["Staf 0"]["checked_in"] == "yes" and monday["Staf 0"]["first_check_in_at"] == "2024-03-04 07:30:00"
    assert monday["Staf 2"]["checked_in"] == "no"
    assert monday["Staf 0"]["nik_masked"] == roster["staff"][0].nik_masked
    assert nik_make(9100) not in export.content.decode("utf-8-sig")
    entry = AuditEvent.objects.get(action="report.export")
    assert entry.detail == {"report": "staff_compliance", "from": "2024-03-04", "to": "2024-03-05", "rows": 6}
    assert entry.office == office


# --- other exports --------------------------------------------------------------------------------------------


def test_office_visits_export_is_masked_and_audited(day_office):
    office = day_office["office"]
    admin = UserFactory(roles=["Admin Kantor"], offices=[office])
    person = PersonFactory(nik=nik_make(9077), name="=HYPERLINK(1)")
    visit(person, day_office["e2"], at(10, "11:00"), at(10, "11:20"), entrance_out=day_office["e2"])

    export = office_visits_export(actor=admin, office=office, rng=DateRange.single(NOW.date()))

    rows = csv_rows(export.content)
    assert len(rows) == 5
    last = rows[-1]
    assert last["name"] == "'=HYPERLINK(1)"  # spreadsheet formulas are defused
    assert last["nik_masked"] == person.nik_masked
    assert last["minutes"] == "20"
    assert last["checked_in_at"] == "2024-03-10 11:00:00"
    assert nik_make(9077) not in export.content.decode("utf-8-sig")
    assert "nik" not in [h for h in csv.reader(io.StringIO(export.content.decode("utf-8-sig")))][0]
    entry = AuditEvent.objects.get(action="report.export")
    assert (entry.actor, entry.office, entry.detail["report"], entry.detail["rows"]) == (
        admin,
        office,
        "office_visits",
        5,
    )


def test_city_summary_export_has_no_personal_data(day_office):
    admin = UserFactory(roles=["Admin Kota"])

    export = city_summary_export(actor=admin, offices=[day_office["office"]], rng=DateRange.single(NOW.date()), now=NOW)

    (row,) = csv_rows(export.content)
    assert row["office"] == day_office["office"].name
    assert (row["checkins"], row["denied"], row["peak_occupancy"], row["effective_capacity"]) == ("4", "3", "4", "2")
    assert row["over_capacity"] == "yes"
    assert "nik" not in ",".join(row)
    assert AuditEvent.objects.get(action="report.export").detail["report"] == "city_summary"


def test_reports_use_local_days():
    """A visit at 23:30 local time is that day's, although it is 15:30 UTC."""
    entrance = EntranceFactory()
    visit(PersonFactory(), entrance, at(9, "23:30"), at(10, "00:30"))

    d = office_dashboard(office=entrance.office, rng=DateRange.single(datetime.date(2024, 3, 9)), now=NOW)

    assert d.summary.checkins == 1 and d.summary.checkouts == 0
    assert d.summary.peak_at == at(9, "23:30")
    assert timezone.localtime(d.summary.peak_at).date() == datetime.date(2024, 3, 9)


def test_staff_compliance_trend_skips_days_past_retention(roster, settings):
    settings.RETENTION_DAYS = 8  # 3 March onwards is kept

    weeks = staff_compliance_weeks(office_ids=[roster["office"].pk], last_day=NOW.date(), today=NOW.date(), weeks=4)[
        roster["office"].pk
    ]

    assert [(w.week_start, w.working_days) for w in weeks] == [(datetime.date(2024, 3, 4), 5)]
