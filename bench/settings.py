"""Benchmark-only settings: the production settings, plus the bare and floor endpoints of bench.urls.

Two switches exist for measuring fixes before they land (python -m bench --db-pool N / --shared-redis-pool);
without them this is exactly the production configuration.
"""

import os

from denpasar_checkin.settings import *  # noqa: F403
from denpasar_checkin.settings import CACHES, DATABASES

# The benchmark endpoints exist only here: no deployment loads this module.
ROOT_URLCONF = "bench.urls"

# Django's own PostgreSQL pool (psycopg 3 only): one pool per worker process, shared by the per-request threads
# that ASGI runs sync views in, instead of a new connection per request.
if os.environ.get("BENCH_DB_POOL"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": int(os.environ["BENCH_DB_POOL"]),
        "timeout": 10,
    }

# One Redis connection pool per process instead of one per request (the cache handler is per request under ASGI).
if os.environ.get("BENCH_SHARED_REDIS_POOL") and "OPTIONS" in CACHES["default"]:
    CACHES["default"]["OPTIONS"]["pool_class"] = "bench.cache.SharedConnectionPool"

# Run the middleware chain in one thread (see bench/middleware.py).
if os.environ.get("BENCH_SYNC_MIDDLEWARE"):
    MIDDLEWARE = [*MIDDLEWARE, "bench.middleware.SyncOnlyMiddleware"]  # noqa: F405
