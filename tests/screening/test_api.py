"""POST /api/v1/health-statuses/: the bulk upsert for Satgas and the health registry's integrations."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from screening.models import HealthStatus
from tests.factories import EntranceFactory, HealthStatusFactory, UserFactory, nik_make
from visitors.models import ScanEvent
from visitors.services import visit_checkin

pytestmark = pytest.mark.django_db

URL = "/api/v1/health-statuses/"


def token_client(*roles: str, **user_fields) -> APIClient:
    user = UserFactory(roles=list(roles), **user_fields)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def item(n: int, **fields) -> dict:
    return {"nik": nik_make(n), "name": f"Orang {n}", "doses": 2, **fields}


def test_satgas_token_upserts_and_answers_counts_exactly():
    client = token_client("Satgas")
    HealthStatusFactory(nik=nik_make(2), name="Orang 2", doses=1)
    HealthStatusFactory(nik=nik_make(3), name="Orang 3", doses=2)
    response = client.post(URL, [item(1), item(2), item(3), {"nik": "12", "name": "X", "doses": 9}], format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"created", "updated", "unchanged", "errors"}
    assert (body["created"], body["updated"], body["unchanged"]) == (1, 1, 1)
    [error] = body["errors"]
    assert error["index"] == 3 and sorted(error["errors"]) == ["doses", "nik"]
    assert HealthStatus.objects.get(name="Orang 1").source == "api"
    assert HealthStatus.objects.get(name="Orang 2").doses == 2


def test_bad_items_are_reported_by_index_with_field_messages():
    client = token_client("Satgas")
    items = [
        item(1),
        item(2, doses="2"),
        item(3, last_dose_on="03-07-2021"),
        "text",
        item(5, isolated_until=None, exemption_until=None, case_status="positive"),
        {**item(6), "dose": 2},
    ]
    body = client.post(URL, items, format="json").json()
    assert body["created"] == 2
    assert [(e["index"], sorted(e["errors"])) for e in body["errors"]] == [
        (1, ["doses"]),
        (2, ["last_dose_on"]),
        (3, ["non_field_errors"]),
        (5, ["non_field_errors"]),
    ]
    for error in body["errors"]:
        for messages in error["errors"].values():
            assert isinstance(messages, list) and all(isinstance(m, str) and m for m in messages)
    assert nik_make(2) not in json.dumps(body)


def test_resending_the_same_items_changes_nothing():
    client = token_client("Satgas")
    items = [item(n) for n in range(1, 6)]
    assert client.post(URL, items, format="json").json()["created"] == 5
    again = client.post(URL, items, format="json").json()
    assert again == {"created": 0, "updated": 0, "unchanged": 5, "errors": []}


def test_superuser_may_upsert():
    assert token_client(is_superuser=True).post(URL, [item(1)], format="json").status_code == 200


@pytest.mark.parametrize("roles", [("Petugas",), ("Admin Kantor",), ("Admin Kota",), ()])
def test_other_roles_get_403(roles):
    response = token_client(*roles).post(URL, [item(1)], format="json")
    assert response.status_code == 403
    assert not HealthStatus.objects.exists()


def test_anonymous_and_bad_tokens_get_403():
    assert APIClient().post(URL, [item(1)], format="json").status_code == 403
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.post(URL, [item(1)], format="json").status_code in (401, 403)
    assert not HealthStatus.objects.exists()


def test_session_auth_needs_the_csrf_token():
    user = UserFactory(roles=["Satgas"])
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(URL, [item(1)], format="json").status_code == 403
    client.get("/admin/")  # sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    response = client.post(URL, [item(1)], format="json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200


def test_more_than_ten_thousand_items_is_a_400_and_writes_nothing():
    client = token_client("Satgas")
    response = client.post(URL, [item(1)] * 10_001, format="json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert not HealthStatus.objects.exists()


def test_ten_thousand_items_are_accepted():
    client = token_client("Satgas")
    items = [{"nik": f"517101010190{n:04d}", "name": "Orang Banyak", "doses": 2} for n in range(1, 10_000)]
    items.append({"nik": nik_make(1, female=True), "name": "Orang Banyak", "doses": 2})
    body = client.post(URL, items, format="json").json()
    assert body["created"] == 10_000 and body["errors"] == []


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        ('{"nik": "5171010101900001"}', "application/json"),
        ("[{", "application/json"),
        ("nik,name\n", "text/csv"),
        ("[" * 100_000 + "]" * 100_000, "application/json"),
    ],
)
def test_bad_bodies_are_400_never_500(payload, content_type):
    client = token_client("Satgas")
    response = client.generic("POST", URL, payload, content_type=content_type)
    assert response.status_code in (400, 415), response.content[:200]
    assert response.status_code != 500


def test_an_empty_list_is_fine():
    assert token_client("Satgas").post(URL, [], format="json").json() == {
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "errors": [],
    }


def test_the_operation_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/v1/health-statuses/" in schema.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_pushed_update_alerts_the_office_where_the_person_is_inside(settings, celery_eager):
    """Eagerly here; tests/screening/test_tasks.py runs the same through a real worker on Redis."""
    settings.SATGAS_ALERT_EMAILS = ["satgas@denpasarkota.go.id"]
    entrance = EntranceFactory()
    HealthStatusFactory(nik=nik_make(40), name="I Made Wirawan", doses=2)
    inside = visit_checkin(entrance_code=entrance.code, nik=nik_make(40), name="I Made Wirawan")
    assert inside.admitted

    # A superuser: transactional tests flush the groups the migrations made.
    response = token_client(is_superuser=True).post(
        URL, [item(40, name="I Made Wirawan", case_status="positive", isolated_until="2099-01-01")], format="json"
    )
    assert response.json()["updated"] == 1
    alert = ScanEvent.objects.get(alert=True)
    assert (alert.office_id, alert.visit_id, alert.reason, alert.colour) == (
        entrance.office_id,
        inside.visit_id,
        "isolation",
        "black",
    )
    assert len(mail.outbox) == 1
    assert nik_make(40) not in mail.outbox[0].body
    # The same update again: nothing changed, so no second alert.
    token_client(is_superuser=True).post(
        URL, [item(40, name="I Made Wirawan", case_status="positive", isolated_until="2099-01-01")], format="json"
    )
    assert ScanEvent.objects.filter(alert=True).count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("control", ["\x00", "\x1b", "\ud800"], ids=["NUL", "ESC", "lone-surrogate"])
def test_one_item_with_a_control_character_is_reported_by_index_and_the_good_ones_applied(control):
    client = token_client("Satgas")
    items = [item(1), item(2, name=f"Orang{control}Dua"), item(3)]
    # json.dumps escapes a lone surrogate (\ud800), which JSON allows and Python reads back as one.
    response = client.generic(
        "POST", URL, json.dumps(items), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    assert body["created"] == 2
    assert body["errors"] == [{"index": 1, "errors": {"name": ["Remove the control characters from this field."]}}]
    assert sorted(HealthStatus.objects.values_list("name", flat=True)) == ["Orang 1", "Orang 3"]


def test_the_schema_states_the_item_limits(client):
    documented = client.get("/api/schema/?format=json").json()["components"]["schemas"]["HealthStatusItem"]
    nik, name = documented["properties"]["nik"], documented["properties"]["name"]

    assert (nik["pattern"], nik["minLength"], nik["maxLength"]) == ("^[0-9]{16}$", 16, 16)
    assert name["maxLength"] == 200
