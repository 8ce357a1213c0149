"""Demo data for a developer's laptop: three Denpasar offices, staff, users and one registry person per colour."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from denpasar_checkin.nik import nik_hash, nik_mask, nik_validate
from offices.models import Entrance, Office, OfficerAssignment
from offices.roles import ROLE_OFFICER, ROLE_SATGAS
from offices.services import office_occupancy_ensure, office_save, staff_upsert
from screening.models import HealthStatus, StatusSource
from screening.vocabulary import CaseStatus

# All of it is made up: the NIKs are valid in form (Denpasar, 51 71 0x) but belong to nobody, so printing them to
# the developer's terminal is fine. Dates are in days relative to the day of seeding, so the colours stay true.
# Staff are in the registry too (green), so their check-ins are admitted.
DEMO_DATA: dict = {
    "offices": [
        {
            "name": "Kantor Wali Kota Denpasar",
            "address": "Jl. Gajah Mada No. 1, Dauh Puri Kangin, Denpasar Barat, Kota Denpasar, Bali 80112",
            "sector": "non_esensial",
            "capacity": 150,
            "entrances": ["Pintu Utama", "Pintu Samping", "Pintu Belakang"],
            "staff": [
                {"nik": "5171031503780004", "name": "I Gusti Ngurah Made Wirawan", "nip": "197803152005011004"},
                {"nik": "5171014211840007", "name": "Ni Wayan Sri Astuti", "nip": "198411022009022007"},
                {"nik": "5171042506900002", "name": "I Komang Adi Putra", "nip": "199006252015031002"},
            ],
        },
        {
            "name": "Mal Pelayanan Publik Denpasar",
            "address": "Jl. Kapten Tantular No. 2, Dangin Puri Klod, Denpasar Timur, Kota Denpasar, Bali 80234",
            "sector": "esensial",
            "capacity": 200,
            "entrances": ["Pintu Utama", "Pintu Samping"],
            "staff": [
                {"nik": "5171024909880011", "name": "Ni Kadek Dwi Lestari", "nip": "198809092011012011"},
                {"nik": "5171013001820005", "name": "I Putu Agus Darmawan", "nip": "198201302008011005"},
            ],
        },
        {
            "name": "Kantor Camat Denpasar Timur",
            "address": "Jl. Kamboja No. 1, Dangin Puri Kangin, Denpasar Timur, Kota Denpasar, Bali 80233",
            "sector": "non_esensial",
            "capacity": 60,
            "entrances": ["Pintu Utama", "Pintu Samping"],
            "staff": [
                {"nik": "5171021707750003", "name": "I Made Sudiarta", "nip": "197507172000031003"},
                {"nik": "5171024412860009", "name": "Ni Luh Gede Sukmawati", "nip": "198612042010012009"},
            ],
        },
    ],
    "staff_status": {"doses": 3, "last_dose_days_ago": 150},
    # One person per colour to try at the door. `in_registry: False` is the unknown case.
    "people": [
        {
            "colour": "green",
            "note": "2 doses",
            "nik": "5171031204850003",
            "name": "I Made Suardana",
            "doses": 2,
            "last_dose_days_ago": 120,
        },
        {
            "colour": "green",
            "note": "3 doses (booster)",
            "nik": "5171025708920002",
            "name": "Ni Luh Putu Ariani",
            "doses": 3,
            "last_dose_days_ago": 45,
        },
        {
            "colour": "yellow",
            "note": "1 dose",
            "nik": "5171042102950006",
            "name": "I Ketut Wirawan",
            "doses": 1,
            "last_dose_days_ago": 20,
        },
        {
            "colour": "red",
            "note": "not vaccinated",
            "nik": "5171014510790008",
            "name": "Ni Made Sri Wahyuni",
            "doses": 0,
        },
        {
            "colour": "red",
            "note": "not vaccinated, medical exemption (officer check)",
            "nik": "5171032805680001",
            "name": "I Wayan Gede Santika",
            "doses": 0,
            "exemption_days_from_now": 90,
        },
        {
            "colour": "black",
            "note": "positive, in isolation",
            "nik": "5171021112730004",
            "name": "I Nyoman Sudarsana",
            "doses": 2,
            "last_dose_days_ago": 200,
            "case_status": CaseStatus.POSITIVE,
            "case_days_ago": 3,
            "isolated_days_from_now": 7,
        },
        {
            "colour": "black",
            "note": "close contact, in isolation",
            "nik": "5171044303000012",
            "name": "Ni Kadek Ayu Pradnyani",
            "doses": 2,
            "last_dose_days_ago": 90,
            "case_status": CaseStatus.CLOSE_CONTACT,
            "case_days_ago": 2,
            "isolated_days_from_now": 5,
        },
        {
            "colour": "green",
            "note": "was positive, isolation ended",
            "nik": "5171015406910010",
            "name": "Ni Komang Ayu Lestari",
            "doses": 2,
            "last_dose_days_ago": 160,
            "case_status": CaseStatus.POSITIVE,
            "case_days_ago": 30,
            "isolated_days_from_now": -20,
        },
        {
            "colour": "unknown",
            "note": "not in the registry",
            "nik": "5171033009980007",
            "name": "Putu Eka Pratama",
            "in_registry": False,
        },
    ],
    "users": [
        {"username": "admin", "superuser": True, "groups": [], "offices": []},
        {"username": "petugas", "superuser": False, "groups": [ROLE_OFFICER], "offices": ["Kantor Wali Kota Denpasar"]},
        {"username": "satgas", "superuser": False, "groups": [ROLE_SATGAS], "offices": []},
    ],
    "email_domain": "denpasarkota.go.id",
}

PASSWORD_BYTES = 12  # token_urlsafe(12): 16 characters, shown once


@dataclass(frozen=True)
class DemoUser:
    username: str
    created: bool
    password: str | None  # only when created by this run


@dataclass
class DemoSummary:
    offices_created: int = 0
    entrances_created: int = 0
    staff_created: int = 0
    statuses_created: int = 0
    users: list[DemoUser] = field(default_factory=list)
    entrance_urls: list[tuple[str, str, str]] = field(default_factory=list)  # (office, entrance, url)

    @property
    def created_anything(self) -> bool:
        counts = (self.offices_created, self.entrances_created, self.staff_created, self.statuses_created)
        return any(counts) or any(user.created for user in self.users)


def demo_is_needed() -> bool:
    """True on an empty database (no offices yet): `make run` seeds only then."""
    return not Office.objects.exists()


def demo_seed(*, stdout_write: Callable[[str], None] | None = None) -> DemoSummary:
    """Load DEMO_DATA; running it again creates nothing new and leaves existing users and passwords alone.

    Everything is written in one transaction and printed (through `stdout_write`) only after it committed, so a
    password is never shown for a user that was rolled back.
    """
    today = timezone.localdate()
    with transaction.atomic():
        summary = DemoSummary()
        offices = {spec["name"]: _office_seed(spec, summary) for spec in DEMO_DATA["offices"]}
        _statuses_seed(today, summary)
        for spec in DEMO_DATA["users"]:
            summary.users.append(_user_seed(spec, offices))
    if stdout_write is not None:
        _summary_print(summary, stdout_write)
    return summary


def _office_seed(spec: dict, summary: DemoSummary) -> Office:
    office = Office.objects.filter(name=spec["name"]).first()
    if office is None:
        office = office_save(
            office=Office(name=spec["name"], address=spec["address"], sector=spec["sector"], capacity=spec["capacity"])
        )
        summary.offices_created += 1
    else:
        # A developer may have edited the demo office in admin; keep their changes.
        office_occupancy_ensure(office=office)
    for name in spec["entrances"]:
        entrance, created = Entrance.objects.get_or_create(office=office, name=name)
        summary.entrances_created += created
        summary.entrance_urls.append((office.name, entrance.name, entrance.url))
    for staff in spec["staff"]:
        _staff, created = staff_upsert(office=office, nik=staff["nik"], name=staff["name"], nip=staff["nip"])
        summary.staff_created += created
    return office


def _statuses_seed(today: datetime.date, summary: DemoSummary) -> None:
    def days(offset: int | None) -> datetime.date | None:
        return None if offset is None else today + datetime.timedelta(days=offset)

    staff_status = DEMO_DATA["staff_status"]
    entries = [
        {"nik": staff["nik"], "name": staff["name"], **staff_status}
        for office in DEMO_DATA["offices"]
        for staff in office["staff"]
    ]
    entries += [person for person in DEMO_DATA["people"] if person.get("in_registry", True)]
    now = timezone.now()
    for entry in entries:
        nik = nik_validate(entry["nik"])
        ago = entry.get("last_dose_days_ago")
        case_ago = entry.get("case_days_ago")
        # update_or_create, not get_or_create: re-seeding on a later day moves the dates so each colour stays true.
        _status, created = HealthStatus.objects.update_or_create(
            nik_hash=nik_hash(nik),
            defaults={
                "nik_masked": nik_mask(nik),
                "name": entry["name"],
                "doses": entry.get("doses", 0),
                "last_dose_on": days(-ago if ago is not None else None),
                "case_status": entry.get("case_status", CaseStatus.NONE),
                "case_reported_on": days(-case_ago if case_ago is not None else None),
                "isolated_until": days(entry.get("isolated_days_from_now")),
                "exemption_until": days(entry.get("exemption_days_from_now")),
                "source": StatusSource.REGISTRY,
                "refreshed_at": now,
            },
        )
        summary.statuses_created += created


def _user_seed(spec: dict, offices: dict[str, Office]) -> DemoUser:
    """Create the user with a fresh password; an existing one keeps its password and flags.

    Its demo groups and office assignments are (re-)ensured either way, so re-seeding after the demo offices were
    deleted and recreated gives the officer their office back.
    """
    User = get_user_model()
    user = User.objects.filter(username=spec["username"]).first()
    password = None
    if user is None:
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        email = f"{spec['username']}@{DEMO_DATA['email_domain']}"
        if spec["superuser"]:
            user = User.objects.create_superuser(username=spec["username"], email=email, password=password)
        else:
            # is_staff: officers and Satgas work in Django admin too.
            user = User.objects.create_user(username=spec["username"], email=email, password=password, is_staff=True)
    for name in spec["groups"]:
        user.groups.add(Group.objects.get(name=name))
    for name in spec["offices"]:
        OfficerAssignment.objects.get_or_create(user=user, office=offices[name])
    return DemoUser(username=user.get_username(), created=password is not None, password=password)


def _summary_print(summary: DemoSummary, write: Callable[[str], None]) -> None:
    write(
        f"Demo data: {summary.offices_created} office(s), {summary.entrances_created} entrance(s), "
        f"{summary.staff_created} staff and {summary.statuses_created} health status(es) created."
    )
    write("")
    write("Users (log in at /admin/ or /door/):")
    for user in summary.users:
        shown = f"password: {user.password}" if user.password else "unchanged (password not shown again)"
        write(f"  {user.username:<10} {shown}")
    write("")
    write("Entrances (open a URL on a phone, or in a browser, to check in):")
    for office, entrance, url in summary.entrance_urls:
        write(f"  {url}  {office} — {entrance}")
    write("")
    write("Demo people, one per colour (fake NIKs; type NIK and name exactly):")
    write(f"  {'colour':<8} {'NIK':<16}  {'name':<28} note")
    for person in DEMO_DATA["people"]:
        write(f"  {person['colour']:<8} {person['nik']:<16}  {person['name']:<28} {person['note']}")
    first_office = DEMO_DATA["offices"][0]
    staff = first_office["staff"][0]
    write(f"  {'staff':<8} {staff['nik']:<16}  {staff['name']:<28} green, staff of {first_office['name']}")
