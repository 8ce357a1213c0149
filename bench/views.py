"""The benchmark's reference endpoints: the framework's ceiling (bare) and the floor of an honest check-in.

Both run through the same server, middleware and database connection handling as the real check-in, so the
ratios in bench/results/latest.json compare the check-in path with what the stack itself can do.
"""

from __future__ import annotations

import json

from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from denpasar_checkin.nik import nik_hash
from offices.models import Entrance, OfficeOccupancy
from screening.selectors import status_cache_key
from visitors.models import Person, Visit

FLOOR_OFFICE_NAME = "Bench Floor"

_OCCUPANCY = OfficeOccupancy._meta.db_table
_VISIT = Visit._meta.db_table
_PERSON = Person._meta.db_table
_floor_ids: tuple[int, int] | None = None


@require_GET
def bare(request: HttpRequest) -> JsonResponse:
    """No database, no cache: what one request through the middleware stack costs."""
    return JsonResponse({"ok": True})


def _floor_office_and_entrance() -> tuple[int, int]:
    # Looked up once per process: the floor measures the check-in's writes, not finding the entrance.
    global _floor_ids
    if _floor_ids is None:
        row = Entrance.objects.filter(office__name=FLOOR_OFFICE_NAME).values_list("office_id", "id").first()
        if row is None:
            raise LookupError("the benchmark data has no floor office; run python -m bench")
        _floor_ids = (row[0], row[1])
    return _floor_ids


@csrf_exempt
@require_POST
def floor(request: HttpRequest) -> JsonResponse:
    """The least a correct check-in does: read the status, pass the gate, write the visit, in one transaction.

    The visit is written already closed (the table allows one open visit per person, and people repeat) against
    a floor office whose capacity is never reached; the benchmark resets its counter after the run.
    """
    body = json.loads(request.body)
    digest = nik_hash(body["nik"])
    record = cache.get(status_cache_key(digest))
    office_id, entrance_id = _floor_office_and_entrance()
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        # The same statement shape as screening.services.occupancy_admit.
        cursor.execute(
            f"UPDATE {_OCCUPANCY} SET visitors_inside = visitors_inside + %s, updated_at = %s "
            f"WHERE office_id = %s AND staff_inside + visitors_inside + %s <= %s "
            f"RETURNING staff_inside, visitors_inside",
            [1, now, office_id, 1, 2_000_000_000],
        )
        gate = cursor.fetchone()
        if gate is None:
            return JsonResponse({"outcome": "denied", "reason": "capacity_full"})
        cursor.execute(
            f"INSERT INTO {_VISIT} (person_id, office_id, entrance_in_id, kind, phone, checked_in_at, "
            f"checked_out_at, closed_by) SELECT id, %s, %s, 'visitor', '', %s, %s, 'system' FROM {_PERSON} "
            f"WHERE nik_hash = %s RETURNING id",
            [office_id, entrance_id, now, now, digest],
        )
        visit = cursor.fetchone()
    return JsonResponse(
        {
            "outcome": "admitted" if visit else "see_officer",
            "status_cached": record is not None,
            "visit": visit[0] if visit else None,
            "inside": gate[0] + gate[1],
        }
    )
