"""My check-ins on a remembered phone (/c/me/), its download and deletion, and the exposure notice on the
remembered phone's check-in page."""

from __future__ import annotations

import datetime
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from offices.models import AuditEvent
from tests.factories import (
    DeviceFactory,
    EntranceFactory,
    ExposureCaseFactory,
    ExposureNoticeFactory,
    PersonFactory,
    VisitFactory,
    nik_make,
)
from visitors.models import ClosedBy, Device, ExposureNotice, Person, Visit
from visitors.views import DEVICE_COOKIE

pytestmark = pytest.mark.django_db


def remembered(client, person) -> Client:
    device = DeviceFactory(person=person, token=f"token-of-{person.pk}-0123456789abcdef")
    client.cookies[DEVICE_COOKIE] = f"token-of-{person.pk}-0123456789abcdef"
    assert device.person == person
    return client


def closed_visit(person, *, days_ago: float, **extra) -> Visit:
    start = timezone.now() - datetime.timedelta(days=days_ago)
    return VisitFactory(
        person=person,
        checked_in_at=start,
        checked_out_at=start + datetime.timedelta(hours=1),
        closed_by=ClosedBy.PERSON,
        **extra,
    )


def test_a_contacts_remembered_phone_shows_the_notice_until_acknowledged(client):
    me = PersonFactory(nik=nik_make(8001))
    entrance = EntranceFactory()
    notice = ExposureNoticeFactory(person=me, office__name="Dinas Pendidikan", message="Segera tes PCR.")
    remembered(client, me)

    page = client.get(reverse("visitors:entrance", args=[entrance.code])).content.decode()
    assert f'data-notice="{notice.pk}"' in page and "Segera tes PCR." in page and "Dinas Pendidikan" in page
    assert reverse("visitors:me") in page

    ack = client.post(reverse("visitors:notice_ack", args=[notice.pk]), {"back": entrance.code})
    assert ack.status_code == 303 and ack["Location"] == reverse("visitors:entrance", args=[entrance.code])
    assert "data-notice" not in client.get(ack["Location"]).content.decode()
    assert ExposureNotice.objects.get(pk=notice.pk).acknowledged_at is not None


def test_another_persons_notice_is_neither_shown_nor_acknowledged(client):
    me, other = PersonFactory(nik=nik_make(8001)), PersonFactory(nik=nik_make(8002))
    theirs = ExposureNoticeFactory(person=other)
    entrance = EntranceFactory()
    remembered(client, me)
    assert "data-notice" not in client.get(reverse("visitors:entrance", args=[entrance.code])).content.decode()
    response = client.post(reverse("visitors:notice_ack", args=[theirs.pk]))
    assert response.status_code == 404
    assert ExposureNotice.objects.get(pk=theirs.pk).acknowledged_at is None


def test_the_notice_costs_the_check_in_page_one_query(client, django_assert_max_num_queries):
    me = PersonFactory(nik=nik_make(8001))
    entrance = EntranceFactory()
    remembered(client, me)
    client.get(reverse("visitors:entrance", args=[entrance.code]))  # warm caches (policy, session)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as without:
        client.get(reverse("visitors:entrance", args=[entrance.code]))
    ExposureNoticeFactory.create_batch(3, person=me)
    with django_assert_max_num_queries(len(without)):
        page = client.get(reverse("visitors:entrance", args=[entrance.code])).content.decode()
    assert page.count("data-notice=") == 3
    assert any("visitors_exposurenotice" in q["sql"] for q in without.captured_queries)


def test_without_a_remembered_phone_the_page_says_how_to_get_there(client):
    page = client.get(reverse("visitors:me"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and 'data-state="not-remembered"' in page.content.decode()
    assert "Remember this phone" in page.content.decode() and "officer" in page.content.decode()
    assert client.get(reverse("visitors:me_data")).status_code == 403
    assert client.post(reverse("visitors:me_erase"), {"confirm": "yes"}).status_code == 403


def test_my_checkins_lists_own_visits_within_retention(client, settings):
    settings.RETENTION_DAYS = 30
    me, other = PersonFactory(nik=nik_make(8001)), PersonFactory(nik=nik_make(8002))
    recent = closed_visit(me, days_ago=2, entrance_in__office__name="Kantor Camat Denpasar Barat")
    old = closed_visit(me, days_ago=45, entrance_in__office__name="Kantor Lama Sekali")
    theirs = closed_visit(other, days_ago=1, entrance_in__office__name="Kantor Orang Lain")
    ExposureNoticeFactory(person=me, message="Pesan paparan saya")
    remembered(client, me)
    page = client.get(reverse("visitors:me")).content.decode()
    assert f'data-visit="{recent.pk}"' in page and "Kantor Camat Denpasar Barat" in page
    assert f'data-visit="{old.pk}"' not in page and f'data-visit="{theirs.pk}"' not in page
    assert "Pesan paparan saya" in page and "data-notice" in page
    assert reverse("visitors:me_data") in page and reverse("visitors:me_erase") in page
    assert nik_make(8001) not in page


def test_download_is_an_uncached_attachment_of_the_persons_data(client):
    me = PersonFactory(nik=nik_make(8001), name="Ketut Unduh")
    closed_visit(me, days_ago=1)
    remembered(client, me)
    response = client.get(reverse("visitors:me_data"))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["person"]["name"] == "Ketut Unduh" and len(data["visits"]) == 1
    assert AuditEvent.objects.filter(action="person.data_exported", object_id=str(me.pk)).exists()


def test_erase_needs_the_tick_then_deletes_and_forgets_the_phone(client):
    me = PersonFactory(nik=nik_make(8001))
    closed_visit(me, days_ago=1)
    remembered(client, me)
    unticked = client.post(reverse("visitors:me_erase"))
    assert unticked.status_code == 400 and Person.objects.filter(pk=me.pk).exists()
    assert 'role="alert"' in unticked.content.decode()

    response = client.post(reverse("visitors:me_erase"), {"confirm": "yes"})
    assert response.status_code == 200 and 'data-state="erased"' in response.content.decode()
    assert response.cookies[DEVICE_COOKIE].value == "" and response.cookies[DEVICE_COOKIE]["path"] == "/c/"
    assert not Person.objects.filter(pk=me.pk).exists() and not Device.objects.exists()


def test_erase_says_what_an_open_case_keeps_and_until_when(client, settings):
    settings.RETENTION_DAYS = 30
    me = PersonFactory(nik=nik_make(8001))
    visit = closed_visit(me, days_ago=3)
    case = ExposureCaseFactory(
        window_from=visit.checked_in_at, window_until=visit.checked_out_at + datetime.timedelta(hours=1)
    )
    ExposureNoticeFactory(person=me, case=case)
    remembered(client, me)
    listed = client.get(reverse("visitors:me")).content.decode()
    until = timezone.localtime(visit.checked_out_at + datetime.timedelta(days=30)).date().isoformat()
    assert f'data-kept-until="{until}"' in listed

    response = client.post(reverse("visitors:me_erase"), {"confirm": "yes"}, HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert 'data-kept="1"' in page and "exposure case" in page
    assert Visit.objects.filter(pk=visit.pk).exists() and not Device.objects.exists()


def test_erase_while_inside_is_refused_and_changes_nothing(client):
    me = PersonFactory(nik=nik_make(8001))
    VisitFactory(person=me)
    remembered(client, me)
    response = client.post(reverse("visitors:me_erase"), {"confirm": "yes"})
    assert response.status_code == 409 and Device.objects.filter(person=me).exists()


def test_erase_and_acknowledge_need_the_csrf_token():
    me = PersonFactory(nik=nik_make(8001))
    notice = ExposureNoticeFactory(person=me)
    client = remembered(Client(enforce_csrf_checks=True), me)
    assert client.post(reverse("visitors:me_erase"), {"confirm": "yes"}).status_code == 403
    assert client.post(reverse("visitors:notice_ack", args=[notice.pk])).status_code == 403
    assert Person.objects.filter(pk=me.pk).exists()
    assert ExposureNotice.objects.get(pk=notice.pk).acknowledged_at is None
