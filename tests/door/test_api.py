"""The door console's REST API: the scans at an entrance after a cursor, and an officer's decision on a pending
scan (scope, input, the officer's check-in answer, conflicts, session CSRF and tokens, the schema)."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from door.selectors import door_pending
from offices.models import AuditEvent
from screening.vocabulary import Outcome
from tests.factories import EntranceFactory, UserFactory
from visitors.models import ScanEvent, Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(officer) -> APIClient:
    client = APIClient()
    client.force_authenticate(officer)
    return client


def decide(api, scan_id: int, **body):
    return api.post(f"/api/v1/scans/{scan_id}/decision/", body, format="json")


# --- events after a cursor ----------------------------------------------------------------------------------------


def test_events_after_a_cursor(client_in, entrance, scan):
    first = scan(entrance, 1)
    second = scan(entrance, 2, doses=0, name="Nyoman Merah")

    response = client_in.get(f"/api/v1/entrances/{entrance.pk}/events/?after={first.scan_event_id}")

    assert response.status_code == 200
    assert [(e["id"], e["outcome"], e["reason"], e["colour"]) for e in response.json()] == [
        (second.scan_event_id, "denied", "not_vaccinated", "red")
    ]
    assert client_in.get(f"/api/v1/entrances/{entrance.pk}/events/?after=x").status_code == 400


def test_events_of_another_office_are_403(client, entrance, scan):
    other = EntranceFactory(office__name="Dinas Lain")
    scan(other, 1)
    client.force_login(UserFactory(roles=["Petugas"], offices=[entrance.office]))
    assert client.get(f"/api/v1/entrances/{other.pk}/events/").status_code == 403
    assert client.get("/api/v1/entrances/999999/events/").status_code == 403


def test_events_need_a_login_and_404_only_for_city_wide_users(client, entrance):
    assert client.get(f"/api/v1/entrances/{entrance.pk}/events/").status_code in (401, 403)
    client.force_login(UserFactory(is_superuser=True))
    assert client.get("/api/v1/entrances/999999/events/").status_code == 404


# --- decision: answers --------------------------------------------------------------------------------------------


def test_approve_answers_like_an_officers_checkin(api, entrance, scan, officer):
    case = scan(entrance, 2, doses=1, name="Komang Ayu")

    response = decide(api, case.scan_event_id, decision="approve")

    body = response.json()
    assert response.status_code == 200
    new_scan = ScanEvent.objects.latest("id")
    assert (body["outcome"], body["reason"], body["colour"]) == ("admitted", "ok", "yellow")
    assert body["visit"] == Visit.objects.get().pk
    assert body["office"] == {"id": entrance.office_id, "name": "Dinas Kesehatan", "occupancy": 1, "capacity": 10}
    assert body["scan"] == new_scan.pk != case.scan_event_id
    assert body["message"]
    assert door_pending(entrance_id=entrance.pk) == []
    assert AuditEvent.objects.get(action="scan.approved").actor == officer


def test_approve_at_a_full_office_is_refused_and_the_case_stays(api, entrance, scan):
    entrance.office.capacity = 1
    entrance.office.save()
    scan(entrance, 1)
    case = scan(entrance, 2, doses=1, name="Komang Ayu")

    body = decide(api, case.scan_event_id, decision="approve").json()

    assert (body["outcome"], body["reason"], body["visit"]) == ("denied", "capacity_full", None)
    assert body["office"]["occupancy"] == 1
    assert [c["id"] for c in door_pending(entrance_id=entrance.pk)] == [case.scan_event_id]


def test_deny_keeps_the_health_reason_and_records_the_officers_words(api, entrance, scan):
    case = scan(entrance, 2, doses=1, name="Komang Ayu")

    response = decide(api, case.scan_event_id, decision="deny", reason="  Identity does not match ")

    body = response.json()
    assert response.status_code == 200
    assert (body["outcome"], body["reason"], body["visit"]) == ("denied", "partially_vaccinated", None)
    assert door_pending(entrance_id=entrance.pk) == []
    assert AuditEvent.objects.get(action="scan.denied").detail["note"] == "Identity does not match"


# --- decision: bad input and conflicts ----------------------------------------------------------------------------


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_deny_without_a_reason_is_a_field_error(api, entrance, scan, reason):
    case = scan(entrance, 2, doses=1, name="Komang Ayu")
    body = {"decision": "deny"} if reason is None else {"decision": "deny", "reason": reason}

    response = decide(api, case.scan_event_id, **body)

    assert response.status_code == 400 and list(response.json()) == ["reason"]
    assert [c["id"] for c in door_pending(entrance_id=entrance.pk)] == [case.scan_event_id]


@pytest.mark.parametrize(
    "body", [{"decision": "maybe"}, {}, {"decision": ["approve"]}, {"decision": "approve", "reason": 5}]
)
def test_bad_decision_input_is_a_400(api, entrance, scan, body):
    case = scan(entrance, 2, doses=1, name="Komang Ayu")

    response = decide(api, case.scan_event_id, **body)

    assert response.status_code == 400
    assert not Visit.objects.exists()


def test_a_form_post_is_a_400_not_a_500(api, entrance, scan):
    case = scan(entrance, 2, doses=1, name="Komang Ayu")
    response = api.post(f"/api/v1/scans/{case.scan_event_id}/decision/", {"decision": "approve"})
    assert response.status_code == 400 and response.json()["code"] == "unsupported_media_type"


def test_unknown_scan_is_404(api):
    response = decide(api, 999999, decision="approve")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_second_answer_is_a_conflict(api, entrance, scan):
    case = scan(entrance, 2, doses=1, name="Komang Ayu")
    decide(api, case.scan_event_id, decision="approve")

    response = decide(api, case.scan_event_id, decision="deny", reason="Too late")

    assert response.status_code == 409 and response.json()["code"] in ("case_closed", "not_pending")


@pytest.mark.parametrize("body", [{"decision": "approve"}, {"decision": "deny", "reason": "Gone"}])
def test_an_expired_case_is_a_409_case_expired(api, entrance, scan, settings, body):
    settings.PENDING_EXPIRE_MINUTES = 15
    case = scan(entrance, 2, doses=1, name="Komang Ayu")
    ScanEvent.objects.filter(pk=case.scan_event_id).update(created_at=timezone.now() - datetime.timedelta(minutes=16))
    scans = ScanEvent.objects.count()

    response = decide(api, case.scan_event_id, **body)

    assert response.status_code == 409
    assert response.json()["code"] == "case_expired" and response.json()["detail"]
    assert not Visit.objects.exists() and ScanEvent.objects.count() == scans


def test_a_scan_that_was_never_pending_is_a_conflict(api, entrance, scan):
    admitted = scan(entrance, 1)
    response = decide(api, admitted.scan_event_id, decision="approve")
    assert response.status_code == 409 and response.json()["code"] == "not_pending"


# --- decision: who may answer -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "user",
    [
        lambda office: UserFactory(roles=["Petugas"]),  # an officer of no office
        lambda office: UserFactory(roles=["Satgas"]),  # city-wide, but not at the door
        lambda office: UserFactory(),  # no role at all
    ],
)
def test_who_does_not_work_that_door_gets_403(entrance, scan, user):
    case = scan(entrance, 2, doses=1, name="Komang Ayu")
    client = APIClient()
    client.force_authenticate(user(entrance.office))

    response = decide(client, case.scan_event_id, decision="approve")

    assert response.status_code == 403
    assert not Visit.objects.exists()
    assert ScanEvent.objects.get(pk=case.scan_event_id).resolved_at is None


@pytest.mark.parametrize(
    "user",
    [
        lambda office: UserFactory(roles=["Admin Kantor"], offices=[office]),
        lambda office: UserFactory(roles=["Admin Kota"]),
        lambda office: UserFactory(is_superuser=True),
    ],
)
def test_office_admins_city_admins_and_superusers_may_answer(entrance, scan, user):
    case = scan(entrance, 2, doses=1, name="Komang Ayu")
    client = APIClient()
    client.force_authenticate(user(entrance.office))

    response = decide(client, case.scan_event_id, decision="approve")

    assert response.status_code == 200 and response.json()["outcome"] == "admitted"


def test_anonymous_callers_are_refused(entrance, scan):
    case = scan(entrance, 2, doses=1, name="Komang Ayu")
    response = decide(APIClient(), case.scan_event_id, decision="approve")
    assert response.status_code in (401, 403)
    assert ScanEvent.objects.get(pk=case.scan_event_id).outcome == Outcome.PENDING
    assert ScanEvent.objects.get(pk=case.scan_event_id).resolved_at is None


def test_a_session_needs_the_csrf_header(entrance, scan, officer):
    case = scan(entrance, 2, doses=1, name="Komang Ayu")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(officer)
    url = f"/api/v1/scans/{case.scan_event_id}/decision/"

    refused = browser.post(url, {"decision": "approve"}, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["detail"]
    browser.get(f"/door/{entrance.pk}/")  # the screen sets the CSRF cookie the script sends back as a header
    token = browser.cookies["csrftoken"].value
    response = browser.post(url, {"decision": "approve"}, content_type="application/json", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 200 and response.json()["outcome"] == "admitted"


def test_a_token_needs_no_csrf(entrance, scan, officer):
    case = scan(entrance, 2, doses=1, name="Komang Ayu")
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=officer).key}")

    response = decide(client, case.scan_event_id, decision="deny", reason="Unwell at the door")

    assert response.status_code == 200 and response.json()["outcome"] == "denied"


# --- schema -------------------------------------------------------------------------------------------------------


def test_schema_documents_the_door_api(client):
    content = client.get("/api/schema/").content

    assert b"/api/v1/entrances/{entrance_id}/events/" in content
    assert b"/api/v1/scans/{scan_id}/decision/" in content
    assert b"scans_decision_create" in content


def test_schema_states_the_cursor_range_the_view_accepts(client_in, entrance):
    """`after` is documented as 0..10^18-1; outside that the view answers 400 with a field message."""
    operation = client_in.get("/api/schema/?format=json").json()["paths"]["/api/v1/entrances/{entrance_id}/events/"]
    (after,) = [p for p in operation["get"]["parameters"] if p["name"] == "after"]
    url = f"/api/v1/entrances/{entrance.pk}/events/"

    assert after["schema"] == {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}
    assert client_in.get(f"{url}?after={10**18 - 1}").status_code == 200
    for bad in ("-1", str(10**18), "1.5"):
        response = client_in.get(f"{url}?after={bad}")
        assert response.status_code == 400 and response.json()["after"], bad
