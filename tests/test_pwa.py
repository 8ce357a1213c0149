"""The installable app's views (denpasar_checkin/pwa.py): manifest, service worker, offline page, favicon; and which
pages link them."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from PIL import Image

from tests.factories import EntranceFactory

ROOT = Path(__file__).resolve().parent.parent


def static_path(url: str) -> str:
    """The file behind a static URL (tests serve unhashed names: DEBUG is on)."""
    relative = url.removeprefix("/static/")
    found = finders.find(relative)
    assert found, url
    return found


def test_manifest_names_the_app_and_its_icons(client):
    response = client.get(reverse("pwa-manifest"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["start_url"] == "/c/" and manifest["scope"] == "/c/"
    assert manifest["display"] == "standalone"
    with translation.override("id"):
        assert manifest["name"] == gettext("Denpasar Check-in")
        assert manifest["short_name"] == gettext("Check-in")
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes


def test_manifest_icons_are_pngs_of_their_stated_size(client):
    for icon in client.get(reverse("pwa-manifest")).json()["icons"]:
        with Image.open(static_path(icon["src"])) as image:
            assert image.format == "PNG" and icon["type"] == "image/png"
            assert f"{image.width}x{image.height}" == icon["sizes"]


def test_manifest_theme_colour_is_the_pages_theme_colour(client):
    base = (ROOT / "templates" / "base.html").read_text(encoding="utf-8")
    page_colour = re.search(r'<meta name="theme-color" content="([^"]+)">', base).group(1)

    assert client.get(reverse("pwa-manifest")).json()["theme_color"] == page_colour


def test_manifest_follows_the_language(client):
    manifest = client.get(reverse("pwa-manifest"), HTTP_ACCEPT_LANGUAGE="en").json()

    assert manifest["lang"] == "en"
    with translation.override("en"):
        assert manifest["short_name"] == gettext("Check-in")


def test_service_worker_is_served_from_the_root_and_never_kept_stale(client):
    response = client.get("/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"


def test_service_worker_stores_the_offline_page_and_the_shell_only(client):
    script = client.get("/sw.js").content.decode()
    config = json.loads(re.search(r"const CONFIG = (\{.*\});", script).group(1))

    assert config["offline"] == reverse("pwa-offline") and config["scope"] == "/c/"
    assert reverse("pwa-offline") in config["shell"]
    assert "/static/css/checkin.css" in config["shell"]
    # No phone page: a check-in or its result comes from the server or not at all.
    assert not [url for url in config["shell"] if url.startswith("/c/")]


def test_service_worker_never_stores_what_the_network_answers(client):
    script = client.get("/sw.js").content.decode()

    # The only writes to the cache: the shell at install, and the offline page when the language changed.
    assert script.count("cache.put(") == 1 and "cache.put(CONFIG.offline" in script
    assert script.count("cache.addAll(") == 1


def test_service_worker_is_allowed_by_the_policy(client):
    policy = client.get(reverse("pwa-offline"))["Content-Security-Policy"]

    assert "worker-src 'self'" in policy and "manifest-src 'self'" in policy


def test_offline_page_needs_no_database(client):
    # No django_db mark: any query here raises.
    response = client.get(reverse("pwa-offline"))

    assert response.status_code == 200


def test_offline_page_says_a_connection_is_needed_in_indonesian_by_default(client):
    html = client.get(reverse("pwa-offline")).content.decode()

    assert '<html lang="id">' in html and "data-offline" in html
    with translation.override("id"):
        assert gettext("No connection") in html


def test_offline_page_holds_no_form_no_token_and_no_result(client):
    html = client.get(reverse("pwa-offline")).content.decode()

    assert "<form" not in html and "csrfmiddlewaretoken" not in html
    assert "data-outcome" not in html


def test_favicon_is_an_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"
    with Image.open(io.BytesIO(b"".join(response.streaming_content))) as image:
        assert image.format == "ICO"


@pytest.mark.django_db
def test_phone_pages_link_the_manifest_and_the_worker(client):
    entrance = EntranceFactory()
    for path in (reverse("visitors:code_entry"), reverse("visitors:entrance", kwargs={"code": entrance.code})):
        html = client.get(path).content.decode()
        # With the visitor's cookies, so the app's name is in the language they chose.
        assert f'<link rel="manifest" href="{reverse("pwa-manifest")}" crossorigin="use-credentials">' in html, path
        assert 'src="/static/js/sw-register.js"' in html and " defer>" in html, path


@pytest.mark.django_db
def test_other_pages_do_not_register_the_worker(client):
    html = client.get("/no-such-page/").content.decode()

    assert "sw-register.js" not in html and 'rel="manifest"' not in html
    assert '<link rel="icon" href="/favicon.ico"' in html
