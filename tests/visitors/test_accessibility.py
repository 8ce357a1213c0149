"""WCAG 2.1 AA on the phone pages: axe-core, injected into a real Chromium, finds nothing serious or critical on any
page a visitor meets, each reached the way a visitor reaches it (through the real form)."""

from __future__ import annotations

import datetime
import importlib.util

import pytest
from django.utils import timezone

from tests.conftest import require
from tests.factories import EntranceFactory, HealthStatusFactory, nik_make
from tests.visitors.test_forms import entrance_url, phone_page
from visitors.services import visit_checkin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BLOCKING = ("serious", "critical")


def axe_problems(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it stands, one line per rule: id, impact, targets.
    Folded content (<details>) is opened first, so what a tap would show is checked too."""
    require(
        importlib.util.find_spec("axe_playwright_python") is not None,
        "needs axe-playwright-python: .venv/bin/pip install -r requirements-dev.txt",
    )
    from axe_playwright_python.sync_playwright import Axe

    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    violations = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> " + "; ".join(" ".join(map(str, n["target"])) for n in v["nodes"])
        for v in violations
        if v.get("impact") in BLOCKING
    ]


def assert_accessible(page) -> None:
    problems = axe_problems(page)
    assert not problems, f"axe-core on {page.url}:\n" + "\n".join(problems)


# --- how a visitor gets to each page ---------------------------------------------------------------------------------


def submit_first_visit(page, *, n: int, name: str, remember: bool = False) -> None:
    page.fill("input[name=nik]", nik_make(n))
    page.fill("input[name=name]", name)
    if remember:
        page.check("input[name=remember]")
    page.check("input[name=consent]")
    page.click("form button[type=submit]")


def wait_for(page, selector: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator(selector).first).to_be_visible()


def green(n: int, name: str) -> None:
    HealthStatusFactory(nik=nik_make(n), name=name, doses=2)


def first_visit_form(page, base, entrance):
    page.goto(base + entrance_url(entrance))
    wait_for(page, "input[name=nik]")


def form_with_errors(page, base, entrance):
    page.goto(base + entrance_url(entrance))
    page.fill("input[name=nik]", "1234")
    page.click("form button[type=submit]")
    wait_for(page, "[role=alert]")


def admitted(page, base, entrance):
    green(1, "I Made Wirawan")
    page.goto(base + entrance_url(entrance))
    submit_first_visit(page, n=1, name="I Made Wirawan")
    wait_for(page, '[data-outcome="admitted"][data-reason="ok"]')


def already_inside(page, base, entrance):
    # Checked in a while ago: a scan within seconds of the first would be answered as the same double tap.
    green(1, "I Made Wirawan")
    earlier = timezone.now() - datetime.timedelta(minutes=10)
    visit_checkin(entrance_code=entrance.code, nik=nik_make(1), name="I Made Wirawan", now=earlier)
    page.goto(base + entrance_url(entrance))
    submit_first_visit(page, n=1, name="I Made Wirawan")
    wait_for(page, '[data-outcome="admitted"][data-reason="already_inside"]')


def see_officer(page, base, entrance):
    HealthStatusFactory(nik=nik_make(2), name="Komang Ayu", doses=1)  # yellow: the officer re-checks
    page.goto(base + entrance_url(entrance))
    submit_first_visit(page, n=2, name="Komang Ayu")
    wait_for(page, '[data-outcome="see_officer"]')


def denied_capacity_full(page, base, entrance):
    entrance.office.capacity = 1
    entrance.office.save()
    green(3, "Wayan Dulu")
    green(4, "Nyoman Kedua")
    assert visit_checkin(entrance_code=entrance.code, nik=nik_make(3), name="Wayan Dulu").outcome == "admitted"
    page.goto(base + entrance_url(entrance))
    submit_first_visit(page, n=4, name="Nyoman Kedua")
    wait_for(page, '[data-outcome="denied"][data-reason="capacity_full"]')


def checked_out(page, base, entrance):
    green(1, "I Made Wirawan")
    page.goto(base + entrance_url(entrance))
    submit_first_visit(page, n=1, name="I Made Wirawan", remember=True)
    page.click("[data-action=checkout]")
    wait_for(page, '[data-reason="checked_out"]')


def returning_visitor(page, base, entrance):
    green(5, "Ketut Kembali")
    page.goto(base + entrance_url(entrance))
    submit_first_visit(page, n=5, name="Ketut Kembali", remember=True)
    page.click("[data-action=checkout]")
    wait_for(page, '[data-reason="checked_out"]')
    page.goto(base + entrance_url(entrance))
    wait_for(page, "[data-action=checkin]")


def returning_visitor_inside(page, base, entrance):
    green(6, "Putu Dalam")
    page.goto(base + entrance_url(entrance))
    submit_first_visit(page, n=6, name="Putu Dalam", remember=True)
    wait_for(page, '[data-outcome="admitted"]')
    page.goto(base + entrance_url(entrance))
    wait_for(page, "[data-action=forget]")


def code_entry(page, base, entrance):
    page.goto(base + "/c/")
    wait_for(page, "input[name=code]")


def code_entry_unknown(page, base, entrance):
    page.goto(base + "/c/")
    page.fill("input[name=code]", "NOPE-NOPE")
    page.click("form button[type=submit]")
    wait_for(page, "[role=alert]")


def checkout_form(page, base, entrance):
    page.goto(base + entrance_url(entrance, "checkout"))
    wait_for(page, "input[name=nik]")


def checkout_with_errors(page, base, entrance):
    checkout_form(page, base, entrance)
    page.click("form button[type=submit]")
    wait_for(page, "[role=alert]")


PAGES = [
    first_visit_form,
    form_with_errors,
    admitted,
    already_inside,
    see_officer,
    denied_capacity_full,
    checked_out,
    returning_visitor,
    returning_visitor_inside,
    code_entry,
    code_entry_unknown,
    checkout_form,
    checkout_with_errors,
]


@pytest.mark.parametrize("reach", PAGES, ids=[f.__name__ for f in PAGES])
def test_no_serious_or_critical_violation(chromium_path, live_server, monkeypatch, reach):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync loop runs in this thread
    entrance = EntranceFactory(office__name="Dinas Kesehatan Kota Denpasar", name="Pintu Utama")
    # Bahasa Indonesia: the language every screen shows first.
    with phone_page(chromium_path, locale="id") as page:
        reach(page, live_server.url, entrance)
        assert_accessible(page)
