"""The door console's pages and form posts: access and scope, the entrance list, the screen, the polling fallback,
alerts, manual check-in and check-out, closing the day, and CSRF."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.factories import EntranceFactory, HealthStatusFactory, UserFactory, nik_make
from visitors.models import ScanEvent, Visit
from visitors.services import visit_checkin

pytestmark = pytest.mark.django_db


def ajax_post(client, url, data=None):
    return client.post(url, data or {}, HTTP_ACCEPT="application/json")


def black(entrance) -> int:
    HealthStatusFactory(nik=nik_make(9), name="Wayan Hitam", case_status="positive", isolated_until="2099-01-01")
    return visit_checkin(entrance_code=entrance.code, nik=nik_make(9), name="Wayan Hitam").scan_event_id


def screen_config(page: str) -> dict:
    return json.loads(page.split('<script id="door-config" type="application/json">')[1].split("</script>")[0])


# --- access -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "{id}/", "{id}/events", "{id}/events.json", "{id}/inside"])
def test_login_is_required(client, entrance, suffix):
    path = "/door/" + suffix.format(id=entrance.pk)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={path}"


@pytest.mark.parametrize(
    "method,suffix",
    [
        ("get", "{id}/"),
        ("get", "{id}/events"),
        ("get", "{id}/events.json"),
        ("get", "{id}/inside"),
        ("post", "{id}/checkin"),
        ("post", "{id}/checkout"),
        ("post", "{id}/close-day"),
        ("post", "{id}/alerts/{case}/ack"),
    ],
)
def test_officer_of_another_office_gets_403(client, entrance, scan, method, suffix, short_streams):
    other = EntranceFactory(office__name="Dinas Lain")
    case = scan(other, 1, doses=1)
    client.force_login(UserFactory(roles=["Petugas"], offices=[entrance.office]))

    response = getattr(client, method)("/door/" + suffix.format(id=other.pk, case=case.scan_event_id))

    assert response.status_code == 403
    assert not Visit.objects.exists()


def test_index_lists_only_the_officers_doors(client_in, entrance):
    EntranceFactory(office__name="Dinas Lain", name="Pintu Rahasia")
    page = client_in.get("/door/").content.decode()
    assert f'data-entrance="{entrance.pk}"' in page and "Pintu Utama" in page
    assert "Pintu Rahasia" not in page


def test_index_for_a_superuser_lists_every_door(client, entrance):
    other = EntranceFactory(office__name="Dinas Lain")
    client.force_login(UserFactory(is_superuser=True))
    page = client.get("/door/").content.decode()
    assert f'data-entrance="{entrance.pk}"' in page and f'data-entrance="{other.pk}"' in page


def test_users_without_a_door_role_get_403(client, entrance):
    client.force_login(UserFactory(roles=["Satgas"]))
    assert client.get("/door/").status_code == 403
    assert client.get(f"/door/{entrance.pk}/").status_code == 403


# --- the screen ---------------------------------------------------------------------------------------------------


def test_screen_shows_cards_gauge_and_queue(client_in, entrance, scan):
    admitted = scan(entrance, 1, name="I Made Wirawan")
    pending = scan(entrance, 2, doses=1, name="Komang Ayu")

    response = client_in.get(f"/door/{entrance.pk}/", HTTP_ACCEPT_LANGUAGE="en")

    page = response.content.decode()
    assert response.status_code == 200
    assert f'data-event-id="{admitted.scan_event_id}" data-outcome="admitted" data-reason="ok"' in page
    assert f'data-event-id="{pending.scan_event_id}" data-outcome="pending" data-reason="partially_vaccinated"' in page
    assert f'data-case-id="{pending.scan_event_id}"' in page
    assert 'data-occupancy="1" data-capacity="10"' in page
    assert "I Made Wirawan" in page and f"NIK …{nik_make(1)[-4:]}" in page
    assert nik_make(1) not in page
    assert screen_config(page)["cursor"] == pending.scan_event_id


def test_pending_cases_are_answered_through_the_decision_api(client_in, entrance, scan):
    pending = scan(entrance, 2, doses=1, name="Komang Ayu")

    page = client_in.get(f"/door/{entrance.pk}/").content.decode()

    assert f'data-decision="approve" data-scan="{pending.scan_event_id}"' in page
    assert f'data-decision="deny" data-scan="{pending.scan_event_id}"' in page
    assert screen_config(page)["urls"]["decision"] == "/api/v1/scans/0/decision/"
    assert "/cases/" not in page
    assert client_in.post(f"/door/{entrance.pk}/cases/{pending.scan_event_id}/approve").status_code == 404


def test_screen_loads_its_script_and_styles_from_the_door_app(client_in, entrance):
    page = client_in.get(f"/door/{entrance.pk}/").content.decode()
    assert 'src="/static/door/door.js"' in page
    assert 'href="/static/door/door.css"' in page


def test_screen_speaks_indonesian_by_default(client_in, entrance):
    page = client_in.get(f"/door/{entrance.pk}/").content.decode()
    assert '<html lang="id">' in page


def test_polling_fallback_answers_events_and_state(client_in, entrance, scan):
    first = scan(entrance, 1)
    second = scan(entrance, 2)

    body = client_in.get(f"/door/{entrance.pk}/events.json?after={first.scan_event_id}").json()

    assert [e["id"] for e in body["events"]] == [second.scan_event_id]
    assert body["cursor"] == second.scan_event_id
    assert body["state"]["occupancy"]["inside"] == 2
    assert client_in.get(f"/door/{entrance.pk}/events.json?after={second.scan_event_id}").json()["events"] == []


# --- actions ------------------------------------------------------------------------------------------------------


def test_acknowledge_by_post(client_in, entrance):
    alert_id = black(entrance)

    response = ajax_post(client_in, f"/door/{entrance.pk}/alerts/{alert_id}/ack")

    assert response.status_code == 200 and response.json()["state"]["alerts"] == []
    assert ScanEvent.objects.get(pk=alert_id).alert_acknowledged_at is not None


def test_alert_from_another_door_is_not_found_here(client_in, entrance):
    alert_id = black(EntranceFactory(office=entrance.office))
    assert ajax_post(client_in, f"/door/{entrance.pk}/alerts/{alert_id}/ack").status_code == 404
    assert ScanEvent.objects.get(pk=alert_id).alert_acknowledged_at is None


def test_manual_checkin_by_post(client_in, entrance, officer):
    HealthStatusFactory(nik=nik_make(4), name="Ketut Kuning", doses=1)

    response = ajax_post(client_in, f"/door/{entrance.pk}/checkin", {"nik": nik_make(4), "name": "Ketut Kuning"})

    body = response.json()
    assert (body["outcome"], body["reason"], body["colour"]) == ("pending", "partially_vaccinated", "yellow")
    assert ScanEvent.objects.get().officer == officer


def test_manual_checkin_reports_bad_fields(client_in, entrance):
    response = ajax_post(client_in, f"/door/{entrance.pk}/checkin", {"nik": "123", "name": ""})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"nik", "name"}
    assert not ScanEvent.objects.exists()


def test_manual_checkin_rate_limit_answers_429(client_in, entrance, settings):
    settings.RATE_LIMIT_OFFICER = "1/m"
    ajax_post(client_in, f"/door/{entrance.pk}/checkin", {"nik": nik_make(4), "name": "Satu"})
    response = ajax_post(client_in, f"/door/{entrance.pk}/checkin", {"nik": nik_make(5), "name": "Dua"})
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1


def test_manual_checkout_search_and_post(client_in, entrance, scan):
    visit_id = scan(entrance, 1, name="I Made Wirawan").visit_id
    scan(entrance, 2, name="Ni Luh Sari")

    people = client_in.get(f"/door/{entrance.pk}/inside?q=wira").json()["people"]
    assert [(p["visit_id"], p["name"]) for p in people] == [(visit_id, "I Made Wirawan")]

    response = ajax_post(client_in, f"/door/{entrance.pk}/checkout", {"visit": visit_id})

    assert response.status_code == 200 and response.json()["people_out"] == 1
    assert Visit.objects.get(pk=visit_id).closed_by == "officer"
    assert ajax_post(client_in, f"/door/{entrance.pk}/checkout", {"visit": visit_id}).status_code == 409


def test_close_the_day_needs_confirmation(client_in, entrance, scan):
    scan(entrance, 1)
    scan(entrance, 2)
    url = f"/door/{entrance.pk}/close-day"

    assert ajax_post(client_in, url).status_code == 400
    assert Visit.objects.filter(checked_out_at__isnull=True).count() == 2
    response = ajax_post(client_in, url, {"confirm": "yes"})

    assert response.status_code == 200 and response.json()["people_out"] == 2
    assert not Visit.objects.filter(checked_out_at__isnull=True).exists()
    assert client_in.get(f"/door/{entrance.pk}/inside").json()["people"] == []


def test_plain_form_post_redirects_back_with_a_message(client_in, entrance):
    alert_id = black(entrance)
    response = client_in.post(f"/door/{entrance.pk}/alerts/{alert_id}/ack", follow=True)
    assert response.redirect_chain[-1][0] == f"/door/{entrance.pk}/"
    assert 'class="flash"' in response.content.decode()


def test_posts_need_csrf(entrance, officer, scan):
    client = Client(enforce_csrf_checks=True)
    client.force_login(officer)
    alert_id = black(entrance)
    scan(entrance, 1)
    assert client.post(f"/door/{entrance.pk}/alerts/{alert_id}/ack").status_code == 403
    assert client.post(f"/door/{entrance.pk}/close-day", {"confirm": "yes"}).status_code == 403
    assert ScanEvent.objects.get(pk=alert_id).alert_acknowledged_at is None
    assert Visit.objects.filter(checked_out_at__isnull=True).count() == 1
