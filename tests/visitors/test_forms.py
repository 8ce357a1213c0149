"""The phone page's forms: keyboards for a thumb, 'remember' off by default, errors named by their fields and
focused; and, in a real Chromium at a 390x844 phone, the submit button on the first screen."""

from __future__ import annotations

import datetime
import re
import secrets
from contextlib import contextmanager
from html.parser import HTMLParser

import pytest
from django.db import connections
from django.urls import reverse

from tests.conftest import CHROMIUM_ARGS
from tests.factories import EntranceFactory, HealthStatusFactory, nik_make
from visitors.forms import DEPENDANTS_ERROR_ID, CheckinForm, CheckoutForm

# A common phone's first screen, in CSS pixels (iPhone 12 to 15, many mid-range Androids).
PHONE = {"width": 390, "height": 844}


# --- the rendered HTML, read with the standard library -------------------------------------------------------------


class Elements(HTMLParser):
    """Every element of a page as (tag, attrs), in document order."""

    def __init__(self, html: str):
        super().__init__()
        self.items: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.items.append((tag, dict(attrs)))

    def ids(self) -> set[str]:
        return {attrs["id"] for _, attrs in self.items if attrs.get("id")}

    def field(self, name: str) -> dict[str, str | None]:
        found = [attrs for tag, attrs in self.items if tag == "input" and attrs.get("name") == name]
        assert len(found) == 1, f"{len(found)} inputs named {name}"
        return found[0]

    def focused(self) -> list[str]:
        return [attrs.get("name") or attrs.get("id") or tag for tag, attrs in self.items if "autofocus" in attrs]


def entrance_url(entrance, name: str = "entrance") -> str:
    return reverse(f"visitors:{name}", kwargs={"code": entrance.code})


def form_data(n: int, name: str = "Ni Luh Putu Ayu", **extra) -> dict:
    data = {"nik": nik_make(n), "name": name, "consent": "on", "nonce": secrets.token_urlsafe(16)}
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def assert_errors_are_named(page: Elements) -> list[str]:
    """Every aria-describedby names an element that exists; every invalid field is described. Returns the names
    of the invalid fields."""
    ids = page.ids()
    invalid = []
    for tag, attrs in page.items:
        for ref in (attrs.get("aria-describedby") or "").split():
            assert ref in ids, f"<{tag} name={attrs.get('name')}> names #{ref}, which is not on the page"
        if attrs.get("aria-invalid") == "true":
            assert attrs.get("aria-describedby"), f"invalid <{tag} name={attrs.get('name')}> names no error"
            invalid.append(attrs.get("name"))
    return invalid


# --- the fields' keyboards and autofill -----------------------------------------------------------------------------


def rendered(form, name: str) -> dict[str, str | None]:
    return Elements(str(form[name])).field(name)


def test_remember_this_phone_is_unticked_by_default():
    assert "checked" not in rendered(CheckinForm(), "remember")


def test_nik_brings_up_the_number_pad_and_is_never_autofilled():
    for form, name in ((CheckinForm(), "nik"), (CheckoutForm(), "nik"), (CheckinForm(), "child2_nik")):
        attrs = rendered(form, name)
        assert (attrs["type"], attrs["inputmode"], attrs["pattern"]) == ("text", "numeric", "[0-9]*"), name
        assert (attrs["autocomplete"], attrs["autocapitalize"], attrs["spellcheck"]) == ("off", "off", "false"), name


def test_the_visitors_name_autofills_and_capitalises_words():
    for form in (CheckinForm(), CheckoutForm()):
        attrs = rendered(form, "name")
        assert (attrs["type"], attrs["autocomplete"], attrs["autocapitalize"]) == ("text", "name", "words")


def test_a_childs_name_capitalises_words_but_is_not_offered_the_parents_name():
    attrs = rendered(CheckinForm(), "child1_name")
    assert (attrs["autocapitalize"], attrs["autocomplete"]) == ("words", "off")


def test_phone_is_a_telephone_field_that_autofills_the_number():
    attrs = rendered(CheckinForm(), "phone")
    assert (attrs["type"], attrs["autocomplete"], attrs["inputmode"]) == ("tel", "tel", "tel")
    assert "required" not in attrs


# --- errors: named, described, focused (server side, works without JavaScript) ------------------------------------


@pytest.fixture
def entrance(db):
    return EntranceFactory(office__name="Dinas Kesehatan Kota Denpasar", name="Pintu Utama")


@pytest.mark.django_db
def test_a_fresh_form_focuses_nothing_and_marks_nothing_invalid(client, entrance):
    page = Elements(client.get(entrance_url(entrance)).content.decode())
    assert page.focused() == [] and assert_errors_are_named(page) == []
    assert not [attrs for _, attrs in page.items if attrs.get("role") == "alert"]


@pytest.mark.django_db
def test_every_field_error_has_its_id_and_the_field_names_it(client, entrance):
    data = form_data(1, name="", nik="123", child1_nik="1" * 21, consent=None)
    response = client.post(entrance_url(entrance), data, HTTP_ACCEPT_LANGUAGE="en")
    page = Elements(response.content.decode())
    assert response.status_code == 400
    assert set(assert_errors_are_named(page)) == {"nik", "name", "child1_nik", "consent"}
    for name in ("nik", "name", "child1_nik", "consent"):
        assert page.field(name)["aria-describedby"].split()[0] == f"id_{name}_error"


@pytest.mark.django_db
def test_errors_are_announced_in_an_alert(client, entrance):
    response = client.post(entrance_url(entrance), form_data(1, name=""), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert re.search(r'<div class="err-sum" role="alert"><p>Please correct what is marked below\.</p>', html)


@pytest.mark.parametrize(
    ("wrong", "focused"),
    [
        ({"nik": "123", "name": ""}, "nik"),
        ({"name": ""}, "name"),
        ({"child2_nik": "1" * 21, "consent": None}, "child2_nik"),
        ({"consent": None}, "consent"),
    ],
    ids=["nik-before-name", "name", "child-before-consent", "consent"],
)
@pytest.mark.django_db
def test_the_first_wrong_field_on_the_page_takes_the_focus(client, entrance, wrong, focused):
    response = client.post(entrance_url(entrance), form_data(2, **wrong), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert Elements(response.content.decode()).focused() == [focused]


@pytest.mark.django_db
def test_the_childrens_own_errors_are_named_by_their_fields_and_focused(client, entrance):
    too_old = nik_make(8, born=datetime.date(1999, 1, 1))
    data = form_data(7, child1_nik=too_old, child1_name="Putu")
    response = client.post(entrance_url(entrance), data, HTTP_ACCEPT_LANGUAGE="en")
    page = Elements(response.content.decode())
    assert response.status_code == 400 and DEPENDANTS_ERROR_ID in page.ids()
    assert DEPENDANTS_ERROR_ID in page.field("child1_nik")["aria-describedby"].split()
    assert page.focused() == ["child1_nik"]
    assert_errors_are_named(page)


@pytest.mark.django_db
def test_checkout_errors_are_named_announced_and_focused(client, entrance):
    response = client.post(entrance_url(entrance, "checkout"), {"nik": nik_make(3), "name": ""})
    page = Elements(response.content.decode())
    assert response.status_code == 400
    assert assert_errors_are_named(page) == ["name"] and page.focused() == ["name"]
    assert [attrs for _, attrs in page.items if attrs.get("role") == "alert"]


# --- the privacy notice stays on the page, before the tick -----------------------------------------------------------


@pytest.mark.django_db
def test_the_whole_notice_is_on_the_page_before_the_consent_tick(client, entrance, settings):
    settings.RETENTION_DAYS = 30
    html = client.get(entrance_url(entrance), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    consent = html.index('name="consent"')
    for part in ("What we keep:", "Why:", "UU PDP 27/2022", "How long: 30 days", "Who sees it:"):
        assert -1 < html.find(part) < consent, part
    assert 'name="consent"' in html and "required" in Elements(html).field("consent")


# --- in a real browser at a phone's size -------------------------------------------------------------------------


@contextmanager
def phone_page(chromium_path: str, *, locale: str = "en", viewport: dict | None = None):
    """A fresh page in Debian's Chromium sized like a phone; see the `phone` fixture in test_browser.py."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport=viewport or PHONE,
            device_scale_factor=3,
            is_mobile=True,
            has_touch=True,
            locale=locale,
            bypass_csp=True,  # Playwright's string evaluations; the CSP has its own browser test
        )
        context.set_default_timeout(10_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
            # The ORM calls made while Playwright's loop ran used connections pytest-django does not see.
            connections.close_all()


@pytest.fixture
def browser_env(chromium_path, monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test still are sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return chromium_path


def bottom_of(page, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not rendered"
    return box["y"] + box["height"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("locale", ["id", "en"])
def test_first_visit_button_is_on_the_first_screen(browser_env, live_server, locale):
    entrance = EntranceFactory(office__name="Dinas Kependudukan dan Pencatatan Sipil Kota Denpasar", name="Pintu Utama")
    with phone_page(browser_env, locale=locale) as page:
        page.goto(f"{live_server.url}{entrance_url(entrance)}")
        assert page.evaluate("window.scrollY") == 0
        assert bottom_of(page, "form button[type=submit]") <= PHONE["height"]
        # Everything the button sends is above it: the tick, and the notice it agrees to.
        assert bottom_of(page, "input[name=consent]") <= PHONE["height"]
        assert bottom_of(page, "#privacy summary") <= PHONE["height"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("locale", ["id", "en"])
def test_returning_visitors_one_tap_is_on_the_first_screen(browser_env, live_server, locale):
    from playwright.sync_api import expect

    entrance = EntranceFactory(office__name="Dinas Kependudukan dan Pencatatan Sipil Kota Denpasar", name="Pintu Utama")
    HealthStatusFactory(nik=nik_make(4), name="I Made Wirawan", doses=2)
    url = f"{live_server.url}{entrance_url(entrance)}"
    with phone_page(browser_env, locale=locale) as page:
        page.goto(url)
        page.fill("input[name=nik]", nik_make(4))
        page.fill("input[name=name]", "I Made Wirawan")
        page.check("input[name=remember]")
        page.check("input[name=consent]")
        page.click("form button[type=submit]")
        page.click("[data-action=checkout]")
        expect(page.locator('[data-reason="checked_out"]')).to_be_visible()
        page.goto(url)
        expect(page.locator("[data-action=checkin]")).to_be_visible()
        assert page.evaluate("window.scrollY") == 0
        assert bottom_of(page, "[data-action=checkin]") <= PHONE["height"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_remember_is_unticked_so_an_untouched_form_leaves_the_phone_unknown(browser_env, live_server):
    from playwright.sync_api import expect

    entrance = EntranceFactory()
    HealthStatusFactory(nik=nik_make(5), name="Komang Ayu", doses=2)
    url = f"{live_server.url}{entrance_url(entrance)}"
    with phone_page(browser_env) as page:
        page.goto(url)
        expect(page.locator("input[name=remember]")).not_to_be_checked()
        page.fill("input[name=nik]", nik_make(5))
        page.fill("input[name=name]", "Komang Ayu")
        page.check("input[name=consent]")
        page.click("form button[type=submit]")
        expect(page.locator('[data-outcome="admitted"]')).to_be_visible()
        page.goto(url)
        expect(page.locator("input[name=nik]")).to_be_visible()
        assert not [c for c in page.context.cookies() if c["name"] == "dc_device"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_browser_gets_the_thumb_keyboards(browser_env, live_server):
    entrance = EntranceFactory()
    with phone_page(browser_env) as page:
        page.goto(f"{live_server.url}{entrance_url(entrance)}")
        props = page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll('form input:not([type=hidden])')].map(
                 i => [i.name, [i.type, i.inputMode, i.autocomplete, i.getAttribute('autocapitalize') || '',
                                i.pattern]]))"""
        )
    assert props["nik"] == ["text", "numeric", "off", "off", "[0-9]*"]
    assert props["name"] == ["text", "", "name", "words", ""]
    assert props["phone"] == ["tel", "tel", "tel", "", ""]
    assert props["child3_nik"] == props["nik"]
    assert props["child3_name"] == ["text", "", "off", "words", ""]
    assert props["remember"][0] == props["consent"][0] == "checkbox"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_form_with_errors_announces_them_and_focuses_the_first_wrong_field(browser_env, live_server):
    from playwright.sync_api import expect

    entrance = EntranceFactory()
    with phone_page(browser_env) as page:
        page.goto(f"{live_server.url}{entrance_url(entrance)}")
        page.fill("input[name=nik]", nik_make(6))
        page.check("input[name=consent]")
        page.click("form button[type=submit]")
        alert = page.locator("[role=alert]")
        expect(alert).to_contain_text("Please correct what is marked below.")
        expect(page.locator("input[name=name]")).to_be_focused()
        name = page.locator("input[name=name]")
        expect(name).to_have_attribute("aria-invalid", "true")
        described = name.get_attribute("aria-describedby")
        expect(page.locator(f"#{described}")).to_contain_text("Enter your full name as on your KTP.")
