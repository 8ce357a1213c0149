"""The PPKM levels 1-4 (Inmendagri shares per sector) ship in every database, inactive until a city admin gives one an
effective date; the level in force stays "no restriction" until then."""

from __future__ import annotations

import datetime
import importlib

import pytest
from django.apps import apps as global_apps
from django.utils import timezone

from screening.models import RestrictionLevel
from screening.selectors import effective_capacity_today, restriction_level_current
from tests.factories import EntranceFactory, HealthStatusFactory, UserFactory, nik_make
from visitors.services import visit_checkin

pytestmark = pytest.mark.django_db

migration = importlib.import_module("screening.migrations.0003_ppkm_levels")


def shares(level: RestrictionLevel) -> tuple[int, int, int]:
    return level.pct_kritikal, level.pct_esensial, level.pct_non_esensial


def test_fresh_database_holds_ppkm_levels_1_to_4_besides_no_restriction():
    assert sorted(RestrictionLevel.objects.values_list("level", flat=True)) == [0, 1, 2, 3, 4]


def test_ppkm_levels_are_inactive_without_an_effective_date():
    levels = RestrictionLevel.objects.filter(level__gte=1)

    assert [level.effective_from for level in levels] == [None] * 4


def test_ppkm_levels_carry_the_inmendagri_shares():
    by_level = {level.level: shares(level) for level in RestrictionLevel.objects.filter(level__gte=1)}

    # (kritikal, esensial, non-esensial): Inmendagri 22/2021 (level 4), 43/2021 (level 3), 57/2021 (levels 2, 1).
    assert by_level == {4: (100, 50, 0), 3: (100, 50, 25), 2: (100, 75, 50), 1: (100, 100, 75)}


def test_ppkm_levels_tighten_as_the_level_rises():
    levels = list(RestrictionLevel.objects.order_by("level"))

    for lower, higher in zip(levels, levels[1:], strict=False):
        assert all(a >= b for a, b in zip(shares(lower), shares(higher), strict=True))


def test_inactive_levels_leave_no_restriction_in_force():
    level = restriction_level_current()

    assert level.level == 0
    assert effective_capacity_today(capacity=100, sector="non_esensial") == 100


def test_giving_a_level_a_date_puts_it_in_force(client, django_capture_on_commit_callbacks):
    level_3 = RestrictionLevel.objects.get(level=3)
    client.force_login(UserFactory(roles=["Admin Kota"]))
    today = timezone.localdate()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/screening/restrictionlevel/{level_3.pk}/change/",
            {
                "level": 3,
                "name": level_3.name,
                "effective_from": today.isoformat(),
                "pct_kritikal": 100,
                "pct_esensial": 50,
                "pct_non_esensial": 25,
            },
        )

    assert response.status_code == 302
    assert restriction_level_current().level == 3
    entrance = EntranceFactory(office__capacity=8, office__sector="non_esensial")
    HealthStatusFactory(nik=nik_make(1), name="Orang Satu", doses=2)
    assert visit_checkin(entrance_code=entrance.code, nik=nik_make(1), name="Orang Satu").effective_capacity == 2


def test_a_dated_level_is_not_in_force_before_its_date():
    level_4 = RestrictionLevel.objects.get(level=4)
    level_4.effective_from = timezone.localdate() + datetime.timedelta(days=3)
    level_4.save()

    assert restriction_level_current().level == 0
    assert restriction_level_current(today=level_4.effective_from).level == 4


def test_several_levels_may_wait_without_a_date():
    # The effective date is unique, but an empty one is not a date: any number of levels may be inactive.
    RestrictionLevel.objects.create(level=2, name="PPKM Level 2 (draft)", effective_from=None)

    assert RestrictionLevel.objects.filter(effective_from__isnull=True).count() == 5


def test_migration_keeps_a_level_the_city_already_set_up():
    RestrictionLevel.objects.filter(level__gte=1).delete()
    own = RestrictionLevel.objects.create(
        level=3, name="PPKM Level 3 Denpasar", effective_from=datetime.date(2021, 8, 3), pct_non_esensial=25
    )

    migration.create_levels(global_apps, None)

    assert RestrictionLevel.objects.get(level=3) == own
    assert sorted(RestrictionLevel.objects.values_list("level", flat=True)) == [0, 1, 2, 3, 4]


def test_migration_reversed_removes_only_the_untouched_levels():
    level_2 = RestrictionLevel.objects.get(level=2)
    level_2.effective_from = datetime.date(2021, 11, 2)
    level_2.save()

    migration.remove_levels(global_apps, None)

    assert sorted(RestrictionLevel.objects.values_list("level", flat=True)) == [0, 2]
