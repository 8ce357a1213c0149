"""Report selectors: exposure overlaps, occupancy sweep, dashboard numbers, staff compliance, local days."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from reports.selectors import (
    DateRange,
    city_dashboard,
    exposure_contacts,
    exposure_person_find,
    local_midnight,
    occupancy_series,
    office_dashboard,
    offices_first_use,
    staff_attendance,
    staff_compliance,
    staff_compliance_weeks,
)
from tests.factories import EntranceFactory, PersonFactory, StaffFactory, nik_make
from visitors.models import ScanEvent

from .scenarios import EXPECTED, INDEX_NAME, INDEX_NIK, NOW, TZ, at, visit

pytestmark = pytest.mark.django_db


# --- exposure -------------------------------------------------------------------------------------------------


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


# --- occupancy and dashboards ---------------------------------------------------------------------------------


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


def test_reports_use_local_days():
    """A visit at 23:30 local time is that day's, although it is 15:30 UTC."""
    entrance = EntranceFactory()
    visit(PersonFactory(), entrance, at(9, "23:30"), at(10, "00:30"))

    d = office_dashboard(office=entrance.office, rng=DateRange.single(datetime.date(2024, 3, 9)), now=NOW)

    assert d.summary.checkins == 1 and d.summary.checkouts == 0
    assert d.summary.peak_at == at(9, "23:30")
    assert timezone.localtime(d.summary.peak_at).date() == datetime.date(2024, 3, 9)


# --- staff compliance -----------------------------------------------------------------------------------------


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
    first_scan(office, datetime.datetime(2024, 2, 26, 8, 0, tzinfo=TZ))  # in use since the week before

    weeks = staff_compliance_weeks(office_ids=[office.pk], last_day=NOW.date(), today=NOW.date(), weeks=2)[office.pk]

    assert [(w.week_start, w.roster, w.working_days, w.present_days) for w in weeks] == [
        (datetime.date(2024, 2, 26), 3, 5, 0),
        (datetime.date(2024, 3, 4), 3, 5, 3),  # the Saturday visit does not count
    ]
    assert weeks[1].pct == 20


def first_scan(office, when, *, outcome="denied", reason="capacity_full"):
    """A scan at the office (any outcome: a refused visitor shows the office in use as much as an admitted one)."""
    return ScanEvent.objects.create(
        entrance=office.entrances.first() or EntranceFactory(office=office),
        office=office,
        outcome=outcome,
        reason=reason,
        created_at=when,
    )


@pytest.fixture
def newcomer():
    """An office with three staff that scanned for the first time on Wednesday 6 March (a refused visitor, 09:00);
    one of its staff checked in on Thursday."""
    entrance = EntranceFactory()
    office = entrance.office
    for n in range(3):
        StaffFactory(office=office, nik=nik_make(9300 + n), name=f"Staf Baru {n}")
    first_scan(office, at(6, "09:00"))
    visit(PersonFactory(nik=nik_make(9300), name="Staf Baru 0"), entrance, at(7, "07:30"), at(7, "16:00"), kind="staff")
    return office


def test_offices_first_use_is_the_local_day_of_the_first_scan(newcomer):
    assert offices_first_use(office_ids=[newcomer.pk]) == {newcomer.pk: datetime.date(2024, 3, 6)}


def test_first_scan_just_after_midnight_local_is_that_local_day(newcomer):
    # 00:30 in Denpasar is still the previous day in UTC: the day is the office's own.
    first_scan(newcomer, at(5, "00:30"))

    assert offices_first_use(office_ids=[newcomer.pk]) == {newcomer.pk: datetime.date(2024, 3, 5)}


def test_staff_compliance_ignores_days_before_the_offices_first_scan(newcomer):
    rng = DateRange(datetime.date(2024, 3, 4), datetime.date(2024, 3, 8))

    days = staff_compliance(office_ids=[newcomer.pk], rng=rng, today=NOW.date())[newcomer.pk]

    assert [(d.day.day, d.present, d.absent) for d in days] == [(6, 0, 3), (7, 1, 2), (8, 0, 3)]


def test_dashboard_rate_counts_only_days_since_the_first_scan(newcomer):
    d = office_dashboard(office=newcomer, rng=DateRange(datetime.date(2024, 3, 4), datetime.date(2024, 3, 8)), now=NOW)

    # 1 present of 3 staff x 3 working days (Wed-Fri), not of 3 x 5.
    assert (d.summary.staff_roster, d.summary.staff_present_days, d.summary.staff_expected_days) == (3, 1, 9)
    assert d.summary.pct == 11


def test_weekly_trend_starts_with_the_first_scan(newcomer):
    weeks = staff_compliance_weeks(office_ids=[newcomer.pk], last_day=NOW.date(), today=NOW.date(), weeks=3)[
        newcomer.pk
    ]

    assert [(w.week_start, w.working_days, w.present_days) for w in weeks] == [(datetime.date(2024, 3, 4), 3, 1)]


def test_office_that_never_scanned_has_no_rate_rather_than_zero():
    office = EntranceFactory().office
    StaffFactory(office=office)
    rng = DateRange(datetime.date(2024, 3, 4), datetime.date(2024, 3, 8))

    assert staff_compliance(office_ids=[office.pk], rng=rng, today=NOW.date()) == {office.pk: []}
    d = office_dashboard(office=office, rng=rng, now=NOW)
    assert d.summary.staff_roster == 1
    assert d.summary.pct is None


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


def test_staff_compliance_trend_skips_days_past_retention(roster, settings):
    settings.RETENTION_DAYS = 8  # 3 March onwards is kept

    weeks = staff_compliance_weeks(office_ids=[roster["office"].pk], last_day=NOW.date(), today=NOW.date(), weeks=4)[
        roster["office"].pk
    ]

    assert [(w.week_start, w.working_days) for w in weeks] == [(datetime.date(2024, 3, 4), 5)]
