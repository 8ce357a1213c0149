"""The second factor: Satgas, city admins and superusers give a TOTP code (after enrolling a device) in production."""

from __future__ import annotations

import datetime
import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from offices.models import AuditEvent
from tests.factories import OfficeFactory, UserFactory
from tests.test_settings import PRODUCTION, _manage

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
VERIFY = "/accounts/2fa/verify/"
ENROL = "/accounts/2fa/enrol/"


@pytest.fixture
def production(settings):
    """What DEBUG off means for accounts (settings.TWO_FACTOR_REQUIRED follows DEBUG when the settings load)."""
    settings.DEBUG = False
    settings.TWO_FACTOR_REQUIRED = True


@pytest.fixture
def clock():
    with freeze_time(T0) as frozen:
        yield frozen


def code_for(device: TOTPDevice) -> str:
    """The code an authenticator app shows now for this device's key."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):06d}"


def device_for(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def path_of(response) -> str:
    return urlsplit(response["Location"]).path


@pytest.fixture
def satgas():
    return UserFactory(roles=["Satgas"])


# --- who is asked -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_user",
    [
        lambda: UserFactory(roles=["Satgas"]),
        lambda: UserFactory(roles=["Admin Kota"]),
        lambda: UserFactory(is_superuser=True),
    ],
    ids=["satgas", "city_admin", "superuser"],
)
def test_roles_that_need_it_are_sent_to_enrol_before_any_admin_page(client, production, make_user):
    client.force_login(make_user())

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"] == f"{ENROL}?next=%2Fadmin%2F"


@pytest.mark.parametrize("path", ["/admin/offices/office/", "/reports/", "/door/"])
def test_an_unverified_satgas_reaches_no_admin_report_or_door_page(client, production, satgas, path):
    device_for(satgas)
    client.force_login(satgas)

    response = client.get(path)

    assert response.status_code == 302
    assert path_of(response) == VERIFY


def test_the_api_answers_an_unverified_session_with_403_json(client, production, satgas):
    office = OfficeFactory()
    client.force_login(satgas)

    response = client.get(f"/api/v1/offices/{office.pk}/occupancy/")

    assert response.status_code == 403
    assert response.json()["code"] == "two_factor_required"


def test_a_door_officer_is_not_asked(client, production):
    office = OfficeFactory()
    client.force_login(UserFactory(roles=["Petugas"], offices=[office]))

    assert client.get("/door/").status_code == 200
    assert client.get("/admin/").status_code == 200


def test_an_office_admin_is_not_asked_with_the_default_groups(client, production):
    client.force_login(UserFactory(roles=["Admin Kantor"], offices=[OfficeFactory()]))

    assert client.get("/admin/").status_code == 200


def test_groups_come_from_the_setting(client, production, settings):
    settings.REQUIRE_2FA_GROUPS = ["Petugas"]
    client.force_login(UserFactory(roles=["Petugas"], offices=[OfficeFactory()]))

    assert path_of(client.get("/door/")) == ENROL


def test_nobody_is_asked_when_not_required(client, satgas):
    # The embedded mode (`make run`, DEBUG on) loads TWO_FACTOR_REQUIRED off, as the test settings do.
    client.force_login(satgas)

    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(("debug", "required"), [("false", "True"), ("true", "False")])
def test_the_requirement_follows_debug(debug, required):
    env = {**PRODUCTION, "DEBUG": debug}
    result = _manage("shell", "-c", "from django.conf import settings; print(settings.TWO_FACTOR_REQUIRED)", env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == required


def test_login_and_logout_pages_stay_open(client, production, satgas):
    client.force_login(satgas)

    assert client.get(reverse("admin:login")).status_code in (200, 302)
    assert client.post(reverse("admin:logout")).status_code == 200


def test_the_password_login_leads_to_the_code_page(client, production, satgas):
    device_for(satgas)

    login = client.post(
        f"{reverse('admin:login')}?next=/admin/",
        {"username": satgas.username, "password": "Sandi-Rahasia-123", "next": "/admin/"},
    )
    after = client.get(login["Location"])

    assert login.status_code == 302
    assert after["Location"] == f"{VERIFY}?next=%2Fadmin%2F"
    assert client.get(after["Location"]).status_code == 200


# --- verify -------------------------------------------------------------------------------------------------------


def test_a_valid_code_opens_the_admin_for_the_session(client, production, satgas, clock):
    device = device_for(satgas)
    client.force_login(satgas)
    assert path_of(client.get("/admin/")) == VERIFY

    response = client.post(VERIFY, {"code": code_for(device), "next": "/admin/"})

    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    reports = client.get("/reports/")
    assert not (reports.status_code == 302 and path_of(reports) == VERIFY)


def test_a_wrong_code_is_refused_with_a_clear_message(client, production, satgas, clock):
    device = device_for(satgas)
    client.force_login(satgas)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"

    response = client.post(VERIFY, {"code": wrong, "next": "/admin/"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert path_of(client.get("/admin/")) == VERIFY


def test_codes_right_after_a_wrong_one_wait_for_the_throttle(client, production, satgas, clock):
    device = device_for(satgas)
    client.force_login(satgas)
    client.post(VERIFY, {"code": "000000" if code_for(device) != "000000" else "111111"})

    refused = client.post(VERIFY, {"code": code_for(device)}, HTTP_ACCEPT_LANGUAGE="en")
    clock.tick(datetime.timedelta(seconds=31))
    accepted = client.post(VERIFY, {"code": code_for(device)})

    assert "Too many wrong codes" in refused.content.decode()
    assert accepted.status_code == 302


def test_a_code_is_good_only_once(client, production, satgas, clock):
    device = device_for(satgas)
    code = code_for(device)
    client.force_login(satgas)
    client.post(VERIFY, {"code": code})
    client.logout()
    client.force_login(satgas)

    response = client.post(VERIFY, {"code": code}, HTTP_ACCEPT_LANGUAGE="en")

    assert "That code is not right" in response.content.decode()


def test_next_never_leaves_the_site(client, production, satgas, clock):
    device = device_for(satgas)
    client.force_login(satgas)

    response = client.post(VERIFY, {"code": code_for(device), "next": "https://evil.example/"})

    assert response["Location"] == "/admin/"


def test_verify_without_a_device_sends_to_enrol(client, production, satgas):
    client.force_login(satgas)

    assert path_of(client.get(VERIFY)) == ENROL


def test_verify_needs_a_login(client, production):
    assert path_of(client.get(VERIFY)) == reverse("admin:login")


# --- enrol --------------------------------------------------------------------------------------------------------


def test_enrol_shows_the_secret_as_qr_code_and_text(client, production, satgas):
    client.force_login(satgas)

    response = client.get(ENROL, HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    device = TOTPDevice.objects.get(user=satgas)
    assert not device.confirmed
    assert "<svg" in html and 'class="segno"' in html
    secret = re.search(r'<p class="secret" id="secret">([A-Z2-7 ]+)</p>', html).group(1).replace(" ", "")
    assert f"secret={secret}" in device.config_url
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    # Reloading the page shows the same secret (one pending device, not a new one each time).
    client.get(ENROL)
    assert TOTPDevice.objects.filter(user=satgas).count() == 1


def test_enrolling_with_a_good_code_confirms_the_device_and_verifies_the_session(client, production, satgas, clock):
    client.force_login(satgas)
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=satgas)

    response = client.post(ENROL, {"code": code_for(device), "next": "/admin/"})

    assert response.status_code == 302 and response["Location"] == "/admin/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/").status_code == 200
    event = AuditEvent.objects.get(action="two_factor.enrolled")
    assert event.actor == satgas


def test_enrolling_with_a_wrong_code_confirms_nothing(client, production, satgas, clock):
    client.force_login(satgas)
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=satgas)

    response = client.post(ENROL, {"code": "12345x"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert path_of(client.get("/admin/")) == ENROL


def test_a_confirmed_device_cannot_be_replaced_through_enrol(client, production, satgas):
    device_for(satgas)
    client.force_login(satgas)

    response = client.get(ENROL)

    assert path_of(response) == VERIFY
    assert TOTPDevice.objects.filter(user=satgas).count() == 1


def test_a_new_login_asks_again(client, production, satgas, clock):
    device = device_for(satgas)
    client.force_login(satgas)
    client.post(VERIFY, {"code": code_for(device)})
    client.logout()

    client.force_login(satgas)

    assert path_of(client.get("/admin/")) == VERIFY
