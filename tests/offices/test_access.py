"""The one access module: roles, office scope, and what each role may see."""

import pytest

from offices.access import (
    door_entrances_for_user,
    offices_for_user,
    user_can_access_office,
    user_may_trace,
    user_may_work_door,
    user_sees_city,
    user_sees_office_dashboard,
    user_sees_truth_at,
)
from tests.factories import EntranceFactory, OfficeFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def entrance():
    return EntranceFactory()


def test_an_officer_works_only_the_doors_of_assigned_offices(entrance):
    assert user_may_work_door(UserFactory(roles=["Petugas"], offices=[entrance.office]), office_id=entrance.office_id)
    assert not user_may_work_door(UserFactory(roles=["Petugas"]), office_id=entrance.office_id)


def test_satgas_sees_every_office_but_works_no_door(entrance):
    satgas = UserFactory(roles=["Satgas"])
    assert user_can_access_office(satgas, entrance.office_id)
    assert not user_may_work_door(satgas, office_id=entrance.office_id)
    assert user_may_trace(satgas)


def test_city_admin_and_superuser_work_every_door(entrance):
    assert user_may_work_door(UserFactory(roles=["Admin Kota"]), office_id=entrance.office_id)
    assert user_may_work_door(UserFactory(is_superuser=True), office_id=entrance.office_id)


def test_the_truth_of_a_scan_only_for_a_door_role_of_that_office(entrance):
    officer = UserFactory(roles=["Petugas"], offices=[entrance.office])
    assert user_sees_truth_at(officer, office_id=entrance.office_id)
    assert not user_sees_truth_at(officer, office_id=OfficeFactory().pk)
    assert not user_sees_truth_at(officer, office_id=None)


def test_office_admin_dashboards_are_scoped(entrance):
    admin = UserFactory(roles=["Admin Kantor"], offices=[entrance.office])
    assert user_sees_office_dashboard(admin, office_id=entrance.office_id)
    assert not user_sees_office_dashboard(admin, office_id=OfficeFactory().pk)
    assert not user_sees_city(admin)
    assert list(offices_for_user(admin)) == [entrance.office]


def test_door_entrances_follow_the_scope(entrance):
    other = EntranceFactory()
    officer = UserFactory(roles=["Petugas"], offices=[entrance.office])
    assert list(door_entrances_for_user(officer)) == [entrance]
    assert set(door_entrances_for_user(UserFactory(roles=["Admin Kota"]))) == {entrance, other}
    assert not door_entrances_for_user(UserFactory(roles=["Satgas"])).exists()
