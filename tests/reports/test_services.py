"""Report services: exposure queries and CSV exports, what they contain and the audit entry each writes."""

from __future__ import annotations

import csv
import datetime
import io
import json

import pytest
from freezegun import freeze_time

from offices.models import AuditEvent
from reports.selectors import DateRange
from reports.services import (
    ExposurePersonNotFound,
    ExposureSinceRequired,
    city_summary_export,
    exposure_export,
    exposure_report_by_nik,
    exposure_report_for_person,
    office_visits_export,
    staff_compliance_export,
)
from tests.factories import PersonFactory, UserFactory, nik_make

from .scenarios import EXPECTED, INDEX_NAME, INDEX_NIK, NOW, at, csv_rows, visit

pytestmark = pytest.mark.django_db


# --- exposure -------------------------------------------------------------------------------------------------


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


# --- exports --------------------------------------------------------------------------------------------------


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
