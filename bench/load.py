"""Benchmark data: 100,000 people with registry statuses and Person rows, 50 offices, a hot spot and the floor.

Rows go in with PostgreSQL COPY built from unsaved model instances, so model defaults and field conversions
are the app's own and a new column with a default needs no change here.
"""

from __future__ import annotations

import datetime
import io
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection, models, transaction
from django.utils import timezone

from denpasar_checkin.nik import nik_encrypt, nik_hash, nik_mask
from offices.models import Entrance, Office, OfficeOccupancy
from screening.models import HealthStatus
from screening.selectors import STATUS_CACHE_TTL, STATUS_MISSING_TTL, status_cache_key, status_record_from_row
from visitors.models import Person, Visit

from .people import name_for, nik_for, phone_for, registry_row_for
from .views import FLOOR_OFFICE_NAME

OFFICES = 50
ENTRANCES_PER_OFFICE = 3
ENTRANCE_NAMES = ("Pintu Utama", "Pintu Samping", "Pintu Parkir")
SECTORS = ("kritikal", "esensial", "non_esensial")
HOTSPOT_NAME = "Bench Hot Spot"
HOTSPOT_CAPACITY = 20
FLOOR_CAPACITY = 2_000_000_000
CACHE_BATCH = 5000


@dataclass
class OfficeInfo:
    id: int
    name: str
    capacity: int
    sector: str
    codes: list[str] = field(default_factory=list)


@dataclass
class BenchData:
    people: int
    offices: list[OfficeInfo]
    hotspot: OfficeInfo
    floor: OfficeInfo
    timings: dict[str, float]

    @property
    def regular_codes(self) -> list[str]:
        return [code for office in self.offices for code in office.codes]


def _copy_text(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    text = value.isoformat() if isinstance(value, datetime.date | datetime.datetime) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def rows_copy(model: type[models.Model], objects: Iterable[models.Model]) -> int:
    """COPY unsaved instances into the model's table (auto primary keys left to the database)."""
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))]
    buffer = io.StringIO()
    count = 0
    for obj in objects:
        values = (_copy_text(f.get_db_prep_save(f.pre_save(obj, True), connection)) for f in fields)
        buffer.write("\t".join(values))
        buffer.write("\n")
        count += 1
    buffer.seek(0)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {model._meta.db_table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor:
        raw = cursor.cursor
        if hasattr(raw, "copy_expert"):  # psycopg2
            raw.copy_expert(sql, buffer)
        else:  # psycopg 3
            with raw.copy(sql) as copy:
                copy.write(buffer.getvalue())
    return count


def _offices_create() -> tuple[list[OfficeInfo], OfficeInfo, OfficeInfo]:
    specs = [
        # Capacities far above what one default run admits, so the regular runs measure the admit path.
        (f"Dinas Bench {n:02d} Kota Denpasar", 1000 + 100 * (n % 10), SECTORS[n % 3], ENTRANCE_NAMES)
        for n in range(1, OFFICES + 1)
    ]
    specs.append((HOTSPOT_NAME, HOTSPOT_CAPACITY, "kritikal", ENTRANCE_NAMES))
    specs.append((FLOOR_OFFICE_NAME, FLOOR_CAPACITY, "kritikal", ENTRANCE_NAMES[:1]))
    offices = Office.objects.bulk_create(
        Office(name=name, address="Jl. Bench No. 1, Denpasar", capacity=capacity, sector=sector)
        for name, capacity, sector, _names in specs
    )
    OfficeOccupancy.objects.bulk_create(OfficeOccupancy(office=office) for office in offices)
    entrances = Entrance.objects.bulk_create(
        Entrance(office=office, name=entrance_name)
        for office, (_name, _capacity, _sector, names) in zip(offices, specs, strict=True)
        for entrance_name in names
    )
    infos = {o.id: OfficeInfo(id=o.id, name=o.name, capacity=o.capacity, sector=o.sector) for o in offices}
    for entrance in entrances:
        infos[entrance.office_id].codes.append(entrance.code)
    ordered = [infos[o.id] for o in offices]
    return ordered[:OFFICES], ordered[OFFICES], ordered[OFFICES + 1]


def _people_rows(count: int, *, now: datetime.datetime) -> tuple[list[Person], list[HealthStatus], dict]:
    today = timezone.localdate(now)
    persons: list[Person] = []
    statuses: list[HealthStatus] = []
    records: dict[str, dict] = {}
    for i in range(count):
        nik = nik_for(i)
        digest = nik_hash(nik)
        masked = nik_mask(nik)
        persons.append(
            Person(
                nik_hash=digest,
                nik_encrypted=nik_encrypt(nik),
                nik_masked=masked,
                name=name_for(i),
                phone=phone_for(i),
                created_at=now,
                last_seen_at=now,
            )
        )
        row = registry_row_for(i, today=today)
        if row is None:
            records[digest] = {"missing": True}
            continue
        status = HealthStatus(nik_hash=digest, nik_masked=masked, refreshed_at=now, updated_at=now, **row)
        statuses.append(status)
        records[digest] = status_record_from_row(status)
    return persons, statuses, records


def cache_warm(records: dict[str, dict]) -> None:
    """Every status in the cache, as a check-in would leave it (unknown people get the short 'missing' marker)."""
    found = [(k, v) for k, v in records.items() if not v.get("missing")]
    missing = [(k, v) for k, v in records.items() if v.get("missing")]
    for items, ttl in ((found, STATUS_CACHE_TTL), (missing, STATUS_MISSING_TTL)):
        for start in range(0, len(items), CACHE_BATCH):
            batch = items[start : start + CACHE_BATCH]
            cache.set_many({status_cache_key(digest): record for digest, record in batch}, timeout=ttl)


def data_load(*, people: int) -> BenchData:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    offices, hotspot, floor = _offices_create()
    now = timezone.now()
    persons, statuses, records = _people_rows(people, now=now)
    timings["rows_built_s"] = time.perf_counter() - started

    mark = time.perf_counter()
    rows_copy(Person, persons)
    rows_copy(HealthStatus, statuses)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    timings["copy_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    cache_warm(records)
    timings["cache_warm_s"] = time.perf_counter() - mark
    timings["total_s"] = time.perf_counter() - started
    return BenchData(people=people, offices=offices, hotspot=hotspot, floor=floor, timings=timings)


def visits_reset() -> None:
    """Between runs: close every open visit and zero every counter, so each run starts from an empty city."""
    # One transaction: a late request committing between the two statements would leave a counter wrong.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Visit._meta.db_table} SET checked_out_at = GREATEST(now(), checked_in_at), "
            "closed_by = 'system' WHERE checked_out_at IS NULL"
        )
        cursor.execute(f"UPDATE {OfficeOccupancy._meta.db_table} SET staff_inside = 0, visitors_inside = 0")
