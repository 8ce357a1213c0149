"""Report pages: login, role and office scoping, rendered numbers and charts, exports and their audit entries."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.test import Client
from freezegun import freeze_time

from offices.models import AuditEvent
from screening.vocabulary import CaseStatus
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
from visitors.models import ClosedBy

pytestmark = pytest.mark.django_db

TZ = datetime.timezone(datetime.timedelta(hours=8))
NOW = datetime.datetime(2024, 3, 10, 12, 0, tzinfo=TZ)
INDEX_NIK = nik_make(9201)
CONTACT_NIK = nik_make(9202)


def at(day: int, hhmm: str) -> datetime.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime.datetime(2024, 3, day, hour, minute, tzinfo=TZ)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.fixture(autouse=True)
def _frozen():
    with freeze_time(NOW):
        yield


@pytest.fixture
def world():
    """Two offices with one visit each today, an index case with one contact, and a user per role."""
    own, other = EntranceFactory(), EntranceFactory()
    index = PersonFactory(nik=INDEX_NIK, name="Ni Luh Putu Ayu")
    contact = PersonFactory(nik=CONTACT_NIK, name="I Made Wirawan", phone="081234500001")
    HealthStatusFactory(
        nik=INDEX_NIK,
        name="Ni Luh Putu Ayu",
        case_status=CaseStatus.POSITIVE,
        case_reported_on=datetime.date(2024, 3, 9),
    )
    VisitFactory(
        person=index, entrance_in=own, checked_in_at=at(10, "08:00"), checked_out_at=at(10, "09:00"), closed_by="person"
    )
    VisitFactory(
        person=contact,
        entrance_in=own,
        checked_in_at=at(10, "08:30"),
        checked_out_at=at(10, "10:00"),
        closed_by=ClosedBy.PERSON,
    )
    VisitFactory(person=PersonFactory(), entrance_in=other, checked_in_at=at(10, "08:00"))
    StaffFactory(office=own.office, name="Staf Satu")
    return {
        "own": own.office,
        "other": other.office,
        "index": index,
        "contact": contact,
        "office_admin": UserFactory(roles=["Admin Kantor"], offices=[own.office]),
        "officer": UserFactory(roles=["Petugas"], offices=[own.office]),
        "city_admin": UserFactory(roles=["Admin Kota"]),
        "satgas": UserFactory(roles=["Satgas"]),
        "superuser": UserFactory(is_superuser=True),
    }


def office_url(office, suffix=""):
    return f"/reports/offices/{office.pk}/{suffix}"


# --- access ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/reports/", "/reports/city/", "/reports/exposures/", "/reports/offices/1/", "/reports/offices/1/export.csv"],
)
def test_login_required_redirects_to_admin_login(url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_office_admin_sees_own_office_only(world):
    client = client_for(world["office_admin"])

    assert client.get(office_url(world["own"])).status_code == 200
    assert client.get(office_url(world["own"], "staff/")).status_code == 200
    assert client.get(office_url(world["other"])).status_code == 403
    assert client.get(office_url(world["other"], "staff/")).status_code == 403
    assert client.get(office_url(world["other"], "export.csv")).status_code == 403
    assert client.get(office_url(world["other"], "staff/export.csv")).status_code == 403
    assert client.get("/reports/offices/999999/").status_code == 403  # no hint that an id does not exist
    assert client.get("/reports/city/").status_code == 403
    assert client.get("/reports/city/export.csv").status_code == 403
    assert not AuditEvent.objects.exists()


def test_office_admin_cannot_trace(world):
    client = client_for(world["office_admin"])

    assert client.get("/reports/exposures/").status_code == 403
    assert client.post("/reports/exposures/", {"nik": INDEX_NIK, "name": "Ni Luh Putu Ayu"}).status_code == 403
    assert client.get(f"/reports/exposures/people/{world['index'].pk}/").status_code == 403
    assert (
        client.post(f"/reports/exposures/people/{world['index'].pk}/export.csv", {"since": "2024-03-07"}).status_code
        == 403
    )
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("role", ["officer", "city_admin"])
def test_only_satgas_traces(world, role):
    client = client_for(world[role])

    assert client.get("/reports/exposures/").status_code == 403
    assert client.get(f"/reports/exposures/people/{world['index'].pk}/").status_code == 403


def test_officer_sees_no_dashboards(world):
    client = client_for(world["officer"])

    assert client.get(office_url(world["own"])).status_code == 403
    index = client.get("/reports/")
    assert index.status_code == 200
    assert b"data-office" not in index.content


def test_satgas_traces_but_sees_no_dashboards(world):
    client = client_for(world["satgas"])

    assert client.get("/reports/exposures/").status_code == 200
    assert client.get(office_url(world["own"])).status_code == 403
    assert client.get("/reports/city/").status_code == 403


def test_city_admin_sees_every_office_and_the_city(world):
    client = client_for(world["city_admin"])

    assert client.get(office_url(world["own"])).status_code == 200
    assert client.get(office_url(world["other"])).status_code == 200
    response = client.get("/reports/city/")
    assert response.status_code == 200
    assert f'data-office="{world["own"].pk}"'.encode() in response.content
    assert f'data-office="{world["other"].pk}"'.encode() in response.content


def test_superuser_sees_everything(world):
    client = client_for(world["superuser"])

    for url in ["/reports/", "/reports/city/", "/reports/exposures/", office_url(world["other"])]:
        assert client.get(url).status_code == 200, url


def test_reports_index_lists_what_the_role_may_see(world):
    admin = client_for(world["office_admin"]).get("/reports/").content.decode()
    assert f'data-office="{world["own"].pk}"' in admin
    assert f'data-office="{world["other"].pk}"' not in admin
    assert 'data-link="city"' not in admin and 'data-link="exposures"' not in admin

    satgas = client_for(world["satgas"]).get("/reports/").content.decode()
    assert 'data-link="exposures"' in satgas and "data-office" not in satgas


def test_admin_index_links_to_reports(world):
    response = client_for(world["office_admin"]).get("/admin/")
    assert response.status_code == 200
    assert b'href="/reports/"' in response.content


# --- dashboards -----------------------------------------------------------------------------------------------


def test_office_dashboard_renders_numbers_and_an_svg_chart(world):
    response = client_for(world["office_admin"]).get(office_url(world["own"]))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="id">' in html
    assert 'data-metric="checkins"' in html
    assert 'data-peak="2" data-capacity="100"' in html  # index case and contact inside together
    assert '<svg class="chart"' in html and 'data-chart="occupancy"' in html
    assert "<script" not in html  # no JavaScript, no CDN
    assert "https://" not in html


def test_office_dashboard_date_range_filter(world):
    client = client_for(world["office_admin"])

    response = client.get(office_url(world["own"]), {"start": "2024-03-01", "end": "2024-03-10"})
    assert response.status_code == 200
    assert b'data-table="days"' in response.content

    bad = client.get(office_url(world["own"]), {"start": "2024-03-10", "end": "2024-03-01"})
    assert bad.status_code == 200  # falls back to today and says why
    assert b"errorlist" in bad.content

    too_long = client.get(office_url(world["own"]), {"start": "2023-01-01", "end": "2024-03-10"})
    assert b"errorlist" in too_long.content


def test_office_export_is_masked_and_audited(world):
    client = client_for(world["office_admin"])

    response = client.get(office_url(world["own"], "export.csv"), {"start": "2024-03-10", "end": "2024-03-10"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    rows = csv_rows(response)
    assert {r["nik_masked"] for r in rows} == {world["index"].nik_masked, world["contact"].nik_masked}
    body = response.content.decode("utf-8-sig")
    assert INDEX_NIK not in body and CONTACT_NIK not in body
    entry = AuditEvent.objects.get(action="report.export")
    assert (entry.actor, entry.office, entry.detail["report"]) == (world["office_admin"], world["own"], "office_visits")


def test_compliance_page_and_export(world):
    client = client_for(world["office_admin"])

    page = client.get(office_url(world["own"], "staff/"))
    assert page.status_code == 200
    assert b"Staf Satu" in page.content  # on the roster, did not check in
    assert b'data-chart="compliance"' in page.content

    export = client.get(office_url(world["own"], "staff/export.csv"))
    assert export.status_code == 200
    assert csv_rows(export)[0]["checked_in"] == "no"
    assert AuditEvent.objects.get(action="report.export").detail["report"] == "staff_compliance"


def test_city_export_is_audited(world):
    response = client_for(world["city_admin"]).get("/reports/city/export.csv")

    assert response.status_code == 200
    assert len(csv_rows(response)) == 2
    assert AuditEvent.objects.get(action="report.export").detail["report"] == "city_summary"


# --- contact tracing ------------------------------------------------------------------------------------------


def test_exposure_search_by_nik_and_name_shows_contacts_and_audits(world):
    client = client_for(world["satgas"])

    response = client.post("/reports/exposures/", {"nik": INDEX_NIK, "name": "NI LUH PUTU AYU", "since": ""})

    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-person="{world["contact"].pk}" data-minutes="30"' in html
    assert world["contact"].nik_masked in html
    assert CONTACT_NIK not in html and INDEX_NIK not in html
    entry = AuditEvent.objects.get(action="exposure.query")
    assert entry.detail["since"] == "2024-03-07"  # two days before the positive date
    assert entry.detail["channel"] == "web"


def test_exposure_search_miss_says_so_and_is_audited(world):
    client = client_for(world["satgas"])

    response = client.post("/reports/exposures/", {"nik": INDEX_NIK, "name": "Someone Else"})

    assert response.status_code == 200
    assert b'data-error="form"' in response.content
    assert AuditEvent.objects.get(action="exposure.query").detail["found"] is False


def test_exposure_search_rejects_a_bad_nik_without_a_query(world):
    response = client_for(world["satgas"]).post("/reports/exposures/", {"nik": "1234", "name": "X"})

    assert b'data-error="nik"' in response.content
    assert not AuditEvent.objects.exists()


def test_exposure_search_lists_registry_positive_cases(world):
    response = client_for(world["satgas"]).get("/reports/exposures/")

    assert f'data-person="{world["index"].pk}"'.encode() in response.content
    assert b"since=2024-03-07" in response.content


def test_exposure_person_page_audits_each_view(world):
    client = client_for(world["satgas"])
    url = f"/reports/exposures/people/{world['index'].pk}/"

    assert client.get(url).status_code == 200
    response = client.get(url, {"since": "2024-03-10"})
    assert f'data-person="{world["contact"].pk}"'.encode() in response.content
    assert AuditEvent.objects.filter(action="exposure.query").count() == 2
    assert client.get(url, {"since": "not-a-date"}).status_code == 400


def test_exposure_export_has_full_nik_and_is_audited(world):
    client = client_for(world["satgas"])
    url = f"/reports/exposures/people/{world['index'].pk}/export.csv"

    assert client.get(url).status_code == 405  # a POST only: never prefetched, never in history
    response = client.post(url, {"since": "2024-03-07"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    (row,) = csv_rows(response)
    assert (row["name"], row["nik"], row["phone"], row["overlap_minutes"]) == (
        "I Made Wirawan",
        CONTACT_NIK,
        "081234500001",
        "30",
    )
    entry = AuditEvent.objects.get(action="exposure.export")
    assert entry.actor == world["satgas"]
    assert CONTACT_NIK not in str(entry.detail) and INDEX_NIK not in str(entry.detail)


def test_exposure_export_needs_csrf(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["satgas"])

    response = client.post(f"/reports/exposures/people/{world['index'].pk}/export.csv", {"since": "2024-03-07"})

    assert response.status_code == 403
    assert not AuditEvent.objects.exists()


def test_empty_office_dashboard_renders():
    office = OfficeFactory()
    client = client_for(UserFactory(roles=["Admin Kantor"], offices=[office]))
    assert client.get(office_url(office)).status_code == 200
