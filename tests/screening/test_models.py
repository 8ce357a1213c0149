"""Database constraints and the defaults a fresh database holds for the health registry, levels and policy."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, transaction

from screening.models import HealthStatus, RestrictionLevel, ScreeningPolicy
from tests.factories import HealthStatusFactory


@pytest.mark.django_db
def test_five_doses_are_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        HealthStatusFactory(doses=5)


@pytest.mark.django_db
def test_four_doses_are_accepted():
    assert HealthStatusFactory(doses=4).doses == 4


@pytest.mark.django_db
def test_invalid_case_status_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        HealthStatusFactory(case_status="recovered")


@pytest.mark.django_db
def test_invalid_status_source_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        HealthStatusFactory(source="rumour")


@pytest.mark.django_db
def test_one_nik_has_one_health_status():
    status = HealthStatusFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        HealthStatusFactory(nik_hash=status.nik_hash)
    assert HealthStatus.objects.count() == 1


@pytest.mark.django_db
def test_fresh_database_has_one_unrestricted_level_in_force():
    level = RestrictionLevel.objects.get(effective_from__isnull=False)

    assert level.level == 0
    assert (level.pct_kritikal, level.pct_esensial, level.pct_non_esensial) == (100, 100, 100)


@pytest.mark.django_db
def test_fresh_database_has_one_screening_policy():
    policy = ScreeningPolicy.objects.get()

    assert policy.pk == 1
    assert (policy.require_booster, policy.unknown_status_denies, policy.isolation_days) == (False, False, 10)


@pytest.mark.django_db
def test_second_screening_policy_row_is_refused():
    # save() pins the id to 1; bulk_create skips save(), so only the check constraint stands in the way.
    with pytest.raises(IntegrityError), transaction.atomic():
        ScreeningPolicy.objects.bulk_create([ScreeningPolicy(id=2)])


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["pct_kritikal", "pct_esensial", "pct_non_esensial"])
def test_restriction_percentage_above_100_is_refused(field):
    with pytest.raises(IntegrityError), transaction.atomic():
        RestrictionLevel.objects.create(
            level=3, name="PPKM Level 3", effective_from=datetime.date(2021, 7, 26), **{field: 101}
        )


@pytest.mark.django_db
def test_restriction_level_above_4_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        RestrictionLevel.objects.create(level=5, name="PPKM Level 5", effective_from=datetime.date(2021, 7, 26))
