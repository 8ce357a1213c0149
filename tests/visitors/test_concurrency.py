"""Races for the last places, on PostgreSQL with real threads: the gate never over-admits."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.utils import timezone

from offices.models import OfficeOccupancy
from tests.factories import EntranceFactory, HealthStatusFactory, OfficeFactory, PersonFactory, nik_make
from visitors.models import ScanEvent, Visit
from visitors.services import visit_checkin

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("require_postgres")]

# PostgreSQL's default max_connections is 100; the test database and the pool must both fit under it.
WORKERS = 40


def _race(calls: list[dict]) -> list:
    start = threading.Barrier(min(len(calls), WORKERS))

    def one(kwargs: dict):
        try:
            # Fewer workers than calls: the later calls start as soon as a worker frees up.
            with contextlib.suppress(threading.BrokenBarrierError):
                start.wait(timeout=10)
            return visit_checkin(**kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(one, calls))


# First-time people take the general path (the person is written in the same transaction); people seen before
# take the one-statement admission. Both must hold the line.
@pytest.mark.parametrize("seen_before", [False, True], ids=["first-visit", "returning"])
def test_hundred_people_race_for_ten_places(seen_before):
    office = OfficeFactory(capacity=10)
    entrance = EntranceFactory(office=office)
    for n in range(100):
        HealthStatusFactory(nik=nik_make(n), name=f"Orang {n}", doses=2)
        if seen_before:
            PersonFactory(nik=nik_make(n), name=f"Orang {n}")
    results = _race([{"entrance_code": entrance.code, "nik": nik_make(n), "name": f"Orang {n}"} for n in range(100)])

    assert sum(r.outcome == "admitted" for r in results) == 10
    assert sum(r.reason == "capacity_full" for r in results) == 90
    occupancy = OfficeOccupancy.objects.get(office=office)
    assert occupancy.visitors_inside == 10
    assert Visit.objects.filter(office=office, checked_out_at__isnull=True).count() == 10
    assert ScanEvent.objects.count() == 100


@pytest.mark.parametrize("seen_before", [False, True], ids=["first-visit", "returning"])
def test_one_person_racing_twenty_times_gets_one_visit(seen_before):
    entrance = EntranceFactory()
    HealthStatusFactory(nik=nik_make(500), name="Satu Orang", doses=2)
    if seen_before:
        PersonFactory(nik=nik_make(500), name="Satu Orang")
    results = _race([{"entrance_code": entrance.code, "nik": nik_make(500), "name": "Satu Orang"}] * 20)

    assert all(r.outcome == "admitted" for r in results)
    assert Visit.objects.count() == 1
    assert len({r.visit_id for r in results}) == 1
    assert ScanEvent.objects.count() == 1
    assert OfficeOccupancy.objects.get(office=entrance.office).visitors_inside == 1


def test_scan_event_ids_follow_the_order_of_the_gate():
    """A check-in waiting for the counter's row lock draws its scan event id only once it holds the lock, so the
    scan log of an office lists its counter changes in the order they happened (audits and the benchmark's
    capacity replay rely on it)."""
    import time

    from django.db import connection, transaction

    from denpasar_checkin.sql import row_insert

    entrance = EntranceFactory()
    HealthStatusFactory(nik=nik_make(600), name="Orang Antri", doses=2)
    PersonFactory(nik=nik_make(600), name="Orang Antri")
    visit_checkin(entrance_code=entrance.code, nik=nik_make(601), name="Pemanas")  # warms policy and level
    outcome: list = []

    def waiting_checkin() -> None:
        try:
            outcome.append(visit_checkin(entrance_code=entrance.code, nik=nik_make(600), name="Orang Antri"))
        finally:
            connections.close_all()

    with transaction.atomic():
        OfficeOccupancy.objects.select_for_update().get(office=entrance.office)
        worker = threading.Thread(target=waiting_checkin)
        worker.start()
        deadline = time.monotonic() + 10
        with connection.cursor() as cursor:
            while True:
                cursor.execute(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0] or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
        # Drawn while the check-in waits for the lock: the check-in's own id must come after it.
        drawn_while_waiting = row_insert(
            ScanEvent,
            values={
                "entrance_id": entrance.pk,
                "office_id": entrance.office_id,
                "outcome": "denied",
                "reason": "not_vaccinated",
                "created_at": timezone.now(),
            },
        )
    worker.join(timeout=10)
    assert outcome and outcome[0].outcome == "admitted"
    assert outcome[0].scan_event_id > drawn_while_waiting
