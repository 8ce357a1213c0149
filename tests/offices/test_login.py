"""Login throttling (django-axes): five wrong passwords lock a username+address pair for 15 minutes, audited once."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from freezegun import freeze_time

from offices.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Sandi-Rahasia-123"  # UserFactory's
T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def officer():
    return UserFactory(username="petugas.pintu", roles=["Petugas"])


def attempt(client, username: str, password: str, *, address: str = "198.51.100.7", **headers):
    return client.post(
        f"{reverse('admin:login')}?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
        **headers,
    )


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail_five_times(client, username: str, **kwargs) -> list:
    return [attempt(client, username, f"salah-{i}", **kwargs) for i in range(5)]


def test_four_wrong_passwords_do_not_lock(client, officer):
    responses = [attempt(client, officer.username, f"salah-{i}") for i in range(4)]

    assert [r.status_code for r in responses] == [200] * 4
    assert attempt(client, officer.username, PASSWORD).status_code == 302
    assert logged_in(client)


def test_five_wrong_passwords_lock_the_pair_even_for_the_right_password(client, officer):
    responses = fail_five_times(client, officer.username)

    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429]
    sixth = attempt(client, officer.username, PASSWORD)
    assert sixth.status_code == 429
    assert not logged_in(client)


def test_lockout_page_says_what_happened_and_when_to_retry(client, officer):
    fail_five_times(client, officer.username)

    response = attempt(client, officer.username, PASSWORD, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    html = response.content.decode()
    assert "Too many failed logins" in html
    assert "Try again in 15 minutes" in html
    assert "petugas.pintu" in html
    assert PASSWORD not in html


def test_another_address_is_not_locked(client, officer):
    fail_five_times(client, officer.username, address="198.51.100.7")

    response = attempt(client, officer.username, PASSWORD, address="198.51.100.8")

    assert response.status_code == 302
    assert logged_in(client)


def test_another_username_from_the_same_address_is_not_locked(client, officer):
    other = UserFactory(username="petugas.lain", roles=["Petugas"])
    fail_five_times(client, officer.username)

    assert attempt(client, other.username, PASSWORD).status_code == 302


def test_the_address_comes_from_the_trusted_proxy_header(client, officer, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # Behind one proxy (on this host) every request has the proxy's socket address; the client is the forwarded one.
    proxy = {"address": "127.0.0.1"}
    fail_five_times(client, officer.username, **proxy, HTTP_X_FORWARDED_FOR="203.0.113.5")

    still_locked = attempt(client, officer.username, PASSWORD, **proxy, HTTP_X_FORWARDED_FOR="203.0.113.5")
    other_client = attempt(client, officer.username, PASSWORD, **proxy, HTTP_X_FORWARDED_FOR="203.0.113.6")

    assert still_locked.status_code == 429
    assert other_client.status_code == 302


def test_forged_forwarded_for_does_not_escape_the_lock_without_a_trusted_proxy(client, officer):
    fail_five_times(client, officer.username, address="198.51.100.7")

    response = attempt(client, officer.username, PASSWORD, address="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.9")

    assert response.status_code == 429


def test_lockout_is_audited_once_with_username_and_address_but_no_password(client, officer):
    fail_five_times(client, officer.username)
    attempt(client, officer.username, PASSWORD)  # refused during the lockout: not a second lockout

    event = AuditEvent.objects.get(action="login.locked_out")
    assert event.actor is None
    assert event.detail == {"username": "petugas.pintu", "ip_address": "198.51.100.7", "failures": 5, "minutes": 15}
    assert "salah" not in str(event.detail) and PASSWORD not in str(event.detail)


def test_lockout_expires_after_fifteen_minutes(client, officer):
    with freeze_time(T0) as frozen:
        fail_five_times(client, officer.username)
        frozen.tick(datetime.timedelta(minutes=14))
        assert attempt(client, officer.username, PASSWORD).status_code == 429

        frozen.tick(datetime.timedelta(minutes=1, seconds=1))
        response = attempt(client, officer.username, PASSWORD)

        assert response.status_code == 302
        assert logged_in(client)


def test_refused_tries_during_the_lockout_do_not_extend_it(client, officer):
    with freeze_time(T0) as frozen:
        fail_five_times(client, officer.username)
        for _ in range(3):
            frozen.tick(datetime.timedelta(minutes=4))
            attempt(client, officer.username, "salah-lagi")
        frozen.tick(datetime.timedelta(minutes=3, seconds=1))  # 15 min after the fifth failure

        assert attempt(client, officer.username, PASSWORD).status_code == 302


def test_a_successful_login_clears_earlier_failures(client, officer):
    for i in range(4):
        attempt(client, officer.username, f"salah-{i}")
    assert attempt(client, officer.username, PASSWORD).status_code == 302
    client.logout()

    responses = [attempt(client, officer.username, f"lagi-{i}") for i in range(4)]

    assert [r.status_code for r in responses] == [200] * 4


def test_code_without_a_request_still_authenticates(officer):
    # Management commands and the shell call authenticate() with no request: nothing to throttle by.
    from django.contrib.auth import authenticate

    assert authenticate(username=officer.username, password=PASSWORD) == officer
