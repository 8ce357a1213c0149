"""Check-in and check-out: the one admission every way in goes through, and the one check-out."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import secrets
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from denpasar_checkin.celery import task_enqueue
from denpasar_checkin.nik import nik_decrypt, nik_encrypt, nik_hash, nik_mask
from denpasar_checkin.ratelimit import ratelimit_device, ratelimit_nik
from denpasar_checkin.sql import insert_select_parts, prepared_cursor, row_insert
from offices.live_codes import live_proof_check
from offices.models import Entrance
from screening.decision import Decision, HealthSnapshot, Policy, screening_decide
from screening.names import names_match
from screening.selectors import effective_capacity, effective_capacity_today
from screening.services import GateResult, occupancy_admit, occupancy_gate_sql, status_lookup
from screening.vocabulary import Colour, Outcome, PersonKind, Reason, ScanAction

from .closing import VisitClosed, visit_close
from .events import scan_event_announce
from .inputs import DependantInput, dependants_clean, name_clean, nik_clean, nonce_clean, phone_clean
from .messages import live_code_refusal
from .models import ClosedBy, Device, Person, Resolution, ScanEvent, Visit
from .selectors import EntranceRead, device_for_token, device_owner_digest, device_token_hash, entrance_read
from .tasks import scan_alert_notify

logger = logging.getLogger(__name__)

# A second scan of the same person at the same office within this many seconds is the same tap, answered again.
DOUBLE_TAP_SECONDS = 15
DEVICE_TOUCH_INTERVAL = datetime.timedelta(days=1)
NOTE_MAX_LENGTH = 500
ATTEMPTS = 3
# The constraints two requests can race on (the same person twice, the same request twice): the loser reads what
# the winner wrote and answers from it. Any other IntegrityError is a bug and surfaces.
RACING_CONSTRAINTS = {
    "postgresql": ("visit_one_open_per_person", "scan_nonce_unique", "visitors_person_nik_hash_key"),
    # SQLite names the columns, not the constraint.
    "sqlite": ("visitors_visit.person_id", "visitors_scanevent.nonce", "visitors_person.nik_hash"),
}


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


class CaseClosed(CheckinError):
    """An approval of a scan that is not (or no longer) waiting for an officer."""

    status = 409


class LiveCodeRefused(CheckinError):
    """A live-QR entrance scanned without a current code (a photo of an old one, or the printed URL)."""

    status = 403


class CheckinBusy(CheckinError):
    """Conflicting writes kept winning; temporary, so the client should retry."""

    status = 503


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


@dataclass(frozen=True, slots=True)
class Arrival:
    """Someone at a door, as the way in identified them: everything the admission needs to know about them."""

    digest: str
    name: str
    nik: str | None = None  # the raw NIK: only to encrypt a new person's copy or ask the upstream source
    phone: str = ""
    children: tuple[DependantInput, ...] = ()
    device: Device | None = None
    remember_device: bool = False
    nonce: str | None = None
    officer: AbstractBaseUser | None = None
    note: str = ""
    live: str | None = None
    approving: ScanEvent | None = None  # the pending scan an officer approves
    # The name given is not the name on record for this NIK (see _identity_matches): a referral that touches
    # nothing of the person's. Set by the admission, never by a way in.
    stranger: bool = False

    @property
    def typed(self) -> bool:
        """NIK and name were typed in (not a remembered phone, not an officer's approval)."""
        return self.nik is not None


# --- the ways in ------------------------------------------------------------------------------------------------


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
    now: datetime.datetime | None = None,
) -> CheckinResult:
    """Check in by NIK and name, or by a remembered phone: the phone page, the API and the officer's form.

    Raises ValidationError for bad input and CheckinError for an unknown or closed entrance, or a live-QR entrance
    scanned without a current code (`live`); writes nothing then. `officer` is set only when the caller is an
    officer of this entrance's office: they see the truth, and they need no live code at their own door.
    """
    now = now or timezone.now()
    entrance_code_check(entrance_code)
    nonce = nonce_clean(nonce)
    if device_token and nik in (None, ""):
        person = _person_by_device(device_token)
    else:
        person = _person_typed(nik=nik, name=name, phone=phone, dependants=dependants, today=timezone.localdate(now))
        person["remember_device"] = remember_device
    arrival = Arrival(**person, nonce=nonce, officer=officer, note=note[:NOTE_MAX_LENGTH], live=live)
    return visit_admit(entrance_code=entrance_code, arrival=arrival, now=now)


def arrival_for_approval(*, scan: ScanEvent, officer: AbstractBaseUser, note: str) -> Arrival:
    """The person of a pending scan, with the children they came with, as the officer lets them in."""
    person = scan.person
    if person is None:
        # The name given did not match the NIK: the scan names nobody, so there is nobody to let in.
        raise CaseClosed(
            "identity_unconfirmed",
            _("The name given does not match this NIK. Check the KTP and check the person in by hand."),
        )
    return Arrival(
        digest=person.nik_hash, name=person.name, phone=person.phone, officer=officer, note=note, approving=scan
    )


def entrance_code_check(entrance_code: Any) -> None:
    if not isinstance(entrance_code, str) or not entrance_code or len(entrance_code) > 64:
        raise EntranceUnknown("entrance_unknown", _("This QR code is not valid. Please ask the officer at the door."))


def _person_typed(*, nik: Any, name: Any, phone: Any, dependants: Any, today: datetime.date) -> dict[str, Any]:
    """Who arrives, from what they typed: the Arrival's identity fields, or every field's error at once."""
    errors: dict[str, list] = {}
    cleaned: dict[str, Any] = {"nik": None, "name": None, "phone": ""}
    for key, clean, raw in (("nik", nik_clean, nik), ("name", name_clean, name), ("phone", phone_clean, phone)):
        try:
            cleaned[key] = clean(raw)
        except ValidationError as error:
            errors.update(error.message_dict)
    # Every field's problem is reported in one answer, so a visitor fixes the form once.
    children: list[DependantInput] = []
    try:
        children = dependants_clean(dependants, adult_nik=cleaned["nik"] or "", today=today)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return {
        "digest": nik_hash(cleaned["nik"]),
        "name": cleaned["name"],
        "nik": cleaned["nik"],
        "phone": cleaned["phone"],
        "children": tuple(children),
    }


def _person_by_device(token: str) -> dict[str, Any]:
    """Who arrives with a remembered phone: the Arrival's identity fields."""
    device = device_for_token(token=token)
    if device is None:
        raise CheckinError("device_unknown", _("This phone is no longer remembered. Please enter your NIK."))
    person = device.person
    return {"digest": person.nik_hash, "name": person.name, "phone": person.phone, "device": device}


# --- the one admission ------------------------------------------------------------------------------------------


def visit_admit(*, entrance_code: str, arrival: Arrival, now: datetime.datetime) -> CheckinResult:
    """Screen one person at one entrance and, when admitted, start their visit: the only way a visit starts.

    Read the entrance and the person in one statement, check the live code, read policy and status outside any
    lock, decide, then write in one short transaction: the occupancy gate, the visits, the scan event.
    """
    for attempt in range(ATTEMPTS):
        try:
            return _admit_once(entrance_code=entrance_code, arrival=arrival, now=now, after_conflict=attempt > 0)
        except IntegrityError as error:
            if not integrity_error_is_race(error):
                raise
            # Another request for the same person (or the same nonce) committed first; nothing of ours was
            # committed. Read again and answer from what it wrote.
            logger.info("check-in conflict, retrying (attempt %d)", attempt + 1)
    raise CheckinBusy("busy", _("The system is busy. Please try again."))


def integrity_error_is_race(error: IntegrityError) -> bool:
    """Whether the database refused a write because a concurrent request for the same person or nonce won."""
    cause = error.__cause__
    diag = getattr(cause, "diag", None)
    text = getattr(diag, "constraint_name", None) or str(cause or error)
    return any(name in text for name in RACING_CONSTRAINTS.get(connection.vendor, ()))


@dataclass(frozen=True, slots=True)
class _Door:
    """The entrance as read for this scan, with the capacity rules of its office today."""

    read: EntranceRead
    kind: PersonKind
    policy: Policy
    effective_capacity: int

    @property
    def enforce_limit(self) -> bool:
        # Staff must still reach their desks when the office is full, unless the office says otherwise.
        return self.kind == PersonKind.VISITOR or self.policy.deny_staff_when_full


def _admit_once(*, entrance_code: str, arrival: Arrival, now: datetime.datetime, after_conflict: bool) -> CheckinResult:
    read = _entrance_or_error(entrance_read(code=entrance_code, digest=arrival.digest))
    _live_code_check(read=read, arrival=arrival, now=now)
    _device_touch(arrival.device, now=now)
    if after_conflict and arrival.nonce:
        earlier = _scan_by_nonce(arrival.nonce)
        if earlier is not None:
            return checkin_result_from_event(earlier, person_name=arrival.name)
    today = timezone.localdate(now)
    # An approval replaces the health result with the officer's word: only policy and level are read then.
    context, snapshot = status_lookup(
        nik_hash=None if arrival.approving else arrival.digest,
        name=arrival.name,
        today=today,
        nik=arrival.nik or _source_nik(arrival.device),
    )
    policy = context.policy
    if read.office_deny_staff_when_full:
        policy = dataclasses.replace(policy, deny_staff_when_full=True)
    door = _Door(
        read=read,
        kind=PersonKind.STAFF if read.is_staff else PersonKind.VISITOR,
        policy=policy,
        effective_capacity=effective_capacity(
            capacity=read.office_capacity, percentage=context.level.percentage_for(read.office_sector)
        ),
    )
    stored_name = read.person_name if read.person_id is not None else None
    if not _identity_matches(arrival=arrival, snapshot=snapshot, stored_name=stored_name):
        # Identity before anything: nothing about the NIK's owner is read out or written, not even "inside".
        arrival = dataclasses.replace(arrival, stranger=True)
    elif read.open_visit_id and read.open_visit_office_id == read.office_id:
        return _already_inside(door=door, arrival=arrival, now=now)
    decision = _decide(door=door, arrival=arrival, snapshot=snapshot, today=today)
    return _admission_write(door=door, arrival=arrival, decision=decision, now=now)


def _identity_matches(*, arrival: Arrival, snapshot: HealthSnapshot, stored_name: str | None) -> bool:
    """Whether the name given is the name on record for this NIK, with the status lookup's matching.

    The name on record is the registry's; when the registry does not know the NIK, the one stored at the
    person's first check-in. An officer checks the KTP at the door, and a remembered phone or an approval carries
    the person's own record, so only an anonymous typed check-in can be a stranger.
    """
    if arrival.officer is not None or not arrival.typed:
        return True
    if snapshot.registered:
        return snapshot.found
    return stored_name is None or names_match(arrival.name, stored_name)


def _entrance_or_error(read: EntranceRead | None) -> EntranceRead:
    if read is None:
        raise EntranceUnknown(
            "entrance_unknown", _("This QR code is not valid or no longer in use. Please ask the officer at the door.")
        )
    if not read.active:
        raise EntranceInactive("entrance_closed", _("This entrance is closed. Please use another entrance."))
    return read


def _live_code_check(*, read: EntranceRead, arrival: Arrival, now: datetime.datetime) -> None:
    """A live-QR entrance admits only what was scanned from the door screen (or the pass its form carried).

    An officer of the office stands at that door: their own check-ins and approvals need no code.
    """
    if not read.live_qr or arrival.officer is not None:
        return
    check = live_proof_check(entrance=Entrance(pk=read.id, code=read.code), value=arrival.live, at=now)
    if not check.ok:
        code, _title, text = live_code_refusal(check.reason)
        raise LiveCodeRefused(code, text)


def _decide(*, door: _Door, arrival: Arrival, snapshot: HealthSnapshot, today: datetime.date) -> Decision:
    if arrival.approving is not None:
        # The officer has re-checked the person: their word replaces the health result, never the capacity.
        return Decision(Outcome.ADMITTED, Reason.OK, Colour(arrival.approving.colour or Colour.UNKNOWN))
    return screening_decide(snapshot=snapshot, kind=door.kind, policy=door.policy, today=today)


def _device_touch(device: Device | None, *, now: datetime.datetime) -> None:
    if device is not None and (device.last_used_at is None or now - device.last_used_at > DEVICE_TOUCH_INTERVAL):
        # Refreshed at most daily, so remembered phones can expire by disuse without a write per scan.
        Device.objects.filter(pk=device.pk).update(last_used_at=now)


def _source_nik(device: Device | None) -> str | None:
    """A remembered person's NIK, read back only when the upstream source may be asked (STATUS_SOURCE=http)."""
    if device is None or settings.STATUS_SOURCE != "http":
        return None
    try:
        return nik_decrypt(device.person.nik_encrypted)
    except ValueError:
        return None  # unreadable under the configured keys: the registry and cache still answer


def _scan_by_nonce(nonce: str) -> ScanEvent | None:
    return ScanEvent.objects.select_related("office__occupancy", "entrance").filter(nonce=nonce).first()


def _already_inside(*, door: _Door, arrival: Arrival, now: datetime.datetime) -> CheckinResult:
    """Already inside this office: a double tap is answered again; a later scan is recorded and offers check-out."""
    read = door.read
    occupancy = _occupancy_as_read(read)
    kind = PersonKind(read.open_visit_kind)
    if arrival.approving is None and (now - read.open_visit_in_at).total_seconds() <= DOUBLE_TAP_SECONDS:
        return _result(
            door=door,
            arrival=arrival,
            decision=Decision(Outcome.ADMITTED, Reason.OK, Colour.UNKNOWN),
            kind=kind,
            visit_id=read.open_visit_id,
            event_id=None,
            occupancy=occupancy,
            at=read.open_visit_in_at,
            repeated=True,
        )
    decision = Decision(Outcome.ADMITTED, Reason.ALREADY_INSIDE, Colour.UNKNOWN)
    with transaction.atomic():
        if arrival.approving is not None:
            scan_case_lock(arrival.approving.pk)
            _case_resolve(scan=arrival.approving, arrival=arrival, now=now)
        event_id = _scan_insert(
            door=door,
            arrival=arrival,
            decision=decision,
            person_id=read.person_id,
            visit_id=read.open_visit_id,
            kind=kind,
            dependants=0,
            now=now,
        )
        transaction.on_commit(lambda: _after_commit(event_id=event_id, entrance_id=read.id))
    return _result(
        door=door,
        arrival=arrival,
        decision=decision,
        kind=kind,
        visit_id=read.open_visit_id,
        event_id=event_id,
        occupancy=occupancy,
        at=now,
    )


@dataclass(frozen=True, slots=True)
class _WritePlan:
    """Which writes an admission makes besides the scan event (and the visit, when admitted)."""

    person_changes: dict[str, Any]
    closes_elsewhere: bool
    children_come: bool
    remember: bool
    # Any of the above (or a new person, or an officer's approval): only then is a transaction needed.
    other_writes: bool


def _write_plan(*, read: EntranceRead, arrival: Arrival, decision: Decision) -> _WritePlan:
    person_changes = _person_changes(read=read, arrival=arrival)
    children_come = not arrival.stranger and decision.outcome != Outcome.DENIED
    children_come = children_come and bool(arrival.children or arrival.approving)
    remember = arrival.remember_device and arrival.typed
    closes_elsewhere = bool(read.open_visit_id) and not arrival.stranger
    new_person = read.person_id is None and not arrival.stranger
    other_writes = any((arrival.approving, new_person, person_changes, closes_elsewhere, children_come, remember))
    return _WritePlan(person_changes, closes_elsewhere, children_come, remember, other_writes)


@dataclass(slots=True)
class _Written:
    decision: Decision
    event_id: int
    counted: list[int]
    visit_id: int | None = None
    gate: GateResult | None = None
    device_token: str | None = None


def _admission_write(*, door: _Door, arrival: Arrival, decision: Decision, now: datetime.datetime) -> CheckinResult:
    """The decision's writes, all or nothing: the person, the gate, the visits, the scan event, the device."""
    read = door.read
    plan = _write_plan(read=read, arrival=arrival, decision=decision)
    one_statement = connection.vendor == "postgresql" and getattr(settings, "ADMISSION_ONE_STATEMENT", False)
    if decision.admitted and not plan.other_writes and one_statement and read.staff_inside is not None:
        return _admit_in_one_statement(door=door, arrival=arrival, decision=decision, now=now)
    # A refusal of a known person writes one row, which commits on its own: a transaction would add two round trips
    # (BEGIN, COMMIT) to a third of all scans. Inside a caller's transaction a savepoint keeps a failed INSERT (a
    # repeated nonce) from spoiling it.
    several_writes = decision.admitted or plan.other_writes
    with transaction.atomic() if several_writes or connection.in_atomic_block else contextlib.nullcontext():
        written = _admission_rows(door=door, arrival=arrival, decision=decision, plan=plan, now=now)
        event_id = written.event_id
        transaction.on_commit(lambda: _after_commit(event_id=event_id, entrance_id=read.id))
    gate = written.gate
    return _result(
        door=door,
        arrival=arrival,
        decision=written.decision,
        kind=door.kind,
        visit_id=written.visit_id,
        event_id=event_id,
        occupancy=gate if gate is not None and gate.admitted else _occupancy_as_read(read),
        at=now,
        dependants=len(written.counted) if written.decision.admitted else 0,
        device_token=written.device_token,
    )


def _admission_rows(
    *, door: _Door, arrival: Arrival, decision: Decision, plan: _WritePlan, now: datetime.datetime
) -> _Written:
    """The rows of an admission in the caller's transaction; a full office turns `decision` into capacity_full."""
    read = door.read
    if arrival.approving is not None:
        scan_case_lock(arrival.approving.pk)
    person_id = _person_save(read=read, arrival=arrival, changes=plan.person_changes, now=now)
    if plan.closes_elsewhere:
        # One open visit per person: coming in here closes the visit at the other office.
        visit_close(
            visit_id=read.open_visit_id,
            office_id=read.open_visit_office_id,
            kind=read.open_visit_kind,
            closed_by=ClosedBy.SYSTEM,
            now=now,
        )
    child_ids = _children_people(arrival) if plan.children_come else []
    visit_id, gate = None, None
    if decision.admitted:
        decision, visit_id, gate = _gate_pass(
            door=door, decision=decision, person_id=person_id, phone=arrival.phone, child_ids=child_ids, now=now
        )
    counted = child_ids if decision.outcome != Outcome.DENIED else []
    event_id = _scan_insert(
        door=door,
        arrival=arrival,
        decision=decision,
        person_id=person_id,
        visit_id=visit_id,
        kind=door.kind,
        dependants=len(counted),
        now=now,
    )
    if decision.outcome == Outcome.PENDING and counted:
        _children_keep(scan_id=event_id, child_ids=counted)
    if arrival.approving is not None and decision.admitted:
        _case_resolve(scan=arrival.approving, arrival=arrival, now=now)
    written = _Written(decision=decision, event_id=event_id, counted=counted, visit_id=visit_id, gate=gate)
    if plan.remember and decision.admitted:
        written.device_token = _device_remember(person_id=person_id, now=now)
    return written


def _admit_in_one_statement(
    *, door: _Door, arrival: Arrival, decision: Decision, now: datetime.datetime
) -> CheckinResult:
    """PostgreSQL, a known person with nothing else to write: the gate, the visit and the scan event as one statement.

    A single statement is atomic on its own, so a plain admission costs one round trip instead of five (BEGIN, the
    UPDATE, two INSERTs, COMMIT), with the same all-or-nothing outcome and the same gate. The scan event records the
    gate's verdict: admitted with the new visit, or capacity_full when the UPDATE matched no row.
    """
    read = door.read
    sql, params = _one_statement_sql(door=door, arrival=arrival, decision=decision, now=now)
    with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
        with prepared_cursor() as cursor:
            cursor.execute(sql, params)
            event_id, visit_id, staff_inside, visitors_inside = cursor.fetchone()
        occupancy = _occupancy_as_read(read)
        if visit_id is None:
            decision = Decision(Outcome.DENIED, Reason.CAPACITY_FULL, decision.colour)
        else:
            occupancy = GateResult(True, staff_inside, visitors_inside)
        transaction.on_commit(lambda: _after_commit(event_id=event_id, entrance_id=read.id))
    return _result(
        door=door,
        arrival=arrival,
        decision=decision,
        kind=door.kind,
        visit_id=visit_id,
        event_id=event_id,
        occupancy=occupancy,
        at=now,
    )


def _one_statement_sql(
    *, door: _Door, arrival: Arrival, decision: Decision, now: datetime.datetime
) -> tuple[str, list[Any]]:
    read = door.read
    gate_sql, gate_params = occupancy_gate_sql(
        office_id=read.office_id,
        kind=door.kind,
        count=1,
        effective_capacity=door.effective_capacity,
        enforce_limit=door.enforce_limit,
    )
    visit_values = {
        "person_id": read.person_id,
        "office_id": read.office_id,
        "entrance_in_id": read.id,
        "kind": door.kind,
        "phone": arrival.phone,
        "checked_in_at": now,
    }
    visit_table, visit_columns, visit_select, visit_params = insert_select_parts(Visit, values=visit_values)
    admitted = "verdict.visit_id IS NOT NULL"
    event_table, event_columns, event_select, event_params = insert_select_parts(
        ScanEvent,
        values=_scan_values(door=door, arrival=arrival, decision=decision, person_id=read.person_id, now=now),
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
    return sql, [*gate_params, *visit_params, *event_params]


def _gate_pass(
    *, door: _Door, decision: Decision, person_id: int, phone: str, child_ids: list[int], now: datetime.datetime
) -> tuple[Decision, int | None, GateResult]:
    """The atomic occupancy gate for the adult and their children, then their visits when it let them in."""
    gate = occupancy_admit(
        office_id=door.read.office_id,
        kind=door.kind,
        count=1 + len(child_ids),
        effective_capacity=door.effective_capacity,
        enforce_limit=door.enforce_limit,
    )
    if not gate.admitted:
        # The failed conditional UPDATE is the verdict; the counts read after it are for display only (a check-out
        # committing in between must not turn a refusal into an uncounted admission).
        return Decision(Outcome.DENIED, Reason.CAPACITY_FULL, decision.colour), None, gate
    visit_id = _visits_insert(door=door, person_id=person_id, arrival_phone=phone, child_ids=child_ids, now=now)
    return decision, visit_id, gate


def _person_changes(*, read: EntranceRead, arrival: Arrival) -> dict[str, Any]:
    """What an officer's typed check-in corrects about a known person: the name from the KTP, a new phone.

    Anyone else's check-in changes nothing stored about the person: the phone they give belongs to the visit.
    """
    if read.person_id is None or not arrival.typed or arrival.officer is None:
        return {}
    changes: dict[str, Any] = {}
    if read.person_name != arrival.name:
        changes["name"] = arrival.name
    if arrival.phone and read.person_phone != arrival.phone:
        changes["phone"] = arrival.phone
    return changes


def _person_save(
    *, read: EntranceRead, arrival: Arrival, changes: dict[str, Any], now: datetime.datetime
) -> int | None:
    """The person's id, created at their first check-in; None for a stranger, whose scan names nobody."""
    if arrival.stranger:
        return None
    if read.person_id is None:
        return Person.objects.create(
            nik_hash=arrival.digest,
            nik_encrypted=nik_encrypt(arrival.nik),
            nik_masked=nik_mask(arrival.nik),
            nik_last4=arrival.nik[-4:],
            name=arrival.name,
            phone=arrival.phone,
            last_seen_at=now,
        ).pk
    if changes:
        Person.objects.filter(pk=read.person_id).update(**changes, last_seen_at=now)
    return read.person_id


def _children_people(arrival: Arrival) -> list[int]:
    """The children's Person ids: typed with a check-in (created on their first visit) or kept by a pending scan."""
    if arrival.approving is not None:
        return list(arrival.approving.dependant_people.order_by("pk").values_list("pk", flat=True))
    ids = []
    for child in arrival.children:
        person, _created = Person.objects.get_or_create(
            nik_hash=nik_hash(child.nik),
            defaults={
                "nik_encrypted": nik_encrypt(child.nik),
                "nik_masked": nik_mask(child.nik),
                "nik_last4": child.nik[-4:],
                "name": child.name,
            },
        )
        ids.append(person.pk)
    return ids


def _children_keep(*, scan_id: int, child_ids: list[int]) -> None:
    """An officer who approves this pending scan later lets the children in with their adult."""
    ScanEvent.dependant_people.through.objects.bulk_create(
        [ScanEvent.dependant_people.through(scanevent_id=scan_id, person_id=pk) for pk in child_ids]
    )


def _visits_insert(
    *, door: _Door, person_id: int, arrival_phone: str, child_ids: list[int], now: datetime.datetime
) -> int:
    """The adult's visit and one per child, tied to the adult's so they leave together; returns the adult's."""
    read = door.read
    values = {
        "office_id": read.office_id,
        "entrance_in_id": read.id,
        "kind": door.kind,
        "phone": arrival_phone,
        "checked_in_at": now,
    }
    visit_id = row_insert(Visit, values={**values, "person_id": person_id})
    for child_id in child_ids:
        stale = Visit.objects.filter(person_id=child_id, checked_out_at__isnull=True).values("pk", "office_id", "kind")
        for visit in stale:
            visit_close(
                visit_id=visit["pk"],
                office_id=visit["office_id"],
                kind=visit["kind"],
                closed_by=ClosedBy.SYSTEM,
                now=now,
            )
        row_insert(Visit, values={**values, "person_id": child_id, "guardian_visit_id": visit_id})
    return visit_id


def _scan_insert(
    *,
    door: _Door,
    arrival: Arrival,
    decision: Decision,
    person_id: int | None,
    visit_id: int | None,
    kind: str,
    dependants: int,
    now: datetime.datetime,
) -> int:
    values = _scan_values(door=door, arrival=arrival, decision=decision, person_id=person_id, now=now)
    values.update(visit_id=visit_id, outcome=decision.outcome, reason=decision.reason, alert=decision.alert, kind=kind)
    values["dependants"] = dependants
    return row_insert(ScanEvent, values=values)


def _scan_values(
    *, door: _Door, arrival: Arrival, decision: Decision, person_id: int | None, now: datetime.datetime
) -> dict[str, Any]:
    """The columns of a check-in's scan event that do not depend on the gate's verdict."""
    return {
        "entrance_id": door.read.id,
        "office_id": door.read.office_id,
        "person_id": person_id,
        "action": ScanAction.CHECKIN,
        "colour": "" if decision.reason == Reason.ALREADY_INSIDE else decision.colour,
        "kind": door.kind,
        "dependants": 0,
        "officer_id": arrival.officer.pk if arrival.officer else None,
        "note": arrival.note,
        "nonce": arrival.nonce,
        "created_at": now,
    }


def _device_remember(*, person_id: int, now: datetime.datetime) -> str:
    token = secrets.token_urlsafe(32)
    Device.objects.create(token_hash=device_token_hash(token), person_id=person_id, last_used_at=now)
    return token


def scan_case_lock(scan_id: int) -> None:
    """Take the pending scan's row lock; on PostgreSQL a second officer waits, then finds the case closed."""
    locked = (
        ScanEvent.objects.select_for_update()
        .filter(pk=scan_id, outcome=Outcome.PENDING, resolved_at__isnull=True)
        .values_list("id", flat=True)
        .first()
    )
    if locked is None:
        raise CaseClosed("case_closed", _("Another officer has already answered this case."))


def _case_resolve(*, scan: ScanEvent, arrival: Arrival, now: datetime.datetime) -> None:
    ScanEvent.objects.filter(pk=scan.pk).update(
        resolved_at=now, resolved_by=arrival.officer, resolution=Resolution.APPROVED, resolution_note=arrival.note
    )


def _occupancy_as_read(read: EntranceRead) -> GateResult:
    """The counter as read with the entrance (before this request's own change, if any)."""
    return GateResult(True, read.staff_inside or 0, read.visitors_inside or 0)


def _result(
    *,
    door: _Door,
    arrival: Arrival,
    decision: Decision,
    kind: str,
    visit_id: int | None,
    event_id: int | None,
    occupancy: GateResult,
    at: datetime.datetime,
    dependants: int = 0,
    repeated: bool = False,
    device_token: str | None = None,
) -> CheckinResult:
    read = door.read
    public_outcome, public_reason = decision.public()
    return CheckinResult(
        outcome=decision.outcome,
        reason=decision.reason,
        colour="" if decision.reason == Reason.ALREADY_INSIDE or repeated else decision.colour,
        alert=decision.alert,
        public_outcome=public_outcome,
        public_reason=Reason.ALREADY_INSIDE if decision.reason == Reason.ALREADY_INSIDE else public_reason,
        kind=kind,
        visit_id=visit_id,
        scan_event_id=event_id,
        office_id=read.office_id,
        office_name=read.office_name,
        entrance_id=read.id,
        entrance_name=read.name,
        entrance_code=read.code,
        staff_inside=occupancy.staff_inside,
        visitors_inside=occupancy.visitors_inside,
        capacity=read.office_capacity,
        effective_capacity=door.effective_capacity,
        at=at,
        person_name=arrival.name,
        dependants=dependants,
        repeated=repeated,
        device_token=device_token,
    )


def checkin_result_from_event(event: ScanEvent, *, person_name: str) -> CheckinResult:
    """The answer a recorded scan gave (a repeated request, or an officer's answer to a pending scan)."""
    colour = Colour(event.colour or Colour.UNKNOWN)
    decision = Decision(Outcome(event.outcome), Reason(event.reason), colour, event.alert)
    public_outcome, public_reason = decision.public()
    office = event.office
    occupancy = office.occupancy
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
        office_name=office.name,
        entrance_id=event.entrance_id,
        entrance_name=event.entrance.name,
        entrance_code=event.entrance.code,
        staff_inside=occupancy.staff_inside,
        visitors_inside=occupancy.visitors_inside,
        capacity=office.capacity,
        effective_capacity=effective_capacity_today(
            capacity=office.capacity, sector=office.sector, today=timezone.localdate(event.created_at)
        ),
        at=event.created_at,
        person_name=person_name,
        dependants=event.dependants,
        repeated=True,
    )


def _after_commit(*, event_id: int, entrance_id: int, alert: bool = False) -> None:
    """Once the scan is committed: wake the door screens; for a status alert, queue its Satgas notice too.

    A check-in queues nothing more, a black one included: its alert reaches Satgas through the scan_alerts_send
    sweep, so every referral does the same work in the request and after it.
    """
    scan_event_announce(event_id=event_id, entrance_id=entrance_id)
    if alert:
        task_enqueue(scan_alert_notify, scan_event_id=event_id)


# --- check-out --------------------------------------------------------------------------------------------------


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
    name: Any = None,
    device_token: str | None = None,
    visit_id: int | None = None,
    officer: AbstractBaseUser | None = None,
    now: datetime.datetime | None = None,
) -> CheckoutResult:
    """End a person's open visit at this entrance's office: by NIK and name, remembered phone, or (officers) visit id.

    A name that is not the name on record answers exactly as "not inside" and closes nothing.
    """
    now = now or timezone.now()
    entrance_code_check(entrance_code)
    person = None
    if visit_id is None and not (device_token and nik in (None, "")):
        person = _person_typed(nik=nik, name=name, phone=None, dependants=None, today=timezone.localdate(now))
    entrance = Entrance.objects.select_related("office").filter(code=entrance_code).first()
    if entrance is None:
        raise EntranceUnknown(
            "entrance_unknown", _("This QR code is not valid or no longer in use. Please ask the officer at the door.")
        )
    if visit_id is not None:
        visit = _visit_to_close(office_id=entrance.office_id, visit_id=visit_id)
    elif person is None:
        visit = _visit_to_close(office_id=entrance.office_id, device_token_hash=device_token_hash(device_token))
    else:
        visit = _visit_by_identity(office_id=entrance.office_id, person=person, officer=officer, now=now)
    closed, event_id = _checkout_write(entrance=entrance, visit=visit, officer=officer, now=now)
    # The counter as the release left it (under its row lock), not read again.
    office = entrance.office
    return CheckoutResult(
        capacity=office.capacity,
        effective_capacity=effective_capacity_today(capacity=office.capacity, sector=office.sector),
        visit_id=visit.pk,
        scan_event_id=event_id,
        office_id=office.pk,
        office_name=office.name,
        entrance_id=entrance.pk,
        entrance_name=entrance.name,
        people_out=closed.people,
        staff_inside=closed.occupancy.staff_inside,
        visitors_inside=closed.occupancy.visitors_inside,
        at=now,
    )


def _checkout_write(
    *, entrance: Entrance, visit: Visit, officer: AbstractBaseUser | None, now: datetime.datetime
) -> tuple[VisitClosed, int]:
    """Close the visit (and its children's), release the places and record the check-out, all or nothing."""
    with transaction.atomic():
        closed = visit_close(
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
                "dependants": closed.people - 1,
                "officer_id": officer.pk if officer else None,
                "created_at": now,
            },
        )
        transaction.on_commit(lambda: _after_commit(event_id=event_id, entrance_id=entrance.pk))
    return closed, event_id


def _visit_to_close(
    *, office_id: int, visit_id: int | None = None, device_token_hash: str | None = None, digest: str | None = None
) -> Visit:
    """The open visit of an adult at this office, found by visit id (officers), remembered phone or NIK hash."""
    visits = Visit.objects.filter(office_id=office_id, checked_out_at__isnull=True, guardian_visit__isnull=True)
    if visit_id is not None:
        visits = visits.filter(pk=visit_id)
    elif device_token_hash is not None:
        visits = visits.filter(person__devices__token_hash=device_token_hash)
    else:
        visits = visits.filter(person__nik_hash=digest)
    visit = visits.select_related("person").first()
    if visit is None:
        raise NotInside("not_inside", _("You are not checked in at this office."))
    return visit


def _visit_by_identity(
    *, office_id: int, person: dict[str, Any], officer: AbstractBaseUser | None, now: datetime.datetime
) -> Visit:
    """The visit of the person with this NIK, only when the name given is the name on record (else: not inside).

    The status is read before the visit, whether or not anyone is inside, so a stranger's answer and a true "not
    inside" take the same path.
    """
    _context, snapshot = status_lookup(nik_hash=person["digest"], name=person["name"], today=timezone.localdate(now))
    visit = _visit_to_close(office_id=office_id, digest=person["digest"])
    arrival = Arrival(digest=person["digest"], name=person["name"], nik=person["nik"], officer=officer)
    if not _identity_matches(arrival=arrival, snapshot=snapshot, stored_name=visit.person.name):
        raise NotInside("not_inside", _("You are not checked in at this office."))
    return visit


def device_ratelimit(*, token: str) -> None:
    """A remembered phone counts against its own limit and against its owner's per-NIK limit, so a phone is no way
    round the strict limit on one person."""
    ratelimit_device(token=token)
    digest = device_owner_digest(token=token)
    if digest is not None:
        ratelimit_nik(nik_hash=digest)


def device_forget(*, token: str) -> int:
    """'Not you?': the server forgets this phone."""
    deleted, _details = Device.objects.filter(token_hash=device_token_hash(token)).delete()
    return deleted


# --- status alerts for people inside -----------------------------------------------------------------------------


def status_alert_raise(*, nik_hashes: list[str], now: datetime.datetime | None = None) -> list[int]:
    """For everyone among these people who is inside an office now: one status alert at that office's door.

    The alert is its own scan action (not a check-in, so never counted as a denial). Idempotent: a visit that
    already carries an alert (from this or an earlier run) gets no second one. Returns the new scan event ids.
    """
    now = now or timezone.now()
    created: list[int] = []
    open_visits = Visit.objects.filter(checked_out_at__isnull=True, person__nik_hash__in=nik_hashes).values_list(
        "id", flat=True
    )
    for visit_id in list(open_visits):
        with transaction.atomic():
            # The row lock makes two concurrent runs agree on whether the alert exists.
            visit = Visit.objects.select_for_update().filter(pk=visit_id, checked_out_at__isnull=True).first()
            if visit is None or ScanEvent.objects.filter(visit_id=visit_id, alert=True).exists():
                continue
            event_id = row_insert(
                ScanEvent,
                values={
                    "entrance_id": visit.entrance_in_id,
                    "office_id": visit.office_id,
                    "person_id": visit.person_id,
                    "visit_id": visit.pk,
                    "action": ScanAction.STATUS_ALERT,
                    "outcome": Outcome.DENIED,
                    "reason": Reason.ISOLATION,
                    "colour": Colour.BLACK,
                    "kind": visit.kind,
                    "alert": True,
                    "created_at": now,
                },
            )
            transaction.on_commit(
                partial(_after_commit, event_id=event_id, entrance_id=visit.entrance_in_id, alert=True)
            )
        created.append(event_id)
    if created:
        logger.warning("black status inside: %d alert(s) raised", len(created))
    return created
