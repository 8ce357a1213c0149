"""Feedback where the officer looks, in a real headless Chromium on a busy door screen, landscape and portrait:
full names with the NIK's last four digits, each action's answer in view next to its control and in a live
region, a check-out search that follows who is inside, and an alert that shows its age and whether the person is
still inside."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tests.browser import chromium_context, session_cookie_add
from tests.factories import EntranceFactory, HealthStatusFactory, UserFactory, nik_make
from visitors.models import Person
from visitors.services import status_alert_raise, visit_checkin, visit_checkout

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("door_roles", "quick_heartbeats"),
]

LANDSCAPE = {"width": 1280, "height": 800}
PORTRAIT = {"width": 800, "height": 1280}
VIEWPORTS = pytest.mark.parametrize("viewport", [LANDSCAPE, PORTRAIT], ids=["landscape", "portrait"])
NAME = "I Made Wirawan"
N = 7390  # serial 7391: NIK ...7391
DIGITS = "7391"
# An answer sits next to the control it answers: at most this far below (or above) it.
NEXT_TO_PX = 160
# The politeness of the live region an element is in ("polite", "assertive"), or null outside one.
LIVE_REGION = "e => e.closest('[aria-live]') && e.closest('[aria-live]').getAttribute('aria-live')"


@pytest.fixture
def entrance():
    return EntranceFactory(office__name="Dinas Kesehatan Kota Denpasar", office__capacity=100, name="Pintu Utama")


@pytest.fixture
def officer(entrance):
    return UserFactory(roles=["Petugas"], offices=[entrance.office])


@pytest.fixture
def tablet(chromium_path, live_server, client, officer, entrance, monkeypatch):
    """Open the door screen at a viewport: `tablet(viewport)` -> page, live."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    client.force_login(officer)
    # See tests/door/test_browser.py: string evaluations the CSP would forbid.
    with chromium_context(chromium_path, settle_seconds=1.0, locale="en", bypass_csp=True) as context:
        session_cookie_add(context, client=client, live_server=live_server)

        def open_at(viewport: dict, *, before=None):
            page = context.new_page()
            page.set_viewport_size(viewport)
            if before:
                before(page)
            page.goto(f"{live_server.url}/door/{entrance.pk}/")
            page.wait_for_function("document.body.dataset.connection === 'live'")
            return page

        yield open_at


def person(n: int, name: str, **status) -> str:
    HealthStatusFactory(nik=nik_make(n), name=name, **{"doses": 2, **status})
    return nik_make(n)


def busy_morning(entrance, *, count: int = 16) -> None:
    """A feed long enough that, in portrait, the tools sit far down the page; two cases wait in the queue."""
    for n in range(1, count + 1):
        visit_checkin(entrance_code=entrance.code, nik=person(n, f"Warga Nomor {n}"), name=f"Warga Nomor {n}")
    for n in (count + 1, count + 2):
        visit_checkin(entrance_code=entrance.code, nik=person(n, f"Kuning {n}", doses=1), name=f"Kuning {n}")


def assert_in_view_and_announced(page, said: str, control: str) -> None:
    """The answer lies inside the viewport as it is (nothing scrolled by the test), next to its control, in a
    live region."""
    box = page.locator(said).bounding_box()
    view = page.viewport_size
    assert box is not None and box["height"] > 0
    assert box["y"] >= 0 and box["y"] + box["height"] <= view["height"], (box, view)
    assert box["x"] >= 0 and box["x"] + box["width"] <= view["width"], (box, view)
    near = page.locator(control).bounding_box()
    assert near is not None
    gap = min(abs(box["y"] - (near["y"] + near["height"])), abs(near["y"] - (box["y"] + box["height"])))
    assert gap <= NEXT_TO_PX, (box, near)
    live = page.locator(said).evaluate(LIVE_REGION)
    assert live in ("polite", "assertive")


def test_cards_and_cases_show_full_names_and_last_four_digits(tablet, entrance):
    from playwright.sync_api import expect

    page = tablet(LANDSCAPE)
    visit_checkin(entrance_code=entrance.code, nik=person(N, NAME), name=NAME)
    visit_checkin(entrance_code=entrance.code, nik=person(N + 1, "Ni Made Sari", doses=1), name="Ni Made Sari")

    card = page.locator('#feed [data-outcome="admitted"]')
    expect(card).to_contain_text(NAME, timeout=2_000)
    expect(card.locator(".nik4")).to_have_text(f"NIK …{DIGITS}")
    case = page.locator("#queue [data-case-id]")
    expect(case).to_contain_text("Ni Made Sari")
    expect(case.locator(".nik4")).to_have_text(f"NIK …{nik_make(N + 1)[-4:]}")
    # After a reload the same from the server's templates.
    page.reload()
    expect(page.locator('#feed [data-outcome="admitted"] .nik4')).to_have_text(f"NIK …{DIGITS}")
    expect(page.locator("#queue [data-case-id] .name")).to_have_text("Ni Made Sari")


@VIEWPORTS
def test_manual_check_in_answers_in_view_next_to_the_form(tablet, entrance, viewport):
    from playwright.sync_api import expect

    busy_morning(entrance)
    page = tablet(viewport)
    person(N, NAME)
    page.locator("#manual > summary").click()
    page.fill("#m-nik", nik_make(N))
    page.fill("#m-name", NAME)
    page.locator("[data-action=checkin]").click()

    said = page.locator("#manual-said")
    expect(said).to_contain_text(NAME)
    expect(said).to_contain_text(f"NIK …{DIGITS}")
    expect(said).to_contain_text("Admitted")
    # The new card has reached the feed (above the tools in portrait) and the answer is still in view.
    expect(page.locator("#feed .card", has_text=NAME)).to_have_count(1, timeout=3_000)
    page.wait_for_timeout(300)
    assert_in_view_and_announced(page, "#manual-said", "[data-action=checkin]")


@VIEWPORTS
def test_closing_the_day_answers_in_view_next_to_the_button(tablet, entrance, viewport):
    from playwright.sync_api import expect

    busy_morning(entrance, count=6)
    page = tablet(viewport)
    page.locator("#closeday > summary").click()
    page.locator("#closeday input[name=confirm]").check()
    page.locator("[data-action=close-day]").click()

    said = page.locator("#closeday-said")
    expect(said).to_contain_text("6")
    expect(page.locator("#gauge")).to_have_attribute("data-occupancy", "0")
    expect(page.locator('#feed [data-reason="checked_out"]')).to_have_count(6, timeout=3_000)
    page.wait_for_timeout(300)
    assert_in_view_and_announced(page, "#closeday-said", "[data-action=close-day]")
    # Not closed twice by a second tap: the confirmation has to be ticked again.
    expect(page.locator("#closeday input[name=confirm]")).not_to_be_checked()


def test_after_closing_the_day_the_check_out_search_offers_nobody(tablet, entrance):
    from playwright.sync_api import expect

    busy_morning(entrance, count=3)
    page = tablet(LANDSCAPE)
    page.locator("#checkout > summary").click()
    expect(page.locator("#people [data-visit-id]")).to_have_count(3)

    page.locator("#closeday > summary").click()
    page.locator("#closeday input[name=confirm]").check()
    page.locator("[data-action=close-day]").click()

    # The list on screen follows at once, and a fresh search finds nobody either.
    expect(page.locator("#people [data-visit-id]")).to_have_count(0)
    expect(page.locator("#people .empty")).to_be_visible()
    page.fill("#co-q", "warga")
    page.wait_for_timeout(600)
    expect(page.locator("#people [data-visit-id]")).to_have_count(0)
    expect(page.locator("#people .empty")).to_be_visible()


def test_a_check_out_answers_in_the_search_with_the_name(tablet, entrance):
    from playwright.sync_api import expect

    visit_checkin(entrance_code=entrance.code, nik=person(N, NAME), name=NAME)
    page = tablet(LANDSCAPE)
    page.locator("#checkout > summary").click()
    page.fill("#co-q", "wira")
    row = page.locator("#people [data-visit-id]")
    expect(row).to_contain_text(f"NIK …{DIGITS}")
    row.locator("[data-action=checkout]").click()

    expect(page.locator("#checkout-said")).to_contain_text(NAME)
    expect(page.locator("#people [data-visit-id]")).to_have_count(0)
    assert_in_view_and_announced(page, "#checkout-said", "#co-q")


def test_an_alert_shows_its_age_and_whether_the_person_is_inside(tablet, entrance):
    from playwright.sync_api import expect

    now = timezone.now()
    nik = person(N, NAME)
    visit_checkin(entrance_code=entrance.code, nik=nik, name=NAME, now=now - datetime.timedelta(minutes=5))
    # Their status turned black three minutes ago, while inside.
    status_alert_raise(nik_hashes=[Person.objects.get().nik_hash], now=now - datetime.timedelta(minutes=3))

    page = tablet(LANDSCAPE, before=lambda p: p.clock.install())
    alert = page.locator("#alerts [data-alert-id]")
    expect(alert).to_contain_text(NAME)
    expect(alert).to_contain_text(f"NIK …{DIGITS}")
    expect(alert.locator(".age")).to_have_text("3 min ago")
    expect(alert).to_have_attribute("data-inside", "true")
    expect(alert.locator(".inside")).to_have_text("Still inside")
    # The age goes on counting while the alert waits.
    page.clock.fast_forward("02:00")
    expect(alert.locator(".age")).to_have_text("5 min ago")

    visit_checkout(entrance_code=entrance.code, nik=nik, name=NAME)

    expect(alert).to_have_attribute("data-inside", "false", timeout=3_000)
    expect(alert.locator(".inside")).to_have_text("Not inside")
    # It still waits for the officer: leaving does not acknowledge it.
    page.locator("#alerts [data-action=ack]").click()
    expect(page.locator("#alerts-said")).to_contain_text(NAME)
    expect(alert).to_have_count(0)
    assert_in_view_and_announced(page, "#alerts-said", "header.bar")
