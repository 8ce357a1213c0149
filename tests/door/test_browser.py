"""The door screen in a real headless Chromium against the live server (WSGI, so the sync stream): scans appear
live, a dropped stream resumes exactly once, pending cases are approved and denied through the decision API,
alerts are acknowledged."""

from __future__ import annotations

import json
import urllib.request

import pytest

from offices.models import AuditEvent
from tests.factories import EntranceFactory, HealthStatusFactory, UserFactory, nik_make
from visitors.models import ScanEvent

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("door_roles", "quick_heartbeats"),
]

SCREENSHOT = "/tmp/door.png"
SCREENSHOT_PORTRAIT = "/tmp/door-portrait.png"
FEED_CARDS = "#feed [data-event-id]"
# Playwright's wait_for_function evals its string in the page, which the CSP forbids ('unsafe-eval' is not allowed);
# the policy itself is tested in a browser in tests/test_middleware.py.
DOOR_TABLET = {"viewport": {"width": 1280, "height": 800}, "locale": "en", "bypass_csp": True}


@pytest.fixture
def entrance():
    return EntranceFactory(office__name="Dinas Kesehatan Kota Denpasar", office__capacity=10, name="Pintu Utama")


@pytest.fixture
def door(browser, live_server, client, entrance):
    """The officer's tablet (landscape), logged in with a real session cookie, on the door screen."""
    officer = UserFactory(roles=["Petugas"], offices=[entrance.office])
    client.force_login(officer)
    context = browser.new_context(**DOOR_TABLET)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/door/{entrance.pk}/")
    page.wait_for_function("document.body.dataset.connection === 'live'")
    page.officer = officer
    try:
        yield page
    finally:
        context.close()


def api_checkin(live_server, entrance, n: int, name: str) -> dict:
    """What a phone does: an anonymous POST /api/v1/checkins/ from outside the browser."""
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/checkins/",
        data=json.dumps({"entrance": entrance.code, "nik": nik_make(n), "name": name}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def person(n: int, name: str, **status) -> tuple[int, str]:
    HealthStatusFactory(nik=nik_make(n), name=name, **{"doses": 2, **status})
    return n, name


def feed_ids(page) -> list[int]:
    return [int(x) for x in page.eval_on_selector_all(FEED_CARDS, "cards => cards.map(c => c.dataset.eventId)")]


def test_scan_appears_within_two_seconds_with_the_truth(door, live_server, entrance):
    from playwright.sync_api import expect

    gauge = door.locator("#gauge")
    expect(gauge).to_have_attribute("data-occupancy", "0")
    expect(gauge).to_have_attribute("data-capacity", "10")

    api_checkin(live_server, entrance, *person(1, "I Made Wirawan"))
    card = door.locator('#feed [data-outcome="admitted"][data-reason="ok"]')
    expect(card).to_be_visible(timeout=2_000)
    expect(card).to_contain_text("I Made Wirawan")
    expect(gauge).to_have_attribute("data-occupancy", "1", timeout=2_000)

    # The phone is told only "see the officer"; the officer's screen shows the true reason.
    answer = api_checkin(live_server, entrance, *person(2, "Nyoman Merah", doses=0))
    assert answer["outcome"] == "see_officer"
    expect(door.locator('#feed [data-outcome="denied"][data-reason="not_vaccinated"]')).to_be_visible(timeout=2_000)
    expect(door.locator("#conn-text")).to_have_text("Live")


def test_dropped_stream_reconnects_and_shows_the_gap_exactly_once(browser, live_server, client, entrance, settings):
    from playwright.sync_api import expect

    # The server ends each stream after ~2 s; the browser waits 2.5 s before it reconnects with Last-Event-ID.
    settings.DOOR_STREAM_MAX_SECONDS = 2
    settings.DOOR_STREAM_RETRY_MS = 2500
    officer = UserFactory(roles=["Petugas"], offices=[entrance.office])
    client.force_login(officer)
    context = browser.new_context(**DOOR_TABLET)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/door/{entrance.pk}/")
    page.wait_for_function("document.body.dataset.connection === 'live'")

    api_checkin(live_server, entrance, *person(1, "Satu Sebelum"))
    expect(page.locator(FEED_CARDS)).to_have_count(1)

    # Wait for the server to drop the stream, then scan while the screen is disconnected.
    page.wait_for_function("document.body.dataset.connection !== 'live'", timeout=5_000)
    expect(page.locator("#conn-text")).not_to_have_text("Live")
    api_checkin(live_server, entrance, *person(2, "Dua Selama"))
    api_checkin(live_server, entrance, *person(3, "Tiga Selama", doses=1))
    assert page.evaluate("document.body.dataset.connection") != "live"

    page.wait_for_function("window.doorStats.connects >= 2 && document.body.dataset.connection === 'live'")
    expect(page.locator(FEED_CARDS)).to_have_count(3)
    expect(page.locator('#feed [data-outcome="pending"][data-reason="partially_vaccinated"]')).to_have_count(1)
    # A further reconnect cycle must not bring anything back either.
    page.wait_for_function("window.doorStats.connects >= 3", timeout=8_000)
    ids = feed_ids(page)
    expected = list(ScanEvent.objects.filter(entrance=entrance).order_by("-id").values_list("id", flat=True))
    assert ids == expected and len(set(ids)) == 3
    assert page.evaluate("window.doorStats.duplicates") == 0
    context.close()


def test_pending_cases_are_approved_and_denied_in_the_browser(door, live_server, entrance):
    from playwright.sync_api import expect

    api_checkin(live_server, entrance, *person(1, "I Made Wirawan"))
    api_checkin(live_server, entrance, *person(2, "Nyoman Merah", doses=0))
    api_checkin(live_server, entrance, *person(3, "Komang Ayu Lestari", doses=1))
    api_checkin(live_server, entrance, 4, "Ketut Tanpa Data")  # not in the registry: status unknown
    queue = door.locator("#queue [data-case-id]")
    expect(queue).to_have_count(2)
    door.wait_for_timeout(800)  # let the arrival highlight fade for the picture
    door.screenshot(path=SCREENSHOT)
    door.set_viewport_size({"width": 800, "height": 1280})
    door.screenshot(path=SCREENSHOT_PORTRAIT)
    door.set_viewport_size({"width": 1280, "height": 800})

    first, second = (
        int(x) for x in door.eval_on_selector_all("#queue [data-case-id]", "l => l.map(e => e.dataset.caseId)")
    )
    door.evaluate("window.notReloaded = true")
    with door.expect_response(lambda r: r.url.endswith(f"/api/v1/scans/{first}/decision/")) as answer:
        door.locator(f'#queue [data-case-id="{first}"] [data-action=approve]').click()
    assert answer.value.status == 200
    assert answer.value.request.post_data_json == {"decision": "approve"}
    assert answer.value.json()["outcome"] == "admitted"
    expect(door.locator('#feed [data-outcome="admitted"][data-reason="ok"]')).to_have_count(2, timeout=2_000)
    expect(door.locator(f'#queue [data-case-id="{first}"]')).to_have_count(0)
    expect(door.locator("#gauge")).to_have_attribute("data-occupancy", "2")
    assert door.evaluate("window.notReloaded === true")

    # After a reload the case is the server-rendered one (door/_case.html), which must work the same way.
    door.reload()
    door.wait_for_function("document.body.dataset.connection === 'live'")
    # The browser's own check keeps a deny without a reason from leaving the page.
    door.locator(f'#queue [data-case-id="{second}"] [data-action=deny]').click()
    expect(door.locator(f'#queue [data-case-id="{second}"]')).to_have_count(1)
    door.locator(f'#queue [data-case-id="{second}"] input[data-field=reason]').fill("Identity does not match")
    with door.expect_response(lambda r: r.url.endswith(f"/api/v1/scans/{second}/decision/")) as answer:
        door.locator(f'#queue [data-case-id="{second}"] [data-action=deny]').click()
    assert answer.value.status == 200
    expect(door.locator("#queue [data-case-id]")).to_have_count(0)
    expect(door.locator("#queue-empty")).to_be_visible()

    approved = AuditEvent.objects.get(action="scan.approved")
    denied = AuditEvent.objects.get(action="scan.denied")
    assert (approved.actor, approved.object_id) == (door.officer, str(first))
    assert (denied.actor, denied.object_id, denied.detail["note"]) == (
        door.officer,
        str(second),
        "Identity does not match",
    )


def test_approval_at_full_capacity_is_refused_in_the_browser(door, live_server, entrance):
    from playwright.sync_api import expect

    entrance.office.capacity = 1
    entrance.office.save()
    api_checkin(live_server, entrance, *person(1, "Satu Masuk"))
    api_checkin(live_server, entrance, *person(2, "Dua Kuning", doses=1))
    expect(door.locator("#queue [data-case-id]")).to_have_count(1)
    expect(door.locator("#gauge")).to_have_attribute("data-state", "full")

    door.locator("#queue [data-action=approve]").click()

    expect(door.locator('#feed [data-outcome="denied"][data-reason="capacity_full"]')).to_be_visible(timeout=2_000)
    expect(door.locator("#toast")).to_contain_text("limit")
    expect(door.locator("#queue [data-case-id]")).to_have_count(1)
    expect(door.locator("#gauge")).to_have_attribute("data-occupancy", "1")


def test_black_alert_stays_until_acknowledged(door, live_server, entrance):
    from playwright.sync_api import expect

    api_checkin(live_server, entrance, *person(9, "Wayan Hitam", case_status="positive", isolated_until="2099-01-01"))
    banner = door.locator("#alerts [data-alert-id]")
    expect(banner).to_be_visible(timeout=2_000)
    expect(door.locator('#feed [data-outcome="denied"][data-reason="isolation"]')).to_be_visible()
    door.reload()
    expect(banner).to_be_visible()

    door.locator("#alerts [data-action=ack]").click()

    expect(banner).to_have_count(0)
    assert AuditEvent.objects.get(action="alert.acknowledged").actor == door.officer


def test_manual_checkin_and_checkout_in_the_browser(door, entrance):
    from playwright.sync_api import expect

    person(5, "Putu Tanpa Ponsel")
    door.locator("#manual > summary").click()
    door.fill("#m-nik", nik_make(5))
    door.fill("#m-name", "Putu Tanpa Ponsel")
    door.locator("[data-action=checkin]").click()
    expect(door.locator('#feed [data-outcome="admitted"][data-reason="ok"]')).to_be_visible(timeout=2_000)
    expect(door.locator("#m-nik")).to_have_value("")

    door.locator("#checkout > summary").click()
    door.fill("#co-q", "tanpa")
    door.locator("#people [data-action=checkout]").click()
    expect(door.locator('#feed [data-reason="checked_out"]')).to_be_visible(timeout=2_000)
    expect(door.locator("#gauge")).to_have_attribute("data-occupancy", "0")
