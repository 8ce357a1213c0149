"""Codes a person can type: the poster's short code in any case, spacing and look-alikes, at /c/ and at
/c/<short code>/; the six digits under a door screen's live QR; and a live-QR entrance that no printed code opens."""

from __future__ import annotations

import datetime
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from freezegun import freeze_time

from offices.live_codes import PERIOD_SECONDS, live_digits_grouped, live_digits_make
from offices.posters import poster_render
from offices.services import entrance_code_rotate
from tests.factories import EntranceFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2021, 8, 2, 1, 0, 10, tzinfo=datetime.UTC)  # 10 s into a 30-second period
SHORT = "AB10CD1Z"  # holds a 1 and a 0, so its look-alikes can be typed


def later(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def typed(client, code: str, **headers):
    return client.get("/c/", {"code": code}, **headers)


def form_action(response) -> str:
    return re.search(r'<form method="post" action="([^"]+)"', response.content.decode()).group(1)


@pytest.fixture
def entrance():
    return EntranceFactory(short_code=SHORT)


@pytest.fixture
def live():
    return EntranceFactory(live_qr=True)


# --- the short code, typed in the form ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["AB10CD1Z", "ab10cd1z", "AB10 CD1Z", "ab10-cd1z", "aBiO cDlZ", " ab1o – cd1z "])
def test_short_code_in_any_case_spacing_or_look_alikes_leads_to_the_entrance(client, entrance, code):
    response = typed(client, code)

    assert response.status_code == 302
    assert response["Location"] == f"/c/{entrance.code}/"


def test_long_code_of_an_older_poster_still_leads_to_the_entrance(client, entrance):
    response = typed(client, " ".join(entrance.code[i : i + 4] for i in range(0, 16, 4)))

    assert (response.status_code, response["Location"]) == (302, f"/c/{entrance.code}/")


def test_what_the_poster_prints_is_what_the_form_takes(client, entrance):
    printed = poster_render(entrance=entrance).texts["short_code"]

    assert typed(client, printed.lower())["Location"] == f"/c/{entrance.code}/"


def test_a_rotated_short_code_no_longer_leads_anywhere(client, entrance):
    entrance_code_rotate(entrance=entrance, actor=None)

    assert typed(client, SHORT).status_code == 404


def test_unknown_code_is_announced_and_tied_to_the_input(client):
    response = typed(client, "ZZZZ ZZZZ", HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert response.status_code == 404
    error = re.search(r'<p class="err" id="([^"]+)" role="alert">([^<]+)</p>', html)
    assert error and "No entrance has this code" in error.group(2)
    field = re.search(r"<input [^>]*>", html).group(0)
    assert 'aria-invalid="true"' in field
    assert error.group(1) in re.search(r'aria-describedby="([^"]+)"', field).group(1).split()
    assert 'value="ZZZZ ZZZZ"' in field  # what was typed stays there to correct


def test_code_field_is_a_labelled_text_field_for_typing_codes(client):
    html = client.get("/c/").content.decode()

    field = re.search(r"<input [^>]*>", html).group(0)
    for attribute in ('type="text"', 'id="code"', 'autocapitalize="characters"', 'autocomplete="off"'):
        assert attribute in field
    assert 'spellcheck="false"' in field
    assert "aria-invalid" not in field and 'role="alert"' not in html
    assert re.search(r'<label for="code">[^<]+', html)


def test_the_form_tells_people_without_a_phone_to_see_the_officer(client):
    assert "No phone? See the officer" in client.get("/c/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_typed_codes_are_rate_limited(client, entrance, settings):
    settings.RATE_LIMIT_CLIENT = "2/m"
    assert typed(client, SHORT).status_code == 302
    assert typed(client, "ZZZZZZZZ").status_code == 404

    response = typed(client, SHORT)

    assert response.status_code == 429 and 1 <= int(response["Retry-After"]) <= 61


# --- the short code in the URL -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["AB10CD1Z", "ab10cd1z", "ab10-cd1z", "AB10%20CD1Z", "abio-cdlz"])
def test_short_code_url_answers_the_entrance_page_whose_form_posts_to_the_long_code(client, entrance, path):
    response = client.get(f"/c/{path}/")

    assert response.status_code == 200
    assert 'name="nik"' in response.content.decode()
    assert form_action(response) == f"/c/{entrance.code}/"


def test_short_code_url_of_a_live_entrance_does_not_open_its_form(client, live):
    response = client.get(f"/c/{live.short_code.lower()}/")

    assert response.status_code == 403
    assert 'name="nik"' not in response.content.decode()


# --- a live-QR entrance: printed codes refused, the screen's digits accepted --------------------------------------


def test_short_code_of_a_live_entrance_asks_for_the_six_digits_on_the_door_screen(client, live):
    response = typed(client, live.short_code, HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert response.status_code == 403
    assert "type the 6 digits" in html and 'role="alert"' in html
    assert "Location" not in response


def test_long_code_of_a_live_entrance_asks_for_the_six_digits_too(client, live):
    assert typed(client, live.code).status_code == 403


def test_typed_digits_open_the_live_entrance_form_as_a_scan_would(client, live):
    digits = live_digits_grouped(live_digits_make(entrance=live, at=T0))
    with freeze_time(T0):
        response = typed(client, digits)
        assert response.status_code == 302
        location = urlsplit(response["Location"])
        assert location.path == f"/c/{live.code}/"
        assert parse_qs(location.query)["t"]
        page = client.get(response["Location"])

    assert page.status_code == 200
    assert 'name="nik"' in page.content.decode()
    assert re.search(r'name="live" value="[^"]+"', page.content.decode())


def test_digits_from_the_previous_period_are_still_taken_then_refused(client, live):
    digits = live_digits_make(entrance=live, at=T0)
    with freeze_time(later(PERIOD_SECONDS)):
        assert typed(client, digits).status_code == 302
    with freeze_time(later(2 * PERIOD_SECONDS)):
        response = typed(client, digits, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "Type the 6 digits on the door screen now" in response.content.decode()


def test_digits_of_a_printed_poster_entrance_or_a_closed_one_lead_nowhere(client, entrance):
    closed = EntranceFactory(live_qr=True, active=False)
    with freeze_time(T0):
        assert typed(client, live_digits_make(entrance=entrance, at=T0)).status_code == 404
        assert typed(client, live_digits_make(entrance=closed, at=T0)).status_code == 404


def test_two_live_entrances_showing_the_same_digits_are_refused(client, settings):
    # A pair found offline: under this secret both kiosks show the same six digits in T0's period.
    settings.SECRET_KEY = "test-secret-for-live-digit-collisions-0123456789abcdef"
    first = EntranceFactory(live_qr=True, code="live-door-aaaa01")
    second = EntranceFactory(live_qr=True, code="live-door-b1770322")
    digits = live_digits_make(entrance=first, at=T0)
    assert live_digits_make(entrance=second, at=T0) == digits

    with freeze_time(T0):
        response = typed(client, digits, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 409
    assert "Please scan the QR code" in response.content.decode()


def test_typed_digits_have_a_strict_limit_of_their_own(client, live, settings):
    settings.RATE_LIMIT_NIK = "2/m"
    with freeze_time(T0):
        assert typed(client, "000 000").status_code in (302, 404)
        assert typed(client, "000 001").status_code in (302, 404)
        response = typed(client, live_digits_make(entrance=live, at=T0))
        poster_code = typed(client, live.short_code)  # the poster's code is not held back by it

    assert response.status_code == 429
    assert poster_code.status_code == 403


# --- the door screen -----------------------------------------------------------------------------------------------


def test_kiosk_shows_the_digits_that_open_its_entrance_under_the_qr(client, live, settings):
    settings.SITE_URL = "https://checkin.denpasarkota.go.id"
    client.force_login(UserFactory(roles=["Petugas"], offices=[live.office]))
    with freeze_time(T0):
        html = client.get(f"/door/{live.pk}/kiosk/").content.decode()

    shown = re.search(r'<b id="digits" data-digits="([^"]+)"', html).group(1)
    assert shown == live_digits_grouped(live_digits_make(entrance=live, at=T0))
    assert html.index("qr-box") < html.index('id="digits"')  # under the QR
    assert "checkin.denpasarkota.go.id/c/" in html
    client.logout()
    with freeze_time(later(5)):
        assert typed(client, shown)["Location"].startswith(f"/c/{live.code}/?t=")
