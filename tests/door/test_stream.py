"""The door screen's event stream: events after a cursor with their ids, Last-Event-ID, heartbeats and a bounded
life under WSGI, an async generator under ASGI, and the Redis wake-up."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connections
from django.test import AsyncClient

from door.selectors import door_cursor_latest
from door.stream import DoorFeed, StreamConfig, door_stream_async, door_stream_sync
from tests.factories import HealthStatusFactory, nik_make
from visitors.events import scan_event_announce
from visitors.services import visit_checkin

pytestmark = pytest.mark.django_db


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


def test_stream_sends_events_after_the_cursor_with_their_ids(client_in, entrance, scan, short_streams):
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


def test_last_event_id_wins_over_the_first_cursor(client_in, entrance, scan, short_streams):
    ids = [scan(entrance, n).scan_event_id for n in (1, 2, 3)]

    response = client_in.get(f"/door/{entrance.pk}/events?after=0", HTTP_LAST_EVENT_ID=str(ids[1]))

    scans = [m["id"] for m in parse_sse(b"".join(response.streaming_content).decode()) if m["event"] == "scan"]
    assert scans == [ids[2]]


def test_stream_without_a_cursor_starts_now(client_in, entrance, scan, short_streams):
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


def test_stream_under_asgi_is_an_async_generator(entrance, officer, scan, settings):
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
