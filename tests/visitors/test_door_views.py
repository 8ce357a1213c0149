"""The door console over HTTP: access and scope, the screen, the event stream (WSGI and ASGI), the polling
fallback, the events API, the officer's POSTs, and the Redis wake-up."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connections
from django.test import AsyncClient, Client

from offices.models import AuditEvent
from tests.factories import EntranceFactory, HealthStatusFactory, UserFactory, nik_make
from visitors.door_selectors import door_cursor_latest
from visitors.events import scan_event_announce
from visitors.models import ScanEvent, Visit
from visitors.services import visit_checkin
from visitors.stream import DoorFeed, StreamConfig, door_stream_async, door_stream_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def entrance():
    return EntranceFactory(office__name="Dinas Kesehatan", office__capacity=10, name="Pintu Utama")


@pytest.fixture
def officer(entrance):
    return UserFactory(roles=["Petugas"], offices=[entrance.office])


@pytest.fixture
def client_in(client, officer):
    client.force_login(officer)
    return client


@pytest.fixture
def short_streams(settings):
    """Streams that end right after their first read, so a test can read the whole body."""
    settings.DOOR_STREAM_MAX_SECONDS = 0
    settings.DOOR_STREAM_HEARTBEAT_SECONDS = 15


def scan(entrance, n: int, *, doses: int = 2, name: str = "Made Wirawan"):
    HealthStatusFactory(nik=nik_make(n), name=name, doses=doses)
    return visit_checkin(entrance_code=entrance.code, nik=nik_make(n), name=name)


def parse_sse(text: str) -> list[dict]:
    """SSE text -> messages with their id, event and JSON data (comments and retry lines are dropped)."""
    messages = []
    for block in text.split("\n\n"):
        fields = {}
        for line in block.splitlines():
            if line.startswith(":") or ": " not in line:
                continue
            key, value = line.split(": ", 1)
            fields[key] = value
        if "data" in fields:
            messages.append(
                {
                    "id": int(fields["id"]) if "id" in fields else None,
                    "event": fields.get("event"),
                    "data": json.loads(fields["data"]),
                }
            )
    return messages


def ajax_post(client, url, data=None):
    return client.post(url, data or {}, HTTP_ACCEPT="application/json")


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
        ("post", "{id}/cases/{case}/approve"),
        ("post", "{id}/cases/{case}/deny"),
        ("post", "{id}/alerts/{case}/ack"),
    ],
)
def test_officer_of_another_office_gets_403(client, entrance, method, suffix, short_streams):
    other = EntranceFactory(office__name="Dinas Lain")
    case = scan(other, 1, doses=1)
    client.force_login(UserFactory(roles=["Petugas"], offices=[entrance.office]))

    response = getattr(client, method)("/door/" + suffix.format(id=other.pk, case=case.scan_event_id))

    assert response.status_code == 403
    assert not Visit.objects.exists()


def test_api_events_of_another_office_is_403(client, entrance):
    other = EntranceFactory(office__name="Dinas Lain")
    scan(other, 1)
    client.force_login(UserFactory(roles=["Petugas"], offices=[entrance.office]))
    assert client.get(f"/api/v1/entrances/{other.pk}/events/").status_code == 403
    assert client.get("/api/v1/entrances/999999/events/").status_code == 403


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


def test_screen_shows_cards_gauge_and_queue(client_in, entrance):
    admitted = scan(entrance, 1, name="I Made Wirawan")
    pending = scan(entrance, 2, doses=1, name="Komang Ayu")

    response = client_in.get(f"/door/{entrance.pk}/", HTTP_ACCEPT_LANGUAGE="en")

    page = response.content.decode()
    assert response.status_code == 200
    assert f'data-event-id="{admitted.scan_event_id}" data-outcome="admitted" data-reason="ok"' in page
    assert f'data-event-id="{pending.scan_event_id}" data-outcome="pending" data-reason="partially_vaccinated"' in page
    assert f'data-case-id="{pending.scan_event_id}"' in page
    assert 'data-occupancy="1" data-capacity="10"' in page
    assert "I M*** W***" in page and "I Made Wirawan" not in page
    assert nik_make(1) not in page
    config = json.loads(page.split('<script id="door-config" type="application/json">')[1].split("</script>")[0])
    assert config["cursor"] == pending.scan_event_id


def test_screen_speaks_indonesian_by_default(client_in, entrance):
    page = client_in.get(f"/door/{entrance.pk}/").content.decode()
    assert '<html lang="id">' in page


# --- stream and polling -------------------------------------------------------------------------------------------


def test_stream_sends_events_after_the_cursor_with_their_ids(client_in, entrance, short_streams):
    first = scan(entrance, 1)
    second = scan(entrance, 2, doses=1, name="Komang Ayu")

    response = client_in.get(f"/door/{entrance.pk}/events?after={first.scan_event_id}")

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["Cache-Control"].startswith("no-cache")
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("retry: ")
    messages = parse_sse(text)
    scans = [m for m in messages if m["event"] == "scan"]
    assert [(m["id"], m["data"]["outcome"], m["data"]["reason"]) for m in scans] == [
        (second.scan_event_id, "pending", "partially_vaccinated")
    ]
    state = [m["data"] for m in messages if m["event"] == "state"][-1]
    assert state["occupancy"]["inside"] == 1 and state["occupancy"]["effective_capacity"] == 10
    assert [c["id"] for c in state["pending"]] == [second.scan_event_id]


def test_last_event_id_wins_over_the_first_cursor(client_in, entrance, short_streams):
    ids = [scan(entrance, n).scan_event_id for n in (1, 2, 3)]

    response = client_in.get(f"/door/{entrance.pk}/events?after=0", HTTP_LAST_EVENT_ID=str(ids[1]))

    scans = [m["id"] for m in parse_sse(b"".join(response.streaming_content).decode()) if m["event"] == "scan"]
    assert scans == [ids[2]]


def test_stream_without_a_cursor_starts_now(client_in, entrance, short_streams):
    scan(entrance, 1)
    response = client_in.get(f"/door/{entrance.pk}/events")
    assert [m for m in parse_sse(b"".join(response.streaming_content).decode()) if m["event"] == "scan"] == []


def test_sync_stream_polls_heartbeats_and_ends(entrance):
    feed = DoorFeed(entrance_id=entrance.pk, office_id=entrance.office_id, after=0, language="en", state_seconds=5)
    config = StreamConfig(max_seconds=0.5, heartbeat_seconds=0.1, poll_seconds=0.05, state_seconds=5, retry_ms=1500)

    started = time.monotonic()
    chunks = list(door_stream_sync(feed, config))

    assert time.monotonic() - started < 2
    assert chunks[0].startswith("retry: 1500\n\n")
    assert any(": keep-alive" in chunk for chunk in chunks)


def test_stream_under_asgi_is_an_async_generator(entrance, officer, settings):
    """Under ASGI the view must hand Django an async iterator, so an open screen holds no worker thread."""
    settings.DOOR_STREAM_MAX_SECONDS = 30
    first = scan(entrance, 1)
    second = scan(entrance, 2, doses=1, name="Komang Ayu")

    async def run():
        client = AsyncClient()
        await client.aforce_login(officer)
        response = await client.get(f"/door/{entrance.pk}/events?after={first.scan_event_id}")
        assert response.status_code == 200 and response.is_async
        text = ""
        iterator = aiter(response.streaming_content)
        while "event: state" not in text:
            text += (await asyncio.wait_for(anext(iterator), 5)).decode()
        await iterator.aclose()
        return text

    text = async_to_sync(run)()
    scans = [m for m in parse_sse(text) if m["event"] == "scan"]
    assert [(m["id"], m["data"]["outcome"]) for m in scans] == [(second.scan_event_id, "pending")]


def test_wsgi_stream_is_a_plain_generator(client_in, entrance, short_streams):
    response = client_in.get(f"/door/{entrance.pk}/events")
    assert not response.is_async


def test_polling_fallback_answers_events_and_state(client_in, entrance):
    first = scan(entrance, 1)
    second = scan(entrance, 2)

    body = client_in.get(f"/door/{entrance.pk}/events.json?after={first.scan_event_id}").json()

    assert [e["id"] for e in body["events"]] == [second.scan_event_id]
    assert body["cursor"] == second.scan_event_id
    assert body["state"]["occupancy"]["inside"] == 2
    assert client_in.get(f"/door/{entrance.pk}/events.json?after={second.scan_event_id}").json()["events"] == []


# --- the events API -----------------------------------------------------------------------------------------------


def test_api_events_after_a_cursor(client_in, entrance):
    first = scan(entrance, 1)
    second = scan(entrance, 2, doses=0, name="Nyoman Merah")

    response = client_in.get(f"/api/v1/entrances/{entrance.pk}/events/?after={first.scan_event_id}")

    assert response.status_code == 200
    assert [(e["id"], e["outcome"], e["reason"], e["colour"]) for e in response.json()] == [
        (second.scan_event_id, "denied", "not_vaccinated", "red")
    ]
    assert client_in.get(f"/api/v1/entrances/{entrance.pk}/events/?after=x").status_code == 400


def test_api_events_need_a_login_and_404_only_for_city_wide_users(client, entrance):
    assert client.get(f"/api/v1/entrances/{entrance.pk}/events/").status_code in (401, 403)
    client.force_login(UserFactory(is_superuser=True))
    assert client.get("/api/v1/entrances/999999/events/").status_code == 404


# --- actions ------------------------------------------------------------------------------------------------------


def test_approve_by_post(client_in, entrance, officer):
    case = scan(entrance, 2, doses=1, name="Komang Ayu")

    response = ajax_post(client_in, f"/door/{entrance.pk}/cases/{case.scan_event_id}/approve")

    body = response.json()
    assert response.status_code == 200
    assert (body["outcome"], body["reason"]) == ("admitted", "ok")
    assert body["state"]["pending"] == [] and body["state"]["occupancy"]["inside"] == 1
    assert AuditEvent.objects.get(action="scan.approved").actor == officer


def test_approve_at_full_capacity_by_post_is_refused(client_in, entrance):
    entrance.office.capacity = 1
    entrance.office.save()
    scan(entrance, 1)
    case = scan(entrance, 2, doses=1, name="Komang Ayu")

    body = ajax_post(client_in, f"/door/{entrance.pk}/cases/{case.scan_event_id}/approve").json()

    assert (body["outcome"], body["reason"]) == ("denied", "capacity_full")
    assert [c["id"] for c in body["state"]["pending"]] == [case.scan_event_id]


def test_deny_by_post_needs_a_reason(client_in, entrance):
    case = scan(entrance, 2, doses=1, name="Komang Ayu")
    url = f"/door/{entrance.pk}/cases/{case.scan_event_id}/deny"

    assert ajax_post(client_in, url).status_code == 400
    response = ajax_post(client_in, url, {"reason_note": "Identity does not match"})

    assert response.status_code == 200 and response.json()["outcome"] == "denied"
    assert AuditEvent.objects.filter(action="scan.denied").count() == 1


def test_case_from_another_door_is_not_found_here(client_in, entrance):
    other_door = EntranceFactory(office=entrance.office)
    case = scan(other_door, 2, doses=1, name="Komang Ayu")
    assert ajax_post(client_in, f"/door/{entrance.pk}/cases/{case.scan_event_id}/approve").status_code == 404


def test_second_answer_is_a_conflict(client_in, entrance):
    case = scan(entrance, 2, doses=1, name="Komang Ayu")
    url = f"/door/{entrance.pk}/cases/{case.scan_event_id}/approve"
    ajax_post(client_in, url)
    response = ajax_post(client_in, url)
    assert response.status_code == 409 and response.json()["code"] == "case_closed"


def test_acknowledge_by_post(client_in, entrance):
    HealthStatusFactory(nik=nik_make(9), name="Wayan Hitam", case_status="positive", isolated_until="2099-01-01")
    alert = visit_checkin(entrance_code=entrance.code, nik=nik_make(9), name="Wayan Hitam")

    response = ajax_post(client_in, f"/door/{entrance.pk}/alerts/{alert.scan_event_id}/ack")

    assert response.status_code == 200 and response.json()["state"]["alerts"] == []
    assert ScanEvent.objects.get(pk=alert.scan_event_id).alert_acknowledged_at is not None


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


def test_manual_checkout_search_and_post(client_in, entrance):
    visit_id = scan(entrance, 1, name="I Made Wirawan").visit_id
    scan(entrance, 2, name="Ni Luh Sari")

    people = client_in.get(f"/door/{entrance.pk}/inside?q=wira").json()["people"]
    assert [(p["visit_id"], p["name"]) for p in people] == [(visit_id, "I M*** W***")]

    response = ajax_post(client_in, f"/door/{entrance.pk}/checkout", {"visit": visit_id})

    assert response.status_code == 200 and response.json()["people_out"] == 1
    assert Visit.objects.get(pk=visit_id).closed_by == "officer"
    assert ajax_post(client_in, f"/door/{entrance.pk}/checkout", {"visit": visit_id}).status_code == 409


def test_close_the_day_needs_confirmation(client_in, entrance):
    scan(entrance, 1)
    scan(entrance, 2)
    url = f"/door/{entrance.pk}/close-day"

    assert ajax_post(client_in, url).status_code == 400
    assert Visit.objects.filter(checked_out_at__isnull=True).count() == 2
    response = ajax_post(client_in, url, {"confirm": "yes"})

    assert response.status_code == 200 and response.json()["people_out"] == 2
    assert not Visit.objects.filter(checked_out_at__isnull=True).exists()


def test_plain_form_post_redirects_back_with_a_message(client_in, entrance):
    case = scan(entrance, 2, doses=1, name="Komang Ayu")
    response = client_in.post(f"/door/{entrance.pk}/cases/{case.scan_event_id}/approve", follow=True)
    assert response.redirect_chain[-1][0] == f"/door/{entrance.pk}/"
    assert 'class="flash"' in response.content.decode()


def test_posts_need_csrf(entrance, officer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(officer)
    case = scan(entrance, 2, doses=1, name="Komang Ayu")
    assert client.post(f"/door/{entrance.pk}/cases/{case.scan_event_id}/approve").status_code == 403
    assert client.post(f"/door/{entrance.pk}/close-day", {"confirm": "yes"}).status_code == 403
    assert not Visit.objects.exists()


# --- Redis wake-up ------------------------------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_redis_wakes_the_async_stream_long_before_its_poll(require_redis, entrance):
    """A check-in's after-commit publish wakes a sleeping async stream; the poll interval alone would take 30 s."""
    HealthStatusFactory(nik=nik_make(1), name="Made Wirawan", doses=2)
    feed = DoorFeed(
        entrance_id=entrance.pk,
        office_id=entrance.office_id,
        after=door_cursor_latest(entrance_id=entrance.pk),
        language="en",
        state_seconds=60,
    )
    config = StreamConfig(max_seconds=60, heartbeat_seconds=60, poll_seconds=30, state_seconds=60, retry_ms=1000)

    async def run():
        stream = door_stream_async(feed, config)
        first = await anext(stream)
        assert first.startswith("retry: ")
        await asyncio.sleep(0.2)  # the stream is now asleep on pub/sub
        started = time.monotonic()
        await sync_to_async(visit_checkin)(entrance_code=entrance.code, nik=nik_make(1), name="Made Wirawan")
        chunk = await asyncio.wait_for(anext(stream), 5)
        elapsed = time.monotonic() - started
        await stream.aclose()
        return chunk, elapsed

    try:
        chunk, elapsed = async_to_sync(run)()
    finally:
        connections.close_all()
    scans = [m for m in parse_sse(chunk) if m["event"] == "scan"]
    assert [(m["data"]["outcome"], m["data"]["reason"]) for m in scans] == [("admitted", "ok")]
    assert elapsed < 2


@pytest.mark.redis
def test_announce_reaches_redis(require_redis, entrance):
    import redis

    client = redis.Redis.from_url(require_redis)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(f"door:entrance:{entrance.pk}")
    pubsub.get_message(timeout=1)
    assert scan_event_announce(event_id=42, entrance_id=entrance.pk)
    message = pubsub.get_message(timeout=2)
    pubsub.close()
    assert message and message["data"] == b"42"
