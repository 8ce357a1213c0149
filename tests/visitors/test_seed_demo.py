"""Tests for the demo data (visitors.demo) and the seed_demo command."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from denpasar_checkin.nik import nik_hash, nik_validate
from offices.models import Entrance, Office, OfficeOccupancy, OfficerAssignment, Staff
from offices.roles import ROLE_OFFICER, ROLE_SATGAS
from screening.models import HealthStatus
from screening.vocabulary import CaseStatus
from tests.factories import OfficeFactory
from visitors.demo import DEMO_DATA, demo_is_needed, demo_seed

pytestmark = pytest.mark.django_db

OFFICES = ["Kantor Wali Kota Denpasar", "Mal Pelayanan Publik Denpasar", "Kantor Camat Denpasar Timur"]
PASSWORD = re.compile(r"^\s*(\w+)\s+password: (\S+)$", re.MULTILINE)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    models = [Office, Entrance, OfficeOccupancy, Staff, HealthStatus, OfficerAssignment, get_user_model()]
    return {model.__name__: model.objects.count() for model in models}


def test_seed_creates_the_three_offices_with_entrances_staff_and_occupancy():
    seed()

    assert sorted(Office.objects.values_list("name", flat=True)) == sorted(OFFICES)
    for office in Office.objects.all():
        assert 2 <= office.entrances.count() <= 3
        assert office.staff.count() >= 2
        assert OfficeOccupancy.objects.filter(office=office).exists()
    assert Office.objects.get(name="Mal Pelayanan Publik Denpasar").sector == "esensial"
    assert all(re.fullmatch(r"\d{18}", nip) for nip in Staff.objects.values_list("nip", flat=True))


def test_seed_creates_users_in_the_right_groups():
    seed()
    User = get_user_model()

    admin = User.objects.get(username="admin")
    petugas = User.objects.get(username="petugas")
    satgas = User.objects.get(username="satgas")
    assert admin.is_superuser and admin.is_staff
    assert list(petugas.groups.values_list("name", flat=True)) == [ROLE_OFFICER]
    assert list(satgas.groups.values_list("name", flat=True)) == [ROLE_SATGAS]
    assert not petugas.is_superuser and not satgas.is_superuser
    assert list(petugas.office_assignments.values_list("office__name", flat=True)) == ["Kantor Wali Kota Denpasar"]


def test_seed_creates_a_registry_status_of_every_colour():
    seed()
    today = timezone.localdate()
    statuses = HealthStatus.objects.filter(source="registry")

    plain = statuses.filter(case_status=CaseStatus.NONE, exemption_until__isnull=True)
    assert plain.filter(doses=2).exists()  # green
    assert plain.filter(doses=3).exists()  # green with booster
    assert plain.filter(doses=1).exists()  # yellow
    assert plain.filter(doses=0).exists()  # red
    assert statuses.filter(doses=0, exemption_until__gt=today).exists()  # red with a medical exemption
    assert statuses.filter(case_status=CaseStatus.POSITIVE, isolated_until__gt=today).exists()  # black
    assert statuses.filter(case_status=CaseStatus.POSITIVE, isolated_until__lt=today, doses__gte=2).exists()
    unknown = [person for person in DEMO_DATA["people"] if person["colour"] == "unknown"]
    assert len(unknown) == 1
    assert not HealthStatus.objects.filter(nik_hash=nik_hash(unknown[0]["nik"])).exists()


def test_demo_niks_are_valid_and_distinct():
    niks = [p["nik"] for p in DEMO_DATA["people"]] + [
        s["nik"] for office in DEMO_DATA["offices"] for s in office["staff"]
    ]

    assert [nik_validate(nik) for nik in niks] == niks
    assert len(set(niks)) == len(niks)


def test_seed_prints_entrance_urls_and_a_nik_per_colour():
    out = seed()

    for entrance in Entrance.objects.all():
        assert entrance.url in out
    for person in DEMO_DATA["people"]:
        assert person["nik"] in out and person["name"] in out


def test_running_twice_creates_nothing_and_prints_no_password():
    first = seed()
    before = counts()

    second = seed()

    assert counts() == before
    assert len(PASSWORD.findall(first)) == 3
    assert PASSWORD.findall(second) == []
    assert second.count("unchanged") >= 3


def test_printed_passwords_log_in(client):
    passwords = dict(PASSWORD.findall(seed()))

    assert set(passwords) == {"admin", "petugas", "satgas"}
    for username, password in passwords.items():
        assert client.login(username=username, password=password), username
        client.logout()


def test_existing_user_keeps_their_password():
    get_user_model().objects.create_user(username="petugas", password="Sandi-Lama-123")

    summary = demo_seed()

    petugas = next(user for user in summary.users if user.username == "petugas")
    assert (petugas.created, petugas.password) == (False, None)
    assert get_user_model().objects.get(username="petugas").check_password("Sandi-Lama-123")


def test_if_empty_does_nothing_when_an_office_exists():
    OfficeFactory(name="Kantor Dinas Kesehatan Kota Denpasar")
    before = counts()

    out = seed("--if-empty")

    assert not demo_is_needed()
    assert counts() == before
    assert "password" not in out
    assert "already" in out


def test_if_empty_seeds_an_empty_database():
    assert demo_is_needed()

    seed("--if-empty")

    assert Office.objects.count() == 3
    assert not demo_is_needed()


@pytest.mark.django_db
def test_seed_demo_is_refused_in_production(settings):
    from django.core.management.base import CommandError

    settings.DEMO_SEED_ALLOWED = False
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=StringIO())
    from offices.models import Office

    assert not Office.objects.exists()
