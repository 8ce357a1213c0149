"""The result page after a form's post: its own short-lived URL, reloads that write nothing, the officer's answer."""

from __future__ import annotations

import datetime
import re
import secrets

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from denpasar_checkin.nik import nik_hash
from door.services import scan_approve, scan_deny
from screening.models import HealthStatus
from screening.services import health_status_cache_invalidate
from tests.factories import EntranceFactory, HealthStatusFactory, UserFactory, nik_make
from visitors.messages import public_message
from visitors.models import ScanEvent, Visit
from visitors.pending import pending_expire
from visitors.results import RESULT_MAX_AGE, result_token_make
from visitors.services import visit_checkin

pytestmark = pytest.mark.django_db

OUTCOME = re.compile(r'data-outcome="([^"]*)" data-reason="([^"]*)"')
RESULT_PATH = re.compile(r"^/c/r/[^/]+/$")


def form_data(n: int, name: str = "Ni Luh Putu Ayu", **extra) -> dict:
    data = {"nik": nik_make(n), "name": name, "consent": "on", "nonce": secrets.token_urlsafe(16)}
    data.update(extra)
    return data


def outcome_of(response) -> tuple[str, str]:
    match = OUTCOME.search(response.content.decode())
    assert match, "no outcome element on the page"
    return match.groups()


@pytest.fixture
def entrance():
    return EntranceFactory(office__name="Dinas Kesehatan Kota Denpasar", name="Pintu Utama", office__capacity=10)


def checkin(client: Client, entrance, n: int, *, doses: int = 2, name: str = "Ni Luh Putu Ayu", **extra):
    HealthStatusFactory(nik=nik_make(n), name=name, doses=doses, **extra)
    return client.post(f"/c/{entrance.code}/", form_data(n, name=name), HTTP_ACCEPT_LANGUAGE="en")


def test_a_form_check_in_answers_303_to_a_result_url_without_the_nik(client, entrance):
    response = checkin(client, entrance, 1)
    assert response.status_code == 303
    location = response["Location"]
    assert RESULT_PATH.match(location), location
    assert nik_make(1) not in location and entrance.code not in location
    assert outcome_of(client.get(location, HTTP_ACCEPT_LANGUAGE="en")) == ("admitted", "ok")


def test_reloading_the_result_shows_it_again_and_writes_nothing(client, entrance):
    location = checkin(client, entrance, 2)["Location"]
    scans, visits = ScanEvent.objects.count(), Visit.objects.count()
    pages = [client.get(location, HTTP_ACCEPT_LANGUAGE="en") for _ in range(3)]
    assert {outcome_of(page) for page in pages} == {("admitted", "ok")}
    assert all("no-store" in page["Cache-Control"] for page in pages)
    assert (ScanEvent.objects.count(), Visit.objects.count()) == (scans, visits)


def test_two_check_ins_get_different_unguessable_result_urls(client, entrance):
    first = checkin(client, entrance, 3)["Location"]
    second = checkin(Client(), entrance, 4)["Location"]
    assert first != second
    # The token is signed: changing the scan it names gives the "not valid" page, not someone else's result.
    token = first.split("/")[3]
    value, _, rest = token.partition(":")
    forged = f"/c/r/s{int(value[1:]) + 1}:{rest}/"
    response = client.get(forged, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert 'data-outcome="' not in response.content.decode()


def test_an_old_result_url_has_expired(client, entrance, monkeypatch):
    location = checkin(client, entrance, 5)["Location"]
    token = location.split("/")[3]
    real_time = signing.time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() + RESULT_MAX_AGE.total_seconds() + 5)
    response = client.get(f"/c/r/{token}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410
    assert "scan the poster at the door again" in response.content.decode()


@pytest.mark.parametrize("token", ["nonsense", "s1", "x" * 200, "s1:abc:def"])
def test_a_made_up_result_url_is_a_friendly_404(client, token):
    response = client.get(f"/c/r/{token}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "Please ask the officer at the door" in response.content.decode()


def test_a_form_check_out_answers_303_to_its_result(client, entrance):
    checkin(client, entrance, 6, name="Made Pulang")
    response = client.post(
        f"/c/{entrance.code}/checkout/", {"nik": nik_make(6), "name": "Made Pulang"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 303
    assert outcome_of(client.get(response["Location"])) == ("admitted", "checked_out")
    assert not Visit.objects.filter(checked_out_at__isnull=True).exists()


def test_a_double_tap_that_wrote_no_scan_still_has_a_result(client, entrance):
    visit_scans = ScanEvent.objects.count()
    checkin(client, entrance, 7)
    again = client.post(f"/c/{entrance.code}/", form_data(7), HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 303
    assert outcome_of(client.get(again["Location"])) == ("admitted", "ok")
    assert ScanEvent.objects.count() == visit_scans + 1


def test_a_visit_token_shows_that_visit_admitted(client, entrance):
    checkin(client, entrance, 8)
    visit = Visit.objects.get()
    response = client.get(reverse("visitors:result", kwargs={"token": result_token_make(visit_id=visit.pk)}))
    assert outcome_of(response) == ("admitted", "ok")


# --- the officer's answer reaches the page -----------------------------------------------------------------------


def pending_page(client: Client, entrance, n: int) -> tuple[str, ScanEvent]:
    location = checkin(client, entrance, n, doses=1, name="Komang Ayu")["Location"]
    return location, ScanEvent.objects.get(outcome="pending")


def test_a_waiting_referral_page_says_it_follows_the_officer(client, entrance):
    location, _scan = pending_page(client, entrance, 10)
    page = client.get(location, HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert outcome_of(page) == ("see_officer", "see_officer")
    assert f'data-status-url="{location}status"' in html and "result-follow.js" in html
    assert client.get(f"{location}status").json() == {
        "outcome": "see_officer",
        "reason": "see_officer",
        "waiting": True,
    }


def test_an_approval_turns_the_page_admitted_with_check_out(client, entrance):
    location, scan = pending_page(client, entrance, 11)
    scan_approve(scan_event_id=scan.pk, officer=UserFactory(roles=["Petugas"], offices=[entrance.office]))
    page = client.get(location, HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert outcome_of(page) == ("admitted", "ok")
    assert 'id="clock"' in html and 'data-action="checkout"' in html and "data-status-url" not in html
    assert client.get(f"{location}status").json() == {"outcome": "admitted", "reason": "ok", "waiting": False}


@pytest.mark.parametrize("doses", [1, 0])
def test_a_denial_is_one_plain_screen_whatever_the_reason(client, entrance, doses):
    location, scan = pending_page(client, entrance, 12) if doses else (None, None)
    if doses == 0:
        # Unknown to the status source: a referral for identity, not for health.
        response = client.post(f"/c/{entrance.code}/", form_data(13, name="Nobody Known"), HTTP_ACCEPT_LANGUAGE="en")
        location, scan = response["Location"], ScanEvent.objects.get(outcome="pending")
    scan_deny(
        scan_event_id=scan.pk,
        officer=UserFactory(roles=["Petugas"], offices=[entrance.office]),
        reason_note="Tidak sesuai",
    )
    page = client.get(location, HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert outcome_of(page) == ("denied", "not_admitted")
    assert public_message("denied", "not_admitted") in html
    assert "Tidak sesuai" not in html  # the officer's note is for the record, not for the phone
    assert 'data-action="checkout"' not in html and "data-status-url" not in html


def referral_words(page) -> str:
    html = page.content.decode()
    return " ".join(re.findall(r'<(?:h1 class="big"|p class="ready")[^>]*>(.*?)</', html, re.DOTALL))


def test_every_referral_reads_the_same(client, entrance):
    yellow = checkin(client, entrance, 20, doses=1, name="Komang Ayu")["Location"]
    stranger = Client().post(f"/c/{entrance.code}/", form_data(21, name="Nobody Known"), HTTP_ACCEPT_LANGUAGE="en")
    words = {referral_words(client.get(url, HTTP_ACCEPT_LANGUAGE="en")) for url in (yellow, stranger["Location"])}
    assert len(words) == 1
    (text,) = words
    assert "wear a mask" in text and "will call you" in text and "KTP" in text and "vaccination certificate" in text


# --- an unanswered referral expires ------------------------------------------------------------------------------

EXPIRED_STATUS = {"outcome": "denied", "reason": "pending_expired", "waiting": False}


def aged(scan_id: int, minutes: float) -> None:
    ScanEvent.objects.filter(pk=scan_id).update(created_at=timezone.now() - datetime.timedelta(minutes=minutes))


def test_an_unanswered_referral_page_expires_after_the_limit(client, entrance, settings):
    settings.PENDING_EXPIRE_MINUTES = 15
    location, scan = pending_page(client, entrance, 30)
    aged(scan.pk, 14)
    assert client.get(f"{location}status").json()["waiting"] is True
    aged(scan.pk, 16)

    # The open page polls this and reloads when the outcome changes.
    assert client.get(f"{location}status").json() == EXPIRED_STATUS
    page = client.get(location, HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert outcome_of(page) == ("denied", "pending_expired")
    assert "This check-in has expired. Please scan the poster at the door again." in html
    assert "data-status-url" not in html and 'data-action="checkout"' not in html and "KTP" not in html
    assert ScanEvent.objects.get(pk=scan.pk).resolution == ""  # true when read, before any sweep


def test_a_case_the_sweep_closed_shows_expired(client, entrance):
    location, scan = pending_page(client, entrance, 31)
    aged(scan.pk, 20)
    assert pending_expire(now=timezone.now()).expired == 1
    assert client.get(f"{location}status").json() == EXPIRED_STATUS


def test_a_case_settled_by_an_admission_elsewhere_shows_expired_at_once(client, entrance):
    location, scan = pending_page(client, entrance, 32)
    digest = nik_hash(nik_make(32))
    HealthStatus.objects.filter(nik_hash=digest).update(doses=2)
    health_status_cache_invalidate(nik_hashes=[digest])
    other = EntranceFactory(office__name="Dinas Lain")
    assert visit_checkin(entrance_code=other.code, nik=nik_make(32), name="Komang Ayu").outcome == "admitted"

    assert client.get(f"{location}status").json() == EXPIRED_STATUS


def test_every_unanswered_referral_expires_alike(entrance):
    """Red and black referrals are not cases an officer answers, yet their pages expire by the same rule: a page
    that kept waiting only for them would tell, after the limit, which colour it was."""
    black = {"case_status": "positive", "isolated_until": datetime.date(2099, 1, 1)}
    pages = {}
    for n, (colour, doses, extra) in enumerate([("yellow", 1, {}), ("red", 0, {}), ("black", 2, black)], start=33):
        client = Client()
        location = checkin(client, entrance, n, doses=doses, name="Komang Ayu", **extra)["Location"]
        pages[colour] = (client, location)
    for scan_id in ScanEvent.objects.values_list("pk", flat=True):
        aged(scan_id, 16)

    shown = {
        (outcome_of(page), referral_words(page))
        for page in (client.get(location, HTTP_ACCEPT_LANGUAGE="en") for client, location in pages.values())
    }
    statuses = [client.get(f"{location}status").json() for client, location in pages.values()]

    assert len(shown) == 1 and next(iter(shown))[0] == ("denied", "pending_expired")
    assert statuses == [EXPIRED_STATUS] * 3
