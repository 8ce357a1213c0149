"""A person's own data: the export holds exactly theirs, erasure removes what it says and keeps what an open
exposure case needs, notices are acknowledged only by their person; every request is audited without the NIK."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from offices.models import AuditEvent
from tests.factories import (
    DeviceFactory,
    EntranceFactory,
    ExposureCaseFactory,
    ExposureNoticeFactory,
    PersonFactory,
    ScanEventFactory,
    VisitFactory,
    nik_make,
)
from visitors.models import ClosedBy, Device, ExposureNotice, Person, ScanEvent, Visit
from visitors.own_data import (
    NoticeUnknown,
    PersonUnknown,
    StillInside,
    notice_acknowledge,
    person_by_identity,
    person_data_erase,
    person_data_export,
    person_notices_unread,
)

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2026, 11, 20, 12, 0))


def closed_visit(person, *, days_ago: float, hours: float = 1, entrance=None, **extra) -> Visit:
    start = NOW - datetime.timedelta(days=days_ago)
    options = {"entrance_in": entrance} if entrance else {}
    return VisitFactory(
        person=person,
        checked_in_at=start,
        checked_out_at=start + datetime.timedelta(hours=hours),
        closed_by=ClosedBy.PERSON,
        phone=person.phone,
        **options,
        **extra,
    )


def case_over(visit, **extra):
    return ExposureCaseFactory(
        window_from=visit.checked_in_at - datetime.timedelta(minutes=30),
        window_until=visit.checked_out_at + datetime.timedelta(minutes=30),
        **extra,
    )


def test_export_holds_exactly_the_persons_data():
    me = PersonFactory(name="I Made Wirawan", phone="081111111111", nik=nik_make(9001))
    other = PersonFactory(name="Ni Komang Lain", phone="082222222222", nik=nik_make(9002))
    entrance = EntranceFactory(office__name="Dinas Kesehatan", name="Pintu Utama")
    mine = closed_visit(me, days_ago=2, entrance=entrance)
    child = PersonFactory(name="Anak Wirawan", nik=nik_make(9003))
    VisitFactory(
        person=child,
        entrance_in=entrance,
        guardian_visit=mine,
        checked_in_at=mine.checked_in_at,
        checked_out_at=mine.checked_out_at,
        closed_by=ClosedBy.PERSON,
    )
    closed_visit(other, days_ago=2, entrance=entrance)
    ScanEventFactory(person=me, entrance=entrance, visit=mine, colour="yellow", created_at=mine.checked_in_at)
    ScanEventFactory(person=other, entrance=entrance, colour="red", reason="isolation", outcome="denied")
    ExposureNoticeFactory(person=me, office=entrance.office, message="Pesan untuk saya")
    ExposureNoticeFactory(person=other, office=entrance.office, message="Pesan untuk orang lain")
    DeviceFactory(person=me)
    DeviceFactory(person=other)

    data = person_data_export(person=me, now=NOW)

    text = json.dumps(data)  # JSON-able as it is
    assert data["person"] == {
        "name": "I Made Wirawan",
        "nik_masked": me.nik_masked,
        "phone": "081111111111",
        "created_at": data["person"]["created_at"],
        "last_seen_at": None,
    }
    assert [v["office"] for v in data["visits"]] == ["Dinas Kesehatan"]
    assert data["visits"][0]["children"] == 1 and data["visits"][0]["entrance_in"] == "Pintu Utama"
    assert [(s["colour"], s["outcome"]) for s in data["scans"]] == [("yellow", "admitted")]
    assert [n["message"] for n in data["notices"]] == ["Pesan untuk saya"]
    assert data["remembered_devices"] == 1
    # Nobody else: not the other person's name, phone, colour or notice, not the child's name, and no NIK at all.
    for foreign in (
        "Ni Komang Lain",
        "082222222222",
        "isolation",
        "orang lain",
        "Anak Wirawan",
        nik_make(9001),
        nik_make(9003),
    ):
        assert foreign not in text
    event = AuditEvent.objects.get(action="person.data_exported")
    assert event.object_id == str(me.pk) and event.detail["nik"] == me.nik_masked
    assert nik_make(9001) not in json.dumps(event.detail)


def test_erase_without_an_open_case_deletes_everything():
    me = PersonFactory(nik=nik_make(9001))
    other = PersonFactory(nik=nik_make(9002))
    visit = closed_visit(me, days_ago=3)
    ScanEventFactory(person=me, visit=visit, entrance=visit.entrance_in)
    ScanEventFactory(person=me, outcome="denied", reason="capacity_full")
    DeviceFactory(person=me)
    theirs = closed_visit(other, days_ago=3)
    DeviceFactory(person=other)
    closed_case = case_over(visit, closed_at=NOW)  # a closed case keeps nothing
    ExposureNoticeFactory(person=me, case=closed_case)

    result = person_data_erase(person=me, now=NOW)

    assert result.person_deleted and result.visits_deleted == 1 and result.visits_kept == 0
    assert result.devices == 1 and result.scan_events == 2 and result.kept_until is None
    assert not Person.objects.filter(pk=me.pk).exists()
    assert not ScanEvent.objects.filter(visit=visit).exists() and not ExposureNotice.objects.exists()
    # The other person is untouched.
    assert Visit.objects.filter(pk=theirs.pk, phone=other.phone).exists()
    assert Device.objects.filter(person=other).count() == 1
    event = AuditEvent.objects.get(action="person.data_erased")
    assert event.detail == {"person": me.pk, "nik": me.nik_masked, "via": "device"}


def test_erase_keeps_the_visits_an_open_case_needs_until_retention_ends(settings):
    settings.RETENTION_DAYS = 30
    me = PersonFactory(nik=nik_make(9001), phone="081111111111")
    inside_window = closed_visit(me, days_ago=5)
    outside = closed_visit(me, days_ago=10)
    kept_scan = ScanEventFactory(person=me, visit=inside_window, entrance=inside_window.entrance_in)
    ScanEventFactory(person=me, visit=outside, entrance=outside.entrance_in)
    DeviceFactory(person=me)
    case = case_over(inside_window)
    notice = ExposureNoticeFactory(person=me, case=case, phone="081111111111")

    result = person_data_erase(person=me, now=NOW)

    assert not result.person_deleted
    assert (result.visits_deleted, result.visits_kept, result.devices, result.scan_events) == (1, 1, 1, 1)
    assert result.kept_until == inside_window.checked_out_at + datetime.timedelta(days=30)
    me.refresh_from_db()
    assert me.phone == "" and me.name  # the name stays for the kept visit
    assert list(Visit.objects.filter(person=me).values_list("pk", "phone")) == [(inside_window.pk, "")]
    assert list(ScanEvent.objects.filter(person=me).values_list("pk", flat=True)) == [kept_scan.pk]
    assert not Device.objects.filter(person=me).exists()
    notice.refresh_from_db()
    assert notice.phone == ""  # the case still knows it told them; the number is gone


def test_the_case_person_keeps_their_window_too():
    me = PersonFactory(nik=nik_make(9001))
    visit = closed_visit(me, days_ago=4)
    case_over(visit, case_person=me)
    result = person_data_erase(person=me, now=NOW)
    assert result.visits_kept == 1 and Visit.objects.filter(pk=visit.pk).exists()


def test_an_open_case_of_someone_else_keeps_nothing_of_an_uninvolved_person():
    me = PersonFactory(nik=nik_make(9001))
    visit = closed_visit(me, days_ago=4)
    case_over(visit)  # open, overlapping, but this person was never told: not a contact
    result = person_data_erase(person=me, now=NOW)
    assert result.person_deleted and not Visit.objects.filter(pk=visit.pk).exists()


def test_a_childs_visits_stay_the_childs_when_the_adult_erases():
    me = PersonFactory(nik=nik_make(9001))
    child = PersonFactory(nik=nik_make(9002))
    adult_visit = closed_visit(me, days_ago=2)
    child_visit = closed_visit(child, days_ago=2, guardian_visit=adult_visit, entrance=adult_visit.entrance_in)
    person_data_erase(person=me, now=NOW)
    child_visit.refresh_from_db()
    assert child_visit.guardian_visit_id is None


def test_erase_while_inside_changes_nothing():
    me = PersonFactory(nik=nik_make(9001))
    VisitFactory(person=me)
    DeviceFactory(person=me)
    with pytest.raises(StillInside):
        person_data_erase(person=me, now=NOW)
    assert Device.objects.filter(person=me).exists() and Person.objects.get(pk=me.pk).phone
    assert not AuditEvent.objects.filter(action="person.data_erased").exists()


def test_notice_acknowledge_only_by_its_person():
    me, other = PersonFactory(nik=nik_make(9001)), PersonFactory(nik=nik_make(9002))
    notice = ExposureNoticeFactory(person=me)
    with pytest.raises(NoticeUnknown):
        notice_acknowledge(person=other, notice_id=notice.pk)
    with pytest.raises(NoticeUnknown):
        notice_acknowledge(person=me, notice_id="nope")
    assert person_notices_unread(person=me) == [notice]
    assert notice_acknowledge(person=me, notice_id=notice.pk, now=NOW) is True
    assert notice_acknowledge(person=me, notice_id=notice.pk) is False  # twice: nothing more
    assert person_notices_unread(person=me) == []
    assert ExposureNotice.objects.get(pk=notice.pk).acknowledged_at == NOW
    assert AuditEvent.objects.filter(action="notice.acknowledged").count() == 1


def test_unread_notices_take_one_query(django_assert_num_queries):
    me = PersonFactory(nik=nik_make(9001))
    ExposureNoticeFactory.create_batch(3, person=me)
    with django_assert_num_queries(1):
        notices = person_notices_unread(person=me)
        assert [n.office.name for n in notices]


def test_person_by_identity_needs_the_name_on_record():
    me = PersonFactory(nik=nik_make(9001), name="I Made Wirawan")
    assert person_by_identity(nik=nik_make(9001), name="i made  WIRAWAN") == me
    with pytest.raises(PersonUnknown):
        person_by_identity(nik=nik_make(9001), name="Someone Else")
    with pytest.raises(PersonUnknown):
        person_by_identity(nik=nik_make(9009), name="I Made Wirawan")
    with pytest.raises(ValidationError):
        person_by_identity(nik="1234", name="")
