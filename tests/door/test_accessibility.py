"""WCAG 2.1 AA on the door console: axe-core in a real Chromium finds nothing serious or critical on the door list,
the live door screen (with scans, a pending case and an alert on it) and the live-QR kiosk."""

from __future__ import annotations

import pytest

from tests.browser import chromium_context, session_cookie_add
from tests.factories import EntranceFactory, HealthStatusFactory, UserFactory, nik_make
from tests.visitors.test_accessibility import assert_accessible
from visitors.services import visit_checkin

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("door_roles", "quick_heartbeats"),
]

# See tests/door/test_browser.py: the door tablet, and string evaluations the CSP would forbid.
DOOR_TABLET = {"viewport": {"width": 1280, "height": 800}, "locale": "id", "bypass_csp": True}


@pytest.fixture
def entrance():
    return EntranceFactory(
        office__name="Dinas Kesehatan Kota Denpasar", office__capacity=10, name="Pintu Utama", live_qr=True
    )


@pytest.fixture
def officer(entrance):
    return UserFactory(roles=["Petugas"], offices=[entrance.office])


@pytest.fixture
def officer_page(chromium_path, live_server, client, officer, monkeypatch):
    """A door officer's tablet, logged in with a real session cookie (as in test_browser.py)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    client.force_login(officer)
    # The stream threads end at their next heartbeat once the browser is gone.
    with chromium_context(chromium_path, settle_seconds=1.0, **DOOR_TABLET) as context:
        session_cookie_add(context, client=client, live_server=live_server)
        yield context.new_page()


def scans(entrance, officer) -> None:
    """One of each card the screen draws: admitted, pending (a case with its buttons), and an alert. Typed in by
    the officer, who needs no live code at their own door."""
    for n, name, status in (
        (1, "I Made Wirawan", {"doses": 2}),
        (2, "Komang Ayu", {"doses": 1}),
        (3, "Wayan Hitam", {"doses": 2, "case_status": "positive", "isolated_until": "2099-01-01"}),
    ):
        HealthStatusFactory(nik=nik_make(n), name=name, **status)
        visit_checkin(entrance_code=entrance.code, nik=nik_make(n), name=name, officer=officer)


def test_door_index(officer_page, live_server, entrance):
    from playwright.sync_api import expect

    officer_page.goto(f"{live_server.url}/door/")
    expect(officer_page.locator(f'[data-entrance="{entrance.pk}"]')).to_be_visible()
    assert_accessible(officer_page)


def test_door_screen(officer_page, live_server, entrance, officer):
    from playwright.sync_api import expect

    scans(entrance, officer)
    officer_page.goto(f"{live_server.url}/door/{entrance.pk}/")
    officer_page.wait_for_function("document.body.dataset.connection === 'live'")
    expect(officer_page.locator("#queue [data-case-id]")).to_have_count(1)
    expect(officer_page.locator("#alerts [data-alert-id]")).to_have_count(1)
    assert_accessible(officer_page)


def test_kiosk_of_a_live_qr_entrance(officer_page, live_server, entrance):
    from playwright.sync_api import expect

    officer_page.goto(f"{live_server.url}/door/{entrance.pk}/kiosk/")
    expect(officer_page.locator(".qr-box svg")).to_be_visible()
    assert_accessible(officer_page)
