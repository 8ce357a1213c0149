"""Read side of screening: the current policy and restriction level, effective capacity, and the cached status form."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from denpasar_checkin.safe_cache import cache_get_many, cache_set

from .decision import HealthSnapshot, Policy
from .models import HealthStatus, RestrictionLevel, ScreeningPolicy
from .names import names_match
from .vocabulary import CaseStatus

STATUS_CACHE_TTL = 6 * 3600
STATUS_MISSING_TTL = 300  # unknown people are retried sooner: they may be imported any minute
SETTINGS_CACHE_TTL = 60
POLICY_KEY = "screening:policy:v1"


def status_cache_key(nik_hash: str) -> str:
    return f"hs:v1:{nik_hash}"


def level_cache_key(day: datetime.date) -> str:
    return f"screening:level:v1:{day.isoformat()}"


@dataclass(frozen=True, slots=True)
class LevelInfo:
    level: int
    name: str
    pct_kritikal: int
    pct_esensial: int
    pct_non_esensial: int

    def percentage_for(self, sector: str) -> int:
        return {"kritikal": self.pct_kritikal, "esensial": self.pct_esensial}.get(sector, self.pct_non_esensial)


@dataclass(frozen=True, slots=True)
class ScreeningContext:
    """Everything the decision and the gate need that is not about the person; read in one cache round trip."""

    policy: Policy
    level: LevelInfo


def effective_capacity(*, capacity: int, percentage: int) -> int:
    """floor(capacity x percentage / 100), in integers so no float rounds the wrong way."""
    return capacity * percentage // 100


def effective_capacity_today(*, capacity: int, sector: str, today: datetime.date | None = None) -> int:
    """An office's effective capacity under the day's restriction level (read through the check-in's cache)."""
    level = restriction_level_current(today=today)
    return effective_capacity(capacity=capacity, percentage=level.percentage_for(sector))


def _level_from_db(day: datetime.date) -> LevelInfo:
    row = (
        RestrictionLevel.objects.filter(effective_from__lte=day)
        .order_by("-effective_from")
        .values("level", "name", "pct_kritikal", "pct_esensial", "pct_non_esensial")
        .first()
    )
    if row is None:  # only if an admin deleted every level: behave as "no restriction"
        return LevelInfo(0, "", 100, 100, 100)
    return LevelInfo(**row)


def _policy_row_from_db() -> dict:
    """The policy in its cached form: a small dict, so the cache never holds a model instance."""
    row = (
        ScreeningPolicy.objects.filter(pk=1)
        .values("require_booster", "unknown_status_denies", "isolation_days")
        .first()
    )
    return row or {"require_booster": False, "unknown_status_denies": False, "isolation_days": 10}


def _policy_from_row(row: dict) -> Policy:
    return Policy(
        min_doses_for_green=3 if row["require_booster"] else 2,
        unknown_status_denies=row["unknown_status_denies"],
        isolation_days=row["isolation_days"],
    )


def policy_from_db() -> Policy:
    """The policy straight from the database, for a worker that must not act on a copy cached before a change."""
    return _policy_from_row(_policy_row_from_db())


def status_record_from_row(row: HealthStatus) -> dict:
    """The cached form of a registry row: small, JSON-friendly, with the name kept for matching."""

    def iso(value: datetime.date | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "name": row.name,
        "doses": row.doses,
        "last_dose_on": iso(row.last_dose_on),
        "case_status": row.case_status,
        "case_reported_on": iso(row.case_reported_on),
        "isolated_until": iso(row.isolated_until),
        "exemption_until": iso(row.exemption_until),
    }


def snapshot_from_record(record: dict | None, *, name: str) -> HealthSnapshot:
    """A registry record is only used when the given name matches; otherwise the status is unknown."""
    if not record or record.get("missing"):
        return HealthSnapshot.unknown()
    if not names_match(name, record["name"]):
        return HealthSnapshot.unknown(registered=True)

    def day(value: str | None) -> datetime.date | None:
        return datetime.date.fromisoformat(value) if value else None

    return HealthSnapshot(
        found=True,
        registered=True,
        doses=record["doses"],
        last_dose_on=day(record["last_dose_on"]),
        case_status=CaseStatus(record["case_status"]),
        case_reported_on=day(record["case_reported_on"]),
        isolated_until=day(record["isolated_until"]),
        exemption_until=day(record["exemption_until"]),
    )


# Policy and level are read through the cache: filling it is not a change of state (the value is what the database
# holds, for SETTINGS_CACHE_TTL at most, and screening_settings_invalidate drops it when an admin edits it).


def screening_context_cache_keys(*, today: datetime.date) -> list[str]:
    """The keys screening_context_from_cache reads, for a caller that fetches them with its own in one round trip."""
    return [POLICY_KEY, level_cache_key(today)]


def screening_context_from_cache(*, cached: Mapping[str, Any], today: datetime.date) -> ScreeningContext:
    """Policy and today's level from a cache_get_many answer; whatever it lacks is read and cached."""
    policy_row = cached.get(POLICY_KEY)
    if policy_row is None:
        policy_row = _policy_row_from_db()
        cache_set(POLICY_KEY, policy_row, SETTINGS_CACHE_TTL)
    level = _level_through_cache(today, cached.get(level_cache_key(today)))
    return ScreeningContext(policy=_policy_from_row(policy_row), level=level)


def _level_through_cache(day: datetime.date, level: LevelInfo | None) -> LevelInfo:
    if level is None:
        level = _level_from_db(day)
        cache_set(level_cache_key(day), level, SETTINGS_CACHE_TTL)
    return level


def restriction_level_current(*, today: datetime.date | None = None) -> LevelInfo:
    """Today's level through the same cache as check-in, so every answer reports the same effective capacity."""
    day = today or timezone.localdate()
    return _level_through_cache(day, cache_get_many([level_cache_key(day)]).get(level_cache_key(day)))
