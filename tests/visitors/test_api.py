"""REST API: check-in, check-out and occupancy; what anonymous callers may learn; bad input; rate limits; docs."""

from __future__ import annotations

import datetime
import json

import pytest
from freezegun import freeze_time
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from offices.services import entrance_code_rotate
from screening.models import RestrictionLevel
from tests.factories import (
    EntranceFactory,
    HealthStatusFactory,
    OfficeFactory,
    StaffFactory,
    UserFactory,
    nik_make,
)
from visitors.models import Device, Person, ScanEvent, Visit
from visitors.services import visit_checkin

pytestmark = pytest.mark.django_db

CHECKINS = "/api/v1/checkins/"
CHECKOUTS = "/api/v1/checkouts/"
NAME = "Ni Luh Putu Ayu"
NIK = nik_make(1)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def checkin(api: APIClient, code: str, *, address: str = "127.0.0.1", **body):
    return api.post(CHECKINS, {"entrance": code, **body}, format="json", REMOTE_ADDR=address)


def checkout(api: APIClient, code: str, **body):
    return api.post(CHECKOUTS, {"entrance": code, **body}, format="json")


def green(n: int, name: str = NAME):
    return HealthStatusFactory(nik=nik_make(n), name=name, doses=2)


def rows() -> tuple[int, int, int]:
    return Person.objects.count(), Visit.objects.count(), ScanEvent.objects.count()


def occupancy_url(office_id: int) -> str:
    return f"/api/v1/offices/{office_id}/occupancy/"


# --- check-in and check-out -------------------------------------------------------------------------------------


def test_green_visitor_checks_in_then_out(api):
    entrance = EntranceFactory()
    office = entrance.office
    green(1)

    response = checkin(api, entrance.code, nik=NIK, name=NAME)

    assert response.status_code == 200
    body = response.json()
    visit = Visit.objects.get()
    assert (body["outcome"], body["reason"], body["visit"]) == ("admitted", "ok", visit.pk)
    assert body["message"]
    assert body["office"] == {"id": office.pk, "name": office.name, "occupancy": 1, "capacity": 100}
    assert "colour" not in body

    response = checkout(api, entrance.code, nik=NIK, name=NAME)

    assert response.status_code == 200
    body = response.json()
    assert (body["outcome"], body["reason"], body["visit"]) == ("admitted", "checked_out", visit.pk)
    assert body["message"]
    assert body["office"]["occupancy"] == 0
    visit.refresh_from_db()
    assert visit.closed_by == "person"


def test_checkin_with_children_counts_everyone(api):
    entrance = EntranceFactory()
    green(1)
    child = {"nik": nik_make(30, born=datetime.date(2019, 5, 5)), "name": "Kadek Putri"}

    response = checkin(api, entrance.code, nik=NIK, name=NAME, phone="081234567890", dependants=[child])

    assert response.status_code == 200
    assert response.json()["office"]["occupancy"] == 2
    assert Visit.objects.filter(guardian_visit__isnull=False).count() == 1


def test_remembered_device_checks_in_and_out(api):
    entrance = EntranceFactory()
    green(1)
    token = visit_checkin(entrance_code=entrance.code, nik=NIK, name=NAME, remember_device=True).device_token
    assert Device.objects.count() == 1

    assert checkout(api, entrance.code, device_token=token).json()["reason"] == "checked_out"
    response = checkin(api, entrance.code, device_token=token)

    assert response.status_code == 200
    assert response.json()["outcome"] == "admitted"


def test_unknown_device_token_is_a_clear_400(api):
    entrance = EntranceFactory()

    response = checkin(api, entrance.code, device_token="not-a-remembered-phone")

    assert response.status_code == 400
    assert response.json()["code"] == "device_unknown"
    assert response.json()["detail"]


def test_checkout_when_not_inside_is_409(api):
    entrance = EntranceFactory()

    response = checkout(api, entrance.code, nik=NIK, name=NAME)

    assert response.status_code == 409
    assert response.json()["code"] == "not_inside"
    assert response.json()["detail"]


def test_checkout_at_unknown_entrance_is_404(api):
    response = checkout(api, "no-such-code", nik=NIK, name=NAME)

    assert response.status_code == 404
    assert response.json()["code"] == "entrance_unknown"


def test_checkout_with_bad_nik_names_the_field(api):
    entrance = EntranceFactory()

    response = checkout(api, entrance.code, nik="123", name=NAME)

    assert response.status_code == 400
    assert response.json()["nik"]


def test_checkout_needs_nik_or_device(api):
    entrance = EntranceFactory()

    response = checkout(api, entrance.code)

    assert response.status_code == 400
    assert response.json()["nik"]


# --- privacy: what an anonymous caller may learn ----------------------------------------------------------------

# case -> (registry row or None, true outcome, true reason, colour)
HEALTH_CASES = {
    "yellow": ({"doses": 1}, "pending", "partially_vaccinated", "yellow"),
    "red": ({"doses": 0}, "denied", "not_vaccinated", "red"),
    "black": (
        {"doses": 2, "case_status": "positive", "isolated_until": datetime.date(2099, 1, 1)},
        "denied",
        "isolation",
        "black",
    ),
    "unknown": (None, "pending", "status_unknown", "unknown"),
    "wrong_name": ({"doses": 2, "name": "I Made Wirawan"}, "pending", "status_unknown", "unknown"),
}


def health_person(case: str) -> str:
    """Put one person of the given case in the registry (or not); returns their NIK. They always give NAME."""
    n = 10 + list(HEALTH_CASES).index(case)
    fields = HEALTH_CASES[case][0]
    if fields is not None:
        HealthStatusFactory(nik=nik_make(n), **{"name": NAME, **fields})
    return nik_make(n)


def test_anonymous_health_answers_are_byte_identical(api):
    entrance = EntranceFactory()
    answers = {case: checkin(api, entrance.code, nik=health_person(case), name=NAME) for case in HEALTH_CASES}

    contents = {case: (response.status_code, response.content) for case, response in answers.items()}
    assert len(set(contents.values())) == 1, contents
    body = answers["yellow"].json()
    assert (body["outcome"], body["reason"], body["visit"]) == ("see_officer", "see_officer", None)
    assert set(body) == {"outcome", "reason", "message", "visit", "office"}
    # The truth is still logged for the door screen, without an officer.
    assert sorted(ScanEvent.objects.values_list("reason", flat=True)) == sorted(
        reason for _row, _outcome, reason, _colour in HEALTH_CASES.values()
    )
    assert not ScanEvent.objects.filter(officer__isnull=False).exists()


@pytest.mark.parametrize("case", list(HEALTH_CASES))
def test_officer_of_the_office_gets_the_true_answer(api, case):
    entrance = EntranceFactory()
    officer = UserFactory(roles=["Petugas"], offices=[entrance.office])
    nik = health_person(case)
    public = checkin(api, entrance.code, nik=nik, name=NAME).json()
    api.force_authenticate(officer)

    response = checkin(api, entrance.code, nik=nik, name=NAME)

    assert response.status_code == 200
    body = response.json()
    _row, outcome, reason, colour = HEALTH_CASES[case]
    assert (body["outcome"], body["reason"], body["colour"], body["visit"]) == (outcome, reason, colour, None)
    assert body["message"] and body["message"] != public["message"]
    assert ScanEvent.objects.latest("id").officer == officer


@pytest.mark.parametrize(
    ("roles", "superuser", "sees_truth"),
    [
        (["Admin Kantor"], False, True),
        (["Admin Kota"], False, True),
        ([], True, True),
        (["Satgas"], False, False),  # city-wide, but not at the door
        ([], False, False),
    ],
    ids=["office-admin", "city-admin", "superuser", "satgas", "no-role"],
)
def test_who_sees_the_true_answer(api, roles, superuser, sees_truth):
    entrance = EntranceFactory()
    user = UserFactory(roles=roles, offices=[entrance.office], is_superuser=superuser)
    api.force_authenticate(user)

    body = checkin(api, entrance.code, nik=health_person("red"), name=NAME).json()

    assert (body["outcome"], body["reason"]) == (("denied", "not_vaccinated") if sees_truth else ("see_officer",) * 2)
    assert ("colour" in body) is sees_truth


def test_officer_of_another_office_gets_the_anonymous_answer(api):
    entrance = EntranceFactory()
    stranger = UserFactory(roles=["Petugas"], offices=[OfficeFactory()])
    nik = health_person("black")
    anonymous = checkin(api, entrance.code, nik=nik, name=NAME)
    api.force_authenticate(stranger)

    response = checkin(api, entrance.code, nik=nik, name=NAME)

    assert (response.status_code, response.content) == (anonymous.status_code, anonymous.content)
    assert not ScanEvent.objects.filter(officer__isnull=False).exists()


def test_officer_token_gets_the_true_answer(api):
    entrance = EntranceFactory()
    officer = UserFactory(roles=["Petugas"], offices=[entrance.office])
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=officer).key}")

    body = checkin(api, entrance.code, nik=health_person("yellow"), name=NAME).json()

    assert (body["outcome"], body["reason"], body["colour"]) == ("pending", "partially_vaccinated", "yellow")


def test_phones_post_without_csrf_but_logged_in_sessions_need_it():
    entrance = EntranceFactory()
    green(1)
    phone = APIClient(enforce_csrf_checks=True)
    assert checkin(phone, entrance.code, nik=NIK, name=NAME).status_code == 200

    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(UserFactory(roles=["Petugas"], offices=[entrance.office]))
    response = checkin(browser, entrance.code, nik=nik_make(2), name=NAME)

    assert response.status_code == 403
    assert response.json()["detail"]


# --- bad input ------------------------------------------------------------------------------------------------


def body(entrance, **fields) -> str:
    return json.dumps({"entrance": entrance.code, "nik": NIK, "name": NAME, **fields})


def rotated(entrance) -> str:
    old = entrance.code
    entrance_code_rotate(entrance=entrance, actor=None)
    return json.dumps({"entrance": old, "nik": NIK, "name": NAME})


def closed(entrance) -> str:
    entrance.active = False
    entrance.save()
    return body(entrance)


JSON = "application/json"

# (make the raw body from the entrance, content type, status, key that must hold a message, error code if any)
BAD_INPUT = [
    pytest.param(lambda e: body(e, nik="517101010190000"), JSON, 400, "nik", None, id="nik-15-digits"),
    pytest.param(lambda e: body(e, nik="51710101019000011"), JSON, 400, "nik", None, id="nik-17-digits"),
    pytest.param(lambda e: body(e, nik="51710101019000AB"), JSON, 400, "nik", None, id="nik-letters"),
    pytest.param(lambda e: body(e, nik="0071010101900001"), JSON, 400, "nik", None, id="nik-province-00"),
    pytest.param(lambda e: body(e, nik="5171013201900001"), JSON, 400, "nik", None, id="nik-day-32"),
    pytest.param(lambda e: body(e, nik="5171010113900001"), JSON, 400, "nik", None, id="nik-month-13"),
    pytest.param(lambda e: body(e, nik="5171010101900000"), JSON, 400, "nik", None, id="nik-serial-0000"),
    pytest.param(lambda e: body(e, nik=""), JSON, 400, "nik", None, id="nik-empty"),
    pytest.param(lambda e: body(e, nik=5171010101900001), JSON, 400, "nik", None, id="nik-number"),
    pytest.param(lambda e: body(e, nik=None), JSON, 400, "nik", None, id="nik-null"),
    pytest.param(lambda e: body(e, name=""), JSON, 400, "name", None, id="name-empty"),
    pytest.param(lambda e: body(e, name="   "), JSON, 400, "name", None, id="name-blank"),
    pytest.param(lambda e: body(e, name="A" * 10_000), JSON, 400, "name", None, id="name-10kB"),
    pytest.param(lambda e: body(e, name=["I", "Made"]), JSON, 400, "name", None, id="name-list"),
    pytest.param(lambda e: json.dumps({"entrance": e.code, "nik": NIK}), JSON, 400, "name", None, id="name-missing"),
    pytest.param(lambda e: body(e, phone="12"), JSON, 400, "phone", None, id="phone-short"),
    pytest.param(lambda e: body(e, phone=81234567890), JSON, 400, "phone", None, id="phone-number"),
    pytest.param(lambda e: body(e, nonce="!"), JSON, 400, "nonce", None, id="nonce-bad"),
    pytest.param(lambda e: body(e, dependants="Kadek"), JSON, 400, "dependants", None, id="dependants-not-list"),
    pytest.param(lambda e: body(e, dependants=[1]), JSON, 400, "dependants", None, id="dependant-not-object"),
    pytest.param(
        lambda e: body(e, dependants=[{"nik": 1, "name": "Kadek"}]), JSON, 400, "dependants", None, id="dependant-nik"
    ),
    pytest.param(
        lambda e: body(e, dependants=[{"nik": nik_make(40 + i, born=datetime.date(2019, 1, 1)), "name": "Kadek"}
                                      for i in range(6)]),
        JSON, 400, "dependants", None, id="dependants-six",
    ),
    pytest.param(
        lambda e: body(e, dependants=[{"nik": nik_make(2), "name": "Adult"}]),
        JSON, 400, "dependants", None, id="dependant-adult",
    ),
    pytest.param(lambda e: "nik=1&name=x", JSON, 400, "detail", "parse_error", id="not-json"),
    pytest.param(lambda e: body(e)[:-3], JSON, 400, "detail", "parse_error", id="truncated-json"),
    pytest.param(lambda e: b'{"entrance": "\xff"}', JSON, 400, "detail", "parse_error", id="not-utf8"),
    pytest.param(lambda e: "[" * 5000 + "]" * 5000, JSON, 400, "detail", "parse_error", id="nested-deep"),
    pytest.param(lambda e: json.dumps([body(e)]), JSON, 400, "non_field_errors", None, id="json-array"),
    pytest.param(lambda e: "null", JSON, 400, "non_field_errors", None, id="json-null"),
    pytest.param(lambda e: "", JSON, 400, "entrance", None, id="empty-body"),
    pytest.param(lambda e: body(e), "text/plain", 400, "detail", "unsupported_media_type", id="text-plain"),
    pytest.param(
        lambda e: f"entrance={e.code}&nik={NIK}&name=x",
        "application/x-www-form-urlencoded",
        400,
        "detail",
        "unsupported_media_type",
        id="form-encoded",
    ),
    pytest.param(lambda e: body(e, name="A" * 70_000), JSON, 413, "detail", "too_large", id="body-too-large"),
    pytest.param(lambda e: json.dumps({"nik": NIK, "name": NAME}), JSON, 400, "entrance", None, id="no-entrance"),
    pytest.param(lambda e: json.dumps({"entrance": 7, "nik": NIK, "name": NAME}), JSON, 400, "entrance", None,
                 id="entrance-number"),
    pytest.param(lambda e: json.dumps({"entrance": "tidak-ada", "nik": NIK, "name": NAME}), JSON, 404, "detail",
                 "entrance_unknown", id="entrance-unknown"),
    pytest.param(lambda e: json.dumps({"entrance": "x" * 500, "nik": NIK, "name": NAME}), JSON, 404, "detail",
                 "entrance_unknown", id="entrance-long"),
    pytest.param(closed, JSON, 404, "detail", "entrance_closed", id="entrance-inactive"),
    pytest.param(rotated, JSON, 404, "detail", "entrance_unknown", id="entrance-rotated"),
]  # fmt: skip


@pytest.mark.parametrize(("make", "content_type", "status", "key", "code"), BAD_INPUT)
def test_bad_input_is_a_json_error_and_writes_nothing(api, make, content_type, status, key, code):
    entrance = EntranceFactory()
    green(1)

    response = api.generic("POST", CHECKINS, make(entrance), content_type=content_type)

    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    answer = response.json()
    messages = answer[key] if isinstance(answer[key], list) else [answer[key]]
    assert messages and all(isinstance(m, str) and m.strip() for m in messages), answer
    if code is not None:
        assert answer["code"] == code
    assert rows() == (0, 0, 0)


def test_field_errors_from_the_service_come_together(api):
    entrance = EntranceFactory()

    response = checkin(api, entrance.code, nik="123", name="", phone="x")

    assert response.status_code == 400
    assert set(response.json()) == {"nik", "name", "phone"}


def test_unknown_api_paths_and_methods_answer_json(api):
    missing = api.get("/api/v1/nothing-here/")
    no_slash = api.post("/api/v1/checkins", {}, format="json")
    wrong_method = api.get(CHECKINS)

    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert no_slash.status_code == 404
    assert "/api/v1/checkins/" in no_slash.json()["detail"]
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "method_not_allowed")


def test_unexpected_error_is_a_json_500_in_production(api, settings, monkeypatch):
    settings.DEBUG = False
    entrance = EntranceFactory()

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("visitors.api.visit_checkin", broken)

    response = checkin(api, entrance.code, nik=NIK, name=NAME)

    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert "boom" not in response.content.decode()


# --- nonce ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["green", "unknown"])
def test_nonce_repeat_returns_the_same_answer_and_one_event(api, case):
    entrance = EntranceFactory()
    if case == "green":
        green(1)

    first = checkin(api, entrance.code, nik=NIK, name=NAME, nonce="tap-0001-abcdef")
    second = checkin(api, entrance.code, nik=NIK, name=NAME, nonce="tap-0001-abcdef")

    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert ScanEvent.objects.count() == 1


# --- rate limits ----------------------------------------------------------------------------------------------

# Fixed windows: freeze the clock mid-minute so a test never straddles a window boundary.
MID_MINUTE = "2026-03-02 01:00:30+00:00"


@freeze_time(MID_MINUTE)
def test_nik_rate_limit_answers_429_with_retry_after(api, settings):
    settings.RATE_LIMIT_NIK = "2/m"
    entrance = EntranceFactory()
    spaced = f"{NIK[:4]} {NIK[4:8]} {NIK[8:12]} {NIK[12:]}"  # the same NIK, written differently

    assert checkin(api, entrance.code, nik=NIK, name=NAME, address="10.0.0.1").status_code == 200
    assert checkin(api, entrance.code, nik=NIK, name=NAME, address="10.0.0.2").status_code == 200
    events = ScanEvent.objects.count()
    response = checkin(api, entrance.code, nik=spaced, name=NAME, address="10.0.0.3")

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 61
    assert response.json()["detail"]
    assert ScanEvent.objects.count() == events
    assert checkin(api, entrance.code, nik=nik_make(2), name=NAME).status_code == 200


@freeze_time(MID_MINUTE)
def test_client_rate_limit_is_per_address(api, settings):
    settings.RATE_LIMIT_CLIENT = "3/m"
    entrance = EntranceFactory()

    statuses = [
        checkin(api, entrance.code, nik=nik_make(n), name=NAME, address="10.1.1.1").status_code for n in (1, 2, 3, 4)
    ]
    other = checkin(api, entrance.code, nik=nik_make(9), name=NAME, address="10.1.1.2")

    assert statuses == [200, 200, 200, 429]
    assert other.status_code == 200


@freeze_time(MID_MINUTE)
def test_checkout_is_rate_limited_too(api, settings):
    settings.RATE_LIMIT_NIK = "1/m"
    entrance = EntranceFactory()

    assert checkout(api, entrance.code, nik=NIK, name=NAME).status_code == 409
    assert checkout(api, entrance.code, nik=NIK, name=NAME).status_code == 429


@freeze_time(MID_MINUTE)
def test_rate_limits_can_be_switched_off(api, settings):
    settings.RATE_LIMIT_ENABLED = False
    settings.RATE_LIMIT_CLIENT = "1/m"
    settings.RATE_LIMIT_NIK = "1/m"
    entrance = EntranceFactory()

    assert [checkin(api, entrance.code, nik=NIK, name=NAME).status_code for _ in range(4)] == [200] * 4


# --- occupancy ------------------------------------------------------------------------------------------------


def test_occupancy_for_an_officer_of_the_office(api):
    office = OfficeFactory(capacity=10, sector="non_esensial")
    RestrictionLevel.objects.create(
        level=3, name="PPKM Level 3", effective_from=datetime.date(2021, 7, 26), pct_non_esensial=25, pct_esensial=50
    )
    entrance = EntranceFactory(office=office)
    green(1)
    green(2, name="I Wayan Sudarsana")
    StaffFactory(office=office, nik=nik_make(2), name="I Wayan Sudarsana")
    assert checkin(api, entrance.code, nik=NIK, name=NAME).json()["office"]["capacity"] == 2
    assert checkin(api, entrance.code, nik=nik_make(2), name="I Wayan Sudarsana").json()["outcome"] == "admitted"
    api.force_authenticate(UserFactory(roles=["Petugas"], offices=[office]))

    response = api.get(occupancy_url(office.pk))

    assert response.status_code == 200
    assert response.json() == {
        "office": {"id": office.pk, "name": office.name},
        "inside": 2,
        "staff_inside": 1,
        "visitors_inside": 1,
        "capacity": 10,
        "effective_capacity": 2,
        "restriction_level": {"level": 3, "name": "PPKM Level 3", "percentage": 25},
    }


def test_occupancy_with_a_token(api):
    office = OfficeFactory()
    officer = UserFactory(roles=["Petugas"], offices=[office])
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=officer).key}")

    response = api.get(occupancy_url(office.pk))

    assert response.status_code == 200
    assert response.json()["effective_capacity"] == 100


def test_occupancy_of_another_office_is_403(api):
    office = OfficeFactory()
    api.force_authenticate(UserFactory(roles=["Petugas"], offices=[OfficeFactory()]))

    response = api.get(occupancy_url(office.pk))

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_occupancy_needs_login(api):
    office = OfficeFactory()

    response = api.get(occupancy_url(office.pk))

    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


def test_occupancy_of_a_missing_office(api):
    office = OfficeFactory()
    missing = office.pk + 1000

    api.force_authenticate(UserFactory(roles=["Admin Kota"]))
    city_admin = api.get(occupancy_url(missing))
    api.force_authenticate(UserFactory(roles=["Petugas"], offices=[office]))
    officer = api.get(occupancy_url(missing))

    assert (city_admin.status_code, city_admin.json()["code"]) == (404, "not_found")
    assert officer.status_code == 403  # scoped users cannot probe which office ids exist


# --- schema and docs ------------------------------------------------------------------------------------------


def test_schema_documents_the_api(api):
    response = api.get("/api/schema/")

    assert response.status_code == 200
    assert b"/api/v1/checkins/" in response.content
    assert b"/api/v1/offices/{office_id}/occupancy/" in response.content


def test_docs_load_nothing_from_a_cdn(api):
    response = api.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    for host in ("cdn.", "unpkg", "jsdelivr"):
        assert host not in html
