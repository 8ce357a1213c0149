"""A Redis connection pool shared by the whole process.

Django's RedisCache builds its pool per cache object, and under ASGI the cache handler makes a cache object per
request, so every request opens a Redis connection. Returning one pool per URL and options from from_url() keeps
the connections open across requests; redis-py's pool already re-creates itself after a fork.
"""

from __future__ import annotations

import threading

import redis


class SharedConnectionPool(redis.ConnectionPool):
    _shared: dict[tuple, redis.ConnectionPool] = {}
    _lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs) -> redis.ConnectionPool:
        key = (url, tuple(sorted((name, repr(value)) for name, value in kwargs.items())))
        with cls._lock:
            pool = cls._shared.get(key)
            if pool is None:
                pool = cls._shared[key] = super().from_url(url, **kwargs)
            return pool
