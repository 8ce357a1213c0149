"""Fixtures of the door console's tests: an entrance with room for ten, its officer, and phones that scan there."""

from __future__ import annotations

import pytest

from tests.factories import EntranceFactory, HealthStatusFactory, UserFactory, nik_make
from visitors.services import CheckinResult, visit_checkin


@pytest.fixture
def entrance():
    return EntranceFactory(office__name="Dinas Kesehatan", office__capacity=10, name="Pintu Utama")


@pytest.fixture
def officer(entrance):
    return UserFactory(roles=["Petugas"], offices=[entrance.office])


@pytest.fixture
def client_in(client, officer):
    client.force_login(officer)
    return client


@pytest.fixture
def scan():
    """A phone's check-in: `scan(entrance, n, doses=1)` is person n with one dose (pending at the door)."""

    def scan(entrance, n: int, *, doses: int = 2, name: str = "Made Wirawan") -> CheckinResult:
        HealthStatusFactory(nik=nik_make(n), name=name, doses=doses)
        return visit_checkin(entrance_code=entrance.code, nik=nik_make(n), name=name)

    return scan


@pytest.fixture
def short_streams(settings):
    """Streams that end right after their first read, so a test can read the whole body."""
    settings.DOOR_STREAM_MAX_SECONDS = 0
    settings.DOOR_STREAM_HEARTBEAT_SECONDS = 15


@pytest.fixture
def door_roles():
    """A transactional test's flush drops the groups the roles migration made; the door only needs their names."""
    from django.contrib.auth.models import Group

    from offices.roles import ROLE_LABELS

    for role in ROLE_LABELS:
        Group.objects.get_or_create(name=role)


@pytest.fixture
def quick_heartbeats(settings):
    """The live server is WSGI: a stream thread notices a closed tab only when it next writes. Frequent heartbeats
    end those threads within a moment of the browser closing, before the test database is flushed."""
    settings.DOOR_STREAM_HEARTBEAT_SECONDS = 0.25
