"""Bulk set-up of offices and their entrances from the city's CSV, one row per entrance, idempotent by name."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from denpasar_checkin.text import CONTROL_MESSAGE, text_has_control

from .models import Entrance, Office, Sector
from .services import office_save

COLUMNS = ("office", "address", "sector", "capacity", "entrance")

# Generous for any office building, small enough that a typo (an extra zero or two) is caught instead of loaded.
CAPACITY_MAX = 100_000

_OFFICE_NAME_MAX = Office._meta.get_field("name").max_length
_ADDRESS_MAX = Office._meta.get_field("address").max_length
_ENTRANCE_NAME_MAX = Entrance._meta.get_field("name").max_length
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class ImportedEntrance:
    office_id: int
    office: str
    entrance_id: int
    entrance: str
    url: str
    short_code: str  # the code printed on the poster for typing by hand
    created: bool


@dataclass(frozen=True)
class RowError:
    """A problem with one line of the file (header = line 1); `code` is stable, `message` is for people."""

    line: int
    message: str
    code: str = "invalid"


@dataclass
class ImportResult:
    rows: list[ImportedEntrance] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    offices_created: int = 0
    offices_updated: int = 0

    @property
    def entrances_created(self) -> int:
        return sum(1 for row in self.rows if row.created)


@dataclass(frozen=True)
class _Row:
    line: int
    office: str
    address: str
    sector: str
    capacity: int
    entrance: str


def offices_import_csv(*, text: str) -> ImportResult:
    """Create or update offices and entrances from CSV text with the columns office,address,sector,capacity,entrance.

    Every row is checked before anything is written; bad rows are reported by line and skipped, good rows load.
    Each row is written in its own transaction, so an office and its entrance are never half-written.
    An existing office (matched by exact name) gets its address, sector and capacity updated when they changed;
    an existing entrance (matched by office and exact name) is left as it is.
    """
    result = ImportResult()
    rows = _rows_parse(text, errors=result.errors)
    created_offices: set[int] = set()
    updated_offices: set[int] = set()
    for row in rows:
        try:
            imported, office_change = _row_save(row)
        except ValidationError as exc:
            result.errors.append(RowError(row.line, "; ".join(exc.messages), "invalid"))
            continue
        except IntegrityError:
            # Another import or an admin wrote the same office or entrance at the same moment.
            result.errors.append(
                RowError(
                    row.line,
                    str(_("This row clashed with a change made at the same time; import the file again.")),
                    "conflict",
                )
            )
            continue
        result.rows.append(imported)
        if office_change == "created":
            created_offices.add(imported.office_id)
        elif office_change == "updated":
            updated_offices.add(imported.office_id)
    result.errors.sort(key=lambda error: error.line)
    result.offices_created = len(created_offices)
    result.offices_updated = len(updated_offices - created_offices)
    return result


# --- Reading and checking -------------------------------------------------------------------------------------------


def _rows_parse(text: str, *, errors: list[RowError]) -> list[_Row]:
    """The file's good rows in order; every problem found goes to `errors`. A bad header loads nothing."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        errors.append(RowError(1, _("The header row cannot be read as CSV: %(error)s") % {"error": exc}, "csv"))
        return []
    columns = _header_check(header, errors=errors)
    if columns is None:
        return []

    rows: list[_Row] = []
    offices_seen: dict[str, _Row] = {}
    entrances_seen: dict[tuple[str, str], int] = {}
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # The reader cannot be trusted past a malformed line (e.g. an unclosed quote), so stop here.
            errors.append(
                RowError(
                    line, _("This line cannot be read as CSV (%(error)s); stopped reading.") % {"error": exc}, "csv"
                )
            )
            break
        if not any(cell.strip() for cell in cells):
            continue  # blank lines and spreadsheet leftovers such as ",,,,"
        if len(cells) != len(header):
            errors.append(
                RowError(
                    line,
                    _("Expected %(expected)d columns (%(columns)s) but found %(found)d.")
                    % {"expected": len(header), "columns": ",".join(COLUMNS), "found": len(cells)},
                    "columns",
                )
            )
            continue
        row = _row_check(line, {name: cells[index] for name, index in columns.items()}, errors=errors)
        if row is None or not _row_consistent(row, offices_seen, entrances_seen, errors=errors):
            continue
        rows.append(row)
    return rows


def _header_check(header: list[str] | None, *, errors: list[RowError]) -> dict[str, int] | None:
    """Column name -> position, or None (with one error) when the header lacks a required column."""
    expected = ",".join(COLUMNS)
    if not header or not any(cell.strip() for cell in header):
        errors.append(
            RowError(
                1,
                _("The file is empty; the first line must be the header: %(columns)s") % {"columns": expected},
                "header",
            )
        )
        return None
    names = [cell.strip().lower() for cell in header]
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        message = _("The header row is missing the column(s) %(missing)s; expected: %(columns)s.") % {
            "missing": ", ".join(missing),
            "columns": expected,
        }
        if len(header) == 1 and ";" in header[0]:
            message += " " + str(_("The file seems to use ';' as separator; save it with ',' instead."))
        errors.append(RowError(1, message, "header"))
        return None
    return {name: names.index(name) for name in COLUMNS}


def _row_check(line: int, raw: dict[str, str], *, errors: list[RowError]) -> _Row | None:
    """A checked row, or None after adding one error per problem found in it."""
    problems: list[tuple[str, str]] = []
    # PostgreSQL refuses NUL (the row would fail as a 500), and no name on a poster or a screen holds a control
    # character; line breaks and tabs inside a quoted cell collapse to spaces like any other whitespace.
    for column in COLUMNS:
        if text_has_control(raw[column], allow_whitespace=True):
            problems.append(("control_characters", f"{column}: {CONTROL_MESSAGE}"))
    if problems:
        errors.extend(RowError(line, message, code) for code, message in problems)
        return None
    office = _spaces_collapse(raw["office"])
    address = _spaces_collapse(raw["address"])
    entrance = _spaces_collapse(raw["entrance"])

    if not office:
        problems.append(("office_required", str(_("The office name is empty."))))
    elif len(office) > _OFFICE_NAME_MAX:
        problems.append(
            ("office_too_long", _("The office name is longer than %(max)d characters.") % {"max": _OFFICE_NAME_MAX})
        )
    if len(address) > _ADDRESS_MAX:
        problems.append(
            ("address_too_long", _("The address is longer than %(max)d characters.") % {"max": _ADDRESS_MAX})
        )
    sector = _sector_parse(raw["sector"])
    if sector is None:
        problems.append(
            (
                "sector",
                _('Unknown sector "%(value)s"; use one of: %(choices)s.')
                % {"value": raw["sector"].strip(), "choices": ", ".join(Sector.values)},
            )
        )
    capacity = _capacity_parse(raw["capacity"])
    if capacity is None:
        problems.append(
            (
                "capacity",
                _('Capacity "%(value)s" is not a whole number from 1 to %(max)d.')
                % {"value": raw["capacity"].strip(), "max": CAPACITY_MAX},
            )
        )
    if not entrance:
        problems.append(("entrance_required", str(_("The entrance name is empty."))))
    elif len(entrance) > _ENTRANCE_NAME_MAX:
        problems.append(
            (
                "entrance_too_long",
                _("The entrance name is longer than %(max)d characters.") % {"max": _ENTRANCE_NAME_MAX},
            )
        )

    if problems:
        errors.extend(RowError(line, message, code) for code, message in problems)
        return None
    assert sector is not None and capacity is not None  # narrowed by the checks above, for the type checker
    return _Row(line=line, office=office, address=address, sector=sector, capacity=capacity, entrance=entrance)


def _row_consistent(
    row: _Row, offices_seen: dict[str, _Row], entrances_seen: dict[tuple[str, str], int], *, errors: list[RowError]
) -> bool:
    """Within one file, an office has one address, sector and capacity, and each of its entrances appears once."""
    first = offices_seen.setdefault(row.office, row)
    differing = [
        label
        for label, mine, theirs in (
            (_("address"), row.address, first.address),
            (_("sector"), row.sector, first.sector),
            (_("capacity"), row.capacity, first.capacity),
        )
        if mine != theirs
    ]
    if differing:
        errors.append(
            RowError(
                row.line,
                _('Office "%(office)s" has a different %(fields)s than on line %(first)d; all its rows must agree.')
                % {"office": row.office, "fields": ", ".join(str(label) for label in differing), "first": first.line},
                "office_conflict",
            )
        )
        return False
    key = (row.office, row.entrance)
    if key in entrances_seen:
        errors.append(
            RowError(
                row.line,
                _('Entrance "%(entrance)s" of office "%(office)s" is already listed on line %(first)d.')
                % {"entrance": row.entrance, "office": row.office, "first": entrances_seen[key]},
                "duplicate",
            )
        )
        return False
    entrances_seen[key] = row.line
    return True


def _spaces_collapse(value: str) -> str:
    return " ".join(value.split())


def _sector_parse(raw: str) -> str | None:
    """kritikal | esensial | non_esensial, also written "Non Esensial", "non-esensial" and the like."""
    key = "_".join(raw.replace("-", " ").replace("_", " ").lower().split())
    return key if key in Sector.values else None


def _capacity_parse(raw: str) -> int | None:
    raw = raw.strip()
    if not _DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if 1 <= value <= CAPACITY_MAX else None


# --- Writing ----------------------------------------------------------------------------------------------------------


@transaction.atomic
def _row_save(row: _Row) -> tuple[ImportedEntrance, str]:
    """Upsert the row's office and get-or-create its entrance; says whether the office was created or updated."""
    office = Office.objects.filter(name=row.office).first()
    office_change = ""
    if office is None:
        office = office_save(
            office=Office(name=row.office, address=row.address, sector=row.sector, capacity=row.capacity)
        )
        office_change = "created"
    elif (office.address, office.sector, office.capacity) != (row.address, row.sector, row.capacity):
        office.address, office.sector, office.capacity = row.address, row.sector, row.capacity
        office_save(office=office)
        office_change = "updated"
    entrance, created = Entrance.objects.get_or_create(office=office, name=row.entrance)
    imported = ImportedEntrance(
        office_id=office.pk,
        office=office.name,
        entrance_id=entrance.pk,
        entrance=entrance.name,
        url=entrance.url,
        short_code=entrance.short_code,
        created=created,
    )
    return imported, office_change
