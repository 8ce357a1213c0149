"""Visitor-side reads: the hand-written entrance read a scan starts from, said again with the ORM."""

from __future__ import annotations

import dataclasses

import pytest
from django.db.models import Exists, OuterRef, Subquery

from denpasar_checkin.nik import nik_hash
from offices.models import Entrance, Staff
from tests.factories import EntranceFactory, HealthStatusFactory, StaffFactory, nik_make
from visitors.models import Person, Visit
from visitors.selectors import entrance_read, name_mask
from visitors.services import visit_checkin

pytestmark = pytest.mark.django_db

ENTRANCE_ORM_NAMES = {
    "id": "id",
    "name": "name",
    "code": "code",
    "active": "active",
    "live_qr": "live_qr",
    "office_id": "office_id",
    "office_name": "office__name",
    "office_sector": "office__sector",
    "office_capacity": "office__capacity",
    "office_deny_staff_when_full": "office__deny_staff_when_full",
    "staff_inside": "office__occupancy__staff_inside",
    "visitors_inside": "office__occupancy__visitors_inside",
}
PERSON_NAMES = (
    "is_staff",
    "person_id",
    "person_name",
    "person_phone",
    "open_visit_id",
    "open_visit_office_id",
    "open_visit_kind",
    "open_visit_in_at",
)


def _reference(*, code: str, digest: str | None) -> dict | None:
    """What the hand-written read means, said with the ORM (one correlated subquery per value)."""
    queryset = Entrance.objects.filter(code=code)
    names = dict(ENTRANCE_ORM_NAMES)
    if digest:
        person = Person.objects.filter(nik_hash=digest)
        open_visit = Visit.objects.filter(person__nik_hash=digest, checked_out_at__isnull=True)
        queryset = queryset.annotate(
            is_staff=Exists(Staff.objects.filter(office_id=OuterRef("office_id"), nik_hash=digest, active=True)),
            person_id=Subquery(person.values("id")[:1]),
            person_name=Subquery(person.values("name")[:1]),
            person_phone=Subquery(person.values("phone")[:1]),
            open_visit_id=Subquery(open_visit.values("id")[:1]),
            open_visit_office_id=Subquery(open_visit.values("office_id")[:1]),
            open_visit_kind=Subquery(open_visit.values("kind")[:1]),
            open_visit_in_at=Subquery(open_visit.values("checked_in_at")[:1]),
        )
        names.update({name: name for name in PERSON_NAMES})
    row = queryset.values(*names.values()).first()
    if row is None:
        return None
    values = {ours: row[orm] for ours, orm in names.items()}
    if not digest:
        values.update({name: None for name in PERSON_NAMES}, is_staff=False)
    return values


def test_hand_written_entrance_read_matches_the_orm():
    """The check-in's main read is raw SQL for speed; it must give exactly what the ORM gives."""
    entrance = EntranceFactory()
    other = EntranceFactory()
    StaffFactory(office=entrance.office, nik=nik_make(70), name="Pegawai")
    StaffFactory(office=other.office, nik=nik_make(72), name="Pegawai Lain", active=False)
    for n, name in ((70, "Pegawai"), (72, "Pegawai Lain")):
        HealthStatusFactory(nik=nik_make(n), name=name, doses=2)
    visit_checkin(entrance_code=entrance.code, nik=nik_make(70), name="Pegawai")
    visit_checkin(entrance_code=other.code, nik=nik_make(72), name="Pegawai Lain")
    checked = 0
    for code in (entrance.code, other.code):
        for digest in (nik_hash(nik_make(70)), nik_hash(nik_make(71)), nik_hash(nik_make(72)), None):
            expected = _reference(code=code, digest=digest)
            assert dataclasses.asdict(entrance_read(code=code, digest=digest)) == expected
            checked += expected["open_visit_id"] is not None
    assert checked == 4  # both open visits were seen from both entrances
    assert entrance_read(code="tidak-ada", digest=None) is None
    assert entrance_read(code="tidak-ada", digest=nik_hash(nik_make(70))) is None


def test_name_mask():
    assert name_mask("I Made  Wirawan") == "I M*** W***"
    assert name_mask("") == "—"
