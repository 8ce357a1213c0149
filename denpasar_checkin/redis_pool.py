"""A Redis cache backend whose connection pool and client are shared by the whole process.

Django's RedisCache builds its pool per cache object, and under ASGI the cache handler makes a cache object per
request, so every request would open a Redis connection. It also builds a new redis.Redis client on every call,
which costs more CPU than the round trip itself (redis-py fills a table of ~200 reply callbacks per client).
Here one pool per URL and options, and one client per pool, serve every request; redis-py's pool already
re-creates its connections after a fork.
"""

from __future__ import annotations

import threading

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient


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


class SharedClientCacheClient(RedisCacheClient):
    # Keyed by the pool itself: the shared pools live as long as the process, so this never grows past them.
    _clients: dict[redis.ConnectionPool, redis.Redis] = {}
    _lock = threading.Lock()

    def get_client(self, key=None, *, write=False) -> redis.Redis:
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            with self._lock:
                client = self._clients.setdefault(pool, self._client(connection_pool=pool))
        return client


class SharedRedisCache(RedisCache):
    """Django's RedisCache with the process-wide pool and client (settings: CACHES BACKEND)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedClientCacheClient
        self._options = {"pool_class": SharedConnectionPool, **self._options}

    def validate_key(self, key: str) -> None:
        # Django's check warns about keys memcached would refuse (over 250 characters, spaces, control characters),
        # walking every character of every key; Redis keys are binary-safe and this cache is only ever Redis.
        return None
