"""POST /api/v1/exposures/notify/ (Satgas only, counts, audited) and the report screen's "Send notices" button."""

from __future__ import annotations

import datetime
import json

import pytest
from django.test import Client
from freezegun import freeze_time
from rest_framework.test import APIClient

from offices.models import AuditEvent
from screening.vocabulary import CaseStatus
from tests.factories import EntranceFactory, HealthStatusFactory, PersonFactory, UserFactory, nik_make
from visitors.models import Device, ExposureNotice

from .scenarios import NOW, at, visit

pytestmark = pytest.mark.django_db

URL = "/api/v1/exposures/notify/"
NAME = "Ni Luh Putu Ayu"
NIK = nik_make(9501)


@pytest.fixture(autouse=True)
def _frozen():
    with freeze_time(NOW):
        yield


@pytest.fixture
def case():
    entrance = EntranceFactory()
    index = PersonFactory(nik=NIK, name=NAME)
    HealthStatusFactory(nik=NIK, name=NAME, case_status=CaseStatus.POSITIVE, case_reported_on=datetime.date(2024, 3, 9))
    visit(index, entrance, at(10, "08:00"), at(10, "09:00"))
    phone = PersonFactory(name="I Made Wirawan", phone="081234500001")
    visit(phone, entrance, at(10, "08:20"), at(10, "10:00"))
    device = PersonFactory(name="Ketut Sari", phone="")
    visit(device, entrance, at(10, "08:30"), at(10, "08:40"))
    Device.objects.create(person=device, token_hash="b" * 64)
    nobody = PersonFactory(name="Wayan Budi", phone="")
    visit(nobody, entrance, at(10, "08:50"), at(10, "09:30"))
    return {"entrance": entrance, "index": index, "phone": phone, "device": device, "nobody": nobody}


def api_for(*roles, **kwargs) -> tuple[APIClient, object]:
    user = UserFactory(roles=list(roles), **kwargs)
    client = APIClient()
    client.force_authenticate(user)
    return client, user


def post(client, body):
    return client.post(URL, body, format="json")


def test_satgas_gets_the_counts_and_a_second_send_tells_nobody_twice(case):
    client, user = api_for("Satgas")

    first = post(client, {"nik": NIK, "name": NAME, "since": "2024-03-10"})
    again = post(client, {"nik": NIK, "name": "ni luh putu-AYU", "since": "2024-03-10"})

    assert first.status_code == 200
    assert first.json() == {"notified": 2, "already": 0, "unreachable": 1}
    assert again.json() == {"notified": 0, "already": 2, "unreachable": 1}
    assert ExposureNotice.objects.count() == 2
    entries = AuditEvent.objects.filter(action="exposure.notified")
    assert entries.count() == 2 and {e.actor for e in entries} == {user}
    assert NIK not in str(list(entries.values_list("detail", flat=True)))


def test_since_defaults_like_the_report(case):
    client, _user = api_for("Satgas")

    assert post(client, {"nik": NIK, "name": NAME}).json()["notified"] == 2


@pytest.mark.parametrize("roles", [["Admin Kantor"], ["Petugas"], ["Admin Kota"], []])
def test_only_satgas_may_send(case, roles):
    client, _user = api_for(*roles, offices=[case["entrance"].office])

    response = post(client, {"nik": NIK, "name": NAME, "since": "2024-03-10"})

    assert response.status_code == 403
    assert not ExposureNotice.objects.exists() and not AuditEvent.objects.exists()


def test_anonymous_is_refused(case):
    assert APIClient().post(URL, {"nik": NIK, "name": NAME}, format="json").status_code in (401, 403)
    assert not ExposureNotice.objects.exists()


def test_an_unknown_person_is_404_and_the_miss_is_audited_masked(case):
    client, _user = api_for("Satgas")

    response = post(client, {"nik": NIK, "name": "Orang Lain", "since": "2024-03-10"})

    assert response.status_code == 404 and response.json()["code"] == "person_not_found"
    entry = AuditEvent.objects.get(action="exposure.notified")
    assert entry.detail["found"] is False and NIK not in str(entry.detail)


@pytest.mark.parametrize(
    "body",
    [{"nik": "123", "name": NAME}, {"nik": NIK, "name": NAME, "since": "2099-01-01"}, {"nik": NIK}, "not json"],
)
def test_bad_input_is_400(case, body):
    client, _user = api_for("Satgas")

    raw = body if isinstance(body, str) else json.dumps(body)
    response = client.post(URL, raw, content_type="application/json")

    assert response.status_code == 400
    assert not ExposureNotice.objects.exists()


def test_session_posts_need_csrf(case):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(UserFactory(roles=["Satgas"]))

    assert post(client, {"nik": NIK, "name": NAME}).status_code == 403


def test_schema_documents_the_endpoint():
    client, _user = api_for("Satgas")
    schema = client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"][URL]["post"]
    assert operation["operationId"] == "exposures_notify"
    assert set(schema["components"]["schemas"]["ExposureNotify"]["required"]) == {"notified", "already", "unreachable"}


# --- the report screen ------------------------------------------------------------------------------------------


def test_the_send_button_tells_the_contacts_and_the_report_shows_how(case):
    user = UserFactory(roles=["Satgas"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    report_url = f"/reports/exposures/people/{case['index'].pk}/"
    page = client.get(report_url, {"since": "2024-03-10"})
    assert page.status_code == 200 and b"data-notify" in page.content
    assert b'data-told="not_yet"' in page.content and b'data-told="unreachable"' in page.content

    notify_url = f"/reports/exposures/people/{case['index'].pk}/notify/"
    assert client.post(notify_url, {"since": "2024-03-10"}).status_code == 403  # no CSRF token
    token = client.cookies["csrftoken"].value
    response = client.post(notify_url, {"since": "2024-03-10", "csrfmiddlewaretoken": token})

    assert response.status_code == 302 and response["Location"] == f"{report_url}?since=2024-03-10"
    page = client.get(response["Location"]).content.decode()
    assert "data-messages" in page
    assert f'data-person="{case["device"].pk}" data-minutes="10" data-told="device"' in page
    assert f'data-person="{case["nobody"].pk}" data-minutes="10" data-told="unreachable"' in page
    assert f'data-person="{case["phone"].pk}" data-minutes="40" data-told="not_yet"' in page  # no gateway set
    assert ExposureNotice.objects.count() == 2


def test_only_satgas_may_press_send(case):
    client = Client()
    client.force_login(UserFactory(roles=["Admin Kota"]))

    response = client.post(f"/reports/exposures/people/{case['index'].pk}/notify/", {"since": "2024-03-10"})

    assert response.status_code == 403
    assert not ExposureNotice.objects.exists()


def test_satgas_edit_the_notice_text_in_admin_and_notices_use_it(case):
    client = Client()
    client.force_login(UserFactory(roles=["Satgas"]))
    add = client.get("/admin/reports/exposureadvice/add/")
    assert add.status_code == 200 and b"{office}" in add.content  # the built-in text to start from

    saved = client.post("/admin/reports/exposureadvice/add/", {"text": "Di {office} pada {date}: periksa diri."})
    assert saved.status_code == 302
    assert client.get("/admin/reports/exposureadvice/add/").status_code == 403  # one text only

    api, _user = api_for("Satgas")
    post(api, {"nik": NIK, "name": NAME, "since": "2024-03-10"})
    message = ExposureNotice.objects.get(person=case["phone"]).message
    assert message == f"Di {case['entrance'].office.name} pada 10/03/2024: periksa diri."


def test_others_do_not_see_the_notice_text_in_admin():
    client = Client()
    client.force_login(UserFactory(roles=["Admin Kota"]))

    assert client.get("/admin/reports/exposureadvice/").status_code == 403
