"""The officer's screen for a person without a remembered phone: download or erase their data after checking
the KTP; the NIK only ever in a POST body, the officer named in the audit."""

from __future__ import annotations

import datetime
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from offices.models import AuditEvent
from tests.factories import PersonFactory, UserFactory, VisitFactory, nik_make
from visitors.models import ClosedBy, Person, Visit

pytestmark = pytest.mark.django_db

URL = "/door/person-data/"


@pytest.fixture
def person():
    me = PersonFactory(nik=nik_make(8101), name="Ni Wayan Sari")
    start = timezone.now() - datetime.timedelta(days=1)
    VisitFactory(
        person=me, checked_in_at=start, checked_out_at=start + datetime.timedelta(hours=1), closed_by=ClosedBy.PERSON
    )
    return me


def form(action: str, **extra) -> dict:
    data = {"nik": nik_make(8101), "name": "Ni Wayan Sari", "ktp_checked": "yes", "action": action}
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def test_the_screen_is_for_door_roles_only(client, client_in):
    assert reverse("door:person_data") == URL
    page = client_in.get(URL)
    assert page.status_code == 200 and 'method="post"' in page.content.decode()
    assert URL in client_in.get(reverse("door:index")).content.decode()
    client.force_login(UserFactory(roles=["Satgas"]))
    assert client.get(URL).status_code == 403


def test_download_after_the_ktp_tick(client_in, officer, person):
    response = client_in.post(URL, form("download"))
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["person"]["name"] == "Ni Wayan Sari" and len(data["visits"]) == 1
    event = AuditEvent.objects.get(action="person.data_exported")
    assert event.actor == officer and event.detail["via"] == "officer"
    assert nik_make(8101) not in json.dumps(event.detail)


def test_without_the_ktp_tick_nothing_happens(client_in, person):
    response = client_in.post(URL, form("erase", ktp_checked=None, confirm="yes"))
    assert response.status_code == 400 and 'data-field="ktp_checked"' in response.content.decode()
    assert Person.objects.filter(pk=person.pk).exists() and not AuditEvent.objects.exists()


def test_erase_needs_its_own_confirmation_then_deletes(client_in, officer, person):
    assert client_in.post(URL, form("erase")).status_code == 400
    assert Person.objects.filter(pk=person.pk).exists()
    response = client_in.post(URL, form("erase", confirm="yes"))
    assert response.status_code == 200 and 'data-state="erased"' in response.content.decode()
    assert not Person.objects.filter(pk=person.pk).exists() and not Visit.objects.exists()
    assert AuditEvent.objects.get(action="person.data_erased").actor == officer


def test_a_wrong_name_or_unknown_nik_answers_alike_and_changes_nothing(client_in, person):
    wrong_name = client_in.post(URL, form("erase", name="Orang Lain", confirm="yes"))
    unknown = client_in.post(URL, form("erase", nik=nik_make(8199), confirm="yes"))
    assert wrong_name.status_code == unknown.status_code == 404
    assert 'data-error="person"' in wrong_name.content.decode()
    assert Person.objects.filter(pk=person.pk).exists() and not AuditEvent.objects.exists()


def test_bad_input_is_a_clear_error_not_a_500(client_in):
    response = client_in.post(URL, {"nik": "12ab", "name": "", "action": "nonsense"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-field="nik"' in page and 'data-field="action"' in page and "12ab" not in page
