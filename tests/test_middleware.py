"""Browser policy headers on every kind of page: a Content-Security-Policy whose scripts come only from our origin
(no inline script, no eval) and a Permissions-Policy; and no template brings an inline script back. And a database
that cannot answer is a 503 with Retry-After, on the API and on pages, writing nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import EntranceFactory, UserFactory
from tests.visitors.test_pages import form_data

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [ROOT / "templates", *ROOT.glob("*/templates")]


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parsed = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def assert_policies(response) -> None:
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    permissions = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in permissions


@pytest.fixture
def entrance():
    return EntranceFactory(live_qr=False)


@pytest.mark.django_db
def test_phone_pages_carry_the_policies(client, entrance):
    form = client.get(reverse("visitors:entrance", kwargs={"code": entrance.code}))
    result = client.post(reverse("visitors:entrance", kwargs={"code": entrance.code}), form_data(1), follow=True)
    code_entry = client.get(reverse("visitors:code_entry"))

    for response in (form, result, code_entry):
        assert response.status_code == 200
        assert_policies(response)
    assert 'class="result' in result.content.decode()


@pytest.mark.django_db
def test_door_screen_and_kiosk_carry_the_policies(client):
    live = EntranceFactory(live_qr=True)
    client.force_login(UserFactory(roles=["Petugas"], offices=[live.office]))

    for path in ("/door/", f"/door/{live.pk}/", f"/door/{live.pk}/kiosk/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_policies(response)


@pytest.mark.django_db
def test_reports_and_admin_carry_the_policies(client):
    client.force_login(UserFactory(roles=["Admin Kota"]))

    for path in ("/reports/", "/reports/city/", "/admin/", "/admin/offices/office/"):
        response = client.get(path, follow=True)
        assert response.status_code == 200, path
        assert_policies(response)


@pytest.mark.django_db
def test_login_lockout_and_second_factor_pages_carry_the_policies(client, settings):
    settings.TWO_FACTOR_REQUIRED = True
    assert_policies(client.get(reverse("admin:login")))
    client.force_login(UserFactory(roles=["Satgas"]))
    enrol = client.get("/accounts/2fa/enrol/")
    assert enrol.status_code == 200
    assert_policies(enrol)


@pytest.mark.django_db
def test_api_docs_need_no_inline_script(client):
    page = client.get("/api/docs/")
    html = page.content.decode()
    script_url = re.search(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', html).group(1).replace("&amp;", "&")
    script = client.get(script_url)

    assert page.status_code == 200
    assert_policies(page)
    assert not re.search(r"<script>", html)
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


@pytest.mark.django_db
def test_not_found_pages_carry_the_policies(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert_policies(response)


def template_files() -> list[Path]:
    return sorted(path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html"))


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def test_templates_are_found():
    names = {path.name for path in template_files()}
    assert {"result.html", "kiosk.html", "screen.html", "rotate_code_confirmation.html"} <= names


@pytest.mark.parametrize("path", template_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_template_has_inline_script_handlers_or_javascript_urls(path):
    html = path.read_text(encoding="utf-8")

    assert not INLINE_SCRIPT.search(html)
    assert not EVENT_HANDLER.search(html)
    assert "javascript:" not in html.lower()


# --- in a real browser: nothing the pages need is refused ---------------------------------------------------------

BROWSER_POLICY_WORDS = ("Content Security Policy", "Content-Security-Policy", "Permissions-Policy", "Refused to")


@pytest.fixture
def browser_page(chromium_path, monkeypatch, live_server, client):
    """A Chromium page signed in as a superuser, recording console messages and CSP violation reports."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from tests.browser import chromium_context, console_record, session_cookie_add

    client.force_login(UserFactory(is_superuser=True))
    with chromium_context(chromium_path, viewport={"width": 1280, "height": 800}, locale="en") as context:
        session_cookie_add(context, client=client, live_server=live_server)
        # Injected by the browser itself, so the policy does not apply to it.
        context.add_init_script(
            "window.cspViolations = [];"
            "document.addEventListener('securitypolicyviolation',"
            " e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        yield console_record(context.new_page())


def assert_nothing_refused(page, where: str) -> None:
    refused = [text for text in page.console_messages if any(word in text for word in BROWSER_POLICY_WORDS)]
    assert refused == [], where
    assert page.evaluate("window.cspViolations") == [], where


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_page_type_runs_under_the_policy_in_chromium(browser_page, live_server):
    from playwright.sync_api import expect

    from tests.factories import HealthStatusFactory, nik_make

    page = browser_page
    base = live_server.url
    entrance = EntranceFactory(live_qr=False, office__capacity=10)
    live = EntranceFactory(live_qr=True, office=entrance.office)
    HealthStatusFactory(nik=nik_make(1), name="I Made Wirawan", doses=2)

    # The phone: form, then the result page whose clock runs from a static script.
    page.goto(f"{base}/c/{entrance.code}/")
    page.fill("input[name=nik]", nik_make(1))
    page.fill("input[name=name]", "I Made Wirawan")
    page.check("input[name=consent]")
    page.click("button[type=submit]:has-text('Check in')")
    expect(page.locator('[data-outcome="admitted"]')).to_be_visible()
    # Waits through locators only: wait_for_function would eval a string in the page, which the policy forbids.
    clock = page.locator("#clock")
    expect(clock).not_to_have_text(clock.text_content(), timeout=3_000)
    assert_nothing_refused(page, "result")

    # The door screen (live stream, JSON config) and the kiosk (countdown script).
    page.goto(f"{base}/door/{entrance.pk}/")
    expect(page.locator("body")).to_have_attribute("data-connection", "live")
    assert_nothing_refused(page, "door screen")
    page.goto(f"{base}/door/{live.pk}/kiosk/")
    left = page.locator("#left")
    expect(left).not_to_have_text(left.text_content(), timeout=3_000)
    assert_nothing_refused(page, "kiosk")

    # Reports, the admin (its own scripts, the rotate-code page's cancel link) and the second-factor page's QR.
    page.goto(f"{base}/reports/city/")
    expect(page.locator("body")).to_be_visible()
    page.goto(f"{base}/admin/offices/entrance/{entrance.pk}/change/")
    expect(page.locator("#entrance_form")).to_be_visible()
    page.goto(f"{base}/admin/offices/entrance/{entrance.pk}/rotate-code/")
    page.click("a.cancel-link")
    page.wait_for_url(f"{base}/admin/offices/entrance/{entrance.pk}/change/")
    page.goto(f"{base}/accounts/2fa/enrol/")
    expect(page.locator(".qr svg")).to_be_visible()
    page.screenshot(path="/tmp/dc-enrol.png", full_page=True)
    assert_nothing_refused(page, "reports and admin")

    # Swagger UI from the sidecar, started by the split view's script.
    page.goto(f"{base}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Denpasar Check-in API")
    expect(page.locator(".opblock").first).to_be_visible()
    page.screenshot(path="/tmp/dc-api-docs.png")
    assert_nothing_refused(page, "api docs")


# --- the database drops out ---------------------------------------------------------------------------------------


def _database_connection_cut() -> None:
    """What a PostgreSQL restart does to a pooled connection: its server process is gone (a real termination)."""
    import psycopg
    from django.db import connection

    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    params = connection.settings_dict
    with psycopg.connect(
        host=params["HOST"], port=params["PORT"] or 5432, user=params["USER"], password=params["PASSWORD"] or None,
        dbname=params["NAME"], autocommit=True,
    ) as other:  # fmt: skip
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.fixture
def database_cut(require_postgres):
    from django.db import connection

    from visitors.models import ScanEvent

    yield _database_connection_cut
    connection.close()  # the next query takes a fresh connection, as the next request would
    assert ScanEvent.objects.count() == 0  # the request that met the cut wrote nothing


@pytest.mark.django_db(transaction=True)
def test_an_api_check_in_while_the_database_is_gone_is_a_503_to_retry(client, database_cut):
    entrance = EntranceFactory()
    database_cut()
    response = client.post(
        "/api/v1/checkins/",
        {"entrance": entrance.code, "nik": "5171010101900002", "name": "Ni Luh"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response.json() == {"detail": "The system is busy. Please try again in a moment.", "code": "unavailable"}


@pytest.mark.django_db(transaction=True)
def test_a_phone_page_post_while_the_database_is_gone_is_a_503_page(client, database_cut):
    entrance = EntranceFactory()
    database_cut()
    response = client.post(f"/c/{entrance.code}/", form_data(3), HTTP_ACCEPT_LANGUAGE="id")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert 'data-reason="unavailable"' in response.content.decode()
