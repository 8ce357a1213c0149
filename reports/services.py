"""Report actions that leave a trace: exposure queries and CSV exports, each written to the audit log.

This is the only module that decrypts a full NIK: the exposure export, which the health task force needs to
register and call contacts. Every other export carries the masked NIK, and no audit entry ever holds a NIK
(the person id and the masked NIK identify the subject).
"""

from __future__ import annotations

import csv
import datetime
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from denpasar_checkin.nik import nik_decrypt, nik_mask
from offices.models import Office
from offices.services import audit_record
from visitors.models import Person

from .selectors import (
    DateRange,
    ExposureContact,
    city_dashboard,
    exposure_contacts,
    exposure_notice_states,
    exposure_person_find,
    exposure_since_default,
    local_midnight,
    office_visits_for_export,
    positive_date_for,
    staff_first_checkins,
    staff_roster,
)

logger = logging.getLogger(__name__)

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection); names and phones are
# typed by the public, so such cells get a leading apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExposurePersonNotFound(Exception):
    """No Person with this NIK and a matching name (the two cases answer alike)."""


class ExposureSinceRequired(Exception):
    """No start date was given and the registry holds no positive test date to count back from."""


@dataclass(frozen=True, slots=True)
class ExposureReport:
    person: Person
    since: datetime.date
    until: datetime.datetime
    positive_on: datetime.date | None
    contacts: list[ExposureContact]
    # person id -> NoticeState value: whether and how each contact was told of this case
    told: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CsvFile:
    filename: str
    content: bytes
    rows: int


# --- exposure -------------------------------------------------------------------------------------------------


def exposure_report_run(*, person: Person, since: datetime.date | None, now: datetime.datetime) -> ExposureReport:
    """The exposure report without an audit entry: for callers that write their own (export, notices)."""
    positive_on = positive_date_for(person=person)
    if since is None:
        if positive_on is None:
            raise ExposureSinceRequired
        since = exposure_since_default(positive_on=positive_on)
    contacts = exposure_contacts(person_id=person.pk, since=local_midnight(since), now=now)
    told = exposure_notice_states(case_person_id=person.pk, window_from=local_midnight(since), contacts=contacts)
    return ExposureReport(person=person, since=since, until=now, positive_on=positive_on, contacts=contacts, told=told)


def _exposure_detail(report: ExposureReport, **extra: Any) -> dict[str, Any]:
    """What the audit log keeps about a tracing query: who was traced (id, masked NIK) and the window."""
    return {
        "person_id": report.person.pk,
        "nik_masked": report.person.nik_masked,
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        **extra,
    }


def exposure_report_for_person(
    *,
    actor: AbstractBaseUser | None,
    person: Person,
    since: datetime.date | None,
    now: datetime.datetime,
    channel: str,
) -> ExposureReport:
    """Run the exposure query for a person and audit it. `since` defaults to two days before the positive test.

    Raises ExposureSinceRequired when there is neither a `since` nor a positive test date on record.
    """
    report = exposure_report_run(person=person, since=since, now=now)
    audit_record(
        actor=actor,
        action="exposure.query",
        obj=person,
        detail=_exposure_detail(report, contacts=len(report.contacts), channel=channel),
    )
    return report


def exposure_report_by_nik(
    *,
    actor: AbstractBaseUser | None,
    nik: str,
    name: str,
    since: datetime.date | None,
    now: datetime.datetime,
    channel: str,
) -> ExposureReport:
    """The exposure report for the person with this (validated) NIK and name; a miss is audited too.

    Raises ExposurePersonNotFound or ExposureSinceRequired.
    """
    person = exposure_person_or_miss(actor=actor, nik=nik, name=name, action="exposure.query", channel=channel)
    return exposure_report_for_person(actor=actor, person=person, since=since, now=now, channel=channel)


def exposure_person_or_miss(
    *, actor: AbstractBaseUser | None, nik: str, name: str, action: str, channel: str
) -> Person:
    """The person with this (validated) NIK and name, or ExposurePersonNotFound after auditing the miss as `action`
    (masked NIK only): repeated misses are how NIK fishing shows up in the log."""
    person = exposure_person_find(nik=nik, name=name)
    if person is None:
        audit_record(
            actor=actor, action=action, detail={"found": False, "nik_masked": nik_mask(nik), "channel": channel}
        )
        raise ExposurePersonNotFound
    return person


def exposure_export(
    *, actor: AbstractBaseUser | None, person: Person, since: datetime.date | None, now: datetime.datetime
) -> CsvFile:
    """The exposure report as CSV with each contact's full NIK, decrypted here and only here; audited (one entry,
    exposure.export, which stands for the query it ran too)."""
    report = exposure_report_run(person=person, since=since, now=now)
    full_niks = dict(
        Person.objects.filter(pk__in=[c.person_id for c in report.contacts]).values_list("pk", "nik_encrypted")
    )
    rows = [
        [
            contact.name,
            _nik_plain(full_niks.get(contact.person_id, "")),
            contact.nik_masked,
            contact.phone,
            contact.office,
            contact.overlap_minutes,
            _local(contact.first_overlap_at),
            _local(contact.last_overlap_at),
            report.told.get(contact.person_id, ""),
        ]
        for contact in report.contacts
    ]
    audit_record(
        actor=actor,
        action="exposure.export",
        obj=person,
        detail=_exposure_detail(report, rows=len(rows)),
    )
    header = [
        "name",
        "nik",
        "nik_masked",
        "phone",
        "office",
        "overlap_minutes",
        "first_overlap_at",
        "last_overlap_at",
        "told",
    ]
    return CsvFile(
        filename=f"exposure-person{person.pk}-since-{report.since.isoformat()}.csv",
        content=_csv(header, rows),
        rows=len(rows),
    )


def _nik_plain(token: str) -> str:
    if not token:
        return ""
    try:
        return nik_decrypt(token)
    except ValueError:
        # A copy encrypted under a key that has since been removed: the row keeps its masked NIK.
        logger.warning("An encrypted NIK could not be decrypted for an exposure export.")
        return ""


# --- other exports (masked NIKs only) -------------------------------------------------------------------------


def office_visits_export(*, actor: AbstractBaseUser | None, office: Office, rng: DateRange) -> CsvFile:
    """An office's visits in a date range: one row per visit, masked NIK; audited."""
    rows = []
    for (
        checked_in,
        checked_out,
        kind,
        name,
        nik_masked,
        entrance_in,
        entrance_out,
        closed_by,
        guardian,
    ) in office_visits_for_export(office_id=office.pk, rng=rng).iterator(chunk_size=2000):
        minutes = int((checked_out - checked_in).total_seconds() // 60) if checked_out else ""
        rows.append(
            [
                _local(checked_in),
                _local(checked_out),
                minutes,
                kind,
                name,
                nik_masked,
                entrance_in,
                entrance_out or "",
                closed_by,
                "yes" if guardian else "no",
            ]
        )
    _audit_export(actor=actor, report="office_visits", office=office, rng=rng, rows=len(rows))
    header = [
        "checked_in_at",
        "checked_out_at",
        "minutes",
        "kind",
        "name",
        "nik_masked",
        "entrance_in",
        "entrance_out",
        "closed_by",
        "dependant",
    ]
    return CsvFile(filename=_filename("visits", office, rng), content=_csv(header, rows), rows=len(rows))


def staff_compliance_export(*, actor: AbstractBaseUser | None, office: Office, rng: DateRange) -> CsvFile:
    """One row per rostered staff member and day: checked in or not, and when first; masked NIK; audited."""
    today = timezone.localdate()
    roster = staff_roster(office_id=office.pk)
    first_in = staff_first_checkins(office_id=office.pk, rng=rng)
    rows = [
        [
            day.isoformat(),
            member["name"],
            member["nip"],
            member["nik_masked"],
            "yes" if (member["nik_hash"], day) in first_in else "no",
            _local(first_in.get((member["nik_hash"], day))),
        ]
        for day in rng.days
        if day <= today
        for member in roster
    ]
    _audit_export(actor=actor, report="staff_compliance", office=office, rng=rng, rows=len(rows))
    header = ["date", "name", "nip", "nik_masked", "checked_in", "first_check_in_at"]
    return CsvFile(filename=_filename("staff-compliance", office, rng), content=_csv(header, rows), rows=len(rows))


def city_summary_export(
    *, actor: AbstractBaseUser | None, offices: Sequence[Office], rng: DateRange, now: datetime.datetime
) -> CsvFile:
    """The city dashboard's per-office table (no personal data); audited."""
    dashboard = city_dashboard(offices=offices, rng=rng, now=now)
    rows = [
        [
            row.name,
            row.checkins,
            row.checkins_staff,
            row.checkins_visitors,
            row.checkouts,
            row.denied,
            row.pending.total,
            row.pending.approved,
            row.pending.denied,
            row.pending.open,
            row.peak,
            row.effective_capacity,
            "yes" if row.over_capacity else "no",
            row.staff_roster,
            "" if row.staff_rate is None else f"{row.staff_rate * 100:.1f}",
        ]
        for row in dashboard.offices
    ]
    _audit_export(actor=actor, report="city_summary", office=None, rng=rng, rows=len(rows))
    header = [
        "office",
        "checkins",
        "checkins_staff",
        "checkins_visitors",
        "checkouts",
        "denied",
        "pending",
        "pending_approved",
        "pending_denied",
        "pending_open",
        "peak_occupancy",
        "effective_capacity",
        "over_capacity",
        "staff_roster",
        "staff_compliance_pct",
    ]
    return CsvFile(filename=_filename("city-summary", None, rng), content=_csv(header, rows), rows=len(rows))


# --- helpers --------------------------------------------------------------------------------------------------


def _audit_export(
    *, actor: AbstractBaseUser | None, report: str, office: Office | None, rng: DateRange, rows: int
) -> None:
    audit_record(
        actor=actor,
        action="report.export",
        obj=office,
        office=office,
        detail={"report": report, "from": rng.first.isoformat(), "to": rng.last.isoformat(), "rows": rows},
    )


def _filename(kind: str, office: Office | None, rng: DateRange) -> str:
    where = f"office{office.pk}-" if office is not None else ""
    return f"{kind}-{where}{rng.first.isoformat()}-{rng.last.isoformat()}.csv"


def _local(value: datetime.datetime | None) -> str:
    if value is None:
        return ""
    return timezone.localtime(value, timezone.get_default_timezone()).strftime("%Y-%m-%d %H:%M:%S")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    # The byte-order mark makes Excel read the UTF-8 names correctly; csv readers with utf-8-sig ignore it.
    return buffer.getvalue().encode("utf-8-sig")
