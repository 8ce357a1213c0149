"""My check-ins and the exposure notice in a real headless Chromium (Debian's), at a phone's viewport: the notice
on the remembered phone's check-in page, acknowledging it, the list, the download and the deletion; axe-core finds
nothing serious on these pages nor on the officer's screen for a person's data."""

from __future__ import annotations

import json

import pytest

from tests.browser import chromium_context, session_cookie_add
from tests.factories import EntranceFactory, ExposureNoticeFactory, HealthStatusFactory, UserFactory, nik_make
from tests.visitors.test_accessibility import assert_accessible, submit_first_visit, wait_for
from visitors.models import Device, ExposureNotice, Person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.fixture
def phone(chromium_path, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync loop runs in this thread
    # Bahasa Indonesia, the language every screen shows first; bypass_csp for Playwright's string evaluations.
    with chromium_context(chromium_path, locale="id", bypass_csp=True, accept_downloads=True, **PHONE) as context:
        yield context.new_page()


def test_notice_my_checkins_download_and_erase(phone, live_server):
    from playwright.sync_api import expect

    entrance = EntranceFactory(office__name="Dinas Kesehatan Kota Denpasar", name="Pintu Utama")
    HealthStatusFactory(nik=nik_make(8201), name="I Made Wirawan", doses=2)
    entrance_url = f"{live_server.url}/c/{entrance.code}/"
    phone.goto(entrance_url)
    submit_first_visit(phone, n=8201, name="I Made Wirawan", remember=True)
    phone.click("[data-action=checkout]")
    wait_for(phone, '[data-reason="checked_out"]')

    person = Person.objects.get(name="I Made Wirawan")
    notice = ExposureNoticeFactory(person=person, office=entrance.office, message="Segera lakukan tes PCR.")

    phone.goto(entrance_url)
    shown = phone.locator(f'[data-notice="{notice.pk}"]')
    expect(shown).to_be_visible()
    expect(shown).to_contain_text("Segera lakukan tes PCR.")
    assert_accessible(phone)
    shown.locator("[data-action=ack-notice]").click()
    expect(phone.locator("[data-action=checkin]")).to_be_visible()
    expect(phone.locator("[data-notice]")).to_have_count(0)
    assert ExposureNotice.objects.get(pk=notice.pk).acknowledged_at is not None

    phone.click("[data-action=me]")
    expect(phone.locator("[data-visit]")).to_have_count(1)
    expect(phone.locator("[data-visit]")).to_contain_text("Pintu Utama")
    assert_accessible(phone)

    with phone.expect_download() as download:
        phone.click("[data-action=download]")
    with open(download.value.path(), encoding="utf-8") as downloaded:
        data = json.load(downloaded)
    assert data["person"]["name"] == "I Made Wirawan" and len(data["visits"]) == 1

    phone.click("[data-action=erase]")  # the required tick stops it: nothing is sent
    assert Person.objects.filter(pk=person.pk).exists()
    phone.check("#erase-confirm")
    phone.click("[data-action=erase]")
    wait_for(phone, '[data-state="erased"]')
    assert_accessible(phone)
    assert not Person.objects.filter(pk=person.pk).exists() and not Device.objects.exists()

    # The phone is forgotten: the check-in page asks for the NIK again.
    phone.goto(entrance_url)
    wait_for(phone, "input[name=nik]")


def test_my_checkins_without_a_remembered_phone_is_accessible(phone, live_server):
    phone.goto(f"{live_server.url}/c/me/")
    wait_for(phone, '[data-state="not-remembered"]')
    assert_accessible(phone)


def test_officer_screen_for_a_persons_data_is_accessible(chromium_path, live_server, client, monkeypatch):
    from playwright.sync_api import expect

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    entrance = EntranceFactory()
    client.force_login(UserFactory(roles=["Petugas"], offices=[entrance.office]))
    tablet = {"viewport": {"width": 1280, "height": 800}, "locale": "id", "bypass_csp": True}
    with chromium_context(chromium_path, **tablet) as context:
        session_cookie_add(context, client=client, live_server=live_server)
        page = context.new_page()
        page.goto(f"{live_server.url}/door/person-data/")
        wait_for(page, "#pd-nik")
        assert_accessible(page)
        page.fill("#pd-nik", nik_make(8299))
        page.fill("#pd-name", "Tidak Ada")
        page.check("#pd-ktp")
        page.click("[data-action=download]")
        expect(page.locator('[data-error="person"]')).to_be_visible()
        assert nik_make(8299) not in page.url
        assert_accessible(page)
