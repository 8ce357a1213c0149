"""POST /api/v1/exposures/: Satgas only, the DESIGN.md answer shape, field errors, 404 for a miss, audit entries."""

from __future__ import annotations

import datetime
import json

import pytest
from freezegun import freeze_time
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from offices.models import AuditEvent
from screening.vocabulary import CaseStatus
from tests.factories import EntranceFactory, HealthStatusFactory, PersonFactory, UserFactory, VisitFactory, nik_make
from visitors.models import ClosedBy

pytestmark = pytest.mark.django_db

URL = "/api/v1/exposures/"
TZ = datetime.timezone(datetime.timedelta(hours=8))
NOW = datetime.datetime(2024, 3, 10, 12, 0, tzinfo=TZ)
NAME = "Ni Luh Putu Ayu"
NIK = nik_make(9301)
CONTACT_NIK = nik_make(9302)


def at(day: int, hhmm: str) -> datetime.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime.datetime(2024, 3, day, hour, minute, tzinfo=TZ)


def closed(person, entrance, start, end):
    return VisitFactory(
        person=person, entrance_in=entrance, checked_in_at=start, checked_out_at=end, closed_by=ClosedBy.PERSON
    )


@pytest.fixture(autouse=True)
def _frozen():
    with freeze_time(NOW):
        yield


@pytest.fixture
def case():
    """The index case visited one office twice; one contact overlapped, one touched, one met them days earlier."""
    entrance = EntranceFactory()
    index = PersonFactory(nik=NIK, name=NAME)
    HealthStatusFactory(nik=NIK, name=NAME, case_status=CaseStatus.POSITIVE, case_reported_on=datetime.date(2024, 3, 9))
    closed(index, entrance, at(5, "09:00"), at(5, "10:00"))
    closed(index, entrance, at(10, "08:00"), at(10, "09:00"))
    overlapped = PersonFactory(nik=CONTACT_NIK, name="I Made Wirawan", phone="081234500001")
    closed(overlapped, entrance, at(10, "08:20"), at(10, "10:00"))
    touched = PersonFactory(name="Ketut Sari", phone="")
    closed(touched, entrance, at(10, "09:00"), at(10, "09:30"))
    early = PersonFactory(name="Wayan Budi")
    closed(early, entrance, at(5, "09:30"), at(5, "11:00"))  # 5 March: before the default window (7 March on)
    return {"entrance": entrance, "index": index, "overlapped": overlapped, "touched": touched, "early": early}


def api_for(*roles, **kwargs) -> tuple[APIClient, object]:
    user = UserFactory(roles=list(roles), **kwargs)
    client = APIClient()
    client.force_authenticate(user)
    return client, user


def post(client, body):
    return client.post(URL, body, format="json")


def test_satgas_gets_the_contacts_in_the_design_shape(case):
    client, _user = api_for("Satgas")

    response = post(client, {"nik": NIK, "name": NAME, "since": "2024-03-10"})

    assert response.status_code == 200
    assert response.json() == [
        {
            "name": "I Made Wirawan",
            "nik_masked": case["overlapped"].nik_masked,
            "phone": "081234500001",
            "office": case["entrance"].office.name,
            "overlap_minutes": 40,
            "first_overlap_at": "2024-03-10T08:20:00+08:00",
        },
        {
            "name": "Ketut Sari",
            "nik_masked": case["touched"].nik_masked,
            "phone": "",
            "office": case["entrance"].office.name,
            "overlap_minutes": 0,
            "first_overlap_at": "2024-03-10T09:00:00+08:00",
        },
    ]
    assert CONTACT_NIK not in response.content.decode()


def test_since_defaults_to_two_days_before_the_positive_date(case):
    client, _user = api_for("Satgas")

    names = [row["name"] for row in post(client, {"nik": NIK, "name": NAME}).json()]

    assert names == ["I Made Wirawan", "Ketut Sari"]  # since 7 March
    early = [row["name"] for row in post(client, {"nik": NIK, "name": NAME, "since": "2024-03-01"}).json()]
    assert early == ["Wayan Budi", "I Made Wirawan", "Ketut Sari"]


def test_name_is_matched_loosely(case):
    client, _user = api_for("Satgas")

    assert post(client, {"nik": NIK, "name": "ni  luh putu-AYU", "since": "2024-03-10"}).status_code == 200


def test_each_query_is_audited_without_the_nik(case):
    client, user = api_for("Satgas")

    post(client, {"nik": NIK, "name": NAME, "since": "2024-03-10"})

    entry = AuditEvent.objects.get()
    assert (entry.actor, entry.action, entry.object_id) == (user, "exposure.query", str(case["index"].pk))
    assert entry.detail["channel"] == "api"
    assert entry.detail["contacts"] == 2
    assert entry.detail["nik_masked"] == case["index"].nik_masked
    assert NIK not in json.dumps(entry.detail)


@pytest.mark.parametrize(
    "body",
    [
        {"nik": NIK, "name": "I Made Wirawan"},  # the name does not match this NIK
        {"nik": nik_make(9399), "name": NAME},  # nobody with this NIK checked in
    ],
)
def test_unknown_person_is_404_and_audited(case, body):
    client, _user = api_for("Satgas")

    response = post(client, body)

    assert response.status_code == 404
    assert response.json()["code"] == "person_not_found"
    assert response.json()["detail"]
    entry = AuditEvent.objects.get()
    assert entry.detail["found"] is False
    assert body["nik"] not in json.dumps(entry.detail)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": NAME}, "nik"),
        ({"nik": "5171", "name": NAME}, "nik"),
        ({"nik": "abcdefghijklmnop", "name": NAME}, "nik"),
        ({"nik": NIK}, "name"),
        ({"nik": NIK, "name": ""}, "name"),
        ({"nik": NIK, "name": NAME, "since": "10/03/2024"}, "since"),
        ({"nik": NIK, "name": NAME, "since": "2024-03-11"}, "since"),  # the future
        ({"nik": NIK, "name": "x" * 201}, "name"),
    ],
)
def test_bad_input_is_400_with_field_messages(case, body, field):
    client, _user = api_for("Satgas")

    response = post(client, body)

    assert response.status_code == 400
    assert field in response.json()
    assert all(isinstance(m, str) and m for m in response.json()[field])
    assert not AuditEvent.objects.exists()


def test_missing_since_without_a_positive_date_is_400():
    PersonFactory(nik=nik_make(9310), name="Komang Ayu")
    client, _user = api_for("Satgas")

    response = post(client, {"nik": nik_make(9310), "name": "Komang Ayu"})

    assert response.status_code == 400
    assert "since" in response.json()


@pytest.mark.parametrize("body", ["not json", "[]", "null", '{"nik": ["a"], "name": {}}'])
def test_malformed_bodies_are_400(case, body):
    client, _user = api_for("Satgas")

    response = client.post(URL, body, content_type="application/json")

    assert response.status_code == 400


@pytest.mark.parametrize("roles", [["Admin Kantor"], ["Petugas"], ["Admin Kota"], []])
def test_only_satgas_may_ask(case, roles):
    client, _user = api_for(*roles, offices=[case["entrance"].office])

    response = post(client, {"nik": NIK, "name": NAME})

    assert response.status_code == 403
    assert not AuditEvent.objects.exists()


def test_superuser_may_ask(case):
    client, _user = api_for(is_superuser=True)

    assert post(client, {"nik": NIK, "name": NAME}).status_code == 200


def test_anonymous_is_refused(case):
    response = APIClient().post(URL, {"nik": NIK, "name": NAME}, format="json")

    assert response.status_code in (401, 403)
    assert not AuditEvent.objects.exists()


def test_token_authentication_works(case):
    user = UserFactory(roles=["Satgas"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    assert post(client, {"nik": NIK, "name": NAME}).status_code == 200


def test_get_is_not_allowed(case):
    client, _user = api_for("Satgas")

    assert client.get(URL).status_code == 405


def test_session_posts_need_csrf(case):
    user = UserFactory(roles=["Satgas"])
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)

    assert post(client, {"nik": NIK, "name": NAME}).status_code == 403


def test_schema_documents_the_endpoint():
    client, _user = api_for("Satgas")
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert "/api/v1/exposures/" in response.json()["paths"]
