"""Measurements inside this process: SQL statements per check-in, through the service itself."""

from __future__ import annotations

import random
import secrets
import statistics
from collections import Counter

from django.db import connection
from django.test.utils import CaptureQueriesContext

from visitors.services import visit_checkin

from .load import BenchData
from .people import name_for, nik_for, phone_for

_NOT_STATEMENTS = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def queries_per_checkin(*, data: BenchData, calls: int = 300, seed: int = 8) -> dict:
    """Statements (without BEGIN/COMMIT/savepoints) per visit_checkin of random people at random entrances."""
    rng = random.Random(seed)
    codes = data.regular_codes
    per_call: list[int] = []
    by_outcome: dict[str, list[int]] = {}
    for _ in range(calls):
        i = rng.randrange(data.people)
        with CaptureQueriesContext(connection) as captured:
            result = visit_checkin(
                entrance_code=rng.choice(codes),
                nik=nik_for(i),
                name=name_for(i),
                phone=phone_for(i),
                nonce=secrets.token_urlsafe(12),
            )
        statements = [q for q in captured.captured_queries if not q["sql"].upper().startswith(_NOT_STATEMENTS)]
        per_call.append(len(statements))
        by_outcome.setdefault(f"{result.outcome}/{result.reason}", []).append(len(statements))
    return {
        "mean": round(statistics.fmean(per_call), 2),
        "max": max(per_call),
        "calls": calls,
        "histogram": dict(sorted(Counter(per_call).items())),
        "by_outcome": {key: round(statistics.fmean(values), 2) for key, values in sorted(by_outcome.items())},
    }


def _profile_bucket(filename: str, func: str) -> str:
    if filename == "~":
        if "psycopg" in func:
            return "db: driver, waiting for PostgreSQL"
        if "socket" in func or "recv" in func or "send" in func:
            return "cache: redis round trip"
        if "hashlib" in func or "hmac" in func or "_openssl" in func or "cryptography" in func:
            return "crypto and hashing"
        return "other python (stdlib, json, logging)"
    path = filename.replace("\\", "/")
    for part, bucket in (
        ("/psycopg/", "db: driver, waiting for PostgreSQL"),
        ("/redis/", "cache: redis client"),
        ("/cryptography/", "crypto and hashing"),
        ("hmac.py", "crypto and hashing"),
        ("hashlib.py", "crypto and hashing"),
        ("denpasar_checkin/nik.py", "crypto and hashing"),
        ("/django/db/", "django: ORM and database layer (Python)"),
        ("/django/template", "django: templates"),
        ("/rest_framework/", "drf: parsing, serializers, rendering"),
        ("/django/", "django: request, middleware, response"),
    ):
        if part in path:
            return bucket
    if any(f"/{app}/" in path for app in ("visitors", "screening", "offices", "denpasar_checkin", "bench")):
        return "app code (services, decision, views)"
    return "other python (stdlib, json, logging)"


def api_profile(*, data: BenchData, calls: int = 300, seed: int = 9) -> dict:
    """cProfile (wall clock) over API check-ins through Django's test client: the request path without the
    server, with one warm database connection, split into database waits, Django, DRF, crypto and the app."""
    import cProfile
    import json
    import pstats
    import time
    from collections import defaultdict

    from django.test import Client

    rng = random.Random(seed)
    client = Client(HTTP_HOST="127.0.0.1")
    codes = data.regular_codes

    def one() -> None:
        i = rng.randrange(data.people)
        body = {
            "entrance": rng.choice(codes),
            "nik": nik_for(i),
            "name": name_for(i),
            "phone": phone_for(i),
            "nonce": secrets.token_urlsafe(12),
        }
        response = client.post("/api/v1/checkins/", json.dumps(body), content_type="application/json")
        if response.status_code != 200:
            raise RuntimeError(f"in-process check-in answered {response.status_code}")

    for _ in range(20):
        one()  # warm-up: imports, URL resolver, connection
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(calls):
        one()
    profiler.disable()
    elapsed = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    buckets: dict[str, float] = defaultdict(float)
    own: dict[str, float] = {}
    for (filename, line, func), (_cc, _nc, self_time, _cum, _callers) in stats.stats.items():
        buckets[_profile_bucket(filename, func)] += self_time
        label = f"{func} ({filename.rsplit('site-packages/', 1)[-1].rsplit('/work/main/', 1)[-1]}:{line})"
        own[label] = self_time
    total = sum(buckets.values()) or 1.0
    return {
        "calls": calls,
        "ms_per_checkin": round(1000 * elapsed / calls, 2),
        "buckets_pct": {k: round(100 * v / total, 1) for k, v in sorted(buckets.items(), key=lambda kv: -kv[1])},
        "top_self_time_pct": {k: round(100 * v / total, 1) for k, v in sorted(own.items(), key=lambda kv: -kv[1])[:12]},
    }
