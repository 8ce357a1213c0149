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
