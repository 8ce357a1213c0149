"""Tests for the offices CSV import: the service in offices.importing and the import_offices command."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from offices.importing import offices_import_csv
from offices.models import Entrance, Office, OfficeOccupancy
from tests.factories import EntranceFactory, OfficeFactory

pytestmark = pytest.mark.django_db

HEADER = "office,address,sector,capacity,entrance\n"
GOOD = (
    HEADER
    + '"Kantor Wali Kota Denpasar","Jl. Gajah Mada No. 1, Denpasar",non_esensial,150,Pintu Utama\n'
    + '"Kantor Wali Kota Denpasar","Jl. Gajah Mada No. 1, Denpasar",non_esensial,150,Pintu Samping\n'
    + "Mal Pelayanan Publik Denpasar,Jl. Kapten Tantular,esensial,200,Pintu Utama\n"
)


def csv_file(tmp_path: Path, text: str, *, encoding: str = "utf-8") -> str:
    path = tmp_path / "offices.csv"
    path.write_text(text, encoding=encoding)
    return str(path)


def run(*args: str) -> tuple[str, str]:
    """Run the command in English so assertions on its wording survive the Indonesian translation."""
    out, err = StringIO(), StringIO()
    with translation.override("en"):
        call_command("import_offices", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_good_file_creates_offices_and_entrances_and_prints_ids_and_urls(tmp_path):
    out, err = run(csv_file(tmp_path, GOOD))

    wali_kota = Office.objects.get(name="Kantor Wali Kota Denpasar")
    mpp = Office.objects.get(name="Mal Pelayanan Publik Denpasar")
    assert (wali_kota.address, wali_kota.sector, wali_kota.capacity) == (
        "Jl. Gajah Mada No. 1, Denpasar",
        "non_esensial",
        150,
    )
    assert (mpp.sector, mpp.capacity) == ("esensial", 200)
    assert OfficeOccupancy.objects.filter(office__in=[wali_kota, mpp]).count() == 2
    entrances = list(Entrance.objects.order_by("id"))
    assert [(e.office_id, e.name) for e in entrances] == [
        (wali_kota.id, "Pintu Utama"),
        (wali_kota.id, "Pintu Samping"),
        (mpp.id, "Pintu Utama"),
    ]
    lines = out.splitlines()
    for entrance in entrances:
        assert any(
            f"office {entrance.office_id}\t" in line and f"entrance {entrance.id}\t" in line and entrance.url in line
            for line in lines
        )
    assert err == ""


def test_json_stdout_is_exactly_the_list(tmp_path):
    out, err = run(csv_file(tmp_path, GOOD), "--json")

    expected = [
        {
            "office_id": e.office_id,
            "office": e.office.name,
            "entrance_id": e.id,
            "entrance": e.name,
            "url": e.url,
            "short_code": e.short_code,
        }
        for e in Entrance.objects.select_related("office").order_by("id")
    ]
    assert json.loads(out) == expected
    assert "entrance(s)" in err  # the summary goes to stderr, never stdout


def test_json_gives_each_entrance_its_short_code_also_on_a_repeat_import(tmp_path):
    first, _err = run(csv_file(tmp_path, GOOD), "--json")
    again, _err = run(csv_file(tmp_path, GOOD), "--json")

    codes = [item["short_code"] for item in json.loads(first)]
    assert len(set(codes)) == 3 and all(len(code) == 8 for code in codes)
    assert [item["short_code"] for item in json.loads(again)] == codes  # idempotent: the same entrances, same codes
    assert [row.short_code for row in offices_import_csv(text=GOOD).rows] == codes


def test_json_stdout_stays_clean_when_some_rows_fail(tmp_path):
    text = GOOD + "Kantor Rusak,Jl. Sesetan,pabrik,10,Pintu Utama\n"

    out, err = run(csv_file(tmp_path, text), "--json")

    assert len(json.loads(out)) == 3
    assert "line 5:" in err


def test_reimport_is_idempotent(tmp_path):
    path = csv_file(tmp_path, GOOD)
    first = offices_import_csv(text=GOOD)
    counts = (Office.objects.count(), Entrance.objects.count(), OfficeOccupancy.objects.count())
    codes = dict(Entrance.objects.values_list("id", "code"))

    second = offices_import_csv(text=GOOD)
    out, _err = run(path)

    assert [(r.office_id, r.entrance_id, r.url) for r in second.rows] == [
        (r.office_id, r.entrance_id, r.url) for r in first.rows
    ]
    assert all(r.created for r in first.rows)
    assert not any(r.created for r in second.rows)
    assert (second.offices_created, second.offices_updated, second.errors) == (0, 0, [])
    assert (Office.objects.count(), Entrance.objects.count(), OfficeOccupancy.objects.count()) == counts
    assert dict(Entrance.objects.values_list("id", "code")) == codes
    assert "(new)" not in out


def test_bad_rows_are_reported_by_line_and_good_rows_still_load(tmp_path):
    text = (
        HEADER  # line 1
        + "Kantor A,Jl. A,non_esensial,50,Pintu Utama\n"  # 2 good
        + "Kantor B,Jl. B,pabrik,50,Pintu Utama\n"  # 3 unknown sector
        + "Kantor C,Jl. C,esensial,0,Pintu Utama\n"  # 4 capacity 0
        + "Kantor D,Jl. D,esensial,abc,Pintu Utama\n"  # 5 capacity not a number
        + " ,Jl. E,esensial,10,Pintu Utama\n"  # 6 empty office name
        + "Kantor F,Jl. F,esensial,10\n"  # 7 too few columns
        + "Kantor G,Jl. G,kritikal,10,\n"  # 8 empty entrance
        + "Kantor A,Jl. A,non_esensial,50,Pintu Samping\n"  # 9 good
    )

    result = offices_import_csv(text=text)

    assert [(e.line, e.code) for e in result.errors] == [
        (3, "sector"),
        (4, "capacity"),
        (5, "capacity"),
        (6, "office_required"),
        (7, "columns"),
        (8, "entrance_required"),
    ]
    assert [(r.office, r.entrance) for r in result.rows] == [("Kantor A", "Pintu Utama"), ("Kantor A", "Pintu Samping")]
    assert list(Office.objects.values_list("name", flat=True)) == ["Kantor A"]


def test_command_prints_bad_lines_on_stderr_and_exits_zero_when_some_rows_load(tmp_path):
    text = HEADER + "Kantor A,Jl. A,esensial,50,Pintu Utama\nKantor B,Jl. B,esensial,-3,Pintu Utama\n"

    out, err = run(csv_file(tmp_path, text))

    assert "line 3:" in err
    assert "Kantor B" not in out
    assert Entrance.objects.filter(office__name="Kantor A").exists()


def test_same_office_with_different_details_in_one_file_is_an_error_on_the_later_line():
    text = (
        HEADER
        + "Kantor A,Jl. A,esensial,50,Pintu Utama\n"
        + "Kantor A,Jl. A,esensial,80,Pintu Samping\n"
        + "Kantor A,Jl. Lain,esensial,50,Pintu Belakang\n"
    )

    result = offices_import_csv(text=text)

    assert [(e.line, e.code) for e in result.errors] == [(3, "office_conflict"), (4, "office_conflict")]
    assert Office.objects.get(name="Kantor A").capacity == 50
    assert list(Entrance.objects.values_list("name", flat=True)) == ["Pintu Utama"]


def test_the_same_entrance_twice_in_one_file_is_reported_once():
    row = "Kantor A,Jl. A,esensial,50,Pintu Utama\n"

    result = offices_import_csv(text=HEADER + row + row)

    assert [(e.line, e.code) for e in result.errors] == [(3, "duplicate")]
    assert Entrance.objects.count() == 1


def test_sector_spellings_are_normalised():
    text = (
        HEADER
        + "Kantor A,Jl. A,Non Esensial,50,Pintu\n"
        + "Kantor B,Jl. B,non-esensial,50,Pintu\n"
        + "Kantor C,Jl. C, KRITIKAL ,50,Pintu\n"
    )

    result = offices_import_csv(text=text)

    assert result.errors == []
    assert dict(Office.objects.values_list("name", "sector")) == {
        "Kantor A": "non_esensial",
        "Kantor B": "non_esensial",
        "Kantor C": "kritikal",
    }


def test_missing_header_column_is_one_error_and_loads_nothing(tmp_path):
    text = "office,address,capacity,entrance\nKantor A,Jl. A,50,Pintu Utama\n"

    result = offices_import_csv(text=text)

    assert [(e.line, e.code) for e in result.errors] == [(1, "header")]
    assert "sector" in result.errors[0].message
    assert not Office.objects.exists()
    with pytest.raises(CommandError):
        run(csv_file(tmp_path, text))


def test_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError):
        run(str(tmp_path / "tidak-ada.csv"))


def test_file_that_is_not_utf8_is_a_command_error(tmp_path):
    with pytest.raises(CommandError):
        run(csv_file(tmp_path, HEADER + "Kantor Ä,Jl. A,esensial,50,Pintu\n", encoding="utf-16"))


def test_file_with_only_bad_rows_is_a_command_error(tmp_path):
    with pytest.raises(CommandError):
        run(csv_file(tmp_path, HEADER + "Kantor A,Jl. A,esensial,0,Pintu Utama\n"))
    assert not Office.objects.exists()


def test_bom_and_windows_line_endings_are_accepted(tmp_path):
    text = "\ufeff" + GOOD.replace("\n", "\r\n")

    out, err = run(csv_file(tmp_path, text), "--json")

    assert len(json.loads(out)) == 3
    assert "line " not in err


def test_line_numbers_count_blank_lines_and_quoted_newlines():
    text = HEADER + "\n" + 'Kantor A,"Jl. A\nDenpasar",esensial,50,Pintu\n' + "Kantor B,Jl. B,esensial,x,Pintu\n"

    result = offices_import_csv(text=text)

    assert [e.line for e in result.errors] == [5]
    assert result.rows[0].office == "Kantor A"


def test_changed_capacity_updates_the_existing_office(tmp_path):
    office = OfficeFactory(name="Kantor A", address="Jl. A", sector="esensial", capacity=50)
    entrance = EntranceFactory(office=office, name="Pintu Utama")

    result = offices_import_csv(text=HEADER + "Kantor A,Jl. A,esensial,75,Pintu Utama\n")

    office.refresh_from_db()
    assert office.capacity == 75
    assert (result.offices_created, result.offices_updated) == (0, 1)
    assert [(r.office_id, r.entrance_id, r.created) for r in result.rows] == [(office.id, entrance.id, False)]


@pytest.mark.parametrize("control", ["\x00", "\x1b"], ids=["NUL", "ESC"])
def test_a_line_with_a_control_character_is_reported_by_line_and_the_others_load(control):
    text = (
        HEADER
        + "Kantor A,Jl. A,esensial,50,Pintu Utama\n"  # line 2
        + f"Kantor B{control},Jl. B,esensial,50,Pintu Utama\n"  # line 3
        + f"Kantor C,Jl. C,esensial,50,Pintu{control}Samping\n"  # line 4
        + f'Kantor D,"Jl. D{control}",esensial,50,Pintu Utama\n'  # line 5
        + "Kantor E,Jl. E,esensial,50,Pintu Utama\n"  # line 6
    )

    with translation.override("en"):
        result = offices_import_csv(text=text)

    assert [(e.line, e.code) for e in result.errors] == [
        (3, "control_characters"),
        (4, "control_characters"),
        (5, "control_characters"),
    ]
    assert [e.message for e in result.errors] == [
        "office: Remove the control characters from this field.",
        "entrance: Remove the control characters from this field.",
        "address: Remove the control characters from this field.",
    ]
    assert sorted(Office.objects.values_list("name", flat=True)) == ["Kantor A", "Kantor E"]


def test_a_line_break_inside_a_quoted_cell_is_whitespace_not_a_control_character():
    result = offices_import_csv(text=HEADER + '"Kantor\r\nA",Jl. A,esensial,50,Pintu Utama\n')
    assert result.errors == []
    assert Office.objects.get().name == "Kantor A"


def test_command_reports_a_control_character_by_line(tmp_path):
    text = HEADER + "Kantor A,Jl. A,esensial,50,Pintu Utama\n" + "Kantor\x00B,Jl. B,esensial,50,Pintu Utama\n"
    out, err = run(csv_file(tmp_path, text))
    assert "line 3" in err and "Remove the control characters" in err
    assert list(Office.objects.values_list("name", flat=True)) == ["Kantor A"]
