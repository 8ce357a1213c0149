"""The phone pages in a real headless Chromium at a cheap Android phone's viewport, against the live server."""

from __future__ import annotations

import pytest

from tests.browser import chromium_context
from tests.factories import EntranceFactory, HealthStatusFactory, nik_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = "/tmp/dc-result.png"


@pytest.fixture
def phone(chromium_path, monkeypatch):
    """A fresh phone-sized page; Playwright's sync API runs an event loop in this thread, hence the env flag."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # bypass_csp: wait_for_function evals its string in the page, which the CSP forbids; the policy itself is
    # tested in a browser in tests/test_middleware.py.
    options = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True}
    with chromium_context(chromium_path, has_touch=True, locale="en", bypass_csp=True, **options) as context:
        yield context.new_page()


def first_visit(page, entrance_url: str, *, nik: str, name: str, remember: bool = False) -> None:
    page.goto(entrance_url)
    page.fill("input[name=nik]", nik)
    page.fill("input[name=name]", name)
    if remember:
        page.check("input[name=remember]")
    page.check("input[name=consent]")
    page.click("button[type=submit]:has-text('Check in')")


def test_check_in_check_out_and_one_tap_again(phone, live_server):
    from playwright.sync_api import expect

    entrance = EntranceFactory(office__name="Dinas Kesehatan Kota Denpasar", name="Pintu Utama")
    HealthStatusFactory(nik=nik_make(1), name="I Made Wirawan", doses=2)
    entrance_url = f"{live_server.url}/c/{entrance.code}/"

    first_visit(phone, entrance_url, nik=nik_make(1), name="I Made Wirawan", remember=True)
    expect(phone.locator('[data-outcome="admitted"]')).to_be_visible()
    assert "/c/r/" in phone.url and nik_make(1) not in phone.url
    clock = phone.locator("#clock")
    before = clock.text_content()
    phone.wait_for_function(
        "before => document.getElementById('clock').textContent !== before", arg=before, timeout=2_000
    )
    phone.screenshot(path=SCREENSHOT)

    phone.click("[data-action=checkout]")
    expect(phone.locator('[data-outcome="admitted"][data-reason="checked_out"]')).to_be_visible()
    # A reload shows the same answer and sends nothing again (post, redirect, get).
    phone.reload()
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
    expect(amber).to_contain_text("the officer at the door will call you")
    expect(amber).to_contain_text("KTP")
    expect(phone.locator("[data-action=checkout]")).to_have_count(0)


def _pending_phone(phone, live_server, n: int):
    from playwright.sync_api import expect

    from tests.factories import UserFactory
    from visitors.models import ScanEvent

    entrance = EntranceFactory()
    HealthStatusFactory(nik=nik_make(n), name="Komang Ayu", doses=1)
    first_visit(phone, f"{live_server.url}/c/{entrance.code}/", nik=nik_make(n), name="Komang Ayu")
    expect(phone.locator('[data-outcome="see_officer"]')).to_be_visible()
    assert "/c/r/" in phone.url and nik_make(n) not in phone.url
    officer = UserFactory(roles=["Petugas"], offices=[entrance.office])
    return ScanEvent.objects.get(outcome="pending"), officer


def _decide(live_server, officer, scan_id: int, body: dict) -> None:
    """The officer's tablet: the door console's decision endpoint, over HTTP like the console itself."""
    from django.test import Client

    officer_tablet = Client()
    officer_tablet.force_login(officer)
    response = officer_tablet.post(f"/api/v1/scans/{scan_id}/decision/", body, content_type="application/json")
    assert response.status_code == 200, response.content


def test_the_open_page_turns_admitted_when_the_officer_approves(phone, live_server):
    import time

    from playwright.sync_api import expect

    scan, officer = _pending_phone(phone, live_server, 3)
    _decide(live_server, officer, scan.pk, {"decision": "approve"})
    decided = time.monotonic()
    expect(phone.locator('[data-outcome="admitted"][data-reason="ok"]')).to_be_visible(timeout=2_000)
    assert time.monotonic() - decided < 2.0
    expect(phone.locator("#clock")).to_be_visible()
    expect(phone.locator("[data-action=checkout]")).to_be_visible()


def test_the_open_page_says_not_admitted_when_the_officer_denies(phone, live_server):
    from playwright.sync_api import expect

    scan, officer = _pending_phone(phone, live_server, 4)
    _decide(live_server, officer, scan.pk, {"decision": "deny", "reason": "Belum vaksin lengkap"})
    denied = phone.locator('[data-outcome="denied"][data-reason="not_admitted"]')
    expect(denied).to_be_visible(timeout=2_000)
    expect(denied).to_contain_text("not admitted today")
    expect(denied).not_to_contain_text("vaksin")


def test_the_waiting_page_keeps_following_after_the_connection_drops(phone, live_server):
    from playwright.sync_api import expect

    scan, officer = _pending_phone(phone, live_server, 5)
    phone.context.set_offline(True)
    phone.wait_for_timeout(2_500)  # a few failed polls: the page backs off instead of giving up
    _decide(live_server, officer, scan.pk, {"decision": "approve"})
    phone.context.set_offline(False)
    expect(phone.locator('[data-outcome="admitted"][data-reason="ok"]')).to_be_visible(timeout=5_000)


def test_a_short_code_typed_in_lowercase_with_spaces_opens_the_entrance(phone, live_server):
    from playwright.sync_api import expect

    entrance = EntranceFactory(office__name="Dinas Kesehatan Kota Denpasar")
    typed = f"{entrance.short_code[:4].lower()} - {entrance.short_code[4:].lower()}"
    phone.goto(f"{live_server.url}/c/")
    phone.fill("input[name=code]", typed)
    phone.click("button[type=submit]")
    expect(phone.locator("input[name=nik]")).to_be_visible()
    assert phone.url == f"{live_server.url}/c/{entrance.code}/"


def test_the_six_digits_under_the_kiosk_qr_open_its_live_entrance(phone, live_server):
    from django.test import Client
    from playwright.sync_api import expect

    from tests.browser import session_cookie_add
    from tests.factories import UserFactory

    entrance = EntranceFactory(live_qr=True)
    officer_tablet = Client()
    officer_tablet.force_login(UserFactory(roles=["Petugas"], offices=[entrance.office]))
    session_cookie_add(phone.context, client=officer_tablet, live_server=live_server)
    phone.goto(f"{live_server.url}/door/{entrance.pk}/kiosk/")
    digits = phone.locator("#digits").text_content()
    phone.context.clear_cookies()  # the visitor's phone, not the kiosk

    phone.goto(f"{live_server.url}/c/")
    phone.fill("input[name=code]", digits)
    phone.click("button[type=submit]")
    expect(phone.locator("input[name=nik]")).to_be_visible()
    assert f"/c/{entrance.code}/?t=" in phone.url

    # The printed short code of a live-QR entrance does not get round its live code.
    phone.goto(f"{live_server.url}/c/")
    phone.fill("input[name=code]", entrance.short_code)
    phone.click("button[type=submit]")
    expect(phone.locator("[role=alert]")).to_contain_text("6")
    expect(phone.locator("input[name=nik]")).to_have_count(0)
