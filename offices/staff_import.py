"""The office roster's bulk load: a staff CSV (`nik,name,nip[,email,phone,receives_visitors]`) into one office.

Idempotent by NIK within the office: a row updates the person it names, a second load of the same file changes
nothing. A bad line is reported by its number and skipped; the rest still loads. Staff of the office that a clean
file no longer lists are marked inactive, never deleted (their scans and visits keep pointing at them); when some
line was bad the file is not a complete roster, so nobody is deactivated and the result says why.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from denpasar_checkin.nik import nik_hash, nik_validate

from .importing import RowError
from .models import Office, Staff
from .services import audit_record, staff_upsert

STAFF_COLUMNS = ("nik", "name", "nip")
STAFF_OPTIONAL_COLUMNS = ("email", "phone", "receives_visitors")
_NAME_MAX = Staff._meta.get_field("name").max_length
_NIP = re.compile(r"[0-9]{18}")
_PHONE = re.compile(r"\+?[0-9]{8,15}")
_TRUE = {"true", "ya", "yes", "1", "y"}
_FALSE = {"false", "tidak", "no", "0", "n", ""}


@dataclass
class RosterResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    errors: list[RowError] = field(default_factory=list)
    # Why nobody was deactivated although the file left people out (empty when deactivation ran).
    deactivation_skipped: str = ""

    @property
    def loaded(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass(frozen=True)
class _StaffRow:
    line: int
    nik: str
    name: str
    nip: str
    email: str | None
    phone: str | None
    receives_visitors: bool | None


def staff_import_csv(*, office: Office, text: str, actor: AbstractBaseUser | None = None) -> RosterResult:
    """Load the roster CSV `text` into `office` (see the module's docstring); audited as staff.imported."""
    result = RosterResult()
    rows = _rows_parse(text, errors=result.errors)
    if rows is None:
        return result
    listed: set[str] = set()
    with transaction.atomic():
        for row in rows:
            before = _snapshot(office=office, nik=row.nik)
            try:
                with transaction.atomic():
                    staff, created = staff_upsert(
                        office=office,
                        nik=row.nik,
                        name=row.name,
                        nip=row.nip,
                        email=row.email,
                        phone=row.phone,
                        receives_visitors=row.receives_visitors,
                    )
            except ValidationError as error:
                result.errors.append(RowError(row.line, _validation_text(error)))
                continue
            listed.add(staff.nik_hash)
            if created:
                result.created += 1
            elif before != _snapshot(office=office, nik=row.nik):
                result.updated += 1
            else:
                result.unchanged += 1
        missing = Staff.objects.filter(office=office, active=True).exclude(nik_hash__in=listed)
        if result.errors:
            if missing.exists():
                result.deactivation_skipped = _(
                    "Nobody was marked inactive: fix the lines above and load the whole file again."
                )
        else:
            result.deactivated = missing.update(active=False)
        audit_record(
            actor=actor,
            action="staff.imported",
            office=office,
            detail={
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "deactivated": result.deactivated,
                "errors": len(result.errors),
            },
        )
    return result


def _snapshot(*, office: Office, nik: str) -> tuple | None:
    return (
        Staff.objects.filter(office=office, nik_hash=nik_hash(nik))
        .values_list("name", "nip", "email", "phone", "receives_visitors", "active")
        .first()
    )


def _validation_text(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items())
    return " ".join(error.messages)


def _rows_parse(text: str, *, errors: list[RowError]) -> list[_StaffRow] | None:
    """The file's good rows (None when the header itself is unusable); every bad line is added to `errors`."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    columns = [name.strip().lower() for name in header] if header else []
    missing = [name for name in STAFF_COLUMNS if name not in columns]
    unknown = [name for name in columns if name not in STAFF_COLUMNS + STAFF_OPTIONAL_COLUMNS]
    if not columns or missing or unknown:
        expected = ",".join(STAFF_COLUMNS) + "[," + ",".join(STAFF_OPTIONAL_COLUMNS) + "]"
        errors.append(RowError(1, _("The header must be %(expected)s.") % {"expected": expected}, "header"))
        return None
    rows: list[_StaffRow] = []
    seen_nik: dict[str, int] = {}
    seen_nip: dict[str, int] = {}
    for number, values in enumerate(reader, start=2):
        if not any(value.strip() for value in values):
            continue
        if len(values) > len(columns):
            errors.append(RowError(number, _("This line has more fields than the header.")))
            continue
        raw = {name: (values[i].strip() if i < len(values) else "") for i, name in enumerate(columns)}
        row = _row_check(number, raw, present=set(columns), errors=errors)
        if row is None:
            continue
        digest = nik_hash(row.nik)
        if digest in seen_nik:
            errors.append(RowError(number, _("The same NIK is on line %(line)d.") % {"line": seen_nik[digest]}))
            continue
        if row.nip in seen_nip:
            errors.append(RowError(number, _("The same NIP is on line %(line)d.") % {"line": seen_nip[row.nip]}))
            continue
        seen_nik[digest], seen_nip[row.nip] = number, number
        rows.append(row)
    return rows


def _row_check(line: int, raw: dict[str, str], *, present: set[str], errors: list[RowError]) -> _StaffRow | None:
    problems: list[str] = []
    try:
        nik = nik_validate(raw["nik"])
    except ValidationError as error:
        problems.append(" ".join(error.messages))
        nik = ""
    name = " ".join(raw["name"].split())
    if not name:
        problems.append(_("The name is empty."))
    elif len(name) > _NAME_MAX:
        problems.append(_("The name is longer than %(max)d characters.") % {"max": _NAME_MAX})
    nip = raw["nip"].replace(" ", "")
    if not _NIP.fullmatch(nip):
        problems.append(_("The NIP must be 18 digits."))
    email = raw.get("email") if "email" in present else None
    if email:
        try:
            validate_email(email)
        except ValidationError:
            problems.append(_("The e-mail address is not valid."))
    phone = raw.get("phone") if "phone" in present else None
    if phone:
        phone = re.sub(r"[\s().-]", "", phone)
        if not _PHONE.fullmatch(phone):
            problems.append(_("The phone number must be 8 to 15 digits, optionally after a +."))
    receives = None
    if "receives_visitors" in present:
        flag = raw["receives_visitors"].lower()
        if flag in _TRUE:
            receives = True
        elif flag in _FALSE:
            receives = False
        else:
            problems.append(_("receives_visitors must be true or false."))
    if problems:
        errors.append(RowError(line, " ".join(problems)))
        return None
    return _StaffRow(line, nik, name, nip, email, phone, receives)
