"""Answers to screening's hooks (screening.signals): who was seen recently, their NIKs, and who is inside.

Connected in VisitorsConfig.ready, so screening never imports visitors.
"""

from __future__ import annotations

import datetime
import logging

from denpasar_checkin.nik import nik_decrypt

from .models import Person, ScanEvent
from .services import status_alert_raise

logger = logging.getLogger(__name__)


def recent_people(sender, *, since: datetime.datetime, **kwargs) -> set[str]:
    """NIK hashes of everyone who scanned since `since` (admitted or not)."""
    hashes = set(
        ScanEvent.objects.filter(created_at__gte=since, person__isnull=False)
        .values_list("person__nik_hash", flat=True)
        .distinct()
    )
    hashes.update(Person.objects.filter(last_seen_at__gte=since).values_list("nik_hash", flat=True))
    return hashes


def people_resolve(sender, *, nik_hashes: list[str], **kwargs) -> dict[str, tuple[str, str]]:
    """{nik_hash: (nik, name)} read back from the encrypted copy, only to ask the upstream source in a worker."""
    people: dict[str, tuple[str, str]] = {}
    for digest, token, name in Person.objects.filter(nik_hash__in=nik_hashes).values_list(
        "nik_hash", "nik_encrypted", "name"
    ):
        try:
            people[digest] = (nik_decrypt(token), name)
        except ValueError:
            logger.warning("an encrypted NIK is unreadable with the configured keys; its status is not refreshed")
    return people


def statuses_now_black(sender, *, nik_hashes: list[str], **kwargs) -> list[int]:
    return status_alert_raise(nik_hashes=nik_hashes)
