"""The phone pages as an installable app in a real headless Chromium: manifest and icons, favicon, the service worker,
and what a phone without a connection sees (the offline page, never a result) until the connection returns."""

from __future__ import annotations

import io
import json

import pytest
from django.utils import translation
from django.utils.translation import gettext
from PIL import Image

from tests.browser import chromium_context, console_record
from tests.factories import EntranceFactory, HealthStatusFactory, nik_make
from visitors.models import ScanEvent, Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(chromium_path, monkeypatch):
    """A phone-sized page of an Indonesian phone, under the real Content-Security-Policy (no bypass: the worker and
    the manifest must pass it), service workers allowed."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    options = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "id-ID"}
    with chromium_context(chromium_path, service_workers="allow", **options) as context:
        yield console_record(context.new_page())


def worker_controls(page) -> str:
    """Waits until a service worker controls the page; its script's URL."""
    return page.evaluate(
        """() => navigator.serviceWorker.ready.then(() => navigator.serviceWorker.controller
            ? navigator.serviceWorker.controller.scriptURL
            : new Promise(resolve => navigator.serviceWorker.addEventListener(
                "controllerchange", () => resolve(navigator.serviceWorker.controller.scriptURL))))"""
    )


def offline_heading() -> str:
    # In whichever language the catalogue holds until the translation is merged: the page renders the same.
    with translation.override("id"):
        return gettext("No connection")


def assert_offline_page(page) -> None:
    from playwright.sync_api import expect

    expect(page.locator("main[data-offline]")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.locator("main[data-offline] h1")).to_have_text(offline_heading())
    expect(page.locator("[data-outcome]")).to_have_count(0)


def test_manifest_is_linked_and_its_icons_load_as_images(phone, live_server):
    from playwright.sync_api import expect

    phone.goto(f"{live_server.url}/c/")
    link = phone.locator('link[rel="manifest"]')
    expect(link).to_have_count(1)
    response = phone.request.get(f"{live_server.url}{link.get_attribute('href')}")
    assert response.ok and response.headers["content-type"] == "application/manifest+json"
    manifest = json.loads(response.text())
    with translation.override("id"):
        assert manifest["name"] == gettext("Denpasar Check-in")

    for icon in manifest["icons"]:
        # Loaded by the page itself, so the policy's img-src applies as it would on a phone.
        size = phone.evaluate(
            """src => new Promise((resolve, reject) => {
                const image = new Image();
                image.onload = () => resolve(image.naturalWidth + "x" + image.naturalHeight);
                image.onerror = () => reject(new Error("not an image: " + src));
                image.src = src;
            })""",
            icon["src"],
        )
        assert size == icon["sizes"]
    assert not [text for text in phone.console_messages if "Manifest" in text or "Refused" in text]


def test_favicon_answers_an_icon(phone, live_server):
    response = phone.request.get(f"{live_server.url}/favicon.ico")

    assert response.ok and response.headers["content-type"] == "image/x-icon"
    with Image.open(io.BytesIO(response.body())) as image:
        assert image.format == "ICO"


def test_service_worker_registers_and_controls_a_phone_page(phone, live_server):
    entrance = EntranceFactory()
    phone.goto(f"{live_server.url}/c/{entrance.code}/")

    assert worker_controls(phone) == f"{live_server.url}/sw.js"
    scope = phone.evaluate("navigator.serviceWorker.getRegistration().then(r => r.scope)")
    assert scope == f"{live_server.url}/c/"
    assert not [text for text in phone.console_messages if "Refused" in text]


def test_offline_navigation_shows_the_offline_page_then_the_real_page_when_back(phone, live_server):
    from playwright.sync_api import expect

    entrance = EntranceFactory()
    phone.goto(f"{live_server.url}/c/")
    worker_controls(phone)

    phone.context.set_offline(True)
    phone.goto(f"{live_server.url}/c/{entrance.code}/")
    assert_offline_page(phone)
    # The address still names the page wanted, the one the retry loads.
    assert phone.url == f"{live_server.url}/c/{entrance.code}/"

    phone.context.set_offline(False)
    # `online` starts quick probes of /healthz (0.5 s, 1 s, 2 s...): the page comes back within a few seconds even
    # when the first request after the signal returns does not get through.
    expect(phone.locator("input[name=nik]")).to_be_visible(timeout=8_000)
    expect(phone.locator("main[data-offline]")).to_have_count(0)


def test_offline_check_in_is_never_sent_and_never_shown_as_admitted(phone, live_server):
    from playwright.sync_api import expect

    entrance = EntranceFactory()
    HealthStatusFactory(nik=nik_make(1), name="I Made Wirawan", doses=2)
    url = f"{live_server.url}/c/{entrance.code}/"
    phone.goto(url)
    worker_controls(phone)
    phone.fill("input[name=nik]", nik_make(1))
    phone.fill("input[name=name]", "I Made Wirawan")
    phone.check("input[name=consent]")

    phone.context.set_offline(True)
    phone.click("button[type=submit]")
    assert_offline_page(phone)
    assert not ScanEvent.objects.exists() and not Visit.objects.exists()

    phone.context.set_offline(False)
    # Back to the form by a GET: the form is not sent again, the visitor sends it when they choose.
    expect(phone.locator("input[name=nik]")).to_have_value("", timeout=8_000)
    expect(phone.locator("[data-outcome]")).to_have_count(0)
    assert not ScanEvent.objects.exists() and not Visit.objects.exists()


def test_offline_page_retries_on_a_timer_while_the_server_is_unreachable(phone, live_server):
    """A phone whose network is up but cannot reach the server gets no `online` event: the timed retry brings the
    page back."""
    from playwright.sync_api import expect

    entrance = EntranceFactory()
    phone.goto(f"{live_server.url}/c/")
    worker_controls(phone)

    def unreachable(route):
        route.abort("connectionrefused")

    # The worker's own fetches go through the context's routes too.
    phone.context.route(f"{live_server.url}/c/{entrance.code}/", unreachable)
    phone.goto(f"{live_server.url}/c/{entrance.code}/")
    assert_offline_page(phone)

    phone.context.unroute(f"{live_server.url}/c/{entrance.code}/", unreachable)
    seconds = int(phone.locator("main[data-offline]").get_attribute("data-retry-seconds"))
    expect(phone.locator("input[name=nik]")).to_be_visible(timeout=(2 * seconds + 5) * 1000)
