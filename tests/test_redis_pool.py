"""The Redis cache backend: one pool and one client per process, however many cache objects ASGI makes."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import caches


@pytest.fixture
def shared_cache(settings, require_redis):
    settings.CACHES = {
        "default": {
            "BACKEND": "denpasar_checkin.redis_pool.SharedRedisCache",
            "LOCATION": require_redis,
            "KEY_PREFIX": "pool-test",
            # Options no other test uses, so the process-wide pool for them starts empty here.
            "OPTIONS": {"socket_connect_timeout": 0.61, "socket_timeout": 0.61},
        }
    }
    yield


def _cache_in_another_thread():
    # The cache handler keeps one cache object per thread (and per asyncio context), as each ASGI request gets.
    found = []
    thread = threading.Thread(target=lambda: found.append(caches["default"]))
    thread.start()
    thread.join()
    return found[0]


def test_cache_objects_of_different_requests_share_one_client_and_pool(shared_cache):
    here, there = caches["default"], _cache_in_another_thread()
    assert here is not there
    client_here, client_there = here._cache.get_client(), there._cache.get_client(write=True)  # noqa: SLF001
    assert client_here is client_there
    assert client_here.connection_pool is client_there.connection_pool


def test_shared_client_reads_and_writes_through_django_cache_api(shared_cache):
    here, there = caches["default"], _cache_in_another_thread()
    here.set("answer", {"colour": "green"}, timeout=30)
    assert there.get("answer") == {"colour": "green"}
    assert there.get_many(["answer", "missing"]) == {"answer": {"colour": "green"}}
    there.delete("answer")
    assert here.get("answer") is None


def test_many_requests_reuse_the_pool_connections(shared_cache):
    cache_objects = [_cache_in_another_thread() for _ in range(20)]
    for index, cache_object in enumerate(cache_objects):
        cache_object.set(f"k{index}", index, timeout=30)
    pool = cache_objects[0]._cache.get_client().connection_pool  # noqa: SLF001
    # Sequential requests need one connection between them; a per-request pool would have opened twenty.
    assert len(pool._available_connections) + len(pool._in_use_connections) == 1  # noqa: SLF001


def test_keys_memcached_would_refuse_are_fine_for_redis(shared_cache, recwarn):
    key = "status of " + "x" * 300  # a space and over 250 characters: Django's memcached check would warn on both
    caches["default"].set(key, "kept", timeout=30)
    assert caches["default"].get(key) == "kept"
    caches["default"].delete(key)
    assert not [w for w in recwarn if "memcache" in str(w.message).lower() or "CacheKeyWarning" in w.category.__name__]
