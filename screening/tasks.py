"""Celery tasks of screening: thin wrappers that take NIK hashes (never a NIK) and call one service each."""

from __future__ import annotations

from celery import shared_task

from .importing import health_statuses_refresh as health_statuses_refresh_service
from .importing import status_refresh_batches
from .services import health_status_changes_apply


@shared_task(acks_late=True, ignore_result=True)
def health_statuses_refresh() -> int:
    """Beat: split the people to refresh (staff, recently seen) into batches and queue one task per batch."""
    batches = status_refresh_batches()
    for batch in batches:
        health_statuses_refresh_batch.delay(nik_hashes=batch)
    return len(batches)


@shared_task(acks_late=True, ignore_result=True)
def health_statuses_refresh_batch(nik_hashes: list[str]) -> dict[str, int]:
    """Refresh one batch (ask the HTTP source again when configured) and warm the cache; safe to repeat."""
    result = health_statuses_refresh_service(nik_hashes=nik_hashes)
    return {"warmed": result.warmed, "fetched": result.fetched, "unknown": result.unknown, "failed": result.failed}


# Retried: a failure here could leave a black person inside without an alert. Running twice alerts a visit once.
@shared_task(acks_late=True, ignore_result=True, autoretry_for=(Exception,), retry_backoff=5, max_retries=8)
def health_statuses_changed(nik_hashes: list[str]) -> int:
    """A pushed update was committed: drop cached copies and alert offices where someone inside turned black."""
    return len(health_status_changes_apply(nik_hashes=nik_hashes))
