"""Check-in and check-out services: rules, idempotency, the query budget."""

from __future__ import annotations

import contextlib
import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from denpasar_checkin.nik import nik_hash
from offices.models import OfficeOccupancy
from screening.models import RestrictionLevel
from tests.factories import (
    EntranceFactory,
    HealthStatusFactory,
    OfficeFactory,
    PersonFactory,
    StaffFactory,
    nik_make,
)
from visitors.models import ClosedBy, Device, Person, ScanEvent, Visit
from visitors.services import (
    CheckinError,
    EntranceInactive,
    EntranceUnknown,
    NotInside,
    visit_checkin,
    visit_checkout,
)

pytestmark = pytest.mark.django_db


def green(n: int, name: str = "Ni Luh Putu Ayu", **kwargs):
    return HealthStatusFactory(nik=nik_make(n), name=name, doses=2, **kwargs)


def occupancy(office) -> tuple[int, int]:
    row = OfficeOccupancy.objects.get(office=office)
    return row.staff_inside, row.visitors_inside


def test_green_visitor_is_admitted_and_counted():
    entrance = EntranceFactory()
    green(1)
    result = visit_checkin(entrance_code=entrance.code, nik=nik_make(1), name="Ni Luh Putu Ayu")
    assert (result.outcome, result.reason, result.public_outcome) == ("admitted", "ok", "admitted")
    visit = Visit.objects.get(pk=result.visit_id)
    assert visit.kind == "visitor" and visit.is_open
    assert occupancy(entrance.office) == (0, 1)
    event = ScanEvent.objects.get(pk=result.scan_event_id)
    assert (event.outcome, event.reason, event.colour) == ("admitted", "ok", "green")


def test_name_mismatch_is_status_unknown_pending():
    entrance = EntranceFactory()
    green(2, name="I Made Wirawan")
    result = visit_checkin(entrance_code=entrance.code, nik=nik_make(2), name="I Made Sutama")
    assert (result.outcome, result.reason) == ("pending", "status_unknown")
    assert (result.public_outcome, result.public_reason) == ("see_officer", "see_officer")
    assert result.visit_id is None
    assert occupancy(entrance.office) == (0, 0)


def test_name_match_ignores_case_spacing_and_punctuation():
    entrance = EntranceFactory()
    green(3, name="I Gusti Ngurah Rai, S.H.")
    result = visit_checkin(entrance_code=entrance.code, nik=nik_make(3), name="  i gusti  ngurah rai SH ")
    assert result.outcome == "admitted"


@pytest.mark.parametrize(
    ("fields", "reason", "outcome"),
    [
        ({"doses": 1}, "partially_vaccinated", "pending"),
        ({"doses": 0}, "not_vaccinated", "denied"),
        ({"doses": 2, "case_status": "positive", "isolated_until": datetime.date(2099, 1, 1)}, "isolation", "denied"),
    ],
    ids=["yellow", "red", "black"],
)
def test_health_results_are_hidden_from_anonymous_callers(fields, reason, outcome):
    entrance = EntranceFactory()
    HealthStatusFactory(nik=nik_make(4), name="Komang Ayu", **fields)
    result = visit_checkin(entrance_code=entrance.code, nik=nik_make(4), name="Komang Ayu")
    assert (result.outcome, result.reason) == (outcome, reason)
    assert (result.public_outcome, result.public_reason) == ("see_officer", "see_officer")
    assert not Visit.objects.exists()
    assert ScanEvent.objects.get().reason == reason


def test_black_status_raises_alert():
    entrance = EntranceFactory()
    HealthStatusFactory(nik=nik_make(5), name="Wayan", case_status="positive", isolated_until=datetime.date(2099, 1, 1))
    result = visit_checkin(entrance_code=entrance.code, nik=nik_make(5), name="Wayan")
    assert result.alert and ScanEvent.objects.get().alert


def test_visitor_denied_when_full():
    office = OfficeFactory(capacity=1)
    entrance = EntranceFactory(office=office)
    green(6, name="A Satu")
    green(7, name="B Dua")
    assert visit_checkin(entrance_code=entrance.code, nik=nik_make(6), name="A Satu").outcome == "admitted"
    result = visit_checkin(entrance_code=entrance.code, nik=nik_make(7), name="B Dua")
    assert (result.outcome, result.reason, result.public_outcome) == ("denied", "capacity_full", "denied")
    assert Visit.objects.count() == 1
    assert occupancy(office) == (0, 1)


def test_restriction_level_lowers_effective_capacity():
    office = OfficeFactory(capacity=10, sector="non_esensial")
    RestrictionLevel.objects.create(
        level=3, name="PPKM 3", effective_from=datetime.date(2021, 7, 1), pct_non_esensial=25, pct_esensial=50
    )
    entrance = EntranceFactory(office=office)
    results = []
    for n in range(10, 14):
        green(n, name="Orang Baik")
        results.append(visit_checkin(entrance_code=entrance.code, nik=nik_make(n), name="Orang Baik"))
    assert [r.outcome for r in results] == ["admitted", "admitted", "denied", "denied"]
    assert results[-1].effective_capacity == 2


def test_staff_admitted_over_capacity_unless_office_denies_staff():
    office = OfficeFactory(capacity=1)
    entrance = EntranceFactory(office=office)
    green(20, name="Pengunjung")
    visit_checkin(entrance_code=entrance.code, nik=nik_make(20), name="Pengunjung")
    StaffFactory(office=office, nik=nik_make(21), name="Pegawai Satu")
    green(21, name="Pegawai Satu")
    result = visit_checkin(entrance_code=entrance.code, nik=nik_make(21), name="Pegawai Satu")
    assert (result.outcome, result.kind) == ("admitted", "staff")
    assert occupancy(office) == (1, 1)

    office.deny_staff_when_full = True
    office.save()
    StaffFactory(office=office, nik=nik_make(22), name="Pegawai Dua")
    green(22, name="Pegawai Dua")
    result = visit_checkin(entrance_code=entrance.code, nik=nik_make(22), name="Pegawai Dua")
    assert (result.outcome, result.reason) == ("denied", "capacity_full")


def test_checkin_elsewhere_closes_the_old_visit_by_system():
    first, second = EntranceFactory(), EntranceFactory()
    green(30, name="Made")
    old = visit_checkin(entrance_code=first.code, nik=nik_make(30), name="Made")
    new = visit_checkin(entrance_code=second.code, nik=nik_make(30), name="Made")
    assert new.outcome == "admitted"
    old_visit = Visit.objects.get(pk=old.visit_id)
    assert old_visit.closed_by == ClosedBy.SYSTEM and old_visit.checked_out_at is not None
    assert occupancy(first.office) == (0, 0)
    assert occupancy(second.office) == (0, 1)


def test_double_tap_returns_first_answer_and_writes_nothing():
    entrance = EntranceFactory()
    green(31, name="Ketut")
    first = visit_checkin(entrance_code=entrance.code, nik=nik_make(31), name="Ketut")
    again = visit_checkin(entrance_code=entrance.code, nik=nik_make(31), name="Ketut")
    assert again.visit_id == first.visit_id and again.repeated
    assert ScanEvent.objects.count() == 1 and Visit.objects.count() == 1


def test_later_scan_inside_is_already_inside():
    entrance = EntranceFactory()
    green(32, name="Ketut")
    now = timezone.now()
    visit_checkin(entrance_code=entrance.code, nik=nik_make(32), name="Ketut", now=now)
    later = visit_checkin(
        entrance_code=entrance.code, nik=nik_make(32), name="Ketut", now=now + datetime.timedelta(minutes=5)
    )
    assert later.reason == "already_inside"
    assert Visit.objects.count() == 1
    assert occupancy(entrance.office) == (0, 1)


def test_same_nonce_returns_same_answer_and_writes_nothing_new():
    entrance = EntranceFactory()
    HealthStatusFactory(nik=nik_make(33), name="Nyoman", doses=0)
    first = visit_checkin(entrance_code=entrance.code, nik=nik_make(33), name="Nyoman", nonce="abcdefgh1234")
    again = visit_checkin(entrance_code=entrance.code, nik=nik_make(33), name="Nyoman", nonce="abcdefgh1234")
    assert (again.outcome, again.reason, again.scan_event_id) == (first.outcome, first.reason, first.scan_event_id)
    assert ScanEvent.objects.count() == 1


def test_checkout_releases_the_place_and_records_the_scan():
    entrance = EntranceFactory()
    green(34, name="Putu")
    visit_checkin(entrance_code=entrance.code, nik=nik_make(34), name="Putu")
    result = visit_checkout(entrance_code=entrance.code, nik=nik_make(34), name="Putu")
    assert result.people_out == 1
    assert occupancy(entrance.office) == (0, 0)
    visit = Visit.objects.get()
    assert visit.closed_by == ClosedBy.PERSON and visit.entrance_out == entrance
    assert ScanEvent.objects.filter(reason="checked_out").count() == 1


def test_checkout_when_not_inside_is_refused():
    entrance = EntranceFactory()
    with pytest.raises(NotInside):
        visit_checkout(entrance_code=entrance.code, nik=nik_make(35), name="Putu")


def test_dependants_count_toward_occupancy_and_leave_with_the_adult():
    entrance = EntranceFactory()
    green(36, name="Ibu Sari")
    child = nik_make(37, born=timezone.localdate() - datetime.timedelta(days=365 * 6))
    result = visit_checkin(
        entrance_code=entrance.code, nik=nik_make(36), name="Ibu Sari", dependants=[{"nik": child, "name": "Anak"}]
    )
    assert result.outcome == "admitted" and result.dependants == 1
    assert occupancy(entrance.office) == (0, 2)
    visit_checkout(entrance_code=entrance.code, nik=nik_make(36), name="Ibu Sari")
    assert occupancy(entrance.office) == (0, 0)
    assert not Visit.objects.filter(checked_out_at__isnull=True).exists()


def test_dependant_of_twelve_or_more_is_refused():
    entrance = EntranceFactory()
    green(38, name="Ibu Sari")
    teen = nik_make(39, born=timezone.localdate() - datetime.timedelta(days=365 * 13))
    with pytest.raises(ValidationError) as error:
        visit_checkin(
            entrance_code=entrance.code, nik=nik_make(38), name="Ibu Sari", dependants=[{"nik": teen, "name": "Remaja"}]
        )
    assert "dependants" in error.value.message_dict
    assert not Person.objects.exists() and not ScanEvent.objects.exists()


def test_unknown_and_inactive_entrances_write_nothing():
    green(40, name="Kadek")
    with pytest.raises(EntranceUnknown):
        visit_checkin(entrance_code="no-such-code", nik=nik_make(40), name="Kadek")
    closed = EntranceFactory(active=False)
    with pytest.raises(EntranceInactive):
        visit_checkin(entrance_code=closed.code, nik=nik_make(40), name="Kadek")
    assert not Person.objects.exists() and not ScanEvent.objects.exists()


def test_bad_fields_are_all_reported_and_nothing_written():
    entrance = EntranceFactory()
    with pytest.raises(ValidationError) as error:
        visit_checkin(entrance_code=entrance.code, nik="12345", name="", phone="abc")
    assert set(error.value.message_dict) == {"nik", "name", "phone"}
    assert not Person.objects.exists()


def test_remembered_device_checks_in_with_token_only():
    entrance = EntranceFactory()
    green(41, name="Gede")
    first = visit_checkin(entrance_code=entrance.code, nik=nik_make(41), name="Gede", remember_device=True)
    assert first.device_token and Device.objects.count() == 1
    assert first.device_token not in Device.objects.get().token_hash
    visit_checkout(entrance_code=entrance.code, device_token=first.device_token)
    again = visit_checkin(
        entrance_code=entrance.code, device_token=first.device_token, now=timezone.now() + datetime.timedelta(hours=1)
    )
    assert again.outcome == "admitted" and again.person_name == "Gede"


def test_forgotten_device_token_is_refused():
    entrance = EntranceFactory()
    with pytest.raises(CheckinError):
        visit_checkin(entrance_code=entrance.code, device_token="not-a-real-token")


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


@contextlib.contextmanager
def max_statements(n: int):
    """At most n SQL statements that read or write data; BEGIN/COMMIT (logged by both backends) are not counted."""
    with CaptureQueriesContext(connection) as context:
        yield context
    statements = [q["sql"] for q in context.captured_queries if not q["sql"].upper().startswith(TRANSACTION_CONTROL)]
    assert len(statements) <= n, f"{len(statements)} statements > {n}:\n" + "\n".join(s[:120] for s in statements)


@pytest.mark.django_db(transaction=True)
def test_checkin_query_budget():
    """A new person with a cold status cache is the dearest common path: at most 6 statements, no HTTP."""
    entrance = EntranceFactory()
    for n in (49, 50, 51):
        green(n, name="Budget Orang")
    # Policy and restriction level are cached for a minute in production; the first scan of a process warms them.
    visit_checkin(entrance_code=entrance.code, nik=nik_make(49), name="Budget Orang")
    with max_statements(6):
        result = visit_checkin(entrance_code=entrance.code, nik=nik_make(50), name="Budget Orang")
    assert result.outcome == "admitted"
    PersonFactory(nik=nik_make(51), name="Budget Orang")
    visit_checkin(entrance_code=entrance.code, nik=nik_make(51), name="Budget Orang")
    visit_checkout(entrance_code=entrance.code, nik=nik_make(51), name="Budget Orang")
    # A returning person with a warm status cache: entrance read, gate, visit, scan event.
    with max_statements(4):
        again = visit_checkin(
            entrance_code=entrance.code,
            nik=nik_make(51),
            name="Budget Orang",
            now=timezone.now() + datetime.timedelta(minutes=1),
        )
    assert again.outcome == "admitted"


@pytest.mark.django_db(transaction=True)
def test_checkout_query_budget_and_counts_from_the_release():
    """Entrance, the open visit, close it and its children's, release the places, the scan event: no re-read of the
    counter, which the release's own UPDATE already returned under its row lock."""
    entrance = EntranceFactory()
    green(56, name="Orang Pulang")
    green(57, name="Orang Lain")
    visit_checkin(entrance_code=entrance.code, nik=nik_make(56), name="Orang Pulang")
    visit_checkin(entrance_code=entrance.code, nik=nik_make(57), name="Orang Lain")
    with max_statements(6):
        result = visit_checkout(entrance_code=entrance.code, nik=nik_make(56), name="Orang Pulang")
    counter = OfficeOccupancy.objects.get(office=entrance.office)
    assert (result.people_out, result.visitors_inside, result.staff_inside) == (1, 1, 0)
    assert (counter.visitors_inside, counter.staff_inside) == (1, 0)
    assert ScanEvent.objects.get(pk=result.scan_event_id).action == "checkout"


def _returning_person(n: int, *, name: str = "Orang Kembali", doses: int = 2) -> None:
    HealthStatusFactory(nik=nik_make(n), name=name, doses=doses)
    PersonFactory(nik=nik_make(n), name=name)


@pytest.mark.django_db(transaction=True)
def test_plain_admission_on_postgresql_is_one_write_statement_without_a_transaction(require_postgres):
    """Gate, visit and scan event in one statement: no BEGIN/COMMIT round trips, and everything written."""
    entrance = EntranceFactory()
    _returning_person(52)
    visit_checkin(entrance_code=entrance.code, nik=nik_make(90), name="Pemanas")  # warms policy and level
    with CaptureQueriesContext(connection) as context:
        result = visit_checkin(entrance_code=entrance.code, nik=nik_make(52), name="Orang Kembali")
    # The entrance read, the registry (this status is not cached yet), then the write; no BEGIN, no COMMIT.
    assert [q["sql"].split()[0].upper() for q in context.captured_queries] == ["SELECT", "SELECT", "WITH"]
    assert (result.outcome, result.reason, result.visitors_inside) == ("admitted", "ok", 1)
    visit = Visit.objects.get(pk=result.visit_id)
    assert (visit.person.nik_hash, visit.office_id, visit.kind, visit.checked_out_at) == (
        nik_hash(nik_make(52)),
        entrance.office_id,
        "visitor",
        None,
    )
    event = ScanEvent.objects.get(pk=result.scan_event_id)
    assert (event.visit_id, event.outcome, event.reason, event.colour, event.alert) == (
        visit.pk,
        "admitted",
        "ok",
        "green",
        False,
    )
    assert OfficeOccupancy.objects.get(office=entrance.office).visitors_inside == 1


@pytest.mark.django_db(transaction=True)
def test_one_statement_admission_refused_by_the_gate_records_capacity_full(require_postgres):
    office = OfficeFactory(capacity=1)
    entrance = EntranceFactory(office=office)
    _returning_person(53)
    _returning_person(54)
    visit_checkin(entrance_code=entrance.code, nik=nik_make(53), name="Orang Kembali")
    refused = visit_checkin(entrance_code=entrance.code, nik=nik_make(54), name="Orang Kembali")
    assert (refused.outcome, refused.reason, refused.visit_id) == ("denied", "capacity_full", None)
    assert refused.visitors_inside == 1
    event = ScanEvent.objects.get(pk=refused.scan_event_id)
    assert (event.outcome, event.reason, event.visit_id, event.colour) == ("denied", "capacity_full", None, "green")
    assert Visit.objects.filter(office=office).count() == 1
    assert OfficeOccupancy.objects.get(office=office).visitors_inside == 1


@pytest.mark.django_db(transaction=True)
def test_refusal_of_a_known_person_writes_one_row_without_a_transaction():
    entrance = EntranceFactory()
    _returning_person(55, doses=0)
    visit_checkin(entrance_code=entrance.code, nik=nik_make(90), name="Pemanas")
    with CaptureQueriesContext(connection) as context:
        result = visit_checkin(entrance_code=entrance.code, nik=nik_make(55), name="Orang Kembali")
    assert result.outcome == "denied"
    statements = [q["sql"].split()[0].upper() for q in context.captured_queries]
    # Entrance, registry (not cached yet), the scan event; nothing else is written and no transaction is opened.
    # (Without Redis the referral's notice task runs inline and reads the scan back, after the answer is written.)
    assert statements[:3] == ["SELECT", "SELECT", "INSERT"]
    assert statements.count("INSERT") == 1 and not {"BEGIN", "SAVEPOINT", "UPDATE"} & set(statements)
    assert ScanEvent.objects.filter(pk=result.scan_event_id, outcome="denied").exists()


def test_child_errors_come_with_the_other_field_errors():
    entrance = EntranceFactory()
    with pytest.raises(ValidationError) as error:
        visit_checkin(entrance_code=entrance.code, nik="123", name="Ibu", dependants="not a list")
    assert set(error.value.message_dict) == {"nik", "dependants"}


def test_remembered_device_use_is_recorded_at_most_daily():
    entrance = EntranceFactory()
    green(42, name="Gede")
    first = visit_checkin(entrance_code=entrance.code, nik=nik_make(42), name="Gede", remember_device=True)
    visit_checkout(entrance_code=entrance.code, device_token=first.device_token)
    later = timezone.now() + datetime.timedelta(days=2)
    visit_checkin(entrance_code=entrance.code, device_token=first.device_token, now=later)
    assert Device.objects.get().last_used_at == later


def test_closing_a_visit_opened_after_our_clock_never_ends_before_it_began():
    """Two offices at once: the later-starting request committed first; the other closes its visit safely."""
    first, second = EntranceFactory(), EntranceFactory()
    green(60, name="Dua Kantor")
    start = timezone.now()
    opened = visit_checkin(
        entrance_code=first.code, nik=nik_make(60), name="Dua Kantor", now=start + datetime.timedelta(seconds=5)
    )
    result = visit_checkin(entrance_code=second.code, nik=nik_make(60), name="Dua Kantor", now=start)
    assert result.outcome == "admitted"
    old = Visit.objects.get(pk=opened.visit_id)
    assert old.checked_out_at == old.checked_in_at


def test_a_refused_gate_is_always_capacity_full_even_if_a_place_frees_up(monkeypatch):
    """The UPDATE's verdict stands; a check-out committing between it and the re-read must not admit anyone."""
    import visitors.services as services
    from screening.services import GateResult

    office = OfficeFactory(capacity=1)
    entrance = EntranceFactory(office=office)
    green(61, name="Orang Ketat")
    monkeypatch.setattr(services, "occupancy_admit", lambda **kwargs: GateResult(False, 0, 0))
    result = visit_checkin(entrance_code=entrance.code, nik=nik_make(61), name="Orang Ketat")
    assert (result.outcome, result.reason) == ("denied", "capacity_full")
    assert not Visit.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_only_the_racing_constraints_are_retried():
    """A second open visit or a repeated nonce is a race the retry answers; any other refusal is a bug that surfaces."""
    from django.db import IntegrityError, transaction

    from visitors.services import integrity_error_is_race

    entrance = EntranceFactory()
    green(80, name="Orang Balapan")
    first = visit_checkin(entrance_code=entrance.code, nik=nik_make(80), name="Orang Balapan", nonce="nonce-race-1")
    visit = Visit.objects.get(pk=first.visit_id)
    refusals = {}
    writes = {
        "second open visit": lambda: Visit.objects.create(
            person=visit.person,
            office=visit.office,
            entrance_in=entrance,
            kind="visitor",
            checked_in_at=visit.checked_in_at,
        ),
        "same nonce": lambda: ScanEvent.objects.create(
            entrance=entrance,
            office=entrance.office,
            outcome="admitted",
            reason="ok",
            nonce="nonce-race-1",
            created_at=timezone.now(),
        ),
        "same person twice": lambda: PersonFactory(nik=nik_make(80)),
        "out before in": lambda: Visit.objects.filter(pk=visit.pk).update(
            checked_out_at=visit.checked_in_at - datetime.timedelta(hours=1), closed_by=ClosedBy.PERSON
        ),
    }
    for name, write in writes.items():
        with pytest.raises(IntegrityError) as refused, transaction.atomic():
            write()
        refusals[name] = integrity_error_is_race(refused.value)
    assert refusals == {
        "second open visit": True,
        "same nonce": True,
        "same person twice": True,
        "out before in": False,
    }
