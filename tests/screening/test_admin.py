"""Screening admin: edits to levels, policy and statuses are audited and reach the next check-in at once."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from offices.models import AuditEvent
from screening.models import HealthStatus, ScreeningPolicy
from tests.factories import EntranceFactory, HealthStatusFactory, OfficeFactory, UserFactory, nik_make
from visitors.services import visit_checkin

pytestmark = pytest.mark.django_db


def test_admin_change_of_restriction_level_takes_effect_on_next_checkin(client, django_capture_on_commit_callbacks):
    """The level is cached for check-ins; an admin edit must drop the cached copy and be audited."""
    office = OfficeFactory(capacity=4, sector="non_esensial")
    entrance = EntranceFactory(office=office)
    for n in (1, 2):
        HealthStatusFactory(nik=nik_make(n), name="Orang", doses=2)
    assert visit_checkin(entrance_code=entrance.code, nik=nik_make(1), name="Orang").effective_capacity == 4

    admin_user = UserFactory(is_superuser=True)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/screening/restrictionlevel/add/",
            {
                "level": 4,
                "name": "PPKM Level 4",
                "effective_from": "2021-07-03",
                "pct_kritikal": 100,
                "pct_esensial": 50,
                "pct_non_esensial": 25,
            },
        )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="restrictionlevel.changed").exists()
    result = visit_checkin(entrance_code=entrance.code, nik=nik_make(2), name="Orang")
    assert result.effective_capacity == 1
    assert result.reason == "capacity_full"


def test_admin_change_of_health_status_takes_effect_on_next_checkin(client, django_capture_on_commit_callbacks):
    entrance = EntranceFactory()
    status = HealthStatusFactory(nik=nik_make(3), name="Orang Tiga", doses=1)
    first = visit_checkin(entrance_code=entrance.code, nik=nik_make(3), name="Orang Tiga")
    assert first.reason == "partially_vaccinated"

    client.force_login(UserFactory(is_superuser=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/screening/healthstatus/{status.pk}/change/",
            {"nik": "", "name": "Orang Tiga", "doses": 2, "case_status": "none"},
        )
    assert response.status_code == 302, response.content[:2000]
    assert visit_checkin(entrance_code=entrance.code, nik=nik_make(3), name="Orang Tiga").outcome == "admitted"


# --- the computed colour, at a glance --------------------------------------------------------------------------------


def colour_cell(html: str, pk_name: str) -> str:
    """The colour cell of the changelist row whose name cell holds `pk_name`."""
    row = next(row for row in html.split("<tr") if pk_name in row)
    return row.split('class="field-colour">')[1].split("</td>")[0]


def test_health_status_list_shows_the_colour_screening_computes(client):
    HealthStatusFactory(name="Hijau Dua Dosis", doses=2)
    HealthStatusFactory(name="Kuning Satu Dosis", doses=1)
    HealthStatusFactory(name="Merah Belum Vaksin", doses=0)
    HealthStatusFactory(name="Hitam Isolasi", doses=2, case_status="positive", isolated_until="2099-01-01")
    client.force_login(UserFactory(roles=["Satgas"]))

    html = client.get("/admin/screening/healthstatus/", HTTP_ACCEPT_LANGUAGE="id").content.decode()

    assert 'data-colour="green">Hijau<' in colour_cell(html, "Hijau Dua Dosis")
    assert 'data-colour="yellow">Kuning<' in colour_cell(html, "Kuning Satu Dosis")
    assert 'data-colour="red">Merah<' in colour_cell(html, "Merah Belum Vaksin")
    assert 'data-colour="black">Hitam<' in colour_cell(html, "Hitam Isolasi")


def test_health_status_colour_follows_the_policy(client):
    """Two doses are green by default, yellow when the city requires a booster: the list uses the policy in force."""
    HealthStatusFactory(name="Dua Dosis", doses=2)
    ScreeningPolicy.objects.filter(pk=1).update(require_booster=True)
    client.force_login(UserFactory(roles=["Satgas"]))

    html = client.get("/admin/screening/healthstatus/").content.decode()

    assert 'data-colour="yellow"' in colour_cell(html, "Dua Dosis")


def test_isolation_over_shows_the_vaccination_colour_again(client):
    HealthStatusFactory(name="Sudah Sembuh", doses=2, case_status="positive", isolated_until="2021-01-01")
    client.force_login(UserFactory(roles=["Satgas"]))

    html = client.get("/admin/screening/healthstatus/").content.decode()

    assert 'data-colour="green"' in colour_cell(html, "Sudah Sembuh")


def test_health_status_form_shows_the_computed_colour(client):
    status = HealthStatusFactory(
        name="Hitam Isolasi", doses=2, case_status="close_contact", isolated_until="2099-01-01"
    )
    client.force_login(UserFactory(roles=["Satgas"]))

    html = client.get(f"/admin/screening/healthstatus/{status.pk}/change/", HTTP_ACCEPT_LANGUAGE="id").content.decode()

    assert 'data-colour="black">Hitam<' in html


def test_health_status_list_queries_do_not_grow_with_rows(client):
    """The policy is read per page, not per row: twenty rows cost the queries of two."""
    client.force_login(UserFactory(roles=["Satgas"]))

    def queries_for(rows: int) -> int:
        for n in range(rows - HealthStatus.objects.count()):
            HealthStatusFactory(name=f"Orang {n}", doses=n % 3)
        with CaptureQueriesContext(connection) as context:
            response = client.get("/admin/screening/healthstatus/")
        assert response.content.decode().count('class="field-colour"') == rows
        return len(context)

    few = queries_for(2)
    many = queries_for(20)
    assert many == few


# --- restriction levels: which one is in force ------------------------------------------------------------------------


def test_restriction_level_list_says_which_level_is_in_force_and_which_wait(client):
    client.force_login(UserFactory(roles=["Admin Kota"]))

    html = client.get("/admin/screening/restrictionlevel/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert html.count('data-state="in_force"') == 1
    assert html.count('data-state="inactive"') == 4
    in_force_row = next(row for row in html.split("<tr") if 'data-state="in_force"' in row)
    assert "Tanpa pembatasan" in in_force_row
