"""`import_staff OFFICE_ID FILE.csv`: the roster loads, reloads without duplicates, and reports bad lines by number."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from denpasar_checkin.nik import nik_hash
from offices.models import AuditEvent, Staff
from offices.staff_import import staff_import_csv
from tests.factories import OfficeFactory, StaffFactory, nik_make

pytestmark = pytest.mark.django_db

HEADER = "nik,name,nip,email,phone,receives_visitors\n"


def nip(n: int) -> str:
    return f"19800101200501{n:04d}"


def line(n: int, name: str = "I Made Wirawan", **extra) -> str:
    values = {"email": f"staff{n}@denpasarkota.go.id", "phone": "081234567890", "receives_visitors": "true"}
    values.update(extra)
    return f"{nik_make(n)},{name},{nip(n)},{values['email']},{values['phone']},{values['receives_visitors']}\n"


@pytest.fixture
def office():
    return OfficeFactory(name="Dinas Kesehatan")


@pytest.fixture(autouse=True)
def _english():
    # The messages are checked in English; Indonesian, the default, is checked by tests/test_translations.py.
    with translation.override("en"):
        yield


def load(office, text: str):
    return staff_import_csv(office=office, text=text)


def test_a_roster_loads_with_contact_and_host_flags(office):
    result = load(office, HEADER + line(1) + line(2, "Ni Luh Ayu", receives_visitors="false", phone="", email=""))
    assert (result.created, result.errors) == (2, [])
    made = Staff.objects.get(office=office, nik_hash=nik_hash(nik_make(1)))
    assert (made.name, made.nip, made.email, made.phone, made.receives_visitors, made.active) == (
        "I Made Wirawan",
        nip(1),
        "staff1@denpasarkota.go.id",
        "081234567890",
        True,
        True,
    )
    assert Staff.objects.get(nik_hash=nik_hash(nik_make(2))).receives_visitors is False
    assert made.nik_masked.endswith(nik_make(1)[-4:]) and nik_make(1) not in str(made.__dict__.values())


def test_loading_the_same_file_again_changes_nothing(office):
    text = HEADER + line(1) + line(2)
    load(office, text)
    again = load(office, text)
    assert (again.created, again.updated, again.unchanged, again.deactivated) == (0, 0, 2, 0)
    assert Staff.objects.filter(office=office).count() == 2


def test_a_changed_row_updates_the_person_it_names(office):
    load(office, HEADER + line(1))
    result = load(office, HEADER + line(1, "I Made Wirawan Putra", receives_visitors="false"))
    assert (result.created, result.updated) == (0, 1)
    staff = Staff.objects.get(office=office)
    assert (staff.name, staff.receives_visitors) == ("I Made Wirawan Putra", False)


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("1234,Made,{nip},,,true\n", "NIK"),
        ("{nik},,{nip},,,true\n", "name is empty"),
        ("{nik},Made,1234,,,true\n", "NIP must be 18 digits"),
        ("{nik},Made,{nip},not-an-address,,true\n", "e-mail"),
        ("{nik},Made,{nip},,12,true\n", "phone number"),
        ("{nik},Made,{nip},,,maybe\n", "receives_visitors"),
    ],
)
def test_a_bad_line_is_reported_by_number_and_skipped(office, bad, words):
    text = HEADER + line(1) + bad.format(nik=nik_make(9), nip=nip(9)) + line(2)
    result = load(office, text)
    assert result.created == 2
    assert [error.line for error in result.errors] == [3]
    assert words in result.errors[0].message
    assert nik_make(9) not in result.errors[0].message


def test_the_same_nik_twice_in_a_file_is_refused_on_its_second_line(office):
    result = load(office, HEADER + line(1) + line(1, "Someone Else"))
    assert [(error.line, "line 2" in error.message) for error in result.errors] == [(3, True)]
    assert Staff.objects.get(office=office).name == "I Made Wirawan"


def test_staff_missing_from_a_clean_file_are_marked_inactive_not_deleted(office):
    load(office, HEADER + line(1) + line(2))
    result = load(office, HEADER + line(1))
    assert result.deactivated == 1
    left = Staff.objects.get(office=office, nik_hash=nik_hash(nik_make(2)))
    assert left.active is False
    # Listed again: active again.
    load(office, HEADER + line(1) + line(2))
    left.refresh_from_db()
    assert left.active is True


def test_a_file_with_a_bad_line_deactivates_nobody(office):
    load(office, HEADER + line(1) + line(2))
    result = load(office, HEADER + line(1) + "oops,,,,,\n")
    assert result.deactivated == 0 and result.deactivation_skipped
    assert Staff.objects.filter(office=office, active=True).count() == 2


def test_other_offices_rosters_are_untouched(office):
    elsewhere = StaffFactory()
    load(office, HEADER + line(1))
    elsewhere.refresh_from_db()
    assert elsewhere.active is True


def test_a_wrong_header_loads_nothing(office):
    result = load(office, "nik,nama,nip\n" + f"{nik_make(1)},Made,{nip(1)}\n")
    assert [error.line for error in result.errors] == [1]
    assert not Staff.objects.exists()


def test_the_three_required_columns_are_enough_and_keep_stored_contacts(office):
    load(office, HEADER + line(1))
    result = load(office, "nik,name,nip\n" + f"{nik_make(1)},I Made Wirawan,{nip(1)}\n")
    assert result.unchanged == 1
    assert Staff.objects.get(office=office).email == "staff1@denpasarkota.go.id"


def test_every_load_is_audited_without_a_nik(office):
    load(office, HEADER + line(1))
    event = AuditEvent.objects.get(action="staff.imported")
    assert event.office == office and event.detail["created"] == 1
    assert nik_make(1) not in str(event.detail)


def test_the_command_prints_the_summary_and_the_bad_lines(office, tmp_path):
    path = tmp_path / "staff.csv"
    path.write_text(HEADER + line(1) + "x,,,,,\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with translation.override("en"):
        call_command("import_staff", str(office.pk), str(path), stdout=out, stderr=err)
    assert "1 new" in out.getvalue() and "1 line(s) skipped" in out.getvalue()
    assert "line 3:" in err.getvalue()


@translation.override("en")
def test_the_command_refuses_an_unknown_office_and_a_missing_file(office, tmp_path):
    with pytest.raises(CommandError, match="No office"):
        call_command("import_staff", "999999", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match="File not found"):
        call_command("import_staff", str(office.pk), str(tmp_path / "missing.csv"))


# --- the same file as an upload in admin ----------------------------------------------------------------------


def upload(client, office, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        "/admin/offices/staff/import/",
        {"office": office.pk, "file": SimpleUploadedFile("staff.csv", content, content_type="text/csv")},
        HTTP_ACCEPT_LANGUAGE="en",
    )


@pytest.fixture
def office_admin_client(client, office):
    from tests.factories import UserFactory

    client.force_login(UserFactory(roles=["Admin Kantor"], offices=[office], is_staff=True))
    return client


def test_an_office_admin_uploads_the_roster_and_sees_the_bad_lines(office_admin_client, office):
    response = upload(office_admin_client, office, (HEADER + line(1) + "x,,,,,\n").encode())
    html = response.content.decode()
    assert response.status_code == 200
    assert Staff.objects.filter(office=office).count() == 1
    assert 'data-line="3"' in html and 'data-created="1"' in html
    assert AuditEvent.objects.get(action="staff.imported").actor is not None


def test_an_office_admin_cannot_load_another_offices_roster(office_admin_client):
    other = OfficeFactory(name="Dinas Lain")
    response = upload(office_admin_client, other, (HEADER + line(1)).encode())
    assert response.status_code == 400
    assert not Staff.objects.exists()


def test_an_upload_that_is_not_utf8_is_refused_with_words(office_admin_client, office):
    response = upload(office_admin_client, office, (HEADER + line(1, "Ni Luh Ayu Dewi")).encode("utf-16"))
    assert response.status_code == 400
    assert "UTF-8" in response.content.decode()
    assert not Staff.objects.exists()


def test_a_door_officer_may_not_import(client, office):
    from tests.factories import UserFactory

    client.force_login(UserFactory(roles=["Petugas"], offices=[office], is_staff=True))
    assert upload(client, office, (HEADER + line(1)).encode()).status_code == 403
