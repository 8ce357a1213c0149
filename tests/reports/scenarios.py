"""Shared report test data: the clock, visit helpers and the contacts the tracing scenario must find."""

from __future__ import annotations

import csv
import datetime
import io

from tests.factories import VisitFactory, nik_make
from visitors.models import ClosedBy

TZ = datetime.timezone(datetime.timedelta(hours=8))  # Asia/Makassar, no daylight saving
NOW = datetime.datetime(2024, 3, 10, 12, 0, tzinfo=TZ)  # a Sunday, noon
INDEX_NAME = "Ni Luh Putu Ayu"
INDEX_NIK = nik_make(9001)


def at(day: int, hhmm: str, second: int = 0) -> datetime.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime.datetime(2024, 3, day, hour, minute, second, tzinfo=TZ)


def visit(person, entrance, start, end=None, **kwargs):
    return VisitFactory(
        person=person,
        entrance_in=entrance,
        checked_in_at=start,
        checked_out_at=end,
        closed_by=ClosedBy.PERSON if end else "",
        **kwargs,
    )


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


EXPECTED = {
    # name: (office key, minutes)
    "Clipped": ("a", 30),
    "Touch Before": ("a", 0),
    "Partial": ("a", 15),
    "Covering": ("a", 120),
    "Nested": ("a", 30),
    "Twice": ("a", 35),
    "Touch After": ("a", 0),
    "Office B": ("b", 30),
    "Open Too": ("a", 30),
}
