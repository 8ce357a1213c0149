"""The door screen's server-sent events: scans after an id cursor, the screen state, heartbeats, a bounded lifetime.

The ScanEvent table is the truth and its id the cursor: every scan goes out with `id: <ScanEvent id>`, so the
browser's Last-Event-ID on reconnect resumes exactly after the last card it showed. Redis pub/sub only wakes a
listener up to re-read the table; without Redis the stream polls. Two drivers share one reader:

- `door_stream_async` for ASGI (production: gunicorn + uvicorn workers); an open screen costs no worker thread.
- `door_stream_sync` for WSGI (`manage.py runserver`, the test live server), which would otherwise consume an async
  iterator into a list forever.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import redis.asyncio as redis_asyncio
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.utils import translation

from visitors.events import door_channel

from .selectors import EVENT_BATCH, door_events_after, door_state

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamConfig:
    max_seconds: float  # the server ends each stream after this; the browser reconnects with Last-Event-ID
    heartbeat_seconds: float  # a comment line keeps proxies from closing an idle stream
    poll_seconds: float  # how often to re-read the table when nothing woke us (no Redis, or a lost message)
    state_seconds: float  # how often to refresh the gauge, which check-ins at the office's other doors change
    retry_ms: int  # the browser's reconnect delay

    @classmethod
    def from_settings(cls) -> StreamConfig:
        return cls(
            max_seconds=float(settings.DOOR_STREAM_MAX_SECONDS),
            heartbeat_seconds=float(settings.DOOR_STREAM_HEARTBEAT_SECONDS),
            poll_seconds=float(settings.DOOR_STREAM_POLL_SECONDS),
            state_seconds=float(settings.DOOR_STREAM_STATE_SECONDS),
            retry_ms=int(settings.DOOR_STREAM_RETRY_MS),
        )

    def lifetime(self) -> float:
        # A little jitter so the screens that opened together do not all reconnect in the same second.
        return self.max_seconds * random.uniform(0.9, 1.0)


def sse_message(*, data: str, event: str | None = None, event_id: int | None = None) -> str:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event:
        lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in data.splitlines() or [""])
    return "\n".join(lines) + "\n\n"


HEARTBEAT = ": keep-alive\n\n"


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class DoorFeed:
    """Reads what a screen has not seen yet and formats it; one per open stream, used from one thread at a time."""

    def __init__(self, *, entrance_id: int, office_id: int, after: int, language: str, state_seconds: float):
        self.entrance_id = entrance_id
        self.office_id = office_id
        self.cursor = after
        self.language = language
        self.state_seconds = state_seconds
        self._state: dict[str, Any] | None = None
        self._state_read_at = float("-inf")

    def read(self, *, force_state: bool = False) -> str:
        """New scans (each with its id) and, when it changed, the screen state; '' when there is nothing."""
        parts: list[str] = []
        # The labels on the cards follow the screen's language, not whatever the worker last served.
        with translation.override(self.language):
            while True:
                batch = door_events_after(entrance_id=self.entrance_id, after=self.cursor)
                for card in batch:
                    parts.append(sse_message(event="scan", event_id=card["id"], data=_json(card)))
                    self.cursor = card["id"]
                if len(batch) < EVENT_BATCH:
                    break
            now = time.monotonic()
            if parts or force_state or now - self._state_read_at >= self.state_seconds:
                self._state_read_at = now
                state = door_state(entrance_id=self.entrance_id, office_id=self.office_id)
                if state != self._state:
                    self._state = state
                    parts.append(sse_message(event="state", data=_json(state)))
        return "".join(parts)

    def read_then_release(self, *, force_state: bool = False, release: bool = False) -> str:
        """As read(); with `release`, give the database connection back afterwards.

        Streams give their connection back after every read: with the per-process pool that is cheap, and a
        screen that kept one would starve the pool (20 open screens stalled check-ins for seconds in the bench).
        """
        try:
            return self.read(force_state=force_state)
        finally:
            if release and not connection.in_atomic_block:
                connection.close()


def door_stream_sync(feed: DoorFeed, config: StreamConfig) -> Iterator[str]:
    """WSGI: poll the table. Holds a thread per screen, which is what the development server has plenty of."""
    started = time.monotonic()
    deadline = started + config.lifetime()
    next_heartbeat = started + config.heartbeat_seconds
    yield f"retry: {config.retry_ms}\n\n" + feed.read(force_state=True)
    while True:
        now = time.monotonic()
        if now >= deadline:
            return
        time.sleep(max(0.0, min(config.poll_seconds, deadline - now, next_heartbeat - now)))
        chunk = feed.read()
        if time.monotonic() >= next_heartbeat:
            chunk += HEARTBEAT
            next_heartbeat = time.monotonic() + config.heartbeat_seconds
        if chunk:
            yield chunk


async def _subscribe(entrance_id: int):
    """A pub/sub subscription to the entrance's wake-ups, or None without Redis (then the stream just polls)."""
    if not settings.REDIS_URL:
        return None
    client = redis_asyncio.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(door_channel(entrance_id))
    except Exception:
        logger.warning("door stream: Redis unavailable, polling instead", exc_info=True)
        await _unsubscribe(pubsub)
        return None
    return pubsub


async def _unsubscribe(pubsub) -> None:
    try:
        await pubsub.aclose()
        await pubsub.connection_pool.disconnect()
    except Exception:  # closing a broken connection must not turn a normal end into an error
        logger.debug("door stream: closing Redis failed", exc_info=True)


async def _woken(pubsub, timeout: float) -> bool:
    """Wait up to `timeout` for a wake-up; True when one came. Several queued wake-ups count as one re-read."""
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
    if message is None:
        return False
    while await pubsub.get_message(ignore_subscribe_messages=True, timeout=0) is not None:
        pass
    return True


async def door_stream_async(feed: DoorFeed, config: StreamConfig) -> AsyncIterator[str]:
    """ASGI: sleep on Redis pub/sub between reads; the table is re-read on every wake-up and every poll interval."""
    started = time.monotonic()
    deadline = started + config.lifetime()
    next_heartbeat = started + config.heartbeat_seconds
    read = sync_to_async(feed.read_then_release)
    # Subscribe before the first read, so a scan committed in between still wakes us.
    pubsub = await _subscribe(feed.entrance_id)
    # With Redis a wake-up is the normal path and the poll only a safety net against a lost message.
    poll = max(config.poll_seconds, 5.0) if pubsub is not None else max(config.poll_seconds, 1.0)
    try:
        yield f"retry: {config.retry_ms}\n\n" + await read(force_state=True, release=True)
        while True:
            now = time.monotonic()
            if now >= deadline:
                return
            timeout = max(0.0, min(poll, deadline - now, next_heartbeat - now))
            woke = False
            if pubsub is None:
                await asyncio.sleep(timeout)
            else:
                try:
                    woke = await _woken(pubsub, timeout)
                except Exception:
                    logger.warning("door stream: lost Redis, polling instead", exc_info=True)
                    await _unsubscribe(pubsub)
                    pubsub = None
                    poll = max(config.poll_seconds, 1.0)
            chunk = await read(force_state=woke, release=True)
            if time.monotonic() >= next_heartbeat:
                chunk += HEARTBEAT
                next_heartbeat = time.monotonic() + config.heartbeat_seconds
            if chunk:
                yield chunk
    finally:
        if pubsub is not None:
            await _unsubscribe(pubsub)
        await sync_to_async(_release_connection)()


def _release_connection() -> None:
    if not connection.in_atomic_block:
        connection.close()
