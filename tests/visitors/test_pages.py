"""The visitor's phone pages at /c/<code>/: form, result, remembered phone, check-out, limits, weight, language."""

from __future__ import annotations

import datetime
import re
import secrets

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from tests.factories import EntranceFactory, HealthStatusFactory, PersonFactory, VisitFactory, nik_make
from visitors.models import Device, Person, ScanEvent, Visit
from visitors.selectors import name_mask
from visitors.services import device_token_hash
from visitors.views import DEVICE_COOKIE

pytestmark = pytest.mark.django_db

# Words that would tell a phone (or a stranger holding someone's NIK) which health result it got.
HEALTH_WORDS = re.compile(r"\b(yellow|kuning|red|merah|black|hitam)\b|isolat|isolasi|vaccin|vaksin", re.IGNORECASE)
OUTCOME = re.compile(r'data-outcome="([^"]*)" data-reason="([^"]*)"')


def url(entrance, name: str = "entrance") -> str:
    return reverse(f"visitors:{name}", kwargs={"code": entrance.code})


def form_data(n: int, name: str = "Ni Luh Putu Ayu", **extra) -> dict:
    data = {"nik": nik_make(n), "name": name, "consent": "on", "remember": "on", "nonce": secrets.token_urlsafe(16)}
    data.update(extra)
    return data


def shown(response):
    """The page a form's post leads to: its 303's result URL, opened by the same phone in the same language."""
    if response.status_code != 303:
        return response
    assert response["Location"].startswith("/c/r/")
    headers = (
        {"HTTP_ACCEPT_LANGUAGE": response.request["HTTP_ACCEPT_LANGUAGE"]}
        if "HTTP_ACCEPT_LANGUAGE" in response.request
        else {}
    )
    return response.client.get(response["Location"], **headers)


def outcome_of(response) -> tuple[str, str]:
    match = OUTCOME.search(shown(response).content.decode())
    assert match, "no outcome element on the page"
    return match.groups()


def error_texts(response) -> list[str]:
    return re.findall(r'<p class="err"[^>]*>(.*?)</p>', response.content.decode(), re.DOTALL)


def remembered(client: Client, n: int, name: str = "Komang Ayu") -> Person:
    """A person with a remembered phone whose cookie the client holds."""
    person = PersonFactory(nik=nik_make(n), name=name)
    token = secrets.token_urlsafe(32)
    Device.objects.create(token_hash=device_token_hash(token), person=person)
    client.cookies[DEVICE_COOKIE] = token
    return person


@pytest.fixture
def entrance():
    return EntranceFactory(office__name="Dinas Kesehatan Kota Denpasar", name="Pintu Utama")


def test_form_has_consent_notice_and_a_fresh_nonce(client, entrance, settings):
    settings.RETENTION_DAYS = 30
    first = client.get(url(entrance), HTTP_ACCEPT_LANGUAGE="en")
    second = client.get(url(entrance), HTTP_ACCEPT_LANGUAGE="en")
    html = first.content.decode()
    assert first.status_code == 200
    assert 'name="consent"' in html and "UU PDP 27/2022" in html and "30 days" in html
    assert 'inputmode="numeric"' in html and 'autocomplete="off"' in html and 'inputmode="tel"' in html
    assert "<details" in html and 'name="child3_nik"' in html and 'name="child4_nik"' not in html
    assert re.search(r'name="remember"', html) and not re.search(r'name="remember"[^>]*checked', html)
    nonces = [re.search(r'name="nonce" value="([^"]+)"', r.content.decode()).group(1) for r in (first, second)]
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 16
    assert 'action="/i18n/setlang/"' in html and "Bahasa Indonesia" in html and "English" in html


def test_unknown_code_is_a_friendly_404(client):
    response = client.get("/c/no-such-poster/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "This poster is no longer valid. Please ask the officer at the door." in response.content.decode()
    assert client.post("/c/no-such-poster/", form_data(1)).status_code == 404
    assert not Person.objects.exists()


def test_rotated_code_is_a_friendly_404(client, entrance):
    old = entrance.code
    entrance.code = "rotated-new-code-1"
    entrance.save()
    assert client.get(f"/c/{old}/").status_code == 404


def test_inactive_entrance_is_closed_404(client):
    closed = EntranceFactory(active=False)
    response = client.get(url(closed), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "This entrance is closed" in response.content.decode()
    assert client.post(url(closed), form_data(1)).status_code == 404
    assert not ScanEvent.objects.exists()


def test_green_checkin_shows_admitted_and_starts_a_visit(client, entrance):
    HealthStatusFactory(nik=nik_make(1), name="Ni Luh Putu Ayu", doses=2)
    response = shown(client.post(url(entrance), form_data(1), HTTP_ACCEPT_LANGUAGE="en"))
    html = response.content.decode()
    assert response.status_code == 200
    assert outcome_of(response) == ("admitted", "ok")
    assert "Welcome. You may enter." in html and "Dinas Kesehatan Kota Denpasar" in html and "Pintu Utama" in html
    assert 'id="clock"' in html and 'class="pulse"' in html
    assert f'action="{url(entrance, "checkout")}"' in html
    assert Visit.objects.filter(person__name="Ni Luh Putu Ayu", checked_out_at__isnull=True).count() == 1


def test_remember_sets_a_secure_httponly_device_cookie(client, entrance):
    HealthStatusFactory(nik=nik_make(2), name="Made Sari", doses=2)
    response = client.post(url(entrance), form_data(2, name="Made Sari"))
    cookie = response.cookies[DEVICE_COOKIE]
    assert Device.objects.get().token_hash == device_token_hash(cookie.value)
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Lax"
    assert cookie["path"] == "/c/" and cookie["max-age"] == 180 * 24 * 3600


def test_without_remember_no_cookie_and_no_device(client, entrance):
    HealthStatusFactory(nik=nik_make(3), name="Made Sari", doses=2)
    data = form_data(3, name="Made Sari")
    del data["remember"]
    response = client.post(url(entrance), data)
    assert outcome_of(response) == ("admitted", "ok")
    assert DEVICE_COOKIE not in response.cookies and not Device.objects.exists()


def test_same_nonce_twice_gives_the_first_answer(client, entrance):
    HealthStatusFactory(nik=nik_make(4), name="Made Sari", doses=2)
    data = form_data(4, name="Made Sari")
    first = client.post(url(entrance), data)
    again = client.post(url(entrance), data)
    assert outcome_of(first) == outcome_of(again) == ("admitted", "ok")
    assert Visit.objects.count() == 1


def test_without_consent_nothing_is_written(client, entrance):
    data = form_data(5)
    del data["consent"]
    response = client.post(url(entrance), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Please tick the box to agree, or you cannot check in." in response.content.decode()
    assert not Person.objects.exists() and not ScanEvent.objects.exists()


def test_bad_nik_is_refused_without_echoing_it(client, entrance):
    bad_nik = "9971010190000001"  # province 99 does not exist
    response = client.post(url(entrance), form_data(6, nik=bad_nik), HTTP_ACCEPT_LANGUAGE="en")
    errors = error_texts(response)
    assert response.status_code == 400
    assert any("province code" in error for error in errors)
    assert not any(bad_nik in error for error in errors)
    assert not Person.objects.exists() and not ScanEvent.objects.exists()


def test_service_errors_appear_next_to_their_fields(client, entrance):
    response = client.post(url(entrance), form_data(7, phone="12"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert re.search(r'data-field="phone">Enter a phone number', response.content.decode())
    too_old = nik_make(8, born=datetime.date(1999, 1, 1))
    response = client.post(
        url(entrance), form_data(7, child1_nik=too_old, child1_name="Putu"), HTTP_ACCEPT_LANGUAGE="en"
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'data-field="dependants">Child 1 is 12 or older', html) and "<details open>" in html
    assert not any(too_old in error for error in error_texts(response))
    assert not Person.objects.exists()


@pytest.mark.parametrize(
    "status",
    [
        {"doses": 1},
        {"doses": 0},
        {"doses": 2, "case_status": "positive", "isolated_until": datetime.date(2099, 1, 1)},
        None,
    ],
    ids=["yellow", "red", "black", "unknown"],
)
def test_every_health_result_gets_the_same_amber_page(client, entrance, status):
    if status is not None:
        HealthStatusFactory(nik=nik_make(9), name="Komang Ayu", **status)
    pages = {}
    for language in ("en", "id"):
        response = shown(client.post(url(entrance), form_data(9, name="Komang Ayu"), HTTP_ACCEPT_LANGUAGE=language))
        assert response.status_code == 200
        assert outcome_of(response) == ("see_officer", "see_officer")
        html = response.content.decode()
        # What to have ready (KTP, vaccination certificate) is the same line for every referral: it tells nothing.
        assert not HEALTH_WORDS.search(re.sub(r'<p class="ready">.*?</p>', "", html))
        assert 'action="/c/' not in html.split("</main>")[0]  # no check-out button
        pages[language] = html
    assert "the officer at the door will call you" in pages["en"] and "KTP" in pages["en"]
    assert not Visit.objects.exists()
    # The whole page, minus tokens and clock digits, is the same for every health result.
    normalized = re.sub(r'value="[^"]*"|/c/r/[^/"]+/|\d', "", pages["en"])
    assert normalized == _amber_reference(entrance)


def _amber_reference(entrance) -> str:
    """The amber page of an unknown person at the same entrance, normalized the same way."""
    client = Client()
    response = shown(client.post(url(entrance), form_data(10, name="Wayan Unknown"), HTTP_ACCEPT_LANGUAGE="en"))
    return re.sub(r'value="[^"]*"|/c/r/[^/"]+/|\d', "", response.content.decode())


def test_remembered_phone_gets_one_tap(client, entrance):
    person = remembered(client, 11, name="I Made Wirawan")
    HealthStatusFactory(nik=nik_make(11), name="I Made Wirawan", doses=2)
    html = client.get(url(entrance), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "I M*** W***" in html and "Wirawan" not in html
    assert 'name="nik"' not in html and 'data-action="checkin"' in html and 'data-action="forget"' in html
    response = client.post(url(entrance), {"nonce": secrets.token_urlsafe(16)})
    assert outcome_of(response) == ("admitted", "ok")
    assert Visit.objects.get(checked_out_at__isnull=True).person == person


def test_remembered_phone_inside_is_offered_check_out(client, entrance):
    person = remembered(client, 12)
    VisitFactory(person=person, entrance_in=entrance)
    html = client.get(url(entrance)).content.decode()
    assert 'data-action="checkout"' in html and 'data-action="checkin"' not in html


def test_not_you_forgets_the_phone(client, entrance):
    remembered(client, 13)
    response = client.post(url(entrance, "forget_device"))
    assert response.status_code == 302 and response["Location"] == url(entrance)
    assert not Device.objects.exists()
    assert response.cookies[DEVICE_COOKIE]["max-age"] == 0
    html = client.get(url(entrance)).content.decode()
    assert 'name="nik"' in html and 'name="consent"' in html


def test_forgotten_device_cookie_falls_back_to_the_form(client, entrance):
    client.cookies[DEVICE_COOKIE] = "stale-token-the-server-forgot"
    response = client.get(url(entrance))
    assert 'name="nik"' in response.content.decode()
    assert response.cookies[DEVICE_COOKIE]["max-age"] == 0
    posted = client.post(url(entrance), {"nonce": secrets.token_urlsafe(16)})
    assert posted.status_code == 400 and 'name="nik"' in posted.content.decode()


def test_check_out_with_the_remembered_phone(client, entrance):
    person = remembered(client, 14)
    visit = VisitFactory(person=person, entrance_in=entrance)
    response = shown(client.post(url(entrance, "checkout"), HTTP_ACCEPT_LANGUAGE="en"))
    assert response.status_code == 200
    assert outcome_of(response) == ("admitted", "checked_out")
    assert "You have checked out." in response.content.decode()
    visit.refresh_from_db()
    assert visit.checked_out_at is not None


def test_check_out_by_nik_without_a_remembered_phone(client, entrance):
    visit = VisitFactory(person=PersonFactory(nik=nik_make(15), name="Made Pulang"), entrance_in=entrance)
    form = client.get(url(entrance, "checkout"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Enter your NIK to check out." in form and 'name="nik"' in form and 'name="name"' in form
    assert 'name="nik"' in client.post(url(entrance, "checkout")).content.decode()
    response = client.post(url(entrance, "checkout"), {"nik": nik_make(15), "name": "made  pulang"})
    assert outcome_of(response) == ("admitted", "checked_out")
    visit.refresh_from_db()
    assert visit.checked_out_at is not None


def test_check_out_when_not_inside_is_a_friendly_409(client, entrance):
    response = client.post(
        url(entrance, "checkout"), {"nik": nik_make(16), "name": "Made Pulang"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 409
    assert "You are not checked in at this office." in response.content.decode()


def test_nik_rate_limit_answers_429_with_retry_after(client, entrance, settings):
    settings.RATE_LIMIT_NIK = "1/m"
    HealthStatusFactory(nik=nik_make(17), name="Made Sari", doses=0)
    assert client.post(url(entrance), form_data(17, name="Made Sari")).status_code == 303
    response = client.post(url(entrance), form_data(17, name="Made Sari"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 61
    assert "Too many attempts." in response.content.decode()
    assert ScanEvent.objects.count() == 1


def test_csrf_is_enforced(entrance):
    response = Client(enforce_csrf_checks=True).post(url(entrance), form_data(18))
    assert response.status_code == 403
    assert not Person.objects.exists()


def test_pages_are_light(client, entrance):
    HealthStatusFactory(nik=nik_make(19), name="Made Sari", doses=2)
    form = client.get(url(entrance))
    result = shown(client.post(url(entrance), form_data(19, name="Made Sari")))
    assert len(form.content) < 20_000 and len(result.content) < 20_000
    with open(finders.find("css/checkin.css"), "rb") as css:
        assert len(css.read()) < 8 * 1024


def test_indonesian_by_default_english_on_request(client, entrance):
    default = client.get(url(entrance)).content.decode()
    assert '<html lang="id">' in default
    by_header = client.get(url(entrance), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in by_header and "Remember this phone" in by_header
    client.cookies["django_language"] = "en"
    by_cookie = client.get(url(entrance)).content.decode()
    assert '<html lang="en">' in by_cookie and "Check in" in by_cookie


def test_language_switch_returns_to_the_page(client, entrance):
    response = client.post("/i18n/setlang/", {"language": "en", "next": url(entrance)})
    assert response.status_code == 302 and response["Location"] == url(entrance)
    assert '<html lang="en">' in client.get(url(entrance)).content.decode()


def test_name_mask():
    assert name_mask("I Made  Wirawan") == "I M*** W***"
    assert name_mask("Ni Luh Putu Ayu") == "N*** L*** P*** A***"


def test_friendly_404_and_500_templates(client):
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404 and "Page not found" in response.content.decode()
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong" in html and "Traceback" not in html


@pytest.mark.django_db
def test_expired_csrf_token_gets_a_friendly_page_and_writes_nothing():
    from django.test import Client

    from visitors.models import Person

    entrance = EntranceFactory()
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(f"/c/{entrance.code}/", {"nik": nik_make(1), "name": "Made", "consent": "on"})
    assert response.status_code == 403
    assert b'data-reason="csrf"' in response.content
    assert not Person.objects.exists()


@pytest.mark.django_db
def test_typed_entrance_code_with_spaces_leads_to_the_entrance(client):
    entrance = EntranceFactory()
    grouped = " ".join(entrance.code[i : i + 4] for i in range(0, len(entrance.code), 4))
    response = client.get("/c/", {"code": grouped})
    assert response.status_code == 302
    assert response["Location"] == f"/c/{entrance.code}/"


@pytest.mark.django_db
def test_typed_unknown_code_is_refused_kindly(client):
    response = client.get("/c/", {"code": "salah-kode"})
    assert response.status_code == 404
    assert b'role="alert"' in response.content
