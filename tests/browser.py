"""A headless Debian Chromium for browser tests: one context per test, and a Django session carried into it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from django.db import connections

from tests.conftest import CHROMIUM_ARGS


@contextlib.contextmanager
def chromium_context(chromium_path: str, *, settle_seconds: float = 0.0, **options) -> Iterator:
    """A fresh browser context (Playwright's `new_context` options); the caller sets DJANGO_ALLOW_ASYNC_UNSAFE,
    because Playwright's sync API runs an event loop in the test's thread."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        try:
            yield context
        finally:
            context.close()
            browser.close()
            # Door streams of the live server end at their next write once the browser is gone: give them a moment.
            if settle_seconds:
                time.sleep(settle_seconds)
            # While Playwright's loop runs, Django keys connections by async context, so the ORM calls in the test
            # opened their own connection that pytest-django never sees; left open, it blocks dropping the
            # PostgreSQL test database.
            connections.close_all()


def session_cookie_add(context, *, client, live_server) -> None:
    """Sign the browser in as whoever `client` is logged in as (client.force_login first)."""
    value = client.cookies["sessionid"].value
    context.add_cookies([{"name": "sessionid", "value": value, "url": live_server.url}])


def console_record(page):
    """Keep the page's console messages on `page.console_messages` (policy refusals show up there)."""
    page.console_messages = []
    page.on("console", lambda message: page.console_messages.append(f"{message.type}: {message.text}"))
    return page
