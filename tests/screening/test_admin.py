"""Screening admin: edits to levels, policy and statuses are audited and reach the next check-in at once."""

from __future__ import annotations

import pytest

from offices.models import AuditEvent
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
