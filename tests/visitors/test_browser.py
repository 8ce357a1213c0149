"""The phone pages in a real headless Chromium at a cheap Android phone's viewport, against the live server."""

from __future__ import annotations

import pytest
from django.db import connections

from tests.conftest import CHROMIUM_ARGS as LAUNCH_ARGS
from tests.factories import EntranceFactory, HealthStatusFactory, nik_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = "/tmp/dc-result.png"


@pytest.fixture
def phone(chromium_path, monkeypatch):
    """A fresh phone-sized page; Playwright's sync API runs an event loop in this thread, hence the env flag."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=LAUNCH_ARGS)
        # bypass_csp: wait_for_function evals its string in the page, which the CSP forbids; the policy itself is
        # tested in a browser in tests/test_middleware.py.
        context = browser.new_context(
            viewport={"width": 360, "height": 740},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="en",
            bypass_csp=True,
        )
        context.set_default_timeout(10_000)
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            browser.close()
            # While Playwright's loop runs, Django keys connections by async context, so the ORM calls in the
            # test opened their own connection that pytest-django never sees; left open, it blocks dropping the
            # PostgreSQL test database.
            connections.close_all()


def first_visit(page, entrance_url: str, *, nik: str, name: str) -> None:
    page.goto(entrance_url)
    page.fill("input[name=nik]", nik)
    page.fill("input[name=name]", name)
    page.check("input[name=consent]")
    page.click("button[type=submit]:has-text('Check in')")


def test_check_in_check_out_and_one_tap_again(phone, live_server):
    from playwright.sync_api import expect

    entrance = EntranceFactory(office__name="Dinas Kesehatan Kota Denpasar", name="Pintu Utama")
    HealthStatusFactory(nik=nik_make(1), name="I Made Wirawan", doses=2)
    entrance_url = f"{live_server.url}/c/{entrance.code}/"

    first_visit(phone, entrance_url, nik=nik_make(1), name="I Made Wirawan")
    expect(phone.locator('[data-outcome="admitted"]')).to_be_visible()
    clock = phone.locator("#clock")
    before = clock.text_content()
    phone.wait_for_function(
        "before => document.getElementById('clock').textContent !== before", arg=before, timeout=2_000
    )
    phone.screenshot(path=SCREENSHOT)

    phone.click("[data-action=checkout]")
    expect(phone.locator('[data-outcome="admitted"][data-reason="checked_out"]')).to_be_visible()

    phone.goto(entrance_url)
    expect(phone.locator("[data-action=checkin]")).to_be_visible()
    expect(phone.locator("input[name=nik]")).to_have_count(0)
    expect(phone.get_by_text("I M*** W***")).to_be_visible()
    phone.click("[data-action=checkin]")
    expect(phone.locator('[data-outcome="admitted"][data-reason="ok"]')).to_be_visible()


def test_yellow_person_is_sent_to_the_officer(phone, live_server):
    from playwright.sync_api import expect

    entrance = EntranceFactory()
    HealthStatusFactory(nik=nik_make(2), name="Komang Ayu", doses=1)
    first_visit(phone, f"{live_server.url}/c/{entrance.code}/", nik=nik_make(2), name="Komang Ayu")
    amber = phone.locator('[data-outcome="see_officer"]')
    expect(amber).to_be_visible()
    expect(amber).to_contain_text("Please see the officer at the door before entering.")
    expect(phone.locator("[data-action=checkout]")).to_have_count(0)
