"""Report query times on 1,000,000 visits in PostgreSQL (`python -m bench.reports`); writes results/reports.json.

It (re)creates the database `checkin_bench_reports`, migrates it, bulk-loads offices, people, visits and scan
events with COPY (plain indexes dropped during the load and rebuilt after, foreign-key triggers off), runs ANALYZE,
then times the exposure query and each dashboard and compliance query through the real selectors (median of
several runs, in ms) and prints a summary of EXPLAIN (ANALYZE, BUFFERS) for each SQL statement they send.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

    from offices.models import Office

DB_NAME = "checkin_bench_reports"
TARGET_MS = 200.0
RESULTS = Path(__file__).resolve().parent / "results" / "reports.json"
LOCAL = datetime.timezone(datetime.timedelta(hours=8))  # Asia/Makassar, no daylight saving

OFFICES = 50
PEOPLE = 100_000
VISITS = 1_000_000
DAYS = 30
STAFF_PER_OFFICE = 40
ENTRANCES_PER_OFFICE = 3
CHUNK = 100_000
PAGE_MARK = "whole page"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- database set-up -------------------------------------------------------------------------------------------


def database_recreate(*, host: str, port: int, user: str) -> None:
    import psycopg

    connection = psycopg.connect(host=host, port=port, user=user, dbname="postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {DB_NAME}")
    connection.close()


def django_setup(*, host: str, port: int, user: str) -> None:
    os.environ["DATABASE_URL"] = f"postgres://{user}@{host}:{port}/{DB_NAME}"
    os.environ.pop("REDIS_URL", None)  # the reports read no cache; keep the run self-contained
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "denpasar_checkin.settings")
    import django

    django.setup()


# --- data -----------------------------------------------------------------------------------------------------


def _ts(value: datetime.datetime) -> str:
    return value.isoformat()


def _copy(cursor, table: str, columns: list[str], rows: Iterator[tuple]) -> int:
    """COPY rows (tuples of text or None) into a table in chunks; returns the count."""
    total = 0
    buffer = io.StringIO()
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"

    def flush() -> None:
        buffer.seek(0)
        if hasattr(cursor, "copy_expert"):  # psycopg2
            cursor.copy_expert(sql, buffer)
        else:  # psycopg 3
            with cursor.copy(sql) as copy:
                copy.write(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()

    pending = 0
    for row in rows:
        buffer.write("\t".join("\\N" if value is None else str(value) for value in row))
        buffer.write("\n")
        pending += 1
        if pending == CHUNK:
            flush()
            total += pending
            pending = 0
    if pending:
        flush()
        total += pending
    return total


def _model_columns(model, provided: list[str]) -> tuple[list[str], tuple]:
    """The provided columns plus every other concrete column with its default, so new fields do not break COPY."""
    extra_columns, extra_values = [], []
    for field in model._meta.concrete_fields:
        column = field.column
        if column in provided:
            continue
        if field.null:
            value = None
        else:
            value = field.get_default()
            if isinstance(value, bool):
                value = "t" if value else "f"
            elif value is None:
                value = ""
        extra_columns.append(column)
        extra_values.append(value)
    return provided + extra_columns, tuple(extra_values)


def _plain_indexes(cursor, tables: list[str]) -> list[tuple[str, str]]:
    """(name, definition) of indexes that back no constraint: safe to drop for the load and rebuild after."""
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """,
        [tables],
    )
    return cursor.fetchall()


def _nik_of(n: int) -> str:
    return f"5171{n:012d}"


def _digest_of(n: int) -> str:
    return "v1$" + hashlib.sha256(_nik_of(n).encode()).hexdigest()


def _offices_load(*, rng: random.Random) -> tuple[list[Office], dict[int, list[int]]]:
    """Offices with their occupancy rows and entrances; returns the offices and each office's entrance ids."""
    from offices.models import Entrance, Office, OfficeOccupancy

    offices = Office.objects.bulk_create(
        Office(
            name=f"Kantor Bench {n:02d} Kota Denpasar",
            sector=rng.choice(["kritikal", "esensial", "non_esensial"]),
            capacity=rng.randint(80, 400),
        )
        for n in range(1, OFFICES + 1)
    )
    OfficeOccupancy.objects.bulk_create(OfficeOccupancy(office=office) for office in offices)
    entrances = Entrance.objects.bulk_create(
        Entrance(office=office, name=f"Pintu {n}") for office in offices for n in range(1, ENTRANCES_PER_OFFICE + 1)
    )
    entrances_of: dict[int, list[int]] = {}
    for entrance in entrances:
        entrances_of.setdefault(entrance.office_id, []).append(entrance.pk)
    return offices, entrances_of


def _staff_load(*, office_ids: list[int]) -> dict[int, int]:
    """The first OFFICES x STAFF_PER_OFFICE people are the rosters, STAFF_PER_OFFICE per office; person -> office."""
    from denpasar_checkin.nik import nik_mask
    from offices.models import Staff

    staff_office = {n: office_ids[n // STAFF_PER_OFFICE] for n in range(OFFICES * STAFF_PER_OFFICE)}
    Staff.objects.bulk_create(
        Staff(
            office_id=office_id,
            name=f"Pegawai {n}",
            nip=f"{198001012005011000 + n:018d}",
            nik_hash=_digest_of(n),
            nik_masked=nik_mask(_nik_of(n)),
        )
        for n, office_id in staff_office.items()
    )
    return staff_office


def _indexes_drop(cursor: CursorWrapper, *, tables: list[str]) -> list[tuple[str, str]]:
    """Drop the plain indexes of the tables so COPY need not maintain them; returns them for the rebuild."""
    indexes = _plain_indexes(cursor.cursor, tables)
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return indexes


def _people_copy(cursor: Any, *, now: datetime.datetime) -> None:
    from denpasar_checkin.nik import nik_mask
    from visitors.models import Person

    columns, extra = _model_columns(
        Person, ["id", "nik_hash", "nik_encrypted", "nik_masked", "name", "phone", "created_at"]
    )
    created = _ts(now - datetime.timedelta(days=DAYS + 1))
    rows = (
        (n + 1, _digest_of(n), "bench", nik_mask(_nik_of(n)), f"Warga {n}", f"0812{n:08d}", created) + extra
        for n in range(PEOPLE)
    )
    _copy(cursor, Person._meta.db_table, columns, rows)


def _visits_copy(cursor: Any, *, visits: list[tuple], scans: list[tuple]) -> tuple[int, int]:
    """COPY the generated visits and scan events; returns how many of each."""
    from visitors.models import ScanEvent, Visit

    visit_columns, visit_extra = _model_columns(
        Visit,
        [
            "id",
            "person_id",
            "office_id",
            "entrance_in_id",
            "entrance_out_id",
            "kind",
            "checked_in_at",
            "checked_out_at",
            "closed_by",
        ],
    )
    scan_columns, scan_extra = _model_columns(
        ScanEvent,
        [
            "id",
            "entrance_id",
            "office_id",
            "person_id",
            "visit_id",
            "action",
            "outcome",
            "reason",
            "colour",
            "kind",
            "created_at",
            "resolved_at",
            "resolution",
        ],
    )
    visit_rows = [row + visit_extra for row in visits]
    scan_rows = [row + scan_extra for row in scans]
    loaded_visits = _copy(cursor, Visit._meta.db_table, visit_columns, iter(visit_rows))
    loaded_scans = _copy(cursor, ScanEvent._meta.db_table, scan_columns, iter(scan_rows))
    return loaded_visits, loaded_scans


def _sequences_reset(cursor: CursorWrapper, *, tables: list[str]) -> None:
    """Move each table's id sequence past the ids COPY wrote, so later inserts do not collide."""
    for table in tables:
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")


def _indexes_rebuild(cursor: CursorWrapper, *, indexes: list[tuple[str, str]]) -> None:
    for _name, definition in indexes:
        cursor.execute(definition)


def _database_settle(cursor: CursorWrapper) -> None:
    """Leave the database as a long-running one would be before the timed queries."""
    # VACUUM as autovacuum would have by now: it sets the visibility map that index-only scans rely on.
    cursor.execute("VACUUM ANALYZE")
    # Flush the load's dirty pages now, so the checkpointer does not compete with the timed queries.
    cursor.execute("CHECKPOINT")


def load(*, seed: int, now: datetime.datetime) -> dict[str, Any]:
    """Offices, entrances, people, staff rosters, 1M visits and their scan events; returns what the timings need."""
    from django.db import connection

    from visitors.models import Person, ScanEvent, Visit

    rng = random.Random(seed)
    started = time.perf_counter()
    offices, entrances_of = _offices_load(rng=rng)
    office_ids = [office.pk for office in offices]
    staff_office = _staff_load(office_ids=office_ids)
    tables = [Person._meta.db_table, Visit._meta.db_table, ScanEvent._meta.db_table]
    with connection.cursor() as cursor:
        indexes = _indexes_drop(cursor, tables=tables)
        # Foreign keys are triggers: off for the bulk load only (ids are generated consistent).
        cursor.execute("SET session_replication_role = replica")
        _people_copy(cursor.cursor, now=now)
        visits, scans = _visits_and_scans(
            rng=rng, now=now, office_ids=office_ids, entrances_of=entrances_of, staff_office=staff_office
        )
        loaded_visits, loaded_scans = _visits_copy(cursor.cursor, visits=visits, scans=scans)
        cursor.execute("SET session_replication_role = DEFAULT")
        log(f"copied {loaded_visits} visits and {loaded_scans} scan events in {time.perf_counter() - started:.1f} s")
        _sequences_reset(cursor, tables=tables)
        _indexes_rebuild(cursor, indexes=indexes)
        log(f"rebuilt {len(indexes)} indexes at {time.perf_counter() - started:.1f} s")
        _database_settle(cursor)
    load_seconds = time.perf_counter() - started
    log(f"loaded and analyzed in {load_seconds:.1f} s")
    return {
        "offices": offices,
        "office_ids": office_ids,
        "visits": loaded_visits,
        "scan_events": loaded_scans,
        "people": PEOPLE,
        "staff": len(staff_office),
        "load_seconds": round(load_seconds, 1),
        "index_drop_rebuild": [name for name, _ in indexes],
    }


def _staff_drafts(
    *, rng: random.Random, now: datetime.datetime, first_day: datetime.date, staff_office: dict[int, int]
) -> list[tuple]:
    """Staff come on seven working days in ten, 07:30-08:30, and stay 7-8.5 hours."""
    drafts: list[tuple] = []
    for offset in range(DAYS):
        day = first_day + datetime.timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for person, office_id in staff_office.items():
            if rng.random() < 0.7:
                start = datetime.datetime.combine(day, datetime.time(7, 30), tzinfo=LOCAL)
                start += datetime.timedelta(minutes=rng.uniform(0, 60))
                if start < now:
                    drafts.append((start, person, office_id, "staff", rng.uniform(420, 510)))
    return drafts


def _visitor_drafts(
    *,
    rng: random.Random,
    now: datetime.datetime,
    first_day: datetime.date,
    office_ids: list[int],
    first_person: int,
    count: int,
) -> list[tuple]:
    """`count` visits by people from `first_person` on (the non-staff), 07:00-17:00 for 5-120 minutes."""
    day_starts = [
        datetime.datetime.combine(first_day + datetime.timedelta(days=n), datetime.time(7, 0), tzinfo=LOCAL)
        for n in range(DAYS)
    ]
    drafts: list[tuple] = []
    while len(drafts) < count:
        person = rng.randrange(first_person, PEOPLE)
        # Some offices are much busier than others (the mayor's office, the civil registry): skew 30 % of visits.
        if rng.random() < 0.3:
            office_id = office_ids[min(int(rng.paretovariate(1.2)) - 1, len(office_ids) - 1)]
        else:
            office_id = rng.choice(office_ids)
        start = rng.choice(day_starts) + datetime.timedelta(minutes=rng.uniform(0, 600))
        if start < now:
            drafts.append((start, person, office_id, "visitor", rng.uniform(5, 120)))
    return drafts


def _refused_event(
    *, rng: random.Random, when: datetime.datetime, entrance: int, office_id: int, person_id: int, kind: str
) -> tuple:
    """A scan that did not let the person straight in: denied, or pending (answered nine times in ten)."""
    if rng.random() < 0.5:
        reasons = ["capacity_full", "not_vaccinated", "isolation", "status_unknown", "entrance_closed"]
        return (when, entrance, office_id, person_id, None, "denied", rng.choice(reasons), "red", kind, None, "")
    answered = rng.random() < 0.9
    return (
        when,
        entrance,
        office_id,
        person_id,
        None,
        "pending",
        "status_unknown",
        "unknown",
        kind,
        _ts(when + datetime.timedelta(minutes=2)) if answered else None,
        rng.choice(["approved", "denied"]) if answered else "",
    )


def _visits_and_events(
    *, rng: random.Random, now: datetime.datetime, drafts: list[tuple], entrances_of: dict[int, list[int]]
) -> tuple[list[tuple], list[tuple]]:
    """Visit rows, with ids in draft order, and the scan events that led to them (unordered, unnumbered)."""
    visits: list[tuple] = []
    # (created_at, entrance, office, person, visit, outcome, reason, colour, kind, resolved_at, resolution)
    events: list[tuple] = []
    open_people: set[int] = set()
    for visit_id, (start, person, office_id, kind, minutes) in enumerate(drafts, start=1):
        entrance = rng.choice(entrances_of[office_id])
        end = start + datetime.timedelta(minutes=minutes)
        if end > now and person not in open_people:
            open_people.add(person)
            visits.append((visit_id, person + 1, office_id, entrance, None, kind, _ts(start), None, ""))
        else:
            out = rng.choice(entrances_of[office_id])
            end = min(end, now)
            visits.append((visit_id, person + 1, office_id, entrance, out, kind, _ts(start), _ts(end), "person"))
        events.append((start, entrance, office_id, person + 1, visit_id, "admitted", "ok", "green", kind, None, ""))
        # About one visitor in ten first got a scan that did not let them straight in.
        if kind == "visitor" and rng.random() < 0.1:
            when = start - datetime.timedelta(minutes=1)
            events.append(
                _refused_event(
                    rng=rng, when=when, entrance=entrance, office_id=office_id, person_id=person + 1, kind=kind
                )
            )
    return visits, events


def _scan_rows(events: list[tuple]) -> list[tuple]:
    """Scan event rows in the table's column order, with ids in time order."""
    events = sorted(events, key=lambda event: event[0])
    return [
        (
            n,
            entrance,
            office_id,
            person,
            visit_id,
            "checkin",
            outcome,
            reason,
            colour,
            kind,
            _ts(when),
            resolved,
            resolution,
        )
        for n, (
            when,
            entrance,
            office_id,
            person,
            visit_id,
            outcome,
            reason,
            colour,
            kind,
            resolved,
            resolution,
        ) in enumerate(events, start=1)
    ]


def _visits_and_scans(
    *,
    rng: random.Random,
    now: datetime.datetime,
    office_ids: list[int],
    entrances_of: dict[int, list[int]],
    staff_office: dict[int, int],
) -> tuple[list[tuple], list[tuple]]:
    """Staff come on working days for the whole day; visitors come 07:00-17:00 for 5-120 minutes.

    Rows get their ids in time order, as check-ins would insert them, so the heap is clustered by time as in
    production. A person's own visits may overlap in this synthetic set, which only makes the exposure query work
    harder; at most one visit per person stays open (the database enforces it).
    """
    today = now.astimezone(LOCAL).date()
    first_day = today - datetime.timedelta(days=DAYS - 1)
    drafts = _staff_drafts(rng=rng, now=now, first_day=first_day, staff_office=staff_office)
    drafts += _visitor_drafts(
        rng=rng,
        now=now,
        first_day=first_day,
        office_ids=office_ids,
        first_person=len(staff_office),
        count=VISITS - len(drafts),
    )
    drafts.sort(key=lambda draft: draft[0])
    visits, events = _visits_and_events(rng=rng, now=now, drafts=drafts, entrances_of=entrances_of)
    return visits, _scan_rows(events)


# --- timing ---------------------------------------------------------------------------------------------------


def _median_ms(work: Callable[[], object], *, runs: int) -> tuple[float, list[float]]:
    work()  # warm-up: the first run pays for plan caching and cold buffers
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1), [round(t, 1) for t in times]


def _explain(sql: str, *, settings: list[str]) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of one statement (after the SET LOCALs it ran with), reduced to index use."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for statement in settings:
            cursor.execute(statement)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    plan = plan[0] if isinstance(plan, list) else json.loads(plan)[0]
    nodes: list[str] = []
    seq_scans: list[str] = []

    def walk(node: dict) -> None:
        kind = node["Node Type"]
        if "Index Name" in node:
            nodes.append(f"{kind} {node['Index Name']}")
        elif kind == "Seq Scan":
            seq_scans.append(f"{node['Relation Name']} ({node.get('Actual Rows', '?')} rows)")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    top = plan["Plan"]
    return {
        "execution_ms": round(plan["Execution Time"], 2),
        "planning_ms": round(plan["Planning Time"], 2),
        "indexes": sorted(set(nodes)),
        "seq_scans": seq_scans,
        "shared_hit": top.get("Shared Hit Blocks", 0),
        "shared_read": top.get("Shared Read Blocks", 0),
        "sql": " ".join(sql.split())[:300],
    }


def measure(name: str, work: Callable[[], object], *, runs: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    median, times = _median_ms(work, runs=runs)
    with CaptureQueriesContext(connection) as captured:
        work()
    statements, settings = [], []
    for query in captured.captured_queries:
        sql = query["sql"].lstrip()
        if sql.upper().startswith("SET LOCAL"):
            settings.append(sql)
        elif sql.upper().startswith(("SELECT", "WITH")):
            statements.append(_explain(sql, settings=settings))
            settings = []
    result = {
        "median_ms": median,
        "runs_ms": times,
        "queries": len(captured.captured_queries),
        "under_target": median < TARGET_MS,
        "explain": statements,
    }
    flag = "page" if PAGE_MARK in name else ("ok " if median < TARGET_MS else "SLOW")
    log(f"{flag} {name:<38} {median:>8.1f} ms  ({len(statements)} statements)")
    for statement in statements:
        seq = f"  SEQ SCAN: {', '.join(statement['seq_scans'])}" if statement["seq_scans"] else ""
        log(f"       {statement['execution_ms']:>8.2f} ms  {', '.join(statement['indexes']) or '-'}{seq}")
    return result


def _busiest_office_id() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT office_id FROM visitors_visit GROUP BY office_id ORDER BY COUNT(*) DESC LIMIT 1")
        return cursor.fetchone()[0]


def _last_working_day_before(today: datetime.date) -> datetime.date:
    day = today - datetime.timedelta(days=1)
    while day.weekday() >= 5:
        day -= datetime.timedelta(days=1)
    return day


def _index_people(*, rng: random.Random, since: datetime.datetime) -> list[int]:
    """Five index cases: visitors with visits since `since`."""
    from visitors.models import Visit

    candidates = list(
        Visit.objects.filter(checked_in_at__gte=since, kind="visitor").values_list("person_id", flat=True)[:5000]
    )
    return rng.sample(sorted(set(candidates)), 5)


def _exposure_timings(
    *, index_people: list[int], since: datetime.datetime, now: datetime.datetime, runs: int
) -> dict[str, Any]:
    """The exposure query for each index case, then the median and worst over them."""
    from reports.selectors import exposure_contacts
    from visitors.models import Visit

    timings: dict[str, Any] = {}
    exposure_runs = []
    for n, person_id in enumerate(index_people):
        name = f"exposure (person {n + 1})"
        result = measure(name, lambda p=person_id: exposure_contacts(person_id=p, since=since, now=now), runs=runs)
        result["contacts"] = len(exposure_contacts(person_id=person_id, since=since, now=now))
        result["index_visits"] = Visit.objects.filter(person_id=person_id, checked_in_at__gte=since).count()
        exposure_runs.append(result)
        timings[name] = result
    timings["exposure (median of people)"] = {
        "median_ms": round(statistics.median(r["median_ms"] for r in exposure_runs), 1),
        "max_ms": max(r["median_ms"] for r in exposure_runs),
        "contacts": [r["contacts"] for r in exposure_runs],
    }
    return timings


def _office_cases(
    *, office: Office, past_day: datetime.date, today: datetime.date, now: datetime.datetime
) -> list[tuple[str, Callable[[], object]]]:
    """One office's dashboard and compliance queries, for a full past working day, today and the last week."""
    from reports.selectors import (
        DateRange,
        occupancy_series,
        office_dashboard,
        scan_counts,
        staff_attendance,
        staff_compliance,
        staff_compliance_weeks,
        visit_counts,
    )

    ids = [office.pk]
    day = DateRange.single(past_day)
    today_range = DateRange.single(today)
    week = DateRange(today - datetime.timedelta(days=6), today)
    return [
        ("office: check-ins/outs by entrance (day)", lambda: visit_counts(office_ids=ids, rng=day)),
        ("office: denials + pending by entrance (day)", lambda: scan_counts(office_ids=ids, rng=day)),
        ("office: occupancy 15-min series (day)", lambda: occupancy_series(office_ids=ids, rng=day, now=now)),
        ("office: occupancy series (today)", lambda: occupancy_series(office_ids=ids, rng=today_range, now=now)),
        ("office: staff compliance (day)", lambda: staff_compliance(office_ids=ids, rng=day, today=today)),
        (
            "office: staff compliance 8 weeks",
            lambda: staff_compliance_weeks(office_ids=ids, last_day=today, today=today),
        ),
        ("office: who did not check in (day)", lambda: staff_attendance(office_id=office.pk, day=past_day)),
        ("office dashboard, whole page (day)", lambda: office_dashboard(office=office, rng=day, now=now)),
        ("office dashboard, whole page (7 days)", lambda: office_dashboard(office=office, rng=week, now=now)),
    ]


def _city_cases(
    *, offices: list[Office], past_day: datetime.date, today: datetime.date, now: datetime.datetime
) -> list[tuple[str, Callable[[], object]]]:
    """The city-wide dashboard and compliance queries over every office, for a full past working day."""
    from reports.selectors import (
        DateRange,
        city_dashboard,
        occupancy_series,
        scan_counts,
        staff_compliance,
        visit_counts,
    )

    ids = [office.pk for office in offices]
    day = DateRange.single(past_day)
    return [
        ("city: check-ins/outs (day)", lambda: visit_counts(office_ids=ids, rng=day)),
        ("city: denials + pending (day)", lambda: scan_counts(office_ids=ids, rng=day)),
        ("city: peaks per office (day)", lambda: occupancy_series(office_ids=ids, rng=day, now=now)),
        (
            "city: occupancy series, all (day)",
            lambda: occupancy_series(office_ids=ids, rng=day, now=now, per_office=False),
        ),
        ("city: staff compliance (day)", lambda: staff_compliance(office_ids=ids, rng=day, today=today)),
        ("city dashboard, whole page (day)", lambda: city_dashboard(offices=offices, rng=day, now=now)),
    ]


def run_timings(info: dict[str, Any], *, now: datetime.datetime, runs: int, seed: int) -> dict[str, Any]:
    """Exposure for five index cases, then the busiest office's and the city's queries; name -> measurement."""
    from reports.selectors import local_midnight

    today = now.astimezone(LOCAL).date()
    # The busiest office; dashboards for "today" and for a full past working day.
    office = {office.pk: office for office in info["offices"]}[_busiest_office_id()]
    past_day = _last_working_day_before(today)
    # Index cases: visitors with visits in the last five days, the default window's size.
    since = local_midnight(today - datetime.timedelta(days=5))
    index_people = _index_people(rng=random.Random(seed + 1), since=since)

    timings = _exposure_timings(index_people=index_people, since=since, now=now, runs=runs)
    cases = _office_cases(office=office, past_day=past_day, today=today, now=now)
    cases += _city_cases(offices=info["offices"], past_day=past_day, today=today, now=now)
    for name, work in cases:
        timings[name] = measure(name, work, runs=runs)
    return timings


# --- command --------------------------------------------------------------------------------------------------


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per query (the median is reported)")
    parser.add_argument("--seed", type=int, default=20210701)
    parser.add_argument("--keep", action="store_true", help="reuse a loaded database instead of rebuilding it")
    parser.add_argument(
        "--visits", type=int, default=VISITS, help=f"visits to load (default {VISITS:,}; people stay {PEOPLE:,})"
    )
    return parser.parse_args(argv)


def _loaded_info() -> tuple[dict[str, Any], datetime.datetime]:
    """What `load` would return, read back from an already loaded database, and the time its data ends at."""
    from offices.models import Office
    from visitors.models import ScanEvent, Visit

    offices = list(Office.objects.order_by("pk"))
    info = {
        "offices": offices,
        "office_ids": [office.pk for office in offices],
        "visits": Visit.objects.count(),
        "scan_events": ScanEvent.objects.count(),
        "load_seconds": None,
    }
    if RESULTS.exists():  # the load was timed by the run that built the database
        info["load_seconds"] = json.loads(RESULTS.read_text(encoding="utf-8"))["data"].get("load_seconds")
    now = Visit.objects.order_by("-checked_in_at").values_list("checked_in_at", flat=True).first()
    return info, now


def _seq_scans_on_big_tables(timings: dict[str, Any]) -> dict[str, list[str]]:
    seq = {
        name: [s for e in t.get("explain", []) for s in e["seq_scans"] if "visitors_" in s]
        for name, t in timings.items()
    }
    return {name: scans for name, scans in seq.items() if scans}


def _summary(*, info: dict[str, Any], timings: dict[str, Any], postgres: int) -> dict[str, Any]:
    """The content of results/reports.json."""
    # The target is per query; a whole page (several queries) is reported beside it for context.
    pages = {name: t["median_ms"] for name, t in timings.items() if PAGE_MARK in name}
    slow = {
        name: t["median_ms"]
        for name, t in timings.items()
        if PAGE_MARK not in name and t.get("median_ms", 0) >= TARGET_MS
    }
    return {
        "database": DB_NAME,
        "postgres": postgres,
        "data": {
            "offices": len(info["offices"]),
            "people": PEOPLE,
            "visits": info["visits"],
            "scan_events": info["scan_events"],
            "days": DAYS,
            "load_seconds": info["load_seconds"],
        },
        "target_ms": TARGET_MS,
        "all_queries_under_target": not slow,
        "slow": slow,
        "pages_ms": pages,
        "seq_scans_on_big_tables": _seq_scans_on_big_tables(timings),
        "timings": timings,
    }


def main(argv: list[str] | None = None) -> int:
    global VISITS
    args = _arguments(argv)
    VISITS = args.visits
    if not args.keep:
        database_recreate(host=args.host, port=args.port, user=args.user)
    django_setup(host=args.host, port=args.port, user=args.user)
    from django.core.management import call_command
    from django.db import connection

    from visitors.models import Visit

    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    if args.keep and Visit.objects.exists():
        info, now = _loaded_info()
    else:
        call_command("migrate", verbosity=0)
        info = load(seed=args.seed, now=now)

    timings = run_timings(info, now=now, runs=args.runs, seed=args.seed)
    result = _summary(info=info, timings=timings, postgres=connection.pg_version)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    log(f"wrote {RESULTS}")
    print(json.dumps({name: t["median_ms"] for name, t in timings.items()}, indent=2))
    return 0 if result["all_queries_under_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
