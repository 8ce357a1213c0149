"""Check-in and check-out: the one way a visit starts or ends, from the phone page, the API or the officer."""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from denpasar_checkin.nik import nik_age, nik_decrypt, nik_encrypt, nik_hash, nik_mask, nik_validate
from denpasar_checkin.sql import insert_select_parts, prepared_cursor, row_insert
from offices.live_codes import live_proof_check
from offices.models import Entrance, Office, OfficeOccupancy, Staff
from screening.decision import (
    Colour,
    Decision,
    EntranceState,
    Outcome,
    PersonKind,
    Reason,
    screening_decide,
)
from screening.selectors import effective_capacity, restriction_level_current, screening_context_and_status
from screening.services import GateResult, occupancy_admit, occupancy_gate_sql, occupancy_release

from .messages import live_code_refusal
from .models import ClosedBy, Device, Person, ScanAction, ScanEvent, Visit

logger = logging.getLogger(__name__)

# A second scan of the same person at the same office within this many seconds is the same tap, answered again.
DOUBLE_TAP_SECONDS = 15
DEVICE_TOUCH_INTERVAL = datetime.timedelta(days=1)
MAX_DEPENDANTS = 5
DEPENDANT_MAX_AGE = 11  # "under 12"
NAME_MAX_LENGTH = 200
PHONE_PATTERN = re.compile(r"^\+?[0-9]{8,15}$")
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class CheckinError(Exception):
    """A check-in or check-out that cannot even be attempted; carries a stable code and a user-facing message."""

    status = 400

    def __init__(self, code: str, message: Any):
        super().__init__(str(message))
        self.code = code
        self.message = message


class EntranceUnknown(CheckinError):
    status = 404


class EntranceInactive(CheckinError):
    status = 404


class NotInside(CheckinError):
    status = 409


class LiveCodeRefused(CheckinError):
    """A live-QR entrance scanned without a current code (a photo of an old one, or the printed URL)."""

    status = 403


class CheckinBusy(CheckinError):
    """Conflicting writes kept winning; temporary, so the client should retry."""

    status = 503


@dataclass(frozen=True, slots=True)
class DependantInput:
    nik: str
    name: str


@dataclass(frozen=True, slots=True)
class CheckinResult:
    """What a scan decided. `outcome`/`reason` are the truth for officers; `public_*` is what anyone else sees."""

    outcome: str
    reason: str
    colour: str
    alert: bool
    public_outcome: str
    public_reason: str
    kind: str
    visit_id: int | None
    scan_event_id: int | None
    office_id: int
    office_name: str
    entrance_id: int
    entrance_name: str
    entrance_code: str
    staff_inside: int
    visitors_inside: int
    capacity: int
    effective_capacity: int
    at: datetime.datetime
    person_name: str
    dependants: int = 0
    repeated: bool = False
    device_token: str | None = field(default=None, repr=False)

    @property
    def inside(self) -> int:
        return self.staff_inside + self.visitors_inside

    @property
    def admitted(self) -> bool:
        return self.outcome == Outcome.ADMITTED


def device_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- input validation -----------------------------------------------------------------------------------------


def name_clean(value: Any, *, field_name: str = "name") -> str:
    if not isinstance(value, str):
        raise ValidationError({field_name: _("Enter your name as text.")}, code="invalid_type")
    cleaned = " ".join(value.split())
    if not cleaned:
        raise ValidationError({field_name: _("Enter your full name as on your KTP.")}, code="required")
    if len(cleaned) > NAME_MAX_LENGTH:
        raise ValidationError(
            {field_name: _("A name can be at most %(max)d characters.") % {"max": NAME_MAX_LENGTH}}, code="max_length"
        )
    if not any(ch.isalpha() for ch in cleaned):
        raise ValidationError({field_name: _("A name must contain letters.")}, code="invalid")
    return cleaned


def phone_clean(value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise ValidationError({"phone": _("Enter the phone number as text.")}, code="invalid_type")
    cleaned = re.sub(r"[\s().-]", "", value)
    if cleaned.startswith("+62"):
        cleaned = "0" + cleaned[3:]
    if not PHONE_PATTERN.match(cleaned):
        raise ValidationError(
            {"phone": _("Enter a phone number of 8 to 15 digits, e.g. 081234567890.")}, code="invalid"
        )
    return cleaned


def nik_clean(value: Any, *, field_name: str = "nik") -> str:
    try:
        return nik_validate(value)
    except ValidationError as error:
        raise ValidationError({field_name: error.messages}, code="invalid") from None


def nonce_clean(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not NONCE_PATTERN.match(value):
        raise ValidationError({"nonce": _("The request id is not valid; reload the page.")}, code="invalid")
    return value


def dependants_clean(value: Any, *, adult_nik: str, today: datetime.date) -> list[DependantInput]:
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple):
        raise ValidationError({"dependants": _("Dependants must be a list.")}, code="invalid_type")
    if len(value) > MAX_DEPENDANTS:
        raise ValidationError(
            {"dependants": _("At most %(max)d children can check in with one adult.") % {"max": MAX_DEPENDANTS}},
            code="max_length",
        )
    cleaned: list[DependantInput] = []
    seen = {adult_nik}
    for index, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise ValidationError({"dependants": _("Child %(n)d: give a NIK and a name.") % {"n": index}})
        try:
            nik = nik_validate(item.get("nik"))
            name = name_clean(item.get("name"))
        except ValidationError as error:
            messages = "; ".join(str(m) for m in error.messages)
            raise ValidationError(
                {"dependants": _("Child %(n)d: %(error)s") % {"n": index, "error": messages}}
            ) from None
        if nik in seen:
            raise ValidationError({"dependants": _("Child %(n)d is listed twice.") % {"n": index}})
        if nik_age(nik, today=today) > DEPENDANT_MAX_AGE:
            raise ValidationError(
                {"dependants": _("Child %(n)d is 12 or older and must check in on their own.") % {"n": index}}
            )
        seen.add(nik)
        cleaned.append(DependantInput(nik=nik, name=name))
    return cleaned


# --- reads ----------------------------------------------------------------------------------------------------


_ENTRANCE_NAMES = [
    "id",
    "name",
    "code",
    "active",
    "live_qr",
    "office_id",
    "office__name",
    "office__sector",
    "office__capacity",
    "office__deny_staff_when_full",
    "office__occupancy__staff_inside",
    "office__occupancy__visitors_inside",
]
_PERSON_NAMES = [
    "is_staff",
    "person_pk",
    "person_name",
    "person_phone",
    "open_visit_id",
    "open_visit_office_id",
    "open_visit_kind",
    "open_visit_in_at",
]
_BOOLEAN_COLUMNS = ("active", "live_qr", "office__deny_staff_when_full", "is_staff")


@functools.cache
def _entrance_sql(*, with_person: bool) -> str:
    """The entrance, its office and counter, and everything about the person at this office, as one statement.

    Written by hand, not with the ORM: Person is not related to Entrance, so the ORM can only reach the person,
    their open visit and their staff membership through eight correlated subqueries, which PostgreSQL took three
    times longer to plan (0.5 ms) than these joins. Each join is a unique or partial-index lookup: one person per
    NIK hash, one open visit per person (visit_one_open_per_person), one counter per office.
    """
    entrance, office = Entrance._meta.db_table, Office._meta.db_table
    occupancy, staff = OfficeOccupancy._meta.db_table, Staff._meta.db_table
    person, visit = Person._meta.db_table, Visit._meta.db_table
    columns = (
        "e.id, e.name, e.code, e.active, e.live_qr, e.office_id, o.name, o.sector, o.capacity, "
        "o.deny_staff_when_full, oc.staff_inside, oc.visitors_inside"
    )
    joins = ""
    if with_person:
        columns += (
            f", EXISTS (SELECT 1 FROM {staff} s WHERE s.office_id = e.office_id AND s.nik_hash = %s AND s.active), "  # noqa: S608
            "p.id, p.name, p.phone, v.id, v.office_id, v.kind, v.checked_in_at"
        )
        joins = (
            f"LEFT JOIN {person} p ON p.nik_hash = %s "
            f"LEFT JOIN {visit} v ON v.person_id = p.id AND v.checked_out_at IS NULL "
        )
    return (
        f"SELECT {columns} FROM {entrance} e INNER JOIN {office} o ON o.id = e.office_id "  # noqa: S608 - names only
        f"LEFT JOIN {occupancy} oc ON oc.office_id = e.office_id {joins}WHERE e.code = %s"
    )


def _entrance_with_person(*, code: str, digest: str | None) -> dict | None:
    names = _ENTRANCE_NAMES + _PERSON_NAMES if digest else _ENTRANCE_NAMES
    with prepared_cursor() as cursor:
        cursor.execute(_entrance_sql(with_person=bool(digest)), [digest, digest, code] if digest else [code])
        values = cursor.fetchone()
    if values is None:
        return None
    row = dict(zip(names, values, strict=True))
    for column in _BOOLEAN_COLUMNS:
        if column in row:
            row[column] = bool(row[column])
    in_at = row.get("open_visit_in_at")
    if in_at is not None:
        if isinstance(in_at, str):  # SQLite may hand back text
            in_at = parse_datetime(in_at)
        if timezone.is_naive(in_at):  # SQLite stores naive UTC
            in_at = in_at.replace(tzinfo=datetime.UTC)
        row["open_visit_in_at"] = in_at
    return row


def _entrance_or_error(row: dict | None) -> dict:
    if row is None:
        raise EntranceUnknown(
            "entrance_unknown", _("This QR code is not valid or no longer in use. Please ask the officer at the door.")
        )
    if not row["active"]:
        raise EntranceInactive("entrance_closed", _("This entrance is closed. Please use another entrance."))
    return row


def _live_code_or_error(*, row: dict, value: str | None, now: datetime.datetime) -> None:
    """A live-QR entrance accepts only a current door-screen code (or the form pass issued when it was scanned)."""
    check = live_proof_check(entrance=Entrance(pk=row["id"], code=row["code"]), value=value, at=now)
    if not check.ok:
        code, _title, text = live_code_refusal(check.reason)
        raise LiveCodeRefused(code, text)


def _device_person(token: str) -> tuple[Device, Person]:
    device = Device.objects.select_related("person").filter(token_hash=device_token_hash(token)).first()
    if device is None:
        raise CheckinError("device_unknown", _("This phone is no longer remembered. Please enter your NIK."))
    return device, device.person


def _answer_from_event(event: ScanEvent, *, person_name: str, capacity_info: tuple[int, int]) -> CheckinResult:
    decision = Decision(Outcome(event.outcome), Reason(event.reason), Colour(event.colour or "unknown"), event.alert)
    public_outcome, public_reason = decision.public()
    occupancy = event.office.occupancy
    return CheckinResult(
        outcome=event.outcome,
        reason=event.reason,
        colour=event.colour,
        alert=event.alert,
        public_outcome=public_outcome,
        public_reason=public_reason,
        kind=event.kind,
        visit_id=event.visit_id,
        scan_event_id=event.pk,
        office_id=event.office_id,
        office_name=event.office.name,
        entrance_id=event.entrance_id,
        entrance_name=event.entrance.name,
        entrance_code=event.entrance.code,
        staff_inside=occupancy.staff_inside,
        visitors_inside=occupancy.visitors_inside,
        capacity=capacity_info[0],
        effective_capacity=capacity_info[1],
        at=event.created_at,
        person_name=person_name,
        dependants=event.dependants,
        repeated=True,
    )


# --- check-in -------------------------------------------------------------------------------------------------


def visit_checkin(
    *,
    entrance_code: str,
    nik: Any = None,
    name: Any = None,
    phone: Any = None,
    dependants: Any = None,
    nonce: Any = None,
    device_token: str | None = None,
    remember_device: bool = False,
    officer: AbstractBaseUser | None = None,
    note: str = "",
    live: str | None = None,
    live_exempt: bool = False,
    now: datetime.datetime | None = None,
) -> CheckinResult:
    """Screen one person at one entrance and, when admitted, start their visit.

    Identify the person (NIK + name, or a remembered device), read policy, restriction level and status outside
    any lock, decide, then in one short transaction pass the occupancy gate and write the Visit and the ScanEvent.
    Raises ValidationError for bad input and CheckinError for an unknown or closed entrance, or a live-QR entrance
    scanned without a current code (`live`; officers at the door are `live_exempt`); writes nothing then.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    if not isinstance(entrance_code, str) or not entrance_code or len(entrance_code) > 64:
        raise EntranceUnknown("entrance_unknown", _("This QR code is not valid. Please ask the officer at the door."))
    nonce = nonce_clean(nonce)

    device: Device | None = None
    errors: dict[str, list] = {}
    nik_value: str | None = None
    name_value: str | None = None
    phone_value = ""
    if device_token and nik in (None, ""):
        device, person = _device_person(device_token)
        digest, name_value, phone_value = person.nik_hash, person.name, person.phone
    else:
        for key, clean, raw in (("nik", nik_clean, nik), ("name", name_clean, name), ("phone", phone_clean, phone)):
            try:
                cleaned = clean(raw)
            except ValidationError as error:
                errors.update(error.message_dict)
                continue
            if key == "nik":
                nik_value = cleaned
            elif key == "name":
                name_value = cleaned
            else:
                phone_value = cleaned
    # Every field's problem is reported in one answer, so a visitor fixes the form once.
    try:
        children = dependants_clean(dependants, adult_nik=nik_value or "", today=today)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    if device is None:
        digest = nik_hash(nik_value)
    elif device.last_used_at is None or now - device.last_used_at > DEVICE_TOUCH_INTERVAL:
        # Refreshed at most daily, so remembered phones can expire by disuse without a write per scan.
        Device.objects.filter(pk=device.pk).update(last_used_at=now)

    for attempt in range(3):
        try:
            return _checkin_once(
                entrance_code=entrance_code,
                digest=digest,
                nik_value=nik_value,
                name_value=name_value,
                phone_value=phone_value,
                children=children,
                nonce=nonce,
                device=device,
                remember_device=remember_device,
                officer=officer,
                note=note,
                now=now,
                today=today,
                after_conflict=attempt > 0,
                live=live,
                live_exempt=live_exempt,
            )
        except IntegrityError:
            # Another request for the same person (or the same nonce) committed first; read again and answer
            # from what it wrote. Nothing of ours was committed.
            logger.info("check-in conflict, retrying (attempt %d)", attempt + 1)
    raise CheckinBusy("busy", _("The system is busy. Please try again."))


def _checkin_once(
    *,
    entrance_code: str,
    digest: str,
    nik_value: str | None,
    name_value: str,
    phone_value: str,
    children: list[DependantInput],
    nonce: str | None,
    device: Device | None,
    remember_device: bool,
    officer: AbstractBaseUser | None,
    note: str,
    now: datetime.datetime,
    today: datetime.date,
    after_conflict: bool,
    live: str | None,
    live_exempt: bool,
) -> CheckinResult:
    row = _entrance_or_error(_entrance_with_person(code=entrance_code, digest=digest))
    office_id = row["office_id"]
    if row["live_qr"] and not live_exempt:
        _live_code_or_error(row=row, value=live, now=now)
    if after_conflict and nonce:
        earlier = ScanEvent.objects.select_related("office__occupancy", "entrance").filter(nonce=nonce).first()
        if earlier is not None:
            return _answer_from_event(earlier, person_name=name_value, capacity_info=_capacity_of(row, today))

    context, snapshot = screening_context_and_status(
        nik_hash=digest, name=name_value, today=today, nik=nik_value or _lookup_nik(device)
    )
    percentage = context.level.percentage_for(row["office__sector"])
    capacity = row["office__capacity"]
    limit = effective_capacity(capacity=capacity, percentage=percentage)
    kind = PersonKind.STAFF if row["is_staff"] else PersonKind.VISITOR
    base = {
        "office_id": office_id,
        "office_name": row["office__name"],
        "entrance_id": row["id"],
        "entrance_name": row["name"],
        "entrance_code": row["code"],
        "capacity": capacity,
        "effective_capacity": limit,
        "person_name": name_value,
    }

    # Already inside this office: a double tap is answered again; a later scan is recorded and offers check-out.
    if row["open_visit_id"] and row["open_visit_office_id"] == office_id:
        in_at = row["open_visit_in_at"]
        occupancy = _occupancy_of(row)
        if (now - in_at).total_seconds() <= DOUBLE_TAP_SECONDS:
            return CheckinResult(
                outcome=Outcome.ADMITTED,
                reason=Reason.OK,
                colour="",
                alert=False,
                public_outcome="admitted",
                public_reason="ok",
                kind=row["open_visit_kind"],
                visit_id=row["open_visit_id"],
                scan_event_id=None,
                staff_inside=occupancy.staff_inside,
                visitors_inside=occupancy.visitors_inside,
                at=in_at,
                repeated=True,
                **base,
            )
        event_id = row_insert(
            ScanEvent,
            values={
                "entrance_id": row["id"],
                "office_id": office_id,
                "person_id": row["person_pk"],
                "visit_id": row["open_visit_id"],
                "action": ScanAction.CHECKIN,
                "outcome": Outcome.ADMITTED,
                "reason": Reason.ALREADY_INSIDE,
                "colour": "",
                "kind": row["open_visit_kind"],
                "officer_id": officer.pk if officer else None,
                "note": note[:500],
                "nonce": nonce,
                "created_at": now,
            },
        )
        return CheckinResult(
            outcome=Outcome.ADMITTED,
            reason=Reason.ALREADY_INSIDE,
            colour="",
            alert=False,
            public_outcome="admitted",
            public_reason=Reason.ALREADY_INSIDE,
            kind=row["open_visit_kind"],
            visit_id=row["open_visit_id"],
            scan_event_id=event_id,
            staff_inside=occupancy.staff_inside,
            visitors_inside=occupancy.visitors_inside,
            at=now,
            **base,
        )

    policy = context.policy
    if row["office__deny_staff_when_full"]:
        policy = type(policy)(
            min_doses_for_green=policy.min_doses_for_green,
            unknown_status_denies=policy.unknown_status_denies,
            isolation_days=policy.isolation_days,
            deny_staff_when_full=True,
        )
    decision = screening_decide(snapshot=snapshot, kind=kind, policy=policy, entrance=EntranceState(), today=today)
    headcount = 1 + len(children)
    enforce_limit = kind == PersonKind.VISITOR or policy.deny_staff_when_full
    new_device_token: str | None = None

    person_id = row["person_pk"]
    person_to_save = person_id is None or bool(
        nik_value and (row["person_name"] != name_value or (phone_value and row["person_phone"] != phone_value))
    )
    remember = bool(remember_device and nik_value)
    visit_values = {
        "person_id": person_id,
        "office_id": office_id,
        "entrance_in_id": row["id"],
        "kind": kind,
        "checked_in_at": now,
    }
    event_values = {
        "entrance_id": row["id"],
        "office_id": office_id,
        "person_id": person_id,
        "action": ScanAction.CHECKIN,
        "colour": decision.colour,
        "kind": kind,
        "officer_id": officer.pk if officer else None,
        "note": note[:500],
        "nonce": nonce,
        "created_at": now,
    }
    gate: GateResult | None = None
    visit_id = None
    # Writes beside the scan event (and the visit, when admitted): only these need the transactional path.
    other_writes = bool(person_to_save or row["open_visit_id"] or children or remember)
    one_statement = decision.admitted and not other_writes and connection.vendor == "postgresql"
    if one_statement and row["office__occupancy__staff_inside"] is not None:
        with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
            event_id, visit_id, gate = _admit_in_one_statement(
                gate={
                    "office_id": office_id,
                    "kind": kind,
                    "count": headcount,
                    "effective_capacity": limit,
                    "enforce_limit": enforce_limit,
                },
                visit_values=visit_values,
                event_values=event_values,
                decision=decision,
            )
        if visit_id is None:
            decision = Decision(Outcome.DENIED, Reason.CAPACITY_FULL, decision.colour)
        transaction.on_commit(lambda: _after_checkin(event_id=event_id, entrance_id=row["id"], alert=decision.alert))
    else:
        # A refusal of a known person writes one row, which commits on its own: a transaction would add two round
        # trips (BEGIN, COMMIT) to a third of all scans. Inside a caller's transaction a savepoint keeps a failed
        # INSERT (a repeated nonce) from spoiling it.
        several_writes = decision.admitted or other_writes
        with transaction.atomic() if several_writes or connection.in_atomic_block else contextlib.nullcontext():
            if person_id is None:
                person = Person.objects.create(
                    nik_hash=digest,
                    nik_encrypted=nik_encrypt(nik_value),
                    nik_masked=nik_mask(nik_value),
                    name=name_value,
                    phone=phone_value,
                    last_seen_at=now,
                )
                person_id = visit_values["person_id"] = event_values["person_id"] = person.pk
            elif person_to_save:
                Person.objects.filter(pk=person_id).update(
                    name=name_value, phone=phone_value or row["person_phone"], last_seen_at=now
                )

            if row["open_visit_id"]:
                # One open visit per person: coming in here closes the visit at the other office.
                _visit_close(
                    visit_id=row["open_visit_id"],
                    office_id=row["open_visit_office_id"],
                    kind=row["open_visit_kind"],
                    closed_by=ClosedBy.SYSTEM,
                    now=now,
                    entrance_id=None,
                    officer=None,
                )

            if decision.admitted:
                gate = occupancy_admit(
                    office_id=office_id,
                    kind=kind,
                    count=headcount,
                    effective_capacity=limit,
                    enforce_limit=enforce_limit,
                )
                if not gate.admitted:
                    # The failed conditional UPDATE is the verdict; the counts read after it are for display only
                    # (a check-out committing in between must not turn a refusal into an uncounted admission).
                    decision = Decision(Outcome.DENIED, Reason.CAPACITY_FULL, decision.colour)
            if decision.admitted:
                visit_id = row_insert(Visit, values=visit_values)
                if children:
                    _dependants_admit(children=children, guardian=Visit(pk=visit_id, **visit_values), now=now)
            event_id = row_insert(
                ScanEvent,
                values={
                    **event_values,
                    "visit_id": visit_id,
                    "outcome": decision.outcome,
                    "reason": decision.reason,
                    "alert": decision.alert,
                    "dependants": len(children) if decision.admitted else 0,
                },
            )
            if remember:
                new_device_token = secrets.token_urlsafe(32)
                Device.objects.create(
                    token_hash=device_token_hash(new_device_token), person_id=person_id, last_used_at=now
                )
            transaction.on_commit(
                lambda: _after_checkin(event_id=event_id, entrance_id=row["id"], alert=decision.alert)
            )

    if gate is None:
        gate = _occupancy_of(row)
    public_outcome, public_reason = decision.public()
    return CheckinResult(
        outcome=decision.outcome,
        reason=decision.reason,
        colour=decision.colour,
        alert=decision.alert,
        public_outcome=public_outcome,
        public_reason=public_reason,
        kind=kind,
        visit_id=visit_id,
        scan_event_id=event_id,
        staff_inside=gate.staff_inside,
        visitors_inside=gate.visitors_inside,
        at=now,
        dependants=len(children) if decision.admitted else 0,
        device_token=new_device_token,
        **base,
    )


def _admit_in_one_statement(
    *, gate: dict[str, Any], visit_values: dict[str, Any], event_values: dict[str, Any], decision: Decision
) -> tuple[int, int | None, GateResult | None]:
    """PostgreSQL: the gate's conditional UPDATE, the visit and the scan event as one statement.

    A single statement is atomic on its own, so a plain admission costs one round trip instead of five (BEGIN, the
    UPDATE, two INSERTs, COMMIT), with the same all-or-nothing outcome. The scan event records the gate's verdict:
    admitted with the new visit, or capacity_full when the UPDATE matched no row. Returns the event id, the visit
    id (None when refused) and the counter after admitting (None when refused).
    """
    gate_sql, gate_params = occupancy_gate_sql(**gate)
    visit_table, visit_columns, visit_select, visit_params = insert_select_parts(Visit, values=visit_values)
    admitted = "verdict.visit_id IS NOT NULL"
    event_table, event_columns, event_select, event_params = insert_select_parts(
        ScanEvent,
        values={**event_values, "dependants": 0},
        expressions={
            "visit_id": ("verdict.visit_id", []),
            "outcome": (f"CASE WHEN {admitted} THEN %s ELSE %s END", [decision.outcome, Outcome.DENIED]),
            "reason": (f"CASE WHEN {admitted} THEN %s ELSE %s END", [decision.reason, Reason.CAPACITY_FULL]),
            "alert": (f"({admitted} AND %s)", [decision.alert]),
        },
    )
    # The scan event is selected FROM the materialised verdict, so its id is drawn only after the gate holds the
    # counter's row lock: scan event ids of an office follow the order its counter changed, as in the
    # transactional path (a value computed beside the id would let PostgreSQL draw the id first). Names come from
    # model metadata and every value is a bound parameter.
    sql = (
        f"WITH gate AS ({gate_sql}), "  # noqa: S608
        f"visit AS (INSERT INTO {visit_table} ({visit_columns}) SELECT {visit_select} FROM gate RETURNING id), "
        "verdict AS MATERIALIZED (SELECT (SELECT id FROM visit) AS visit_id, "
        "(SELECT staff_inside FROM gate) AS staff_inside, (SELECT visitors_inside FROM gate) AS visitors_inside) "
        f"INSERT INTO {event_table} ({event_columns}) SELECT {event_select} FROM verdict "
        "RETURNING id, visit_id, (SELECT staff_inside FROM verdict), (SELECT visitors_inside FROM verdict)"
    )
    with prepared_cursor() as cursor:
        cursor.execute(sql, [*gate_params, *visit_params, *event_params])
        event_id, visit_id, staff_inside, visitors_inside = cursor.fetchone()
    if visit_id is None:
        return event_id, None, None
    return event_id, visit_id, GateResult(True, staff_inside, visitors_inside)


def _capacity_of(row: dict, today: datetime.date) -> tuple[int, int]:
    context, _snapshot = screening_context_and_status(nik_hash=None, name="", today=today)
    percentage = context.level.percentage_for(row["office__sector"])
    return row["office__capacity"], effective_capacity(capacity=row["office__capacity"], percentage=percentage)


def _occupancy_of(row: dict) -> GateResult:
    """The counter as read with the entrance (before this request's own change, if any)."""
    return GateResult(True, row["office__occupancy__staff_inside"] or 0, row["office__occupancy__visitors_inside"] or 0)


def _dependants_admit(*, children: list[DependantInput], guardian: Visit, now: datetime.datetime) -> None:
    """Children come in with their adult: a Person each (created on first visit) and a visit tied to the adult's."""
    for child in children:
        digest = nik_hash(child.nik)
        person, _created = Person.objects.get_or_create(
            nik_hash=digest,
            defaults={"nik_encrypted": nik_encrypt(child.nik), "nik_masked": nik_mask(child.nik), "name": child.name},
        )
        stale = Visit.objects.filter(person=person, checked_out_at__isnull=True).first()
        if stale is not None:
            _visit_close(
                visit_id=stale.pk,
                office_id=stale.office_id,
                kind=stale.kind,
                closed_by=ClosedBy.SYSTEM,
                now=now,
                entrance_id=None,
                officer=None,
            )
        Visit.objects.create(
            person=person,
            office_id=guardian.office_id,
            entrance_in_id=guardian.entrance_in_id,
            kind=guardian.kind,
            guardian_visit=guardian,
            checked_in_at=now,
        )


@dataclass(frozen=True, slots=True)
class VisitClosed:
    people: int  # 0: the visit was already closed
    occupancy: GateResult | None  # the office's counter after the release


def _visit_close(
    *,
    visit_id: int,
    office_id: int,
    kind: str,
    closed_by: str,
    now: datetime.datetime,
    entrance_id: int | None,
    officer: AbstractBaseUser | None,
) -> VisitClosed:
    """Close a visit and its dependants' visits, and release their places; says how many people left."""
    # A concurrent request may have opened the visit after our clock was read: never close before it began.
    out_at = Greatest(F("checked_in_at"), Value(now, output_field=DateTimeField()))
    closing = {
        "checked_out_at": out_at,
        "closed_by": closed_by,
        "entrance_out_id": entrance_id,
        "closed_by_user": officer,
    }
    closed = Visit.objects.filter(checked_out_at__isnull=True).filter(pk=visit_id).update(**closing)
    if not closed:
        return VisitClosed(0, None)
    closed += Visit.objects.filter(guardian_visit_id=visit_id, checked_out_at__isnull=True).update(**closing)
    return VisitClosed(closed, occupancy_release(office_id=office_id, kind=PersonKind(kind), count=closed))


def _after_checkin(*, event_id: int, entrance_id: int, alert: bool) -> None:
    """Side effects once the check-in is committed: wake the door screens and, for a black status, tell Satgas."""
    from .alerts import scan_alert_queue
    from .events import scan_event_announce

    scan_event_announce(event_id=event_id, entrance_id=entrance_id)
    if alert:
        scan_alert_queue(scan_event_id=event_id)


def _lookup_nik(device: Device | None) -> str | None:
    """A remembered person's NIK, read back only when the upstream source may be asked (STATUS_SOURCE=http)."""
    if device is None or settings.STATUS_SOURCE != "http":
        return None
    try:
        return nik_decrypt(device.person.nik_encrypted)
    except ValueError:
        return None  # unreadable under the configured keys: the registry and cache still answer


# --- check-out ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    visit_id: int
    scan_event_id: int
    office_id: int
    office_name: str
    entrance_id: int
    entrance_name: str
    people_out: int
    staff_inside: int
    visitors_inside: int
    capacity: int
    effective_capacity: int
    at: datetime.datetime

    @property
    def inside(self) -> int:
        return self.staff_inside + self.visitors_inside


def visit_checkout(
    *,
    entrance_code: str,
    nik: Any = None,
    device_token: str | None = None,
    visit_id: int | None = None,
    officer: AbstractBaseUser | None = None,
    now: datetime.datetime | None = None,
) -> CheckoutResult:
    """End a person's open visit (by NIK, remembered device, or visit id for officers) at this entrance's office."""
    now = now or timezone.now()
    if not isinstance(entrance_code, str) or not entrance_code or len(entrance_code) > 64:
        raise EntranceUnknown("entrance_unknown", _("This QR code is not valid. Please ask the officer at the door."))
    entrance = Entrance.objects.select_related("office").filter(code=entrance_code).first()
    if entrance is None:
        raise EntranceUnknown(
            "entrance_unknown", _("This QR code is not valid or no longer in use. Please ask the officer at the door.")
        )
    visits = Visit.objects.filter(
        office_id=entrance.office_id, checked_out_at__isnull=True, guardian_visit__isnull=True
    )
    if visit_id is not None:
        visits = visits.filter(pk=visit_id)
    elif device_token and nik in (None, ""):
        visits = visits.filter(person__devices__token_hash=device_token_hash(device_token))
    else:
        visits = visits.filter(person__nik_hash=nik_hash(nik_clean(nik)))
    visit = visits.first()
    if visit is None:
        raise NotInside("not_inside", _("You are not checked in at this office."))
    with transaction.atomic():
        closed = _visit_close(
            visit_id=visit.pk,
            office_id=visit.office_id,
            kind=visit.kind,
            closed_by=ClosedBy.OFFICER if officer else ClosedBy.PERSON,
            now=now,
            entrance_id=entrance.pk,
            officer=officer,
        )
        if not closed.people:
            raise NotInside("not_inside", _("You are not checked in at this office."))
        people_out = closed.people
        event_id = row_insert(
            ScanEvent,
            values={
                "entrance_id": entrance.pk,
                "office_id": entrance.office_id,
                "person_id": visit.person_id,
                "visit_id": visit.pk,
                "action": ScanAction.CHECKOUT,
                "outcome": Outcome.ADMITTED,
                "reason": Reason.CHECKED_OUT,
                "kind": visit.kind,
                "dependants": people_out - 1,
                "officer_id": officer.pk if officer else None,
                "created_at": now,
            },
        )
        transaction.on_commit(lambda: _after_checkin(event_id=event_id, entrance_id=entrance.pk, alert=False))
    # The counter as the release left it (under its row lock), not read again.
    occupancy = closed.occupancy
    level = restriction_level_current()
    return CheckoutResult(
        capacity=entrance.office.capacity,
        effective_capacity=effective_capacity(
            capacity=entrance.office.capacity, percentage=level.percentage_for(entrance.office.sector)
        ),
        visit_id=visit.pk,
        scan_event_id=event_id,
        office_id=entrance.office_id,
        office_name=entrance.office.name,
        entrance_id=entrance.pk,
        entrance_name=entrance.name,
        people_out=people_out,
        staff_inside=occupancy.staff_inside,
        visitors_inside=occupancy.visitors_inside,
        at=now,
    )


def device_forget(*, token: str) -> int:
    """'Not you?': the server forgets this phone."""
    deleted, _details = Device.objects.filter(token_hash=device_token_hash(token)).delete()
    return deleted
