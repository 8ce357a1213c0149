"""Report selectors (read only): contact-tracing exposure, office and city dashboards, staff compliance.

Everything that grows with the number of visits is counted by the database: the exposure overlap, the occupancy
sweep and the daily counts are single SQL statements over the (office, time) indexes of Visit and ScanEvent.
Python only shapes the few rows that come back (a bucket per 15 minutes, a row per office, day or contact).
Both PostgreSQL and SQLite run the same statements; `_Dialect` holds the three expressions they spell differently.
"""

from __future__ import annotations

import datetime
import functools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Count, Exists, Min, OuterRef, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from denpasar_checkin.nik import nik_hash_candidates
from offices.models import Entrance, Office, Staff
from screening.models import HealthStatus, RestrictionLevel
from screening.names import names_match
from screening.selectors import effective_capacity
from screening.vocabulary import CaseStatus, Outcome, PersonKind, ScanAction
from visitors.models import Device, ExposureNotice, Person, Resolution, ScanEvent, Visit

# The default tracing window: from two days before the positive test (the infectious period before
# symptoms) until now.
EXPOSURE_DAYS_BEFORE_POSITIVE = 2
# Dashboards and exports cover at most this many days: retention keeps 30, and a bound keeps every query small.
MAX_RANGE_DAYS = 62
# Government offices work Monday to Friday; compliance rates count only these days.
WORKING_WEEKDAYS = frozenset({0, 1, 2, 3, 4})
COMPLIANCE_TREND_WEEKS = 8


# --- dates and ranges -----------------------------------------------------------------------------------------


def local_midnight(day: datetime.date) -> datetime.datetime:
    """The start of a calendar day in the city's time zone (reports speak local days, the database stores UTC)."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_default_timezone())


@dataclass(frozen=True, slots=True)
class DateRange:
    """Whole local days, `first` to `last` inclusive."""

    first: datetime.date
    last: datetime.date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("A date range cannot end before it starts.")

    @classmethod
    def single(cls, day: datetime.date) -> DateRange:
        return cls(day, day)

    @property
    def start(self) -> datetime.datetime:
        return local_midnight(self.first)

    @property
    def end(self) -> datetime.datetime:
        """Exclusive: midnight after the last day."""
        return local_midnight(self.last + datetime.timedelta(days=1))

    @property
    def days(self) -> list[datetime.date]:
        return [self.first + datetime.timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def bucket_minutes(self) -> int:
        """Occupancy chart resolution: 15 minutes for a day or two, coarser for longer ranges (every size divides
        a day, so buckets start at local midnight and a day's peak is the peak of its buckets)."""
        span = len(self.days)
        if span <= 2:
            return 15
        if span <= 7:
            return 60
        return 180


# --- vendor differences ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Dialect:
    greatest: str
    least: str
    seconds_template: str  # {end} - {start} in seconds (at least millisecond precision)
    bucket_template: str  # which {size}-second bucket after {origin} the time {ts} falls in
    # Statements that make the occupancy sweep's sort fit in memory; run inside its transaction only.
    sweep_settings: tuple[str, ...] = ()

    def seconds(self, start: str, end: str) -> str:
        return self.seconds_template.format(start=start, end=end)

    def bucket(self, origin: str, ts: str, size: int) -> str:
        return self.bucket_template.format(origin=origin, ts=ts, size=int(size), seconds=self.seconds(origin, ts))


# PostgreSQL's date_bin is about three times faster than numeric epoch arithmetic over tens of thousands of
# events; it answers the bucket's start time, which _bucket_index turns into a number.
_POSTGRESQL = _Dialect(
    greatest="GREATEST",
    least="LEAST",
    seconds_template="EXTRACT(EPOCH FROM ({end}) - ({start}))",
    bucket_template="date_bin('{size} seconds', {ts}, {origin})",
    # A city-wide day is ~70,000 events: 4 MB (the default) spills the sort to disk, 32 MB keeps it in memory.
    sweep_settings=("SET LOCAL work_mem = '32MB'",),
)
# SQLite keeps datetimes as UTC text; julianday() reads it. Rounding to the millisecond removes the float noise
# that would otherwise put an event at exactly 09:00:00 into the 08:45 bucket. Its multi-argument MAX/MIN are
# GREATEST/LEAST (no NULLs reach them: open visits are COALESCEd to now first).
_SQLITE = _Dialect(
    greatest="MAX",
    least="MIN",
    seconds_template="ROUND((julianday({end}) - julianday({start})) * 86400.0, 3)",
    bucket_template="CAST(({seconds}) / {size} AS INTEGER)",
)


def _bucket_index(value: Any, *, start: datetime.datetime, size: int) -> int:
    """A bucket as the database answered it (a number, or the bucket's start time) as a number from 0."""
    if isinstance(value, int):
        return value
    return int((_from_db_datetime(value) - start).total_seconds() // size)


def _dialect() -> _Dialect:
    if connection.vendor == "postgresql":
        return _POSTGRESQL
    if connection.vendor == "sqlite":
        return _SQLITE
    raise NotImplementedError(f"Reports support PostgreSQL and SQLite, not {connection.vendor}.")


def _db_datetime(value: datetime.datetime) -> Any:
    """A datetime as the backend stores it (SQLite: naive UTC text), so raw SQL compares like the ORM does."""
    return connection.ops.adapt_datetimefield_value(value)


def _from_db_datetime(value: Any) -> datetime.datetime:
    if isinstance(value, str):
        value = parse_datetime(value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=datetime.UTC)
    return value


def _in_list(name: str, values: Sequence[int]) -> tuple[str, dict[str, int]]:
    """`IN (%(name0)s, ...)` with its parameters: portable (SQLite has no arrays) and index-friendly."""
    if not values:
        return "(NULL)", {}
    params = {f"{name}{n}": int(value) for n, value in enumerate(values)}
    return "(" + ", ".join(f"%({key})s" for key in params) + ")", params


def _fetchall(sql: str, params: dict[str, Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- exposure (contact tracing) -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExposureContact:
    person_id: int
    name: str
    nik_masked: str
    phone: str
    office_id: int
    office: str
    overlap_seconds: int
    first_overlap_at: datetime.datetime
    last_overlap_at: datetime.datetime

    @property
    def overlap_minutes(self) -> int:
        """Whole minutes, rounded down: a contact who only touched (or shared under a minute) shows 0."""
        return self.overlap_seconds // 60


def exposure_person_find(*, nik: str, name: str) -> Person | None:
    """The Person with this (validated) NIK, only when the name matches too (case, spacing, punctuation aside)."""
    person = Person.objects.filter(nik_hash__in=nik_hash_candidates(nik)).first()
    if person is None or not names_match(name, person.name):
        return None
    return person


def positive_date_for(*, person: Person) -> datetime.date | None:
    """The positive test date the health registry pushed for this person, if any."""
    return (
        HealthStatus.objects.filter(nik_hash=person.nik_hash, case_status=CaseStatus.POSITIVE)
        .values_list("case_reported_on", flat=True)
        .first()
    )


def exposure_since_default(*, positive_on: datetime.date) -> datetime.date:
    return positive_on - datetime.timedelta(days=EXPOSURE_DAYS_BEFORE_POSITIVE)


def positive_cases_recent(*, today: datetime.date, days: int = 30) -> list[dict[str, Any]]:
    """Positive cases reported in the last `days` days that have check-in records: the tracing work list."""
    person_id = Person.objects.filter(nik_hash=OuterRef("nik_hash")).values("pk")[:1]
    rows = (
        HealthStatus.objects.filter(
            case_status=CaseStatus.POSITIVE, case_reported_on__gte=today - datetime.timedelta(days=days)
        )
        .annotate(person_id=Subquery(person_id))
        .filter(person_id__isnull=False)
        .order_by("-case_reported_on", "name")
        .values("person_id", "name", "nik_masked", "case_reported_on")
    )
    return [{**row, "since": exposure_since_default(positive_on=row["case_reported_on"])} for row in rows]


def exposure_contacts(
    *,
    person_id: int,
    since: datetime.datetime,
    now: datetime.datetime,
    until: datetime.datetime | None = None,
) -> list[ExposureContact]:
    """Everyone whose visit overlapped a visit of `person_id` at the same office within [since, until].

    A visit is the interval [checked_in_at, checked_out_at], an open visit ending at `now`; both the index case's
    visits and the overlaps are clipped to the window. Any overlap counts, **including touching**: a visit that
    ends at the very instant another begins (they crossed at the door) is a contact with 0 minutes. Minutes are
    summed over every pair of visits (a person's own visits never overlap each other) and rounded down.
    One row per contact and office, first contact first. The phone is the one given with the overlapping visit
    (the person's stored phone only for visits that carry none).

    Indexes: the index case's visits come from (person, checked_in_at). Overlap of two intervals is one range
    condition on each end, which no single B-tree serves, so the contacts come in three disjoint branches that each
    scan one index range: arrivals during the index visit (office, checked_in_at), people already inside who left
    later (office, checked_out_at >= start) and people still inside (the partial open-visit index). The work grows
    with the visits at those offices since the window began, never with the whole table.
    """
    params = {
        "person": person_id,
        "since": _db_datetime(since),
        "until": _db_datetime(now if until is None else until),
        "now": _db_datetime(now),
    }
    return [_exposure_contact(row) for row in _fetchall(_exposure_sql(_dialect()), params)]


@functools.cache
def _exposure_sql(d: _Dialect) -> str:
    """The overlap query of exposure_contacts (see there for its shape and the indexes each branch uses)."""
    visit, person, office = Visit._meta.db_table, Person._meta.db_table, Office._meta.db_table
    # Only table names and the dialect's fixed SQL are formatted in; every value is a bound parameter.
    return f"""
        WITH source AS (
            SELECT a.office_id,
                   {d.greatest}(a.checked_in_at, %(since)s) AS s,
                   {d.least}(COALESCE(a.checked_out_at, %(now)s), %(until)s) AS e
            FROM {visit} a
            WHERE a.person_id = %(person)s
              AND a.checked_in_at <= %(until)s
              AND (a.checked_out_at >= %(since)s OR a.checked_out_at IS NULL)
        ),
        pairs AS (
            -- Three disjoint branches, one index each: arrived during the index visit (office, checked_in_at);
            -- already inside when it began and left later (office, checked_out_at); still inside (open visits).
            SELECT b.person_id, b.office_id, b.phone,
                   {d.greatest}(source.s, b.checked_in_at) AS os,
                   {d.least}(source.e, COALESCE(b.checked_out_at, %(now)s)) AS oe
            FROM source
            JOIN {visit} b ON b.office_id = source.office_id
            WHERE b.person_id <> %(person)s AND b.checked_in_at >= source.s AND b.checked_in_at <= source.e
            UNION ALL
            SELECT b.person_id, b.office_id, b.phone, source.s, {d.least}(source.e, b.checked_out_at)
            FROM source
            JOIN {visit} b ON b.office_id = source.office_id
            WHERE b.person_id <> %(person)s AND b.checked_in_at < source.s AND b.checked_out_at >= source.s
            UNION ALL
            SELECT b.person_id, b.office_id, b.phone, source.s, source.e
            FROM source
            JOIN {visit} b ON b.office_id = source.office_id
            WHERE b.person_id <> %(person)s AND b.checked_in_at < source.s AND b.checked_out_at IS NULL
        ),
        contacts AS (
            SELECT person_id, office_id, SUM({d.seconds("os", "oe")}) AS seconds, MIN(os) AS first_at,
                   MAX(oe) AS last_at, MAX(phone) AS phone
            FROM pairs
            WHERE oe >= os
            GROUP BY person_id, office_id
        )
        SELECT p.id, p.name, p.nik_masked, COALESCE(NULLIF(c.phone, ''), p.phone), o.id, o.name, c.seconds,
               c.first_at, c.last_at
        FROM contacts c
        JOIN {person} p ON p.id = c.person_id
        JOIN {office} o ON o.id = c.office_id
        ORDER BY c.first_at, p.name, p.id
    """  # noqa: S608


def _exposure_contact(row: tuple) -> ExposureContact:
    return ExposureContact(
        person_id=row[0],
        name=row[1],
        nik_masked=row[2],
        phone=row[3],
        office_id=row[4],
        office=row[5],
        overlap_seconds=round(float(row[6])),
        first_overlap_at=_from_db_datetime(row[7]),
        last_overlap_at=_from_db_datetime(row[8]),
    )


class NoticeState(models.TextChoices):
    """Whether and how a contact was told of the case (the report's "Told" column)."""

    GATEWAY = "gateway", _("gateway")
    DEVICE = "device", _("remembered phone")
    UNREACHABLE = "unreachable", _("not reachable")
    NOT_YET = "not_yet", _("not yet")


def exposure_notice_states(
    *, case_person_id: int, window_from: datetime.datetime, contacts: Sequence[ExposureContact]
) -> dict[int, str]:
    """How each contact was told of this case (the case is the person and the window's first instant).

    Sent to the gateway wins; a notice not (yet) sent there waits on their remembered phone if they have one; no
    notice and neither a phone nor a remembered device: not reachable; anything else: not yet.
    """
    ids = {c.person_id for c in contacts}
    if not ids:
        return {}
    notices = dict(
        ExposureNotice.objects.filter(
            case__case_person_id=case_person_id, case__window_from=window_from, person_id__in=ids
        ).values_list("person_id", "webhook_sent_at")
    )
    devices = set(Device.objects.filter(person_id__in=ids).values_list("person_id", flat=True))
    phones = {c.person_id for c in contacts if c.phone}
    states = {}
    for person_id in ids:
        if notices.get(person_id) is not None:
            states[person_id] = NoticeState.GATEWAY
        elif person_id in notices and person_id in devices:
            states[person_id] = NoticeState.DEVICE
        elif person_id not in phones and person_id not in devices:
            states[person_id] = NoticeState.UNREACHABLE
        else:
            states[person_id] = NoticeState.NOT_YET
    return {k: str(v.value) for k, v in states.items()}


# --- occupancy over time --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OccupancyPoint:
    at: datetime.datetime  # bucket start
    peak: int  # most people inside at any instant of the bucket


@dataclass(frozen=True, slots=True)
class OccupancySeries:
    bucket_minutes: int
    points: list[OccupancyPoint]

    @property
    def peak(self) -> int:
        return max((p.peak for p in self.points), default=0)

    @property
    def peak_at(self) -> datetime.datetime | None:
        best = max(self.points, key=lambda p: p.peak, default=None)
        return best.at if best is not None and best.peak > 0 else None

    def peak_by_day(self) -> dict[datetime.date, int]:
        peaks: dict[datetime.date, int] = {}
        tz = timezone.get_default_timezone()
        for point in self.points:
            day = point.at.astimezone(tz).date()
            peaks[day] = max(peaks.get(day, 0), point.peak)
        return peaks


def occupancy_series(
    *, office_ids: Sequence[int], rng: DateRange, now: datetime.datetime, per_office: bool = True
) -> dict[int, OccupancySeries]:
    """People inside over time, per office (or, with per_office=False, all the offices together under key 0).

    A sweep in SQL: every check-in is +1 and every check-out -1; a running sum (ordered by time, departures before
    arrivals at the same instant) is the number inside after each event. Grouped into buckets it gives each
    bucket's peak and net change; the level before the range starts (visits open across its start) is added on.
    Buckets after `now` are left out. Both scans are bounded (office, time) index ranges.
    """
    size = rng.bucket_minutes * 60
    stop = min(rng.end, now)
    buckets = max(0, math.ceil((stop - rng.start).total_seconds() / size))
    keys = list(office_ids) if per_office else [0]
    if not office_ids or buckets == 0:
        return {key: OccupancySeries(rng.bucket_minutes, []) for key in keys}

    d = _dialect()
    offices_sql, params = _in_list("office", office_ids)
    group = "v.office_id" if per_office else "0"
    params |= {"start": _db_datetime(rng.start), "end": _db_datetime(stop)}
    initial_sql, sweep_sql = _occupancy_sql(d, offices_sql=offices_sql, group=group, size=size)
    initial = {key: 0 for key in keys}
    initial.update({grp: count for grp, count in _fetchall(initial_sql, params)})
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in d.sweep_settings:
            cursor.execute(statement)
        cursor.execute(sweep_sql, params)
        sweep_rows = cursor.fetchall()
    by_group: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for grp, bucket, max_level, net in sweep_rows:
        by_group[grp].append((_bucket_index(bucket, start=rng.start, size=size), int(max_level), int(net)))
    return {
        key: _occupancy_points(rows=by_group.get(key, []), initial=initial[key], rng=rng, buckets=buckets, size=size)
        for key in keys
    }


def _occupancy_sql(d: _Dialect, *, offices_sql: str, group: str, size: int) -> tuple[str, str]:
    """(people inside when the range starts, the sweep of arrivals and departures bucketed) for occupancy_series."""
    visit = Visit._meta.db_table
    # Only table names, fixed SQL and generated placeholder names are formatted in; values are bound parameters.
    initial_sql = f"""
        SELECT {group}, COUNT(*) FROM {visit} v
        WHERE v.office_id IN {offices_sql} AND v.checked_in_at < %(start)s
          AND (v.checked_out_at >= %(start)s OR v.checked_out_at IS NULL)
        GROUP BY 1
    """  # noqa: S608
    sweep_sql = f"""
        WITH events AS (
            SELECT {group} AS grp, v.checked_in_at AS t, 1 AS d FROM {visit} v
            WHERE v.office_id IN {offices_sql} AND v.checked_in_at >= %(start)s AND v.checked_in_at < %(end)s
            UNION ALL
            SELECT {group} AS grp, v.checked_out_at AS t, -1 AS d FROM {visit} v
            WHERE v.office_id IN {offices_sql} AND v.checked_out_at >= %(start)s AND v.checked_out_at < %(end)s
        ),
        running AS (
            SELECT grp, t, d,
                   SUM(d) OVER (PARTITION BY grp ORDER BY t, d ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
                       AS level
            FROM events
        )
        SELECT grp, {d.bucket("%(start)s", "t", size)} AS bucket, MAX(level), SUM(d)
        FROM running
        GROUP BY grp, bucket
        ORDER BY grp, bucket
    """  # noqa: S608
    return initial_sql, sweep_sql


def _occupancy_points(
    *, rows: list[tuple[int, int, int]], initial: int, rng: DateRange, buckets: int, size: int
) -> OccupancySeries:
    """Each bucket's peak from its (bucket, running maximum, net change) rows and the level the range began with."""
    by_bucket = {bucket: (max_level, net) for bucket, max_level, net in rows}
    level = initial
    points = []
    for bucket in range(buckets):
        peak = level
        if bucket in by_bucket:
            max_level, net = by_bucket[bucket]
            # The running sum starts at 0 for the range; the people already inside sit under it.
            peak = max(level, initial + max_level)
            level += net
        points.append(OccupancyPoint(at=rng.start + datetime.timedelta(seconds=bucket * size), peak=peak))
    return OccupancySeries(rng.bucket_minutes, points)


# --- capacity -------------------------------------------------------------------------------------------------


def restriction_levels_by_day(*, days: Iterable[datetime.date]) -> dict[datetime.date, RestrictionLevel | None]:
    """The restriction level in force on each day (levels change by effective date); one query for any range."""
    days = sorted(days)
    if not days:
        return {}
    levels = list(RestrictionLevel.objects.filter(effective_from__lte=days[-1]).order_by("effective_from"))
    result: dict[datetime.date, RestrictionLevel | None] = {}
    for day in days:
        current = [level for level in levels if level.effective_from <= day]
        result[day] = current[-1] if current else None
    return result


def effective_capacity_on(*, office: Office, level: RestrictionLevel | None) -> int:
    # No level at all (an admin deleted every row) means no restriction, as at the door.
    percentage = level.percentage_for(office.sector) if level is not None else 100
    return effective_capacity(capacity=office.capacity, percentage=percentage)


# --- dashboards -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PendingSummary:
    """Scans that waited for the officer, and what the officer answered."""

    total: int = 0
    approved: int = 0
    denied: int = 0

    @property
    def open(self) -> int:
        return self.total - self.approved - self.denied


@dataclass(slots=True)
class OfficeSummary:
    office_id: int
    name: str
    capacity: int
    checkins: int = 0
    checkins_staff: int = 0
    checkins_visitors: int = 0
    checkouts: int = 0
    denied: int = 0
    denials: dict[str, int] = field(default_factory=dict)  # reason code -> count
    pending: PendingSummary = field(default_factory=PendingSummary)
    peak: int = 0
    peak_at: datetime.datetime | None = None
    effective_capacity: int = 0  # on the day of the peak (the last day when nobody came)
    over_capacity: bool = False  # some day's peak above that day's effective capacity
    staff_roster: int = 0
    staff_present_days: int = 0
    staff_expected_days: int = 0

    @property
    def staff_rate(self) -> float | None:
        if not self.staff_expected_days:
            return None
        return self.staff_present_days / self.staff_expected_days

    @property
    def pct(self) -> int | None:
        """The rate as a whole percentage, for display."""
        rate = self.staff_rate
        return None if rate is None else round(rate * 100)


def visit_counts(*, office_ids: Sequence[int], rng: DateRange) -> tuple[dict, dict]:
    """Check-ins per (office, day, kind, entrance) and check-outs per (office, day, entrance).

    Two (office, time) index ranges; the totals, the day-by-day rows and the per-entrance table all come from them.
    """
    tz = timezone.get_default_timezone()
    checkins = (
        Visit.objects.filter(office_id__in=office_ids, checked_in_at__gte=rng.start, checked_in_at__lt=rng.end)
        .annotate(day=TruncDate("checked_in_at", tzinfo=tz))
        .values_list("office_id", "day", "kind", "entrance_in_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    checkouts = (
        Visit.objects.filter(office_id__in=office_ids, checked_out_at__gte=rng.start, checked_out_at__lt=rng.end)
        .annotate(day=TruncDate("checked_out_at", tzinfo=tz))
        .values_list("office_id", "day", "entrance_out_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    ins = {(o, day, kind, entrance): n for o, day, kind, entrance, n in checkins}
    outs = {(o, day, entrance): n for o, day, entrance, n in checkouts}
    return ins, outs


def scan_counts(*, office_ids: Sequence[int], rng: DateRange) -> list[tuple[int, int, str, str, str, int]]:
    """(office, entrance, outcome, reason, resolution, count) of denied and pending check-ins.

    Served by the partial index scan_office_problem_idx: the admitted majority of scans is not in it. A status
    alert for someone already inside is not a check-in, so it never counts as a denial.
    """
    return list(
        ScanEvent.objects.filter(
            office_id__in=office_ids,
            created_at__gte=rng.start,
            created_at__lt=rng.end,
            outcome__in=[Outcome.DENIED, Outcome.PENDING],
            action=ScanAction.CHECKIN,
        )
        .values_list("office_id", "entrance_id", "outcome", "reason", "resolution")
        .annotate(n=Count("id"))
        .order_by()
    )


@dataclass(frozen=True, slots=True)
class _Facts:
    """Everything the dashboards read, fetched once: a handful of queries whatever the number of offices."""

    summaries: dict[int, OfficeSummary]
    series: dict[int, OccupancySeries]
    checkins: dict[tuple[int, datetime.date, str, int], int]
    checkouts: dict[tuple[int, datetime.date, int | None], int]
    scans: list[tuple[int, int, str, str, str, int]]
    levels: dict[datetime.date, RestrictionLevel | None]


def _facts(*, offices: Sequence[Office], rng: DateRange, now: datetime.datetime) -> _Facts:
    ids = [office.pk for office in offices]
    summaries = {
        office.pk: OfficeSummary(office_id=office.pk, name=office.name, capacity=office.capacity) for office in offices
    }
    ins, outs = visit_counts(office_ids=ids, rng=rng)
    for (office_id, _day, kind, _entrance), n in ins.items():
        row = summaries[office_id]
        row.checkins += n
        if kind == PersonKind.STAFF:
            row.checkins_staff += n
        else:
            row.checkins_visitors += n
    for (office_id, _day, _entrance), n in outs.items():
        summaries[office_id].checkouts += n
    scans = scan_counts(office_ids=ids, rng=rng)
    for office_id, _entrance, outcome, reason, resolution, n in scans:
        row = summaries[office_id]
        if outcome == Outcome.DENIED:
            row.denied += n
            row.denials[reason] = row.denials.get(reason, 0) + n
        else:
            row.pending.total += n
            if resolution == Resolution.APPROVED:
                row.pending.approved += n
            elif resolution == Resolution.DENIED:
                row.pending.denied += n

    today = timezone.localdate(now)
    series = occupancy_series(office_ids=ids, rng=rng, now=now)
    levels = restriction_levels_by_day(days=[*rng.days, today])
    for office in offices:
        row, office_series = summaries[office.pk], series[office.pk]
        row.peak, row.peak_at = office_series.peak, office_series.peak_at
        peak_day = timezone.localdate(row.peak_at) if row.peak_at else min(rng.last, today)
        row.effective_capacity = effective_capacity_on(office=office, level=levels[peak_day])
        row.over_capacity = any(
            peak > effective_capacity_on(office=office, level=levels[day])
            for day, peak in office_series.peak_by_day().items()
        )

    compliance = staff_compliance(office_ids=ids, rng=rng, today=today)
    # Today's roster even when no day of the range counts yet (the office had not started scanning).
    rosters = staff_roster_sizes(office_ids=ids)
    for office_id, days in compliance.items():
        row = summaries[office_id]
        row.staff_roster = rosters[office_id]
        working = [day for day in days if day.working]
        row.staff_present_days = sum(day.present for day in working)
        row.staff_expected_days = sum(day.roster for day in working)
    return _Facts(summaries=summaries, series=series, checkins=ins, checkouts=outs, scans=scans, levels=levels)


def denials_by_reason(summaries: Iterable[OfficeSummary]) -> list[tuple[str, int]]:
    """Denials across offices by reason code, most frequent first."""
    totals: dict[str, int] = defaultdict(int)
    for row in summaries:
        for reason, n in row.denials.items():
            totals[reason] += n
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


@dataclass(frozen=True, slots=True)
class DayRow:
    day: datetime.date
    checkins: int
    checkouts: int
    peak: int
    effective_capacity: int

    @property
    def over_capacity(self) -> bool:
        return self.peak > self.effective_capacity


@dataclass(frozen=True, slots=True)
class EntranceRow:
    entrance_id: int
    name: str
    active: bool
    checkins: int
    checkouts: int
    denied: int
    pending: int


@dataclass(frozen=True, slots=True)
class OfficeDashboard:
    office: Office
    rng: DateRange
    summary: OfficeSummary
    series: OccupancySeries
    days: list[DayRow]
    entrances: list[EntranceRow]
    denials: list[tuple[str, int]]
    effective_capacity_now: int


def _entrance_rows(*, office_id: int, facts: _Facts) -> list[EntranceRow]:
    """Check-ins, check-outs, denied and pending scans per entrance of one office (every entrance listed)."""
    ins: dict[int, int] = defaultdict(int)
    outs: dict[int, int] = defaultdict(int)
    scans: dict[tuple[int, str], int] = defaultdict(int)
    for (office, _day, _kind, entrance), n in facts.checkins.items():
        if office == office_id:
            ins[entrance] += n
    for (office, _day, entrance), n in facts.checkouts.items():
        if office == office_id:
            outs[entrance] += n
    for office, entrance, outcome, _reason, _resolution, n in facts.scans:
        if office == office_id:
            scans[(entrance, outcome)] += n
    return [
        EntranceRow(
            entrance_id=entrance.pk,
            name=entrance.name,
            active=entrance.active,
            checkins=ins[entrance.pk],
            checkouts=outs[entrance.pk],
            denied=scans[(entrance.pk, Outcome.DENIED)],
            pending=scans[(entrance.pk, Outcome.PENDING)],
        )
        for entrance in Entrance.objects.filter(office_id=office_id).order_by("name")
    ]


def office_dashboard(*, office: Office, rng: DateRange, now: datetime.datetime) -> OfficeDashboard:
    facts = _facts(offices=[office], rng=rng, now=now)
    summary, series = facts.summaries[office.pk], facts.series[office.pk]
    peaks = series.peak_by_day()
    days = [
        DayRow(
            day=day,
            checkins=sum(n for (_office, d, _kind, _entrance), n in facts.checkins.items() if d == day),
            checkouts=sum(n for (_office, d, _entrance), n in facts.checkouts.items() if d == day),
            peak=peaks.get(day, 0),
            effective_capacity=effective_capacity_on(office=office, level=facts.levels[day]),
        )
        for day in rng.days
    ]
    return OfficeDashboard(
        office=office,
        rng=rng,
        summary=summary,
        series=series,
        days=days,
        entrances=_entrance_rows(office_id=office.pk, facts=facts),
        denials=denials_by_reason([summary]),
        effective_capacity_now=effective_capacity_on(office=office, level=facts.levels[timezone.localdate(now)]),
    )


@dataclass(frozen=True, slots=True)
class CityDashboard:
    rng: DateRange
    offices: list[OfficeSummary]
    series: OccupancySeries
    denials: list[tuple[str, int]]

    @property
    def totals(self) -> dict[str, int]:
        return {
            "checkins": sum(row.checkins for row in self.offices),
            "checkouts": sum(row.checkouts for row in self.offices),
            "denied": sum(row.denied for row in self.offices),
            "pending": sum(row.pending.total for row in self.offices),
            "pending_approved": sum(row.pending.approved for row in self.offices),
            "pending_denied": sum(row.pending.denied for row in self.offices),
            "pending_open": sum(row.pending.open for row in self.offices),
            "over_capacity": sum(1 for row in self.offices if row.over_capacity),
        }


def city_dashboard(*, offices: Sequence[Office], rng: DateRange, now: datetime.datetime) -> CityDashboard:
    """Every office in one table plus the city-wide occupancy curve (one sweep over all offices together)."""
    facts = _facts(offices=offices, rng=rng, now=now)
    summaries = [facts.summaries[office.pk] for office in offices]
    series = occupancy_series(office_ids=[o.pk for o in offices], rng=rng, now=now, per_office=False)[0]
    return CityDashboard(rng=rng, offices=summaries, series=series, denials=denials_by_reason(summaries))


# --- staff compliance -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ComplianceDay:
    office_id: int
    day: datetime.date
    roster: int
    present: int
    working: bool

    @property
    def absent(self) -> int:
        return max(self.roster - self.present, 0)

    @property
    def rate(self) -> float | None:
        return self.present / self.roster if self.roster else None

    @property
    def pct(self) -> int | None:
        """The rate as a whole percentage, for display."""
        rate = self.rate
        return None if rate is None else round(rate * 100)


@dataclass(frozen=True, slots=True)
class ComplianceWeek:
    office_id: int
    week_start: datetime.date
    roster: int
    working_days: int
    present_days: int

    @property
    def rate(self) -> float | None:
        expected = self.roster * self.working_days
        return self.present_days / expected if expected else None

    @property
    def pct(self) -> int | None:
        """The rate as a whole percentage, for display."""
        rate = self.rate
        return None if rate is None else round(rate * 100)


def _staff_on_roster(office_id_ref: str = "office_id", nik_hash_ref: str = "person__nik_hash") -> Exists:
    return Exists(Staff.objects.filter(office_id=OuterRef(office_id_ref), nik_hash=OuterRef(nik_hash_ref), active=True))


def staff_roster_sizes(*, office_ids: Sequence[int]) -> dict[int, int]:
    """Active staff per office. Rosters keep no history, so every day of a range is measured against today's."""
    rows = Staff.objects.filter(office_id__in=office_ids, active=True).values_list("office_id").annotate(n=Count("id"))
    sizes = {office_id: 0 for office_id in office_ids}
    sizes.update(dict(rows.order_by()))
    return sizes


def staff_present_by_day(*, office_ids: Sequence[int], rng: DateRange) -> dict[tuple[int, datetime.date], int]:
    """Distinct rostered staff with a staff visit at their office, per (office, local day).

    A staff member counts at an office when a Visit of kind staff there belongs to the Person whose NIK hash is
    on that office's active roster (Person.nik_hash = Staff.nik_hash).
    """
    rows = (
        Visit.objects.filter(
            office_id__in=office_ids,
            kind=PersonKind.STAFF,
            checked_in_at__gte=rng.start,
            checked_in_at__lt=rng.end,
        )
        .filter(_staff_on_roster())
        .annotate(day=TruncDate("checked_in_at", tzinfo=timezone.get_default_timezone()))
        .values_list("office_id", "day")
        .annotate(n=Count("person_id", distinct=True))
        .order_by()
    )
    return {(office_id, day): n for office_id, day, n in rows}


def offices_first_use(*, office_ids: Sequence[int]) -> dict[int, datetime.date | None]:
    """The local day each office first recorded a scan (or a visit), None for an office that never has.

    One index probe per office on each of (office, created_at) and (office, checked_in_at): no scan of history.
    Once retention has purged the first weeks, this is the oldest day still on record, which is also the first
    day whose attendance can still be counted.
    """
    first_scan = ScanEvent.objects.filter(office_id=OuterRef("pk")).order_by("created_at").values("created_at")[:1]
    first_visit = Visit.objects.filter(office_id=OuterRef("pk")).order_by("checked_in_at").values("checked_in_at")[:1]
    rows = (
        Office.objects.filter(pk__in=office_ids)
        .annotate(first_scan=Subquery(first_scan), first_visit=Subquery(first_visit))
        .values_list("pk", "first_scan", "first_visit")
    )
    first: dict[int, datetime.date | None] = dict.fromkeys(office_ids)
    for office_id, scan_at, visit_at in rows:
        moments = [moment for moment in (scan_at, visit_at) if moment is not None]
        first[office_id] = timezone.localdate(min(moments)) if moments else None
    return first


def staff_compliance(
    *, office_ids: Sequence[int], rng: DateRange, today: datetime.date
) -> dict[int, list[ComplianceDay]]:
    """Roster vs staff who checked in, per office and day (days after `today` are left out).

    Only days since the office's first scan count: before it the office did not use the system yet, and its staff
    were not absent (an office that never scanned has no compliance days at all, so no rate rather than 0 %).
    """
    rosters = staff_roster_sizes(office_ids=office_ids)
    present = staff_present_by_day(office_ids=office_ids, rng=rng)
    first_use = offices_first_use(office_ids=office_ids)
    days = [day for day in rng.days if day <= today]
    return {
        office_id: [
            ComplianceDay(
                office_id=office_id,
                day=day,
                roster=rosters[office_id],
                present=present.get((office_id, day), 0),
                working=day.weekday() in WORKING_WEEKDAYS,
            )
            for day in days
            if first_use[office_id] is not None and day >= first_use[office_id]
        ]
        for office_id in office_ids
    }


def staff_compliance_weeks(
    *, office_ids: Sequence[int], last_day: datetime.date, today: datetime.date, weeks: int = COMPLIANCE_TREND_WEEKS
) -> dict[int, list[ComplianceWeek]]:
    """The weekly trend: staff-days present over (roster x working days) for the `weeks` weeks ending at last_day.

    Days older than the retention period are left out (their visits are deleted, so they would read as absences):
    the oldest week may count fewer working days, and weeks wholly before it are not listed.
    """
    last_day = min(last_day, today)
    first_monday = last_day - datetime.timedelta(days=last_day.weekday() + 7 * (weeks - 1))
    retained_from = today - datetime.timedelta(days=settings.RETENTION_DAYS - 1)
    rng = DateRange(min(max(first_monday, retained_from), last_day), last_day)
    daily = staff_compliance(office_ids=office_ids, rng=rng, today=today)
    result = {}
    for office_id, days in daily.items():
        by_week: dict[datetime.date, list[ComplianceDay]] = defaultdict(list)
        for day in days:
            by_week[day.day - datetime.timedelta(days=day.day.weekday())].append(day)
        result[office_id] = [
            ComplianceWeek(
                office_id=office_id,
                week_start=week_start,
                roster=max((d.roster for d in week_days), default=0),
                working_days=sum(1 for d in week_days if d.working),
                present_days=sum(d.present for d in week_days if d.working),
            )
            for week_start, week_days in sorted(by_week.items())
            if any(d.working for d in week_days)
        ]
    return result


def staff_attendance(*, office_id: int, day: datetime.date) -> list[dict[str, Any]]:
    """The office's active roster for one day: each member with their first check-in time, or None (absent)."""
    rng = DateRange.single(day)
    first_in = (
        Visit.objects.filter(
            office_id=OuterRef("office_id"),
            kind=PersonKind.STAFF,
            person__nik_hash=OuterRef("nik_hash"),
            checked_in_at__gte=rng.start,
            checked_in_at__lt=rng.end,
        )
        .order_by("checked_in_at")
        .values("checked_in_at")[:1]
    )
    return list(
        Staff.objects.filter(office_id=office_id, active=True)
        .annotate(first_in=Subquery(first_in))
        .order_by("name", "pk")
        .values("pk", "name", "nip", "nik_masked", "first_in")
    )


# --- exports (rows only; services.py writes the files and the audit log) --------------------------------------


def office_visits_for_export(*, office_id: int, rng: DateRange):
    """The office's visits that started in the range, oldest first, with masked NIKs only (no encrypted NIK)."""
    return (
        Visit.objects.filter(office_id=office_id, checked_in_at__gte=rng.start, checked_in_at__lt=rng.end)
        .order_by("checked_in_at", "pk")
        .values_list(
            "checked_in_at",
            "checked_out_at",
            "kind",
            "person__name",
            "person__nik_masked",
            "entrance_in__name",
            "entrance_out__name",
            "closed_by",
            "guardian_visit_id",
        )
    )


def staff_first_checkins(*, office_id: int, rng: DateRange) -> dict[tuple[str, datetime.date], datetime.datetime]:
    """Each rostered staff member's first staff check-in per local day at the office, keyed by (NIK hash, day)."""
    rows = (
        Visit.objects.filter(
            office_id=office_id, kind=PersonKind.STAFF, checked_in_at__gte=rng.start, checked_in_at__lt=rng.end
        )
        .filter(_staff_on_roster())
        .annotate(day=TruncDate("checked_in_at", tzinfo=timezone.get_default_timezone()))
        .values_list("person__nik_hash", "day")
        .annotate(first_in=Min("checked_in_at"))
        .order_by()
    )
    return {(digest, day): first_in for digest, day, first_in in rows}


def staff_roster(*, office_id: int) -> list[dict[str, Any]]:
    return list(
        Staff.objects.filter(office_id=office_id, active=True)
        .order_by("name", "pk")
        .values("pk", "name", "nip", "nik_masked", "nik_hash")
    )
