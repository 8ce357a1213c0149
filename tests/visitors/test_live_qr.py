"""The live door QR: a live-QR entrance takes only a fresh code from the kiosk (pages and API), carries a good scan
into its form as a pass, refuses old codes with a clear message and writes nothing; the kiosk page is scoped."""

from __future__ import annotations

import datetime
import re
import secrets

import pytest
import segno
from freezegun import freeze_time
from rest_framework.test import APIClient

from offices.live_codes import live_token_make, live_url
from tests.factories import EntranceFactory, HealthStatusFactory, PersonFactory, UserFactory, nik_make
from visitors.models import Device, Person, ScanEvent, Visit
from visitors.services import device_token_hash
from visitors.views import DEVICE_COOKIE

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2021, 8, 2, 1, 0, 10, tzinfo=datetime.UTC)  # 10 s into a 30-second period
NAME = "Ni Luh Putu Ayu"
EXPIRED_TEXT = "This QR code has expired. Please scan the code on the screen at the door again."
CHECKINS = "/api/v1/checkins/"


def later(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


@pytest.fixture
def entrance():
    return EntranceFactory(office__name="Dinas Kesehatan Kota Denpasar", name="Pintu Utama", live_qr=True)


@pytest.fixture
def green():
    return HealthStatusFactory(nik=nik_make(1), name=NAME, doses=2)


def page(entrance) -> str:
    return f"/c/{entrance.code}/"


def form_data(**extra) -> dict:
    data = {"nik": nik_make(1), "name": NAME, "consent": "on", "nonce": secrets.token_urlsafe(16)}
    data.update(extra)
    return data


def live_pass_of(response) -> str:
    match = re.search(r'name="live" value="([^"]+)"', response.content.decode())
    assert match, "no live pass in the form"
    return match.group(1)


def reason_of(response) -> str:
    return re.search(r'data-reason="([^"]*)"', response.content.decode()).group(1)


def nothing_written() -> bool:
    return not (Person.objects.exists() or Visit.objects.exists() or ScanEvent.objects.exists())


# --- phone pages ------------------------------------------------------------------------------------------------


def test_live_entrance_without_a_code_is_refused(client, entrance):
    response = client.get(page(entrance), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert reason_of(response) == "live_code_invalid"
    assert "Please scan the code on the screen" in response.content.decode()
    assert 'name="nik"' not in response.content.decode()


def test_live_entrance_with_a_forged_code_is_refused(client, entrance):
    response = client.get(page(entrance), {"t": "12345.0123456789abcdef"})
    assert response.status_code == 403 and reason_of(response) == "live_code_invalid"


def test_current_code_opens_the_form_with_a_pass(client, entrance):
    with freeze_time(T0):
        response = client.get(page(entrance), {"t": live_token_make(entrance=entrance, at=T0)})
    assert response.status_code == 200
    assert 'name="nik"' in response.content.decode()
    assert live_pass_of(response)


def test_post_with_the_pass_checks_in(client, entrance, green):
    with freeze_time(T0):
        form = client.get(page(entrance), {"t": live_token_make(entrance=entrance, at=T0)})
    # Typing takes minutes; the code on the screen has long changed by then.
    with freeze_time(later(4 * 60)):
        response = client.post(page(entrance), form_data(live=live_pass_of(form)), follow=True)
    assert response.status_code == 200
    assert 'data-outcome="admitted"' in response.content.decode()
    assert Visit.objects.filter(person__name=NAME, checked_out_at__isnull=True).count() == 1


def test_a_form_with_errors_keeps_the_pass(client, entrance):
    with freeze_time(T0):
        form = client.get(page(entrance), {"t": live_token_make(entrance=entrance, at=T0)})
        response = client.post(page(entrance), form_data(live=live_pass_of(form), consent=""))
    assert response.status_code == 400
    assert live_pass_of(response) == live_pass_of(form)


def test_expired_code_is_refused_with_a_clear_message_and_writes_nothing(client, entrance, green):
    token = live_token_make(entrance=entrance, at=T0)
    with freeze_time(later(60)):  # two periods on
        response = client.get(page(entrance), {"t": token}, HTTP_ACCEPT_LANGUAGE="en")
        posted = client.post(page(entrance), form_data(live=token), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410
    assert reason_of(response) == "live_code_expired"
    assert EXPIRED_TEXT in response.content.decode()
    assert posted.status_code == 410 and reason_of(posted) == "live_code_expired"
    assert nothing_written()


def test_post_without_a_pass_is_refused_and_writes_nothing(client, entrance, green):
    response = client.post(page(entrance), form_data())
    assert response.status_code == 403 and reason_of(response) == "live_code_invalid"
    assert nothing_written()


def test_expired_pass_is_refused(client, entrance, green):
    with freeze_time(T0):
        form = client.get(page(entrance), {"t": live_token_make(entrance=entrance, at=T0)})
    with freeze_time(later(11 * 60)):
        response = client.post(page(entrance), form_data(live=live_pass_of(form)), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410 and EXPIRED_TEXT in response.content.decode()
    assert nothing_written()


def test_remembered_phone_one_tap_needs_the_pass(client, entrance, green):
    person = PersonFactory(nik=nik_make(1), name=NAME)
    token = secrets.token_urlsafe(32)
    Device.objects.create(token_hash=device_token_hash(token), person=person)
    client.cookies[DEVICE_COOKIE] = token

    refused = client.post(page(entrance), {"nonce": secrets.token_urlsafe(16)})
    assert refused.status_code == 403 and not Visit.objects.exists()

    with freeze_time(T0):
        one_tap = client.get(page(entrance), {"t": live_token_make(entrance=entrance, at=T0)})
        assert 'data-action="checkin"' in one_tap.content.decode()
        response = client.post(
            page(entrance), {"nonce": secrets.token_urlsafe(16), "live": live_pass_of(one_tap)}, follow=True
        )
    assert 'data-outcome="admitted"' in response.content.decode()
    assert Visit.objects.filter(person=person).count() == 1


def test_not_you_returns_to_the_form_with_the_pass(client, entrance):
    person = PersonFactory(nik=nik_make(1), name=NAME)
    token = secrets.token_urlsafe(32)
    Device.objects.create(token_hash=device_token_hash(token), person=person)
    client.cookies[DEVICE_COOKIE] = token
    with freeze_time(T0):
        one_tap = client.get(page(entrance), {"t": live_token_make(entrance=entrance, at=T0)})
        forget = client.post(f"/c/{entrance.code}/forget/", {"live": live_pass_of(one_tap)})
        form = client.get(forget["Location"])
    assert form.status_code == 200 and 'name="nik"' in form.content.decode()
    assert live_pass_of(form) == live_pass_of(one_tap)


def test_checkout_needs_no_live_code(client, entrance, green):
    with freeze_time(T0):
        form = client.get(page(entrance), {"t": live_token_make(entrance=entrance, at=T0)})
        client.post(page(entrance), form_data(live=live_pass_of(form)))
    response = client.post(f"/c/{entrance.code}/checkout/", {"nik": nik_make(1), "name": NAME}, follow=True)
    assert response.status_code == 200
    assert Visit.objects.get().checked_out_at is not None


def test_printed_poster_entrance_is_unaffected(client, green):
    poster = EntranceFactory(live_qr=False)
    assert client.get(page(poster)).status_code == 200
    response = client.post(page(poster), form_data(), follow=True)
    assert 'data-outcome="admitted"' in response.content.decode()


# --- API --------------------------------------------------------------------------------------------------------


def api_checkin(api: APIClient, entrance, **body):
    return api.post(CHECKINS, {"entrance": entrance.code, "nik": nik_make(1), "name": NAME, **body}, format="json")


def test_api_anonymous_without_a_live_code_is_refused(entrance, green):
    response = api_checkin(APIClient(), entrance)
    assert response.status_code == 403
    assert response.json()["code"] == "live_code_invalid" and response.json()["detail"]
    assert nothing_written()


def test_api_anonymous_with_a_current_code_checks_in(entrance, green):
    with freeze_time(T0):
        response = api_checkin(APIClient(), entrance, live=live_token_make(entrance=entrance, at=T0))
    assert response.status_code == 200 and response.json()["outcome"] == "admitted"


def test_api_expired_code_is_refused(entrance, green):
    token = live_token_make(entrance=entrance, at=T0)
    with freeze_time(later(60)):
        response = api_checkin(APIClient(HTTP_ACCEPT_LANGUAGE="en"), entrance, live=token)
    assert response.status_code == 403
    assert response.json() == {"detail": EXPIRED_TEXT, "code": "live_code_expired"}
    assert nothing_written()


def test_api_officer_of_the_office_needs_no_live_code(entrance, green):
    api = APIClient()
    api.force_authenticate(UserFactory(roles=["Petugas"], offices=[entrance.office]))
    response = api_checkin(api, entrance)
    assert response.status_code == 200 and response.json()["outcome"] == "admitted"


def test_api_officer_of_another_office_still_needs_a_live_code(entrance, green):
    api = APIClient()
    api.force_authenticate(UserFactory(roles=["Petugas"], offices=[EntranceFactory().office]))
    assert api_checkin(api, entrance).json()["code"] == "live_code_invalid"


# --- kiosk ------------------------------------------------------------------------------------------------------


def svg_paths(svg: str) -> set[str]:
    return set(re.findall(r'<path[^>]* d="([^"]+)"', svg))


def test_kiosk_shows_the_live_url_as_a_qr(client, entrance):
    client.force_login(UserFactory(roles=["Petugas"], offices=[entrance.office]))
    with freeze_time(T0):
        response = client.get(f"/door/{entrance.pk}/kiosk/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    url = re.search(r'data-url="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert url == live_url(entrance=entrance, at=T0)
    # The QR drawn on the page is the one for exactly that URL.
    modules = svg_paths(segno.make(url, error="q").svg_inline(border=4))
    assert len(modules) == 1 and modules <= svg_paths(html)
    assert '<meta http-equiv="refresh" content="20">' in html
    assert "Dinas Kesehatan Kota Denpasar" in html and "Pintu Utama" in html


def test_kiosk_of_another_office_is_forbidden(client, entrance):
    client.force_login(UserFactory(roles=["Petugas"], offices=[EntranceFactory().office]))
    assert client.get(f"/door/{entrance.pk}/kiosk/").status_code == 403


def test_kiosk_needs_a_login(client, entrance):
    response = client.get(f"/door/{entrance.pk}/kiosk/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_door_screen_links_to_the_kiosk_only_for_live_entrances(client, entrance):
    poster = EntranceFactory(office=entrance.office)
    client.force_login(UserFactory(roles=["Petugas"], offices=[entrance.office]))
    assert f"/door/{entrance.pk}/kiosk/" in client.get(f"/door/{entrance.pk}/").content.decode()
    assert "/kiosk/" not in client.get(f"/door/{poster.pk}/").content.decode()


def test_officer_manual_checkin_at_a_live_entrance_needs_no_code(entrance, green):
    from door.services import visit_officer_checkin

    officer = UserFactory(roles=["Petugas"], offices=[entrance.office])
    result = visit_officer_checkin(entrance_id=entrance.pk, nik=nik_make(1), name=NAME, officer=officer)
    assert result.outcome == "admitted"


def test_service_refuses_a_live_entrance_without_a_code(entrance, green):
    from visitors.services import LiveCodeRefused, visit_checkin

    with pytest.raises(LiveCodeRefused) as refused:
        visit_checkin(entrance_code=entrance.code, nik=nik_make(1), name=NAME)
    assert refused.value.code == "live_code_invalid"
    assert nothing_written()
