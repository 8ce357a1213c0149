"""Pending cases that no longer wait, in a real headless Chromium against the live server: an unanswered case leaves
the officer's queue and the visitor's open page turns to "scan again" by itself; a case whose person was let in at
another office leaves the queue without waiting for the limit. Neither page is reloaded by hand."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from offices.models import AuditEvent
from screening.models import HealthStatus
from screening.services import health_status_cache_invalidate
from tests.factories import EntranceFactory, HealthStatusFactory, UserFactory, nik_make
from visitors.models import ScanEvent
from visitors.pending import pending_expire

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("door_roles", "quick_heartbeats"),
]

QUEUE = "#queue [data-case-id]"
# bypass_csp: wait_for_function evals its string in the page, which the CSP forbids (see tests/door/test_browser.py).
DOOR_TABLET = {"viewport": {"width": 1280, "height": 800}, "locale": "en", "bypass_csp": True}
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "en"}


@pytest.fixture
def entrance():
    return EntranceFactory(office__name="Dinas Kesehatan Kota Denpasar", office__capacity=10, name="Pintu Utama")


@pytest.fixture
def door(browser, live_server, client, entrance, settings):
    """The officer's tablet on the door screen; the screen state is re-read twice a second, as a busy door's is."""
    settings.DOOR_STREAM_STATE_SECONDS = 0.5
    client.force_login(UserFactory(roles=["Petugas"], offices=[entrance.office]))
    context = browser.new_context(**DOOR_TABLET)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/door/{entrance.pk}/")
    page.wait_for_function("document.body.dataset.connection === 'live'")
    page.evaluate("window.notReloaded = true")
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def phone_checkin(phone, live_server, entrance, n: int, name: str) -> None:
    phone.goto(f"{live_server.url}/c/{entrance.code}/")
    phone.fill("input[name=nik]", nik_make(n))
    phone.fill("input[name=name]", name)
    phone.check("input[name=consent]")
    phone.click("button[type=submit]:has-text('Check in')")


def test_an_unanswered_case_leaves_the_queue_and_the_phone_page(door, phone, live_server, entrance, settings):
    from playwright.sync_api import expect

    settings.PENDING_EXPIRE_MINUTES = 0.15  # 9 s
    HealthStatusFactory(nik=nik_make(1), name="Komang Ayu", doses=1)
    phone_checkin(phone, live_server, entrance, 1, "Komang Ayu")
    expect(phone.locator('[data-outcome="see_officer"]')).to_be_visible()
    expect(door.locator(QUEUE)).to_have_count(1, timeout=3_000)
    case = ScanEvent.objects.get(outcome="pending")
    started = time.monotonic()

    expect(door.locator(QUEUE)).to_have_count(0, timeout=20_000)
    assert time.monotonic() - started > 3  # it left because of its age, not because something else happened
    expect(door.locator("#queue-empty")).to_be_visible()
    expect(door.locator("#queue-count")).to_have_text("0")
    page_says = phone.locator('[data-outcome="denied"][data-reason="pending_expired"]')
    expect(page_says).to_be_visible(timeout=5_000)
    expect(page_says).to_contain_text("This check-in has expired. Please scan the poster at the door again.")
    assert door.evaluate("window.notReloaded === true")
    # No sweep has run: the screen and the page read the rule; the sweep then records and audits it once.
    assert ScanEvent.objects.get(pk=case.pk).resolution == ""
    assert pending_expire(now=timezone.now()).expired == 1
    assert AuditEvent.objects.filter(action="scan.expired", object_id=str(case.pk)).count() == 1


def test_a_case_let_in_elsewhere_leaves_the_queue_at_once(door, phone, live_server, entrance, settings):
    from playwright.sync_api import expect

    settings.PENDING_EXPIRE_MINUTES = 15
    HealthStatusFactory(nik=nik_make(2), name="Made Pergi", doses=1)
    phone_checkin(phone, live_server, entrance, 2, "Made Pergi")
    expect(door.locator(QUEUE)).to_have_count(1, timeout=3_000)

    # Fully vaccinated meanwhile, the person goes to another office and is let in there.
    digest = HealthStatus.objects.get().nik_hash
    HealthStatus.objects.update(doses=2)
    health_status_cache_invalidate(nik_hashes=[digest])
    other = EntranceFactory(office__name="Dinas Lain")
    phone_checkin(phone, live_server, other, 2, "Made Pergi")
    expect(phone.locator('[data-outcome="admitted"]')).to_be_visible()

    expect(door.locator(QUEUE)).to_have_count(0, timeout=3_000)
    assert door.evaluate("window.notReloaded === true")
