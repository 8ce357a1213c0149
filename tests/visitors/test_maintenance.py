"""Upkeep services: auto check-out, occupancy reconciliation, and the retention purge."""

from __future__ import annotations

import datetime
import logging

import pytest
from django.utils import timezone

from offices.models import AuditEvent, OfficeOccupancy
from screening.models import HealthStatus
from tests.factories import (
    EntranceFactory,
    HealthStatusFactory,
    OfficeFactory,
    PersonFactory,
    VisitFactory,
    nik_make,
)
from visitors.maintenance import (
    occupancy_reconcile,
    personal_data_purge,
    visit_checkout_due_at,
    visits_auto_checkout,
)
from visitors.models import Device, Person, ScanEvent, Visit
from visitors.services import visit_checkin

pytestmark = pytest.mark.django_db


def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    """A moment in Denpasar (WITA) in August 2021."""
    return timezone.make_aware(datetime.datetime(2021, 8, day, hour, minute))


def counters(office) -> tuple[int, int]:
    row = OfficeOccupancy.objects.get(office=office)
    return row.staff_inside, row.visitors_inside


# --- when a forgotten visit ends --------------------------------------------------------------------------------

HOURS = datetime.timedelta(hours=1)


@pytest.mark.parametrize(
    ("checked_in", "due"),
    [
        (at(20, 9), at(20, 17)),  # closes 16:00, plus an hour's grace
        (at(20, 16, 30), at(20, 17)),  # came in just before the grace ended
        (at(20, 18), at(21, 6)),  # after hours: bounded by the 12-hour maximum stay
        (at(20, 4), at(20, 16)),  # very early: the maximum stay ends before closing
    ],
)
def test_due_time_is_closing_plus_grace_or_the_maximum_stay(checked_in, due):
    assert (
        visit_checkout_due_at(
            checked_in_at=checked_in, closes_at=datetime.time(16, 0), max_stay=12 * HOURS, grace=1 * HOURS
        )
        == due
    )


# --- auto check-out ---------------------------------------------------------------------------------------------


def test_auto_checkout_closes_forgotten_visits_at_their_due_time_and_releases_places(settings):
    settings.MAX_STAY_HOURS = 12
    settings.AUTO_CHECKOUT_GRACE_MINUTES = 60
    office = OfficeFactory(closes_at=datetime.time(16, 0))
    entrance = EntranceFactory(office=office)
    for n in (1, 2, 3):
        HealthStatusFactory(nik=nik_make(n), name=f"Orang {n}", doses=2)
    HealthStatusFactory(nik=nik_make(9, born=datetime.date(2015, 5, 5)), name="Anak", doses=0)
    forgotten = visit_checkin(
        entrance_code=entrance.code,
        nik=nik_make(1),
        name="Orang 1",
        now=at(20, 8),
        dependants=[{"nik": nik_make(9, born=datetime.date(2015, 5, 5)), "name": "Anak"}],
    )
    late = visit_checkin(entrance_code=entrance.code, nik=nik_make(2), name="Orang 2", now=at(20, 17, 10))
    left = visit_checkin(entrance_code=entrance.code, nik=nik_make(3), name="Orang 3", now=at(20, 9))
    from visitors.services import visit_checkout

    visit_checkout(entrance_code=entrance.code, nik=nik_make(3), name="Orang 3", now=at(20, 12))
    assert counters(office) == (0, 3)

    assert visits_auto_checkout(now=at(20, 17, 30)) == 2  # the adult and the child
    closed = Visit.objects.get(pk=forgotten.visit_id)
    assert (closed.checked_out_at, closed.closed_by) == (at(20, 17), "system")
    assert Visit.objects.get(guardian_visit_id=forgotten.visit_id).checked_out_at == at(20, 17)
    assert Visit.objects.get(pk=late.visit_id).is_open  # due at 05:10 tomorrow (maximum stay)
    assert Visit.objects.get(pk=left.visit_id).closed_by == "person"
    assert counters(office) == (0, 1)
    audit = AuditEvent.objects.get(action="visits.auto_checked_out")
    assert (audit.office_id, audit.detail) == (office.pk, {"people": 2})

    assert visits_auto_checkout(now=at(20, 17, 45)) == 0  # running again closes nothing twice
    assert counters(office) == (0, 1)
    assert visits_auto_checkout(now=at(21, 5, 30)) == 1
    assert counters(office) == (0, 0)


def test_auto_checkout_leaves_visits_that_are_not_due():
    office = OfficeFactory(closes_at=datetime.time(16, 0))
    visit = VisitFactory(entrance_in=EntranceFactory(office=office), checked_in_at=at(20, 9))
    assert visits_auto_checkout(now=at(20, 15)) == 0
    visit.refresh_from_db()
    assert visit.is_open


# --- reconcile --------------------------------------------------------------------------------------------------


def test_reconcile_fixes_drift_logs_and_audits_it(caplog):
    office = OfficeFactory()
    entrance = EntranceFactory(office=office)
    VisitFactory(entrance_in=entrance, kind="visitor")
    VisitFactory(entrance_in=entrance, kind="visitor")
    VisitFactory(entrance_in=entrance, kind="staff")
    VisitFactory(
        entrance_in=entrance,
        kind="visitor",
        checked_in_at=timezone.now() - HOURS,
        checked_out_at=timezone.now(),
        closed_by="person",
    )
    OfficeOccupancy.objects.filter(office=office).update(staff_inside=4, visitors_inside=0)
    quiet = OfficeFactory()

    with caplog.at_level(logging.WARNING, logger="visitors.maintenance"):
        drifts = occupancy_reconcile()
    assert [(d.office_id, d.staff_before, d.staff_after, d.visitors_before, d.visitors_after) for d in drifts] == [
        (office.pk, 4, 1, 0, 2)
    ]
    assert counters(office) == (1, 2)
    assert counters(quiet) == (0, 0)
    audit = AuditEvent.objects.get(action="occupancy.reconciled")
    assert audit.office_id == office.pk
    assert audit.detail == {"staff_inside": [4, 1], "visitors_inside": [0, 2]}
    assert "occupancy drift fixed" in caplog.text

    assert occupancy_reconcile() == []  # nothing left to fix, nothing audited again
    assert AuditEvent.objects.filter(action="occupancy.reconciled").count() == 1


def test_reconcile_creates_a_missing_counter():
    office = OfficeFactory()
    VisitFactory(entrance_in=EntranceFactory(office=office))
    OfficeOccupancy.objects.filter(office=office).delete()
    occupancy_reconcile()
    assert counters(office) == (0, 1)


def test_a_checkin_after_reconcile_counts_from_the_fixed_value():
    office = OfficeFactory(capacity=2)
    entrance = EntranceFactory(office=office)
    OfficeOccupancy.objects.filter(office=office).update(visitors_inside=2)  # drift: really nobody inside
    HealthStatusFactory(nik=nik_make(1), name="Orang Satu", doses=2)
    assert visit_checkin(entrance_code=entrance.code, nik=nik_make(1), name="Orang Satu").reason == "capacity_full"
    occupancy_reconcile()
    assert visit_checkin(entrance_code=entrance.code, nik=nik_make(1), name="Orang Satu").admitted


# --- retention --------------------------------------------------------------------------------------------------


def test_purge_leaves_nothing_older_than_retention_and_keeps_what_is_younger(settings):
    settings.RETENTION_DAYS = 30
    settings.STATUS_RETENTION_DAYS = 14
    now = at(20, 12)
    old, young = now - datetime.timedelta(days=31), now - datetime.timedelta(days=29)
    entrance = EntranceFactory()

    gone = PersonFactory(nik=nik_make(1))
    Person.objects.filter(pk=gone.pk).update(created_at=old)
    gone_visit = VisitFactory(
        person=gone, entrance_in=entrance, checked_in_at=old, checked_out_at=old, closed_by="person"
    )
    gone_event = ScanEvent.objects.create(
        entrance=entrance,
        office=entrance.office,
        person=gone,
        visit=gone_visit,
        outcome="admitted",
        reason="ok",
        created_at=old,
    )
    gone_device = Device.objects.create(person=gone, token_hash="a" * 64, last_used_at=old)

    stays = PersonFactory(nik=nik_make(2))
    Person.objects.filter(pk=stays.pk).update(created_at=old)  # an old person who came back recently
    old_visit = VisitFactory(
        person=stays, entrance_in=entrance, checked_in_at=old, checked_out_at=old, closed_by="system"
    )
    young_visit = VisitFactory(
        person=stays, entrance_in=entrance, checked_in_at=young, checked_out_at=young, closed_by="person"
    )
    young_event = ScanEvent.objects.create(
        entrance=entrance,
        office=entrance.office,
        person=stays,
        visit=young_visit,
        outcome="admitted",
        reason="ok",
        created_at=young,
    )
    kept_device = Device.objects.create(person=stays, token_hash="b" * 64)
    Device.objects.filter(pk=kept_device.pk).update(created_at=old)  # old, but its person scanned lately

    old_status = HealthStatusFactory(nik=nik_make(3), refreshed_at=now - datetime.timedelta(days=15))
    young_status = HealthStatusFactory(nik=nik_make(4), refreshed_at=now - datetime.timedelta(days=13))

    result = personal_data_purge(now=now)
    assert (result.scan_events, result.visits, result.people, result.devices, result.health_statuses) == (
        1,
        2,
        1,
        1,
        1,
    )
    assert not Person.objects.filter(pk=gone.pk).exists()
    assert not Visit.objects.filter(pk__in=[gone_visit.pk, old_visit.pk]).exists()
    assert not ScanEvent.objects.filter(pk=gone_event.pk).exists()
    assert not Device.objects.filter(pk=gone_device.pk).exists()
    assert not HealthStatus.objects.filter(pk=old_status.pk).exists()

    cutoff = now - datetime.timedelta(days=30)
    assert not ScanEvent.objects.filter(created_at__lt=cutoff).exists()
    assert not Visit.objects.filter(checked_out_at__lt=cutoff).exists()
    assert not HealthStatus.objects.filter(refreshed_at__lt=now - datetime.timedelta(days=14)).exists()
    assert Person.objects.filter(pk=stays.pk).exists()
    assert Visit.objects.filter(pk=young_visit.pk).exists()
    assert ScanEvent.objects.filter(pk=young_event.pk).exists()
    assert Device.objects.filter(pk=kept_device.pk).exists()
    assert HealthStatus.objects.filter(pk=young_status.pk).exists()
    assert AuditEvent.objects.get(action="retention.purged").detail["visits"] == 2

    again = personal_data_purge(now=now)
    assert again == type(again)(0, 0, 0, 0, 0)


def test_purge_closes_a_visit_left_open_for_longer_than_retention(settings):
    settings.RETENTION_DAYS = 30
    now = at(20, 12)
    office = OfficeFactory()
    entrance = EntranceFactory(office=office)
    stale = VisitFactory(entrance_in=entrance, checked_in_at=now - datetime.timedelta(days=40))
    OfficeOccupancy.objects.filter(office=office).update(visitors_inside=1)
    personal_data_purge(now=now)
    assert not Visit.objects.filter(pk=stale.pk).exists()
    assert counters(office) == (0, 0)


def test_purge_keeps_an_open_visit_and_its_person():
    now = timezone.now()
    person = PersonFactory(nik=nik_make(5))
    Person.objects.filter(pk=person.pk).update(created_at=now - datetime.timedelta(days=90))
    visit = VisitFactory(person=person, checked_in_at=now - datetime.timedelta(hours=1))
    personal_data_purge(now=now)
    assert Visit.objects.filter(pk=visit.pk, checked_out_at__isnull=True).exists()
    assert Person.objects.filter(pk=person.pk).exists()


def test_purge_removes_exposure_cases_and_notices_whose_window_ended_before_retention(settings):
    from visitors.models import ExposureCase, ExposureNotice

    settings.RETENTION_DAYS = 30
    now = timezone.now()
    contact = PersonFactory(nik=nik_make(40))
    office = EntranceFactory().office

    def case_with_notice(days_ago: int, n: int) -> ExposureCase:
        until = now - datetime.timedelta(days=days_ago)
        case = ExposureCase.objects.create(
            case_person=PersonFactory(nik=nik_make(n)),
            window_from=until - datetime.timedelta(days=2),
            window_until=until,
            created_at=until,
        )
        ExposureNotice.objects.create(
            case=case,
            person=contact,
            office=office,
            window_from=until - datetime.timedelta(hours=1),
            window_until=until,
            message="x",
            created_at=until,
        )
        return case

    old, young = case_with_notice(31, 41), case_with_notice(29, 42)
    result = personal_data_purge(now=now)
    assert result.exposure_notices == 1
    assert not ExposureCase.objects.filter(pk=old.pk).exists()
    assert ExposureCase.objects.filter(pk=young.pk).exists()
    assert ExposureNotice.objects.filter(case=young).count() == 1
