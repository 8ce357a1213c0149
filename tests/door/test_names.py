"""Names an officer can check: the door's screens show the full name and the NIK's last four digits, stored when a
person is created (and filled once for older people), while the anonymous side never gets either."""

from __future__ import annotations

import datetime
import importlib
import json
import secrets

import pytest
from django.apps import apps
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from door.selectors import door_alerts_open, door_events_after, door_pending, door_people_inside
from door.services import office_day_close
from tests.factories import HealthStatusFactory, PersonFactory, nik_make
from visitors.models import Person
from visitors.services import status_alert_raise, visit_checkin

pytestmark = pytest.mark.django_db

# Serial 7391: four digits that appear nowhere else on a page by chance (ids, times and counts are small).
DIGITS = "7391"
N = 7390
NAME = "I Made Wirawan"


def green(n: int = N, name: str = NAME, **status) -> str:
    HealthStatusFactory(nik=nik_make(n), name=name, **{"doses": 2, **status})
    return nik_make(n)


# --- stored ------------------------------------------------------------------------------------------------------


def test_a_person_created_at_check_in_keeps_the_last_four_digits(entrance):
    visit_checkin(entrance_code=entrance.code, nik=green(), name=NAME)
    assert Person.objects.get().nik_last4 == DIGITS


def test_children_created_at_check_in_keep_theirs_too(entrance):
    child_nik = nik_make(42, born=timezone.localdate() - datetime.timedelta(days=365 * 5))
    visit_checkin(
        entrance_code=entrance.code,
        nik=green(),
        name=NAME,
        dependants=[{"nik": child_nik, "name": "Putu Kecil"}],
    )
    assert Person.objects.get(name="Putu Kecil").nik_last4 == child_nik[-4:]


def _fill():
    return importlib.import_module("visitors.migrations.0010_person_nik_last4").nik_last4_fill


def test_the_migration_fills_older_people_from_the_encrypted_copy():
    older = PersonFactory(nik=nik_make(N))  # the factory, like rows from before the column, leaves it empty
    assert older.nik_last4 == ""

    _fill()(apps, None)

    older.refresh_from_db()
    assert older.nik_last4 == DIGITS


def test_the_migration_falls_back_to_the_masked_copy_under_a_retired_key():
    older = PersonFactory(nik=nik_make(N), nik_encrypted="not-a-token-of-any-current-key")

    _fill()(apps, None)

    older.refresh_from_db()
    assert older.nik_last4 == DIGITS


# --- what the officer's screens read -----------------------------------------------------------------------------


def test_event_cards_carry_the_full_name_and_last_four_digits(entrance):
    scan = visit_checkin(entrance_code=entrance.code, nik=green(), name=NAME)

    card = door_events_after(entrance_id=entrance.pk, after=0)[0]

    assert (card["id"], card["name"], card["nik_last4"]) == (scan.scan_event_id, NAME, DIGITS)
    assert nik_make(N) not in json.dumps(card)


def test_pending_cases_carry_the_full_name_and_last_four_digits(entrance):
    visit_checkin(entrance_code=entrance.code, nik=green(doses=1), name=NAME)

    [case] = door_pending(entrance_id=entrance.pk)

    assert (case["name"], case["nik_last4"]) == (NAME, DIGITS)


def test_the_check_out_search_shows_full_names_and_last_four_digits(entrance):
    visit_checkin(entrance_code=entrance.code, nik=green(), name=NAME)

    [person] = door_people_inside(office_id=entrance.office_id, query="wira")

    assert (person["name"], person["nik_last4"]) == (NAME, DIGITS)
    assert "nik" not in person


def test_after_closing_the_day_the_check_out_search_offers_nobody(entrance, officer):
    visit_checkin(entrance_code=entrance.code, nik=green(), name=NAME)
    assert door_people_inside(office_id=entrance.office_id)

    office_day_close(office_id=entrance.office_id, officer=officer, entrance_id=entrance.pk)

    assert door_people_inside(office_id=entrance.office_id) == []


def test_an_alert_says_whether_the_person_is_still_inside(entrance):
    inside = visit_checkin(entrance_code=entrance.code, nik=green(), name=NAME)
    # Their status turned black while inside (the registry's push raises these).
    [alert_id] = status_alert_raise(nik_hashes=[Person.objects.get().nik_hash])
    green(N + 1, name="Wayan Hitam", case_status="positive", isolated_until="2099-01-01")
    at_door = visit_checkin(entrance_code=entrance.code, nik=nik_make(N + 1), name="Wayan Hitam")

    alerts = {a["id"]: a for a in door_alerts_open(entrance_id=entrance.pk)}

    assert inside.admitted
    assert (alerts[alert_id]["inside"], alerts[alert_id]["name"]) == (True, NAME)
    assert alerts[at_door.scan_event_id]["inside"] is False
    assert (
        alerts[alert_id]["inside_label"]
        and alerts[alert_id]["inside_label"] != alerts[at_door.scan_event_id]["inside_label"]
    )


def test_the_screen_shows_full_names_and_last_four_digits(client_in, entrance):
    visit_checkin(entrance_code=entrance.code, nik=green(), name=NAME)

    page = client_in.get(f"/door/{entrance.pk}/").content.decode()

    assert NAME in page and f"NIK …{DIGITS}" in page
    assert nik_make(N) not in page


def test_a_manual_check_in_answer_names_the_person_with_the_last_four_digits(client_in, entrance):
    nik = green()

    body = client_in.post(
        f"/door/{entrance.pk}/checkin", {"nik": nik, "name": NAME}, HTTP_ACCEPT="application/json"
    ).json()

    assert (body["outcome"], body["name"], body["nik_last4"]) == ("admitted", NAME, DIGITS)
    assert NAME in body["message"] and DIGITS in body["message"]
    assert nik not in json.dumps(body)


# --- what the anonymous side gets --------------------------------------------------------------------------------


def test_anonymous_check_in_answers_carry_no_name_and_no_nik_digits(entrance):
    nik = green()

    answer = APIClient().post("/api/v1/checkins/", {"entrance": entrance.code, "nik": nik, "name": NAME}, format="json")

    text = answer.content.decode()
    assert answer.status_code == 200 and answer.json()["outcome"] == "admitted"
    assert "nik_last4" not in text and DIGITS not in text and "Wirawan" not in text


def test_the_phone_page_shows_no_nik_digits(entrance):
    nik = green()
    phone = Client()
    form = {"nik": nik, "name": NAME, "consent": "on", "nonce": secrets.token_urlsafe(16)}
    response = phone.post(f"/c/{entrance.code}/", form, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 303

    html = phone.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'data-outcome="admitted"' in html
    assert DIGITS not in html and "Wirawan" not in html


def test_the_door_feed_api_is_closed_to_anonymous_callers(entrance):
    visit_checkin(entrance_code=entrance.code, nik=green(), name=NAME)

    answer = APIClient().get(f"/api/v1/entrances/{entrance.pk}/events/")

    assert answer.status_code in (401, 403)
    assert DIGITS not in answer.content.decode() and NAME not in answer.content.decode()
