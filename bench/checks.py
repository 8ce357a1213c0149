"""Correctness after each run, in SQL: counters equal open visits, no office ever over its effective capacity,
no 5xx, every request answered, and no person the loader did not write.

"Ever over capacity" is rebuilt from the scan log in the gate's own order. Every change of an office's counter
happens inside a transaction that holds that office's counter row lock until commit (the gate UPDATE, the release
UPDATE), and that transaction writes its ScanEvent after taking the lock; so ScanEvent ids of one office follow
the order in which its counter changed. Visit timestamps cannot be used for this: they are taken when the request
starts, before the lock, so two requests' timestamps can be in the opposite order of their commits.
"""

from __future__ import annotations

from django.db import connection

from offices.models import OfficeOccupancy
from screening.selectors import effective_capacity, restriction_level_current
from visitors.models import Person, ScanEvent, Visit

from .load import BenchData

_EVENT = ScanEvent._meta.db_table
_VISIT = Visit._meta.db_table
_OCCUPANCY = OfficeOccupancy._meta.db_table


def marks_take() -> dict[str, int]:
    """The highest ids before a run starts: the checks read only what the run wrote."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {_EVENT}")
        event = cursor.fetchone()[0]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {_VISIT}")
        visit = cursor.fetchone()[0]
    return {"event": event, "visit": visit}


def _counter_mismatches() -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT o.office_id, o.staff_inside, o.visitors_inside,
                   COUNT(v.id) FILTER (WHERE v.kind = 'staff'), COUNT(v.id) FILTER (WHERE v.kind = 'visitor')
            FROM {_OCCUPANCY} o LEFT JOIN {_VISIT} v ON v.office_id = o.office_id AND v.checked_out_at IS NULL
            GROUP BY o.office_id, o.staff_inside, o.visitors_inside
            HAVING o.staff_inside <> COUNT(v.id) FILTER (WHERE v.kind = 'staff')
                OR o.visitors_inside <> COUNT(v.id) FILTER (WHERE v.kind = 'visitor')
            """
        )
        return [
            {"office": row[0], "counter": [row[1], row[2]], "open_visits": [row[3], row[4]]}
            for row in cursor.fetchall()
        ]


def _max_inside(marks: dict[str, int]) -> dict[int, int]:
    """Per office, the highest count of people inside at any moment of the run, replayed in lock order."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH ev AS (
                SELECT id, office_id, person_id, action, outcome, reason, dependants, created_at
                FROM {_EVENT} WHERE id > %(event)s
            ), deltas AS (
                -- a new admission (the visit and its dependants)
                SELECT office_id, id AS seq, 1 + dependants AS delta FROM ev
                WHERE action = 'checkin' AND outcome = 'admitted' AND reason = 'ok'
                UNION ALL
                -- a check-out
                SELECT office_id, id, -(1 + dependants) FROM ev WHERE action = 'checkout'
                UNION ALL
                -- a visit elsewhere closed by the system when its person checked in here: released under the
                -- other office's lock, inside the transaction that wrote this event
                SELECT v.office_id, ev.id, -1 FROM {_VISIT} v
                JOIN ev ON ev.action = 'checkin' AND ev.person_id = v.person_id AND ev.created_at = v.checked_out_at
                WHERE v.id > %(visit)s AND v.closed_by = 'system' AND v.office_id <> ev.office_id
            )
            SELECT office_id, MAX(inside) FROM (
                SELECT office_id, SUM(delta) OVER (PARTITION BY office_id ORDER BY seq ROWS UNBOUNDED PRECEDING)
                    AS inside
                FROM deltas
            ) running GROUP BY office_id
            """,
            marks,
        )
        return {row[0]: row[1] for row in cursor.fetchall()}


def _events_summary(marks: dict[str, int], office_id: int | None = None) -> dict[str, int]:
    where = "id > %s" + (" AND office_id = %s" if office_id else "")
    params = [marks["event"]] + ([office_id] if office_id else [])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT action, outcome, reason, COUNT(*) FROM {_EVENT} WHERE {where} GROUP BY 1, 2, 3 ORDER BY 4 DESC",
            params,
        )
        return {f"{a}/{o}/{r}": n for a, o, r, n in cursor.fetchall()}


def run_check(*, data: BenchData, marks: dict[str, int], load: dict, hotspot: bool = False) -> dict:
    """Every check for one run; `violations` lists what failed (empty means the run was correct)."""
    level = restriction_level_current()
    limits = {
        office.id: effective_capacity(capacity=office.capacity, percentage=level.percentage_for(office.sector))
        for office in [*data.offices, data.hotspot]
    }
    mismatches = _counter_mismatches()
    max_inside = _max_inside(marks)
    over = [
        {"office": office_id, "max_inside": inside, "effective_capacity": limits[office_id]}
        for office_id, inside in max_inside.items()
        if office_id in limits and inside > limits[office_id]
    ]
    people_created = Person.objects.count() - data.people
    status = load.get("status", {})
    five_xx = int(status.get("s5xx", 0))
    socket_errors = load.get("socket_errors", 0)

    violations = []
    if mismatches:
        violations.append(f"{len(mismatches)} office counter(s) differ from open visits")
    if over:
        violations.append(f"{len(over)} office(s) over effective capacity")
    if five_xx:
        violations.append(f"{five_xx} responses with status 5xx")
    if socket_errors:
        violations.append(f"{socket_errors} requests unanswered (socket errors or timeouts)")
    if people_created:
        violations.append(f"{people_created} unexpected Person rows (load generator and loader disagree)")
    result = {
        "ok": not violations,
        "violations": violations,
        "counter_mismatches": mismatches[:10],
        "over_capacity": over[:10],
        "max_inside_any_office": max(max_inside.values(), default=0),
        "five_xx": five_xx,
        "socket_errors": socket_errors,
        "people_created": people_created,
        "events": _events_summary(marks),
    }
    if hotspot:
        result["hotspot"] = {
            "effective_capacity": limits[data.hotspot.id],
            "max_inside": max_inside.get(data.hotspot.id, 0),
            "events": _events_summary(marks, data.hotspot.id),
        }
    return result
