"""Door-screen wake-ups: after a scan commits, tell listeners of that entrance over Redis pub/sub.

The ScanEvent table is the source of truth (screens read it by id cursor); a lost message only delays a screen
until its next poll, so publishing is best effort.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import redis
from django.conf import settings

logger = logging.getLogger(__name__)


def door_channel(entrance_id: int) -> str:
    return f"door:entrance:{entrance_id}"


@lru_cache(maxsize=4)
def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)


def scan_event_announce(*, event_id: int, entrance_id: int) -> bool:
    """Publish the new event id on the entrance's channel; False when there is no Redis or it is down."""
    if not settings.REDIS_URL:
        return False
    try:
        _redis_client(settings.REDIS_URL).publish(door_channel(entrance_id), str(event_id))
    except Exception:  # the screens fall back to polling the table
        logger.warning("door event publish failed for entrance %s", entrance_id, exc_info=True)
        return False
    return True
