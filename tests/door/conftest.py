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


@pytest.fixture
def browser(chromium_path, monkeypatch):
    """One headless Chromium for a test's tablets and phones; Playwright's sync API runs an event loop in this
    thread, hence the env flag."""
    import time

    from django.db import connections
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM_ARGS

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            # The live server's stream threads end at their next write once the browser is gone; give them the
            # moment, then close every connection so the PostgreSQL test database can be dropped.
            time.sleep(1.0)
            connections.close_all()
