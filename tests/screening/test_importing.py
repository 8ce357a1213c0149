"""Registry import: CSV by line, the bulk upsert by index, idempotency, the command and the admin upload."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation
from freezegun import freeze_time

from denpasar_checkin.nik import nik_hash
from offices.models import AuditEvent
from screening.importing import health_statuses_import_csv, health_statuses_upsert
from screening.models import HealthStatus, StatusSource
from screening.selectors import status_cache_key
from tests.factories import EntranceFactory, HealthStatusFactory, UserFactory, nik_make
from visitors.services import visit_checkin

pytestmark = pytest.mark.django_db

HEADER = "nik,name,doses,last_dose_on,case_status,isolated_until,exemption_until"


def csv_bytes(*lines: str, header: str = HEADER) -> io.BytesIO:
    return io.BytesIO(("\n".join([header, *lines]) + "\n").encode("utf-8"))


GOOD_AND_BAD = [
    f"{nik_make(1)},I Made Wirawan,2,2021-07-01,none,,",  # line 2
    f"{nik_make(2)},Ni Luh Ayu,1,2021-07-15,,,",  # line 3
    "1234,Bad Nik,2,,none,,",  # line 4
    f"{nik_make(3)},Ni Kadek Sari,two,,none,,",  # line 5
    f"{nik_make(4)},I Ketut Budi,0,,positive,2021-08-30,",  # line 6
    f"{nik_make(5)},I Wayan Dana,2,01/07/2021,none,,",  # line 7
    f"{nik_make(6)},Ni Made Rai,3,2021-07-01,sick,,",  # line 8
    f"{nik_make(7)},I Gede Putra,0,,none,,2021-12-31",  # line 9
]


@freeze_time("2021-08-20 09:00:00+08:00")
def test_csv_bad_rows_are_reported_by_line_and_good_rows_load():
    result = health_statuses_import_csv(stream=csv_bytes(*GOOD_AND_BAD))
    assert (result.created, result.updated, result.unchanged) == (4, 0, 0)
    assert [line for line, _errors in result.errors] == [4, 5, 7, 8]
    errors = dict(result.errors)
    assert list(errors[4]) == ["nik"]
    assert list(errors[5]) == ["doses"]
    assert list(errors[7]) == ["last_dose_on"]
    assert list(errors[8]) == ["case_status"]
    assert set(HealthStatus.objects.values_list("nik_hash", flat=True)) == {nik_hash(nik_make(n)) for n in (1, 2, 4, 7)}
    positive = HealthStatus.objects.get(nik_hash=nik_hash(nik_make(4)))
    assert positive.case_status == "positive"
    assert positive.isolated_until == datetime.date(2021, 8, 30)
    assert positive.case_reported_on == datetime.date(2021, 8, 20)
    assert positive.source == StatusSource.REGISTRY
    assert positive.nik_masked == "5171********0005"


def test_reimporting_the_same_file_changes_nothing():
    with freeze_time("2021-08-20 09:00:00+08:00"):
        health_statuses_import_csv(stream=csv_bytes(*GOOD_AND_BAD))
    before = {row["nik_hash"]: row for row in HealthStatus.objects.values()}
    with freeze_time("2021-08-21 09:00:00+08:00"):
        again = health_statuses_import_csv(stream=csv_bytes(*GOOD_AND_BAD))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert [line for line, _errors in again.errors] == [4, 5, 7, 8]
    after = {row["nik_hash"]: row for row in HealthStatus.objects.values()}
    assert after.keys() == before.keys()
    for digest, row in after.items():
        # Same data, same updated_at; only refreshed_at says the registry confirmed it again.
        assert {k: v for k, v in row.items() if k != "refreshed_at"} == {
            k: v for k, v in before[digest].items() if k != "refreshed_at"
        }
        assert row["refreshed_at"] > before[digest]["refreshed_at"]


def test_a_changed_row_is_updated_and_its_cached_copy_dropped(django_capture_on_commit_callbacks):
    entrance = EntranceFactory()
    health_statuses_import_csv(stream=csv_bytes(f"{nik_make(1)},I Made Wirawan,1,2021-07-01,none,,"))
    assert visit_checkin(entrance_code=entrance.code, nik=nik_make(1), name="I Made Wirawan").outcome == "pending"
    assert cache.get(status_cache_key(nik_hash(nik_make(1)))) is not None

    with django_capture_on_commit_callbacks(execute=True):
        result = health_statuses_import_csv(stream=csv_bytes(f"{nik_make(1)},I Made Wirawan,2,2021-08-01,none,,"))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    assert cache.get(status_cache_key(nik_hash(nik_make(1)))) is None
    assert visit_checkin(entrance_code=entrance.code, nik=nik_make(1), name="I Made Wirawan").outcome == "admitted"


def test_isolation_counts_from_the_first_report_of_the_same_case():
    with freeze_time("2021-08-01 09:00:00+08:00"):
        health_statuses_import_csv(stream=csv_bytes(f"{nik_make(1)},I Made Wirawan,2,,positive,,"))
    with freeze_time("2021-08-05 09:00:00+08:00"):
        again = health_statuses_import_csv(stream=csv_bytes(f"{nik_make(1)},I Made Wirawan,2,,positive,,"))
    assert again.unchanged == 1
    assert HealthStatus.objects.get().case_reported_on == datetime.date(2021, 8, 1)


def test_header_must_have_the_documented_columns():
    result = health_statuses_import_csv(stream=csv_bytes(f"{nik_make(1)},A B,2,,none,,", header="nik,nama,dosis"))
    assert [line for line, _errors in result.errors] == [1]
    assert not HealthStatus.objects.exists()


def test_header_is_case_insensitive_and_a_bom_is_accepted():
    stream = io.BytesIO(("\ufeff" + HEADER.upper() + f"\n{nik_make(1)},I Made Wirawan,2,,,,\n").encode("utf-8"))
    result = health_statuses_import_csv(stream=stream)
    assert result.created == 1 and result.errors == []


def test_empty_file_is_reported():
    result = health_statuses_import_csv(stream=io.BytesIO(b""))
    assert result.errors and result.errors[0][0] == 1


def test_extra_cells_and_duplicates_are_reported_by_line():
    result = health_statuses_import_csv(
        stream=csv_bytes(
            f"{nik_make(1)},I Made Wirawan,2,,none,,",
            "",  # blank lines are skipped, and still counted
            f"{nik_make(1)},I Made Wirawan,3,,none,,",
            f"{nik_make(2)},Ni Luh Ayu,2,,none,,,surplus",
        )
    )
    assert result.created == 1
    assert [line for line, _errors in result.errors] == [4, 5]
    assert HealthStatus.objects.get().doses == 2  # the first listing wins


def test_quoted_names_with_commas_are_read():
    result = health_statuses_import_csv(stream=csv_bytes(f'{nik_make(1)},"Wirawan, I Made",2,,none,,'))
    assert result.created == 1
    assert HealthStatus.objects.get().name == "Wirawan, I Made"


def test_a_line_that_is_not_utf8_is_reported_and_the_rest_loads():
    raw = csv_bytes(
        f"{nik_make(1)},I Made Wirawan,2,,none,,",
        f"{nik_make(2)},Ni Luh Ayu,2,,none,,",
        f"{nik_make(3)},I Ketut Budi,2,,none,,",
    ).getvalue()
    raw = raw.replace(b"Ni Luh Ayu", "Ni Luh \xc4yu".encode("latin-1"))
    result = health_statuses_import_csv(stream=io.BytesIO(raw))
    assert result.created == 2
    assert [line for line, _errors in result.errors] == [3]


def test_a_utf16_file_is_refused_without_loading_garbage():
    raw = (HEADER + f"\n{nik_make(1)},I Made Wirawan,2,,none,,\n").encode("utf-16")
    result = health_statuses_import_csv(stream=io.BytesIO(raw))
    assert result.created == 0
    assert result.errors and result.errors[0][0] == 1


def test_error_messages_never_contain_a_nik():
    result = health_statuses_import_csv(
        stream=csv_bytes(f"{nik_make(1)},1234,9,2099-99-99,x,y,z", f"{nik_make(1)},I Made,2,,none,,")
    )
    assert nik_make(1) not in str(result.errors)


def test_upsert_reports_bad_items_by_index_and_applies_the_good_ones():
    result = health_statuses_upsert(
        items=[
            {"nik": nik_make(1), "name": "I Made Wirawan", "doses": 2},
            {"nik": nik_make(2), "name": "Ni Luh Ayu", "doses": "2"},
            "not an object",
            {"nik": nik_make(3), "name": "Ni Kadek Sari", "doses": 3, "last_dose_on": None, "exemption_until": None},
        ],
        source=StatusSource.API,
    )
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert [index for index, _errors in result.errors] == [1, 2]
    assert set(HealthStatus.objects.values_list("source", flat=True)) == {"api"}


def test_upsert_is_audited_with_counts_only():
    user = UserFactory()
    health_statuses_upsert(items=[{"nik": nik_make(1), "name": "I Made", "doses": 2}], source="api", actor=user)
    audit = AuditEvent.objects.get(action="health_status.imported")
    assert audit.actor == user
    assert audit.detail == {"source": "api", "created": 1, "updated": 0, "unchanged": 0, "errors": 0}


def test_a_large_upload_is_written_in_chunks():
    items = [{"nik": nik_make(n), "name": "Orang Banyak", "doses": 2} for n in range(1, 2501)]
    result = health_statuses_upsert(items=items, source="api")
    assert result.created == 2500
    again = health_statuses_upsert(items=items, source="api")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2500)


# --- the command ------------------------------------------------------------------------------------------------


@pytest.fixture
def english():
    with translation.override("en"):
        yield


def test_command_imports_and_reports_errors_by_line(tmp_path, capsys, english):
    path = tmp_path / "statuses.csv"
    path.write_bytes(csv_bytes(*GOOD_AND_BAD).getvalue())
    call_command("import_health_statuses", str(path))
    out, err = capsys.readouterr()
    assert "4 created, 0 updated, 0 unchanged; 4 line(s) with errors." in out
    assert "line 4: nik:" in err and "line 5: doses:" in err
    for n in range(1, 8):
        assert nik_make(n) not in out + err
    call_command("import_health_statuses", str(path))
    assert "0 created, 0 updated, 4 unchanged" in capsys.readouterr().out


def test_command_fails_when_nothing_could_be_imported(tmp_path, english):
    path = tmp_path / "bad.csv"
    path.write_text("nama,dosis\nx,y\n", encoding="utf-8")
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_health_statuses", str(path))
    with pytest.raises(CommandError, match="not found"):
        call_command("import_health_statuses", str(tmp_path / "missing.csv"))


# --- the admin upload -------------------------------------------------------------------------------------------


def test_admin_changelist_offers_the_csv_upload_to_satgas(client):
    client.force_login(UserFactory(roles=["Satgas"]))
    page = client.get("/admin/screening/healthstatus/").content.decode()
    assert "/admin/screening/healthstatus/import-csv/" in page


def test_admin_csv_upload_loads_good_rows_and_lists_bad_lines(client, django_capture_on_commit_callbacks):
    user = UserFactory(roles=["Satgas"])
    client.force_login(user)
    upload = csv_bytes(*GOOD_AND_BAD)
    upload.name = "statuses.csv"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/screening/healthstatus/import-csv/", {"file": upload})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-created="4"' in page and 'data-errors="4"' in page
    assert "<td>4</td>" in page and "<td>5</td>" in page
    assert HealthStatus.objects.count() == 4
    assert AuditEvent.objects.get(action="health_status.imported").actor == user


def test_admin_csv_upload_of_a_large_file_goes_through_a_temporary_file(client, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100  # force Django to spool the upload to disk
    client.force_login(UserFactory(is_superuser=True))
    upload = csv_bytes(*[f"{nik_make(n)},Orang Banyak,2,,none,," for n in range(1, 51)])
    upload.name = "big.csv"
    response = client.post("/admin/screening/healthstatus/import-csv/", {"file": upload})
    assert response.status_code == 200
    assert HealthStatus.objects.count() == 50


def test_admin_csv_upload_is_refused_to_door_officers(client):
    client.force_login(UserFactory(roles=["Petugas"]))
    assert client.get("/admin/screening/healthstatus/import-csv/").status_code == 403
    upload = csv_bytes(f"{nik_make(1)},I Made,2,,none,,")
    upload.name = "x.csv"
    assert client.post("/admin/screening/healthstatus/import-csv/", {"file": upload}).status_code == 403
    assert not HealthStatus.objects.exists()


def test_admin_edit_still_marks_the_row_as_admin_and_refreshed(client):
    status = HealthStatusFactory(nik=nik_make(3), name="Orang Tiga", doses=1, source="registry")
    client.force_login(UserFactory(is_superuser=True))
    response = client.post(
        f"/admin/screening/healthstatus/{status.pk}/change/",
        {"nik": "", "name": "Orang Tiga", "doses": 2, "case_status": "none"},
    )
    assert response.status_code == 302
    status.refresh_from_db()
    assert status.source == "admin" and status.doses == 2
    assert status.refreshed_at <= timezone.now()


# --- control characters -----------------------------------------------------------------------------------------
# PostgreSQL refuses NUL in text: before, one such item made the whole chunk's write fail (a DataError, a 500).

CONTROL_MESSAGE = "Remove the control characters from this field."


@pytest.mark.parametrize("control", ["\x00", "\x1b"], ids=["NUL", "ESC"])
def test_upsert_skips_an_item_with_a_control_character_and_applies_the_others(control, english):
    result = health_statuses_upsert(
        items=[
            {"nik": nik_make(1), "name": "I Made Wirawan", "doses": 2},
            {"nik": nik_make(2), "name": f"Ni Luh{control}Ayu", "doses": 2},
            {"nik": nik_make(3), "name": "Ni Kadek Sari", "doses": 1},
        ],
        source=StatusSource.API,
    )
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert result.errors == [(1, {"name": [CONTROL_MESSAGE]})]
    assert sorted(HealthStatus.objects.values_list("name", flat=True)) == ["I Made Wirawan", "Ni Kadek Sari"]


def test_a_control_character_is_reported_with_the_items_other_errors(english):
    result = health_statuses_upsert(items=[{"nik": "12", "name": "Ni Luh\x00", "doses": 9}], source="api")
    [(index, errors)] = result.errors
    assert index == 0 and sorted(errors) == ["doses", "name", "nik"]
    assert CONTROL_MESSAGE in errors["name"]
    assert not HealthStatus.objects.exists()


@pytest.mark.parametrize("control", ["\x00", "\x1b"], ids=["NUL", "ESC"])
def test_csv_line_with_a_control_character_is_reported_by_line_and_the_rest_loads(control, english):
    result = health_statuses_import_csv(
        stream=csv_bytes(
            f"{nik_make(1)},I Made Wirawan,2,2021-07-01,none,,",  # line 2
            f"{nik_make(2)},Ni Luh{control}Ayu,1,2021-07-15,,,",  # line 3
            f"{nik_make(3)},Ni Kadek Sari,2,,none{control},,",  # line 4
            f"{nik_make(4)},I Ketut Budi,2,,none,,",  # line 5
        )
    )
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert [(line, sorted(errors)) for line, errors in result.errors] == [(3, ["name"]), (4, ["case_status"])]
    assert result.errors[0][1]["name"] == [CONTROL_MESSAGE]
    assert HealthStatus.objects.count() == 2


def test_command_reports_a_control_character_by_line(tmp_path, capsys, english):
    path = tmp_path / "statuses.csv"
    path.write_bytes(csv_bytes(f"{nik_make(1)},I Made,2,,none,,", f"{nik_make(2)},Ni\x00Luh,2,,none,,").getvalue())
    call_command("import_health_statuses", str(path))
    out, err = capsys.readouterr()
    assert "1 created" in out
    assert f"line 3: name: {CONTROL_MESSAGE}" in err


def test_admin_csv_upload_reports_a_control_character_by_line(client, english):
    client.force_login(UserFactory(roles=["Satgas"]))
    upload = csv_bytes(f"{nik_make(1)},I Made,2,,none,,", f"{nik_make(2)},Ni\x00Luh,2,,none,,")
    upload.name = "statuses.csv"
    response = client.post("/admin/screening/healthstatus/import-csv/", {"file": upload}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-created="1"' in page and 'data-errors="1"' in page
    assert "<td>3</td>" in page and CONTROL_MESSAGE in page
    assert HealthStatus.objects.count() == 1
