"""The live-QR kiosk as a door tablet shows it: dark, with the city's branding, and a QR that a reader decodes from a
screenshot of the page (zbarimg) to exactly the live URL the page carries; axe-core finds nothing serious."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.browser import chromium_context, session_cookie_add
from tests.conftest import require
from tests.factories import EntranceFactory, UserFactory
from tests.visitors.test_accessibility import assert_accessible

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("door_roles"),
]

LANDSCAPE = {"width": 1280, "height": 800}
PORTRAIT = {"width": 800, "height": 1280}


@pytest.fixture
def entrance():
    return EntranceFactory(
        office__name="Dinas Kesehatan Kota Denpasar", office__capacity=10, name="Pintu Utama", live_qr=True
    )


@pytest.fixture
def kiosk(chromium_path, live_server, client, entrance, monkeypatch):
    """Open the kiosk in a dark-mode tablet: `kiosk(viewport)` returns the page."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    client.force_login(UserFactory(roles=["Petugas"], offices=[entrance.office]))
    with chromium_context(chromium_path, locale="id", color_scheme="dark", viewport=LANDSCAPE) as context:
        session_cookie_add(context, client=client, live_server=live_server)

        def open_at(viewport: dict):
            from playwright.sync_api import expect

            page = context.new_page()
            page.set_viewport_size(viewport)
            page.goto(f"{live_server.url}/door/{entrance.pk}/kiosk/")
            expect(page.locator(".qr-box svg")).to_be_visible()
            return page

        yield open_at


def decoded(page, path) -> tuple[str, str]:
    """(what zbarimg reads from a screenshot, the URL the page says it shows); taken again if the page reloaded for
    a new code in between."""
    require(shutil.which("zbarimg") is not None, "needs zbarimg (apt-get install zbar-tools)")
    for _attempt in range(3):
        before = page.get_attribute("body", "data-url")
        page.screenshot(path=str(path))
        after = page.get_attribute("body", "data-url")
        if before == after:
            break
    result = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    return result.stdout.strip(), after


def luminance(rgb: str) -> float:
    """Relative luminance (WCAG) of a computed "rgb(r, g, b)" colour."""
    channels = [int(part) / 255 for part in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("viewport", [LANDSCAPE, PORTRAIT], ids=["landscape", "portrait"])
def test_dark_kiosk_qr_decodes_from_a_screenshot(kiosk, viewport, tmp_path):
    page = kiosk(viewport)

    text, url = decoded(page, tmp_path / "kiosk.png")

    assert text == url
    assert "/c/" in url


def test_kiosk_is_dark_but_its_qr_stays_dark_on_light(kiosk):
    page = kiosk(LANDSCAPE)

    body = page.evaluate("getComputedStyle(document.body).backgroundColor")
    box = page.evaluate("getComputedStyle(document.querySelector('.qr-box')).backgroundColor")
    modules = page.locator(".qr-box svg path.qrline").get_attribute("stroke")
    quiet_zone = page.locator(".qr-box svg path").first.get_attribute("fill")

    assert luminance(body) < 0.05
    assert luminance(box) > 0.95
    assert (modules, quiet_zone) == ("#000", "#fff")


def test_kiosk_carries_the_citys_branding_and_the_door(kiosk):
    page = kiosk(LANDSCAPE)

    brand = page.locator(".brand").text_content()
    assert "Pemerintah Kota Denpasar" in brand
    assert "Denpasar Check-in" in brand
    assert page.locator(".brand svg.mark").is_visible()
    assert page.locator("h1").inner_text() == "Dinas Kesehatan Kota Denpasar"
    assert page.locator(".entrance").inner_text() == "Pintu Utama"
    assert "{#" not in page.locator("body").inner_text()  # no template comment leaks onto the screen
    # Everything fits the screen: nothing to scroll on a wall-mounted tablet.
    assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight")


def test_dark_kiosk_passes_axe(kiosk):
    assert_accessible(kiosk(LANDSCAPE))
