"""Control characters are refused with a field error wherever people type text: the phone page, the API, the door.

PostgreSQL refuses NUL in text, so before this a NUL in a child's name or a door note was a DataError and a 500;
these tests run on SQLite and on PostgreSQL (DATABASE_URL) alike.
"""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.test import APIClient

from denpasar_checkin.text import NoControlCharactersValidator, text_check, text_has_control
from door.services import scan_approve, scan_deny
from tests.factories import EntranceFactory, HealthStatusFactory, UserFactory, nik_make
from visitors.inputs import name_clean, nonce_clean, phone_clean
from visitors.models import Person, ScanEvent, Visit
from visitors.services import visit_checkin

CONTROLS = [
    pytest.param("\x00", id="NUL"),
    pytest.param("\x1b", id="ESC"),
    pytest.param("\x7f", id="DEL"),
    pytest.param("\x85", id="C1-NEL"),
    pytest.param("\u202e", id="bidi-override"),
    pytest.param("\ud800", id="lone-surrogate"),
]
MESSAGE_EN = "Remove the control characters from this field."


@pytest.mark.parametrize(
    ("value", "strict", "with_whitespace"),
    [
        ("I Made Wirawan", False, False),
        ("Ni Luh Putu Ayu Ṡaraswati", False, False),  # letters of any script are text
        ("ज़\u200d", False, False),  # a zero-width joiner belongs to some scripts' spelling
        ("I Made\tWirawan", True, False),
        ("I Made\r\nWirawan", True, False),
        ("I Made\x00Wirawan", True, True),
        ("I Made\x1bWirawan", True, True),
        ("I Made\x0bWirawan", True, True),  # vertical tab: whitespace to str.split, not ordinary whitespace
        ("I Made\x1fWirawan", True, True),  # unit separator: str.split would quietly turn it into a space
        ("I Made\x85Wirawan", True, True),
        ("\u2066I Made\u2069", True, True),
    ],
)
def test_the_rule_refuses_controls_and_allows_ordinary_whitespace_only_where_asked(value, strict, with_whitespace):
    assert text_has_control(value) is strict
    assert text_has_control(value, allow_whitespace=True) is with_whitespace


def test_validator_and_check_raise_the_same_coded_error():
    with pytest.raises(ValidationError) as caught:
        NoControlCharactersValidator()("a\x00b")
    assert caught.value.code == "control_characters"
    NoControlCharactersValidator(allow_whitespace=True)("a\nb")
    with translation.override("en"):
        with pytest.raises(ValidationError) as caught:
            text_check("a\x1bb", field_name="name")
        assert caught.value.message_dict == {"name": [MESSAGE_EN]}
    assert NoControlCharactersValidator() == NoControlCharactersValidator()
    assert NoControlCharactersValidator() != NoControlCharactersValidator(allow_whitespace=True)


@pytest.mark.parametrize("control", CONTROLS)
def test_input_cleaners_refuse_control_characters(control):
    for clean, value, field in (
        (name_clean, f"I Made{control}Wirawan", "name"),
        (phone_clean, f"0812{control}34567890", "phone"),
        (nonce_clean, f"abcdefgh{control}", "nonce"),
    ):
        with pytest.raises(ValidationError) as caught:
            clean(value)
        assert list(caught.value.message_dict) == [field]


def test_a_pasted_line_break_in_a_name_still_collapses_to_a_space():
    assert name_clean("I Made\r\n Wirawan\t") == "I Made Wirawan"


def test_a_nonce_with_a_trailing_line_feed_is_refused():
    with pytest.raises(ValidationError):
        nonce_clean("abcdefgh\n")


def test_the_message_is_in_the_users_language():
    with translation.override("id"), pytest.raises(ValidationError) as caught:
        name_clean("I Made\x00Wirawan")
    with translation.override("id"):
        assert caught.value.message_dict == {"name": [gettext(MESSAGE_EN)]}


# --- through the API, the phone page and the door -------------------------------------------------------------


def _nothing_written() -> bool:
    return not (Person.objects.exists() or Visit.objects.exists() or ScanEvent.objects.exists())


@pytest.mark.django_db
@pytest.mark.parametrize("control", ["\x00", "\x1b"], ids=["NUL", "ESC"])
def test_api_refuses_a_childs_name_with_a_control_character_and_writes_nothing(control):
    entrance = EntranceFactory()
    HealthStatusFactory(nik=nik_make(1), name="Ni Luh Putu Ayu", doses=2)
    child = {"nik": nik_make(30, born=datetime.date(2019, 5, 5)), "name": f"Kadek{control}Putri"}

    response = APIClient().post(
        "/api/v1/checkins/",
        {"entrance": entrance.code, "nik": nik_make(1), "name": "Ni Luh Putu Ayu", "dependants": [child]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400, response.content
    assert response.json() == {"dependants": [f"Child 1: {MESSAGE_EN}"]}
    assert _nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["name", "phone"])
def test_api_refuses_a_nul_in_the_name_or_phone(field):
    entrance = EntranceFactory()
    body = {"entrance": entrance.code, "nik": nik_make(1), "name": "Ni Luh Putu Ayu", "phone": "081234567890"}
    body[field] = body[field][:4] + "\x00" + body[field][4:]

    response = APIClient().post("/api/v1/checkins/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert _nothing_written()


@pytest.mark.django_db
def test_phone_page_refuses_an_escape_in_the_name_with_a_field_error(client):
    entrance = EntranceFactory()
    response = client.post(
        f"/c/{entrance.code}/",
        {"nik": nik_make(1), "name": "Ni Luh\x1b[2J Ayu", "consent": "on"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert MESSAGE_EN in response.content.decode()
    assert _nothing_written()


@pytest.fixture
def door(client):
    entrance = EntranceFactory(office__capacity=10)
    officer = UserFactory(roles=["Petugas"], offices=[entrance.office])
    client.force_login(officer)
    return entrance, officer


@pytest.mark.django_db
@pytest.mark.parametrize("control", ["\x00", "\x1b"], ids=["NUL", "ESC"])
def test_manual_checkin_refuses_a_control_character_in_the_name(client, door, control):
    entrance, _officer = door
    response = client.post(
        f"/door/{entrance.pk}/checkin",
        {"nik": nik_make(4), "name": f"Ketut{control}Kuning"},
        HTTP_ACCEPT="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {"name": [MESSAGE_EN]}
    assert _nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize("decision", ["approve", "deny"])
def test_door_decision_refuses_a_control_character_in_its_reason_and_leaves_the_case_pending(door, decision):
    entrance, officer = door
    HealthStatusFactory(nik=nik_make(5), name="Made Kuning", doses=1)
    scan_id = visit_checkin(entrance_code=entrance.code, nik=nik_make(5), name="Made Kuning").scan_event_id
    api = APIClient()
    api.force_authenticate(officer)

    # The API's serializer already refuses NUL itself; an escape reaches the door service's note_clean.
    response = api.post(
        f"/api/v1/scans/{scan_id}/decision/",
        {"decision": decision, "reason": "KTP\x1b[2J checked"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400, response.content
    assert MESSAGE_EN in str(response.json())
    assert ScanEvent.objects.get(pk=scan_id).outcome == "pending"
    assert ScanEvent.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("decision", [scan_approve, scan_deny], ids=["approve", "deny"])
def test_door_services_refuse_a_nul_in_a_note(door, decision):
    entrance, officer = door
    HealthStatusFactory(nik=nik_make(5), name="Made Kuning", doses=1)
    scan_id = visit_checkin(entrance_code=entrance.code, nik=nik_make(5), name="Made Kuning").scan_event_id
    note = {"note": "KTP\x00"} if decision is scan_approve else {"reason_note": "KTP\x00"}

    with pytest.raises(ValidationError) as caught:
        decision(scan_event_id=scan_id, officer=officer, **note)

    assert list(caught.value.message_dict) == ["note" if decision is scan_approve else "reason_note"]
    assert ScanEvent.objects.get(pk=scan_id).outcome == "pending"
