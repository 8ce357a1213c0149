"""Entrance posters: a real QR decoder (zbar) reads every PNG and PDF page, long names never overflow, rotation, and
the poster says all: the short code in two groups, the line for people without a phone, the check-out step."""

from __future__ import annotations

import io
import itertools
import shutil
import subprocess
from pathlib import Path

import pytest
import segno
from django.core.management import CommandError, call_command
from django.utils import translation
from PIL import Image

from offices.models import Entrance
from offices.posters import (
    COLOURS,
    EDGE,
    MARGIN,
    POSTER,
    NoActiveEntrances,
    Qr,
    Rect,
    office_posters_pdf,
    poster_render,
    poster_render_pdf,
    poster_render_png,
)
from offices.services import entrance_code_rotate
from tests.conftest import require
from tests.factories import EntranceFactory, OfficeFactory

LONG_OFFICE_NAME = (
    "Badan Perencanaan Pembangunan Daerah, Penelitian dan Pengembangan Kota Denpasar "
    "Bidang Infrastruktur dan Kewilayahan III"
)
LONG_ENTRANCE_NAME = "Pintu Masuk Samping Gedung B Lantai Dasar, dekat Parkir Sepeda Motor Pegawai dan Tamu Dinas"


# --- Real decoders ------------------------------------------------------------------------------------------------


def zbar_decode(path: Path) -> list[str]:
    """What zbar reads in an image: one entry per symbol found (none when it finds nothing)."""
    require(shutil.which("zbarimg") is not None, "needs zbarimg (apt-get install zbar-tools)")
    result = subprocess.run(["zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True, check=False)
    # zbarimg exits 4 when the image holds no symbol; anything else non-zero is a real failure.
    assert result.returncode in (0, 4), result.stderr
    return result.stdout.splitlines()


def pdf_pages(pdf: bytes, folder: Path) -> list[Path]:
    """The PDF rasterised with poppler at 150 dpi, one PNG per page, in page order."""
    require(shutil.which("pdftoppm") is not None, "needs pdftoppm (apt-get install poppler-utils)")
    source = folder / "posters.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(source), str(folder / "page")], check=True)
    return sorted(folder.glob("page-*.png"))


def write_png(png: bytes, folder: Path, name: str = "poster.png") -> Path:
    path = folder / name
    path.write_bytes(png)
    return path


# --- PNG --------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_png_decodes_to_exactly_the_entrance_url(tmp_path):
    entrance = EntranceFactory()

    png = poster_render_png(entrance=entrance)

    assert zbar_decode(write_png(png, tmp_path)) == [entrance.url]


@pytest.mark.django_db
def test_png_is_a4_portrait_at_300_dpi():
    image = Image.open(io.BytesIO(poster_render_png(entrance=EntranceFactory())))

    assert image.format == "PNG"
    assert image.size == (2480, 3508)
    assert tuple(round(v) for v in image.info["dpi"]) == (300, 300)


@pytest.mark.django_db
def test_png_shrunk_to_phone_camera_size_still_decodes(tmp_path):
    entrance = EntranceFactory()
    image = Image.open(io.BytesIO(poster_render_png(entrance=entrance)))
    small = image.resize((600, round(600 * image.height / image.width)), Image.Resampling.LANCZOS)
    small.save(tmp_path / "small.png")

    assert zbar_decode(tmp_path / "small.png") == [entrance.url]


@pytest.mark.django_db
def test_qr_modules_are_whole_pixels_with_the_quiet_zone_kept():
    entrance = EntranceFactory()

    rendered = poster_render(entrance=entrance)

    left, top, right, bottom = rendered.bounds["qr"]
    qr_element = next(e for e in POSTER.elements if isinstance(e, Qr))
    modules = segno.make_qr(entrance.url, error=qr_element.error).symbol_size(scale=1, border=4)[0]
    assert (right - left) == (bottom - top)
    assert (right - left) % modules == 0  # an integer number of pixels per module
    module = (right - left) // modules
    assert module >= 20  # about 1.7 mm a module at 300 dpi: readable from a metre away
    qr = rendered.image.crop((left, top, right, bottom))
    # Only pure black and white: no anti-aliased grey edges from resampling.
    assert {colour for _count, colour in qr.getcolors()} == {(0, 0, 0), (255, 255, 255)}
    quiet = 4 * module
    for strip in (
        (0, 0, right - left, quiet),
        (0, 0, quiet, bottom - top),
        (0, bottom - top - quiet, right - left, bottom - top),
        (right - left - quiet, 0, right - left, bottom - top),
    ):
        assert qr.crop(strip).getcolors() == [(quiet * (right - left), (255, 255, 255))]


@pytest.mark.django_db
def test_qr_uses_error_correction_q_or_better():
    entrance = EntranceFactory()
    qr_element = next(e for e in POSTER.elements if isinstance(e, Qr))

    assert segno.make_qr(entrance.url, error=qr_element.error).error in ("Q", "H")


# --- Long names ---------------------------------------------------------------------------------------------------


def assert_inside_margins_and_apart(rendered) -> None:
    width, height = POSTER.size
    decorations = {e.name for e in POSTER.elements if isinstance(e, Rect)}
    placed = {name: box for name, box in rendered.bounds.items() if name not in decorations}
    for name, (left, top, right, bottom) in placed.items():
        assert left >= MARGIN and right <= width - MARGIN, (name, left, right)
        assert top >= EDGE and bottom <= height - EDGE, (name, top, bottom)
    for (name_a, a), (name_b, b) in itertools.combinations(placed.items(), 2):
        overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
        assert not overlap, (name_a, a, name_b, b)
    # Between the header and footer bands the side margins hold nothing but paper.
    header_bottom = rendered.bounds["header_stripe"][3]
    footer_top = rendered.bounds["footer_stripe"][1]
    paper = Image.new("RGB", (1, 1), COLOURS["paper"]).getpixel((0, 0))
    for strip in ((0, header_bottom, MARGIN, footer_top), (width - MARGIN, header_bottom, width, footer_top)):
        assert {colour for _count, colour in rendered.image.crop(strip).getcolors()} == {paper}


@pytest.mark.django_db
def test_120_character_office_name_fits_inside_the_margins_and_still_decodes(tmp_path):
    assert len(LONG_OFFICE_NAME) == 120
    office = OfficeFactory(name=LONG_OFFICE_NAME, address="Jl. Gajah Mada No. 1, Dauh Puri Kangin, Denpasar Barat")
    entrance = EntranceFactory(office=office, name=LONG_ENTRANCE_NAME)

    rendered = poster_render(entrance=entrance)

    assert_inside_margins_and_apart(rendered)
    assert {"office", "entrance", "address"} <= rendered.bounds.keys()
    rendered.image.save(tmp_path / "long.png")
    assert zbar_decode(tmp_path / "long.png") == [entrance.url]


@pytest.mark.django_db
def test_longest_allowed_names_shrink_and_never_overflow():
    # The model's caps, with the widest glyphs: nothing a user can type is worse.
    office = OfficeFactory(name="W" * 200, address="M" * 300)
    entrance = EntranceFactory(office=office, name="W" * 120)

    assert_inside_margins_and_apart(poster_render(entrance=entrance))


@pytest.mark.django_db
def test_office_without_address_leaves_the_line_out():
    entrance = EntranceFactory(office=OfficeFactory(address=""))

    rendered = poster_render(entrance=entrance)

    assert "address" not in rendered.bounds
    assert_inside_margins_and_apart(rendered)


# --- What the poster says ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_poster_that_decodes_prints_the_short_code_in_two_groups_and_where_to_type_it(tmp_path, settings):
    settings.SITE_URL = "https://checkin.denpasarkota.go.id"
    entrance = EntranceFactory(short_code="K7QM2XPA")

    rendered = poster_render(entrance=entrance)

    rendered.image.save(tmp_path / "poster.png")
    assert zbar_decode(tmp_path / "poster.png") == [entrance.url]
    assert rendered.texts["short_code"] == "K7QM 2XPA"
    assert rendered.texts["url_short"] == "checkin.denpasarkota.go.id/c/K7QM2XPA/"
    assert entrance.code not in " ".join(rendered.texts.values())  # the look-alike-prone long code is not printed


@pytest.mark.django_db
def test_poster_tells_people_without_a_phone_to_see_the_officer(tmp_path):
    entrance = EntranceFactory()

    rendered = poster_render(entrance=entrance)

    rendered.image.save(tmp_path / "poster.png")
    assert zbar_decode(tmp_path / "poster.png") == [entrance.url]
    assert rendered.texts["no_phone"] == "Tidak punya ponsel? Temui petugas"
    assert rendered.texts["no_phone_en"] == "No phone? See the officer"


@pytest.mark.django_db
def test_poster_steps_run_from_scanning_to_checking_out():
    rendered = poster_render(entrance=EntranceFactory())

    steps = [rendered.texts[f"step{n}"] for n in range(1, 5)]
    assert steps == [
        "Pindai QR dengan kamera ponsel",
        "Isi NIK dan nama (sekali saja)",
        "Tunjukkan layar hasil ke petugas",
        "Saat pulang, pindai lagi lalu Check-out",
    ]
    assert rendered.texts["step4_en"] == "When leaving, scan again and check out"
    assert "step5" not in rendered.texts
    assert not any(text.endswith("…") for text in rendered.texts.values())  # nothing had to be cut short


# --- PDF ----------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pdf_page_decodes_to_exactly_the_entrance_url(tmp_path):
    entrance = EntranceFactory()

    pages = pdf_pages(poster_render_pdf(entrances=[entrance]), tmp_path)

    assert len(pages) == 1
    assert Image.open(pages[0]).size == (1240, 1754)  # A4 at 150 dpi: the PDF page is A4
    assert zbar_decode(pages[0]) == [entrance.url]


@pytest.mark.django_db
def test_office_pdf_has_one_page_per_active_entrance_each_with_its_own_url(tmp_path):
    office = OfficeFactory()
    entrances = [EntranceFactory(office=office, name=name) for name in ("Pintu Barat", "Pintu Timur", "Pintu Utara")]
    EntranceFactory(office=office, name="Pintu Lama", active=False)
    EntranceFactory()  # another office's entrance stays out

    pages = pdf_pages(office_posters_pdf(office=office), tmp_path)

    assert [zbar_decode(page) for page in pages] == [[entrance.url] for entrance in entrances]


@pytest.mark.django_db
def test_office_pdf_without_active_entrances_is_refused():
    office = OfficeFactory()
    EntranceFactory(office=office, active=False)

    with pytest.raises(NoActiveEntrances):
        office_posters_pdf(office=office)


# --- Rotation -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rotation_retires_the_old_poster_and_the_new_one_decodes_to_the_new_url(tmp_path):
    entrance = EntranceFactory()
    old_code, old_url = entrance.code, entrance.url
    assert zbar_decode(write_png(poster_render_png(entrance=entrance), tmp_path, "old.png")) == [old_url]

    entrance_code_rotate(entrance=entrance, actor=None)
    entrance.refresh_from_db()

    assert zbar_decode(write_png(poster_render_png(entrance=entrance), tmp_path, "new.png")) == [entrance.url]
    assert entrance.url != old_url
    assert not Entrance.objects.filter(code=old_code).exists()


@pytest.mark.django_db
def test_rotation_prints_a_new_short_code():
    entrance = EntranceFactory()
    old_printed = poster_render(entrance=entrance).texts["short_code"]

    entrance_code_rotate(entrance=entrance, actor=None)
    entrance.refresh_from_db()

    new_printed = poster_render(entrance=entrance).texts["short_code"]
    assert new_printed != old_printed
    assert new_printed.replace(" ", "") == entrance.short_code


# --- render_posters command ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_render_posters_writes_a_png_per_active_entrance_and_the_office_pdf(tmp_path):
    office = OfficeFactory(name="Dinas Kesehatan")
    barat = EntranceFactory(office=office, name="Pintu Barat")
    timur = EntranceFactory(office=office, name="Pintu Timur")
    EntranceFactory(office=office, name="Pintu Lama", active=False)
    out = tmp_path / "posters"  # created by the command
    stdout = io.StringIO()

    call_command("render_posters", office=office.pk, out=str(out), stdout=stdout)

    expected = [
        out / "poster-dinas-kesehatan-pintu-barat.png",
        out / "poster-dinas-kesehatan-pintu-timur.png",
        out / "posters-dinas-kesehatan.pdf",
    ]
    assert stdout.getvalue().split() == [str(path) for path in expected]
    assert sorted(out.iterdir()) == sorted(expected)
    assert zbar_decode(expected[0]) == [barat.url]
    assert zbar_decode(expected[1]) == [timur.url]
    assert len(pdf_pages(expected[2].read_bytes(), tmp_path)) == 2


@pytest.mark.django_db
def test_render_posters_refuses_a_missing_office(tmp_path):
    with translation.override("en"), pytest.raises(CommandError, match="no office with id 999999"):
        call_command("render_posters", office=999999, out=str(tmp_path))


@pytest.mark.django_db
def test_render_posters_refuses_a_folder_it_cannot_write(tmp_path):
    entrance = EntranceFactory()
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("in the way")

    with translation.override("en"), pytest.raises(CommandError, match="Cannot write posters to"):
        call_command("render_posters", office=entrance.office_id, out=str(not_a_folder / "posters"))
