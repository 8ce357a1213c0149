"""The door list (/door/), the officer's home: each entrance's live state (its office's occupancy, pending cases,
open alerts, live QR or poster) with the links to its screen and kiosk, in a few queries however many doors."""

from __future__ import annotations

import re

import pytest

from door.selectors import door_list_state
from door.services import alert_acknowledge, scan_deny
from offices.access import door_entrances_for_user
from tests.factories import EntranceFactory, HealthStatusFactory, UserFactory, nik_make
from visitors.models import ScanEvent
from visitors.services import visit_checkin

pytestmark = pytest.mark.django_db


def door_item(page: str, entrance) -> str:
    """The list item of one entrance."""
    match = re.search(rf'<li class="door-item" data-entrance-state="{entrance.pk}".*?</li>', page, re.DOTALL)
    assert match, f"no list item for entrance {entrance.pk}"
    return match.group(0)


def black(entrance, n: int) -> None:
    HealthStatusFactory(nik=nik_make(n), name="Wayan Hitam", case_status="positive", isolated_until="2099-01-01")
    visit_checkin(entrance_code=entrance.code, nik=nik_make(n), name="Wayan Hitam")


def test_list_shows_the_offices_occupancy_against_its_effective_capacity(client_in, entrance, scan):
    scan(entrance, 1)
    scan(entrance, 2)

    page = client_in.get("/door/").content.decode()

    assert 'data-occupancy="2" data-capacity="10"' in page


def test_list_counts_each_doors_pending_cases_and_open_alerts(client_in, entrance, scan):
    side = EntranceFactory(office=entrance.office, name="Pintu Samping")
    scan(entrance, 1, doses=1)
    scan(entrance, 2, doses=1)
    black(entrance, 3)
    scan(side, 4)  # admitted: nothing to do

    page = client_in.get("/door/").content.decode()

    assert 'data-pending="2" data-alerts="1"' in door_item(page, entrance)
    assert 'data-pending="0" data-alerts="0"' in door_item(page, side)


def test_answered_cases_and_acknowledged_alerts_are_not_counted(entrance, scan, officer):
    pending = scan(entrance, 1, doses=1)
    black(entrance, 3)
    alert = ScanEvent.objects.get(entrance=entrance, alert=True)
    scan_deny(scan_event_id=pending.scan_event_id, officer=officer, reason_note="Belum vaksin kedua")
    alert_acknowledge(scan_event_id=alert.pk, officer=officer)

    [office] = door_list_state(entrances=list(door_entrances_for_user(officer)))

    assert (office["entrances"][0]["pending"], office["entrances"][0]["alerts"]) == (0, 0)


def test_live_qr_door_links_its_kiosk_and_poster_door_its_poster(client_in, entrance):
    entrance.live_qr = True
    entrance.save()
    poster = EntranceFactory(office=entrance.office, name="Pintu Samping", live_qr=False)

    page = client_in.get("/door/").content.decode()

    live_item, poster_item = door_item(page, entrance), door_item(page, poster)
    assert f'href="/door/{entrance.pk}/"' in live_item
    assert f'href="/door/{entrance.pk}/kiosk/"' in live_item
    assert f'href="/door/{poster.pk}/"' in poster_item
    assert "/kiosk/" not in poster_item
    assert f'href="/offices/entrances/{poster.pk}/poster.pdf"' in poster_item


def test_list_groups_doors_by_office(client, entrance):
    other = EntranceFactory(office__name="Dinas Pendidikan", name="Pintu Depan")
    client.force_login(UserFactory(is_superuser=True))

    page = client.get("/door/").content.decode()

    assert page.count('<section class="office"') == 2
    assert f'data-office="{entrance.office_id}"' in page and f'data-office="{other.office_id}"' in page


def test_list_query_count_does_not_grow_with_doors(client, django_assert_max_num_queries):
    for _ in range(6):
        EntranceFactory(live_qr=True)
    client.force_login(UserFactory(is_superuser=True))

    # Session, user, groups, entrances, offices' occupancy, open cases, today's level (cached after the first read).
    with django_assert_max_num_queries(10):
        response = client.get("/door/")

    assert response.status_code == 200
    assert response.content.decode().count('class="door-item"') == 6


def test_list_is_never_cached(client_in):
    assert "no-cache" in client_in.get("/door/")["Cache-Control"]
