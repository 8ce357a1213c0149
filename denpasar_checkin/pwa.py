"""The phone pages as an installable web app: the manifest, the service worker, the offline page and the favicon.

None of these views touches the database: the service worker fetches the offline page when it installs, and a
phone that lost its connection must get the same page whatever state the server is in.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

# The phone pages; the worker controls only these, never the officer's console or the admin.
APP_SCOPE = "/c/"
THEME_COLOR = "#0b3d91"  # base.html's theme-color
BACKGROUND_COLOR = "#f3f4f6"  # checkin.css's page background
ICONS = [
    ("pwa/icon-192.png", "192x192", "any"),
    ("pwa/icon-512.png", "512x512", "any"),
    ("pwa/icon-maskable-512.png", "512x512", "maskable"),
]
FAVICON = settings.BASE_DIR / "static" / "pwa" / "favicon.ico"
# Browsers ask for the favicon on every new page load: let them keep it for a day.
FAVICON_MAX_AGE = 24 * 3600
MANIFEST_MAX_AGE = 3600


@require_safe
def manifest(request: HttpRequest) -> HttpResponse:
    """The web-app manifest, in the request's language (the name under the icon on the home screen)."""
    body = {
        "name": _("Denpasar Check-in"),
        "short_name": _("Check-in"),
        "description": _("Check in at the entrance of a Kota Denpasar government office."),
        "lang": translation.get_language(),
        "start_url": APP_SCOPE,
        "scope": APP_SCOPE,
        "display": "standalone",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "icons": [
            {"src": static(path), "sizes": sizes, "type": "image/png", "purpose": purpose}
            for path, sizes, purpose in ICONS
        ],
    }
    response = JsonResponse(body, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False})
    patch_cache_control(response, max_age=MANIFEST_MAX_AGE)
    return response


def shell_urls() -> list[str]:
    """What the worker stores when it installs: the offline page and everything that page loads."""
    return [
        reverse("pwa-offline"),
        static("css/checkin.css"),
        static("js/sw-register.js"),
        *(static(path) for path, _sizes, _purpose in ICONS),
    ]


@cache
def _shell_version_cached(urls: tuple[str, ...]) -> str:
    return _shell_version(urls)


def _shell_version(urls: tuple[str, ...]) -> str:
    # The offline page as each language renders it: a changed text or template makes a new worker (a worker is
    # replaced only when its script changes), which stores the new page. Hashed static URLs cover the rest.
    digest = hashlib.sha256("\n".join(urls).encode())
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            digest.update(render_to_string("offline.html", {"phone_page": True}).encode())
    return digest.hexdigest()[:16]


@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    """The worker's script, from the site root so that its scope may cover /c/; its shell list names the static
    files by their hashed URLs, so it is rendered here rather than served as a static file."""
    urls = tuple(shell_urls())
    # With DEBUG on, templates and static files change under a running server; in production they do not.
    version = _shell_version(urls) if settings.DEBUG else _shell_version_cached(urls)
    script = render_to_string(
        "pwa/sw.js",
        {
            "config": json.dumps(
                {"version": version, "shell": list(urls), "offline": reverse("pwa-offline"), "scope": APP_SCOPE}
            )
        },
    )
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    # Checked on every update: an old worker must never outlive a deployment.
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def offline(request: HttpRequest) -> HttpResponse:
    """What the worker shows instead of a phone page it could not reach: a connection is needed, retrying."""
    response = HttpResponse(render_to_string("offline.html", {"phone_page": True}, request=request))
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def favicon(request: HttpRequest) -> FileResponse:
    response = FileResponse(FAVICON.open("rb"), content_type="image/x-icon")
    patch_cache_control(response, max_age=FAVICON_MAX_AGE, public=True)
    return response
