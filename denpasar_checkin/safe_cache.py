"""Cache calls that degrade to a miss when Redis is down, so check-in keeps working from the database."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)


def cache_get_many(keys: Iterable[str]) -> dict[str, Any]:
    try:
        return cache.get_many(list(keys))
    except Exception:  # a broken cache must never break a check-in
        logger.warning("cache unavailable: get_many treated as a miss", exc_info=True)
        return {}


def cache_set(key: str, value: Any, timeout: int) -> None:
    try:
        cache.set(key, value, timeout=timeout)
    except Exception:
        logger.warning("cache unavailable: set skipped", exc_info=True)


def cache_delete_many(keys: Iterable[str]) -> None:
    try:
        cache.delete_many(list(keys))
    except Exception:
        logger.warning("cache unavailable: delete skipped", exc_info=True)


def cache_incr(key: str, timeout: int) -> int | None:
    """Count one hit in a fixed window; None when the cache is unavailable."""
    try:
        if cache.add(key, 1, timeout=timeout):
            return 1
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1
    except Exception:
        logger.warning("cache unavailable: counter skipped", exc_info=True)
        return None
