"""Entrance QR posters: the A4 layout as data at the top, one renderer that reads it, and the PNG/PDF services."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import segno
from django.conf import settings
from django.utils.text import slugify
from PIL import Image, ImageDraw, ImageFont

from .models import Entrance, Office, code_entry_address
from .short_codes import short_code_grouped

# --- Layout: every position, size, colour and font of the poster, and nothing else ------------------------------
# Boxes are (x, y, width, height) in pixels of an A4 page at 300 dpi. Texts are templates filled from
# poster_content(); a text too long for its box wraps up to max_lines, then shrinks down to min_size.

Box = tuple[int, int, int, int]
Bounds = tuple[int, int, int, int]  # (left, top, right, bottom), what the renderer reports back

PAGE_SIZE = (2480, 3508)  # A4 portrait at 300 dpi
DPI = 300
MARGIN = 150  # 12.7 mm: no text or QR closer to the left or right edge, clear of any printer's unprintable strip
EDGE = 100  # 8.5 mm, the same rule for the top and bottom edges; only the coloured bands reach the paper's edge

FONT_DIR = Path(settings.BASE_DIR) / "static" / "fonts"
FONTS = {
    "regular": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "italic": "DejaVuSans-Oblique.ttf",
    # Monospace for the hand-typed code: every character the same width, so its two groups line up by eye.
    "mono": "DejaVuSansMono-Bold.ttf",
}

COLOURS = {
    "paper": "#FFFFFF",
    "brand": "#0B5068",  # deep teal-blue band
    "brand_dark": "#073847",
    "brand_tint": "#D3E9EF",
    "accent": "#F2B22E",  # gold stripe under the band
    "ink": "#14232B",
    "muted": "#4B5D66",
    "qr_dark": "#000000",  # pure black on white: the most contrast a phone camera can get
    "qr_light": "#FFFFFF",
}


@dataclass(frozen=True)
class Style:
    font: str
    size: int
    colour: str
    min_size: int | None = None  # None: never shrinks
    max_lines: int = 1
    line_height: float = 1.2


@dataclass(frozen=True)
class Para:
    """One paragraph of a text block; `text` is a template such as "{office}"."""

    name: str
    text: str
    style: Style


@dataclass(frozen=True)
class Text:
    """Paragraphs stacked top to bottom inside one box; together they always fit in it."""

    box: Box
    paras: tuple[Para, ...]
    align: str = "center"  # left | center | right
    valign: str = "top"  # top | middle
    gap: int = 0


@dataclass(frozen=True)
class Rect:
    name: str
    box: Box
    fill: str | None
    outline: str | None = None
    outline_width: int = 0
    radius: int = 0


@dataclass(frozen=True)
class Badge:
    """A filled circle with a glyph or number centred in it."""

    name: str
    box: Box  # square
    fill: str
    text: str
    style: Style


@dataclass(frozen=True)
class Qr:
    """The QR code, as large as fits in `box` with whole pixels per module and its quiet zone kept."""

    name: str
    box: Box
    data: str
    error: str = "q"  # segno may raise it to H when that costs no extra size
    quiet_zone: int = 4  # modules; the QR standard's minimum


@dataclass(frozen=True)
class Layout:
    size: tuple[int, int]
    dpi: int
    background: str
    elements: tuple[Rect | Badge | Text | Qr, ...]


STEP_Y = 2958
STEP_PITCH = 550  # four steps of 530 px with 20 px between them fill the 2180 px between the margins
STEP_BADGE = 100
STEP_TEXT = (STEP_PITCH - 20) - STEP_BADGE - 20


def _step(number: int, indonesian: str, english: str) -> tuple[Badge, Text]:
    x, y, badge = MARGIN + (number - 1) * STEP_PITCH, STEP_Y, STEP_BADGE
    return (
        Badge(f"step{number}_badge", (x, y, badge, badge), COLOURS["brand"], str(number), Style("bold", 60, "#FFFFFF")),
        Text(
            # Ends 10 px above the footer's stripe; the block shrinks to fit rather than run into it.
            (x + badge + 20, y - 4, STEP_TEXT, 3236 - 10 - (y - 4)),
            (
                Para(f"step{number}", indonesian, Style("bold", 44, COLOURS["ink"], 32, max_lines=3, line_height=1.15)),
                Para(f"step{number}_en", english, Style("italic", 34, COLOURS["muted"], 26, max_lines=3)),
            ),
            align="left",
            gap=8,
        ),
    )


POSTER = Layout(
    size=PAGE_SIZE,
    dpi=DPI,
    background=COLOURS["paper"],
    elements=(
        # Header band, full bleed, with the city's name and the poster's title.
        Rect("header", (0, 0, 2480, 470), COLOURS["brand"]),
        Rect("header_stripe", (0, 470, 2480, 26), COLOURS["accent"]),
        Badge("emblem", (150, 110, 270, 270), "#FFFFFF", "✔", Style("bold", 180, COLOURS["brand"])),
        Text(
            (490, 85, 1840, 320),
            (
                Para(
                    "authority",
                    "PEMERINTAH KOTA DENPASAR",
                    Style("bold", 64, COLOURS["brand_tint"], 44, line_height=1.1),
                ),
                Para("title", "Check-in Kesehatan", Style("bold", 150, "#FFFFFF", 100, line_height=1.1)),
                Para("title_en", "Health check-in", Style("italic", 60, COLOURS["brand_tint"], 44, line_height=1.1)),
            ),
            align="left",
            valign="middle",
            gap=6,
        ),
        # The instruction, in Indonesian first, English under it.
        Text(
            (MARGIN, 536, 2180, 350),
            (
                Para(
                    "instruction",
                    "Pindai QR code ini sebelum masuk dan saat keluar",
                    Style("bold", 104, COLOURS["ink"], 72, max_lines=2, line_height=1.15),
                ),
                Para(
                    "instruction_en",
                    "Scan this QR code before entering and when leaving",
                    Style("italic", 60, COLOURS["muted"], 44),
                ),
            ),
            valign="middle",
            gap=18,
        ),
        Rect("rule", (MARGIN + 690, 912, 800, 6), COLOURS["accent"]),
        # Where this poster hangs: office, entrance, address.
        Text(
            (MARGIN, 944, 2180, 370),
            (
                Para("office", "{office}", Style("bold", 84, COLOURS["ink"], 44, max_lines=3, line_height=1.15)),
                Para("entrance", "{entrance}", Style("bold", 68, COLOURS["brand"], 40, max_lines=2)),
                Para("address", "{address}", Style("regular", 48, COLOURS["muted"], 32, max_lines=2)),
            ),
            valign="middle",
            gap=16,
        ),
        # The QR card: the code itself, then the short code and the address to type it at, for a phone whose
        # camera cannot read the QR.
        Rect("qr_card", (490, 1345, 1500, 1420), COLOURS["paper"], COLOURS["brand"], 12, 56),
        Qr("qr", (560, 1370, 1360, 1130), "{url}"),
        Text(
            (560, 2510, 1360, 240),
            (
                Para("code_label", "Kode pintu · Entrance code", Style("regular", 38, COLOURS["muted"], 30)),
                Para("short_code", "{short_code}", Style("mono", 112, COLOURS["ink"], 72)),
                Para("url_short", "{url_short}", Style("regular", 40, COLOURS["brand"], 24)),
            ),
            valign="middle",
            gap=6,
        ),
        # For everyone the phone page does not serve: the officer checks them in by hand.
        Rect("no_phone_band", (MARGIN, 2790, 2180, 136), COLOURS["brand_tint"], radius=24),
        Text(
            (MARGIN + 40, 2790, 2100, 136),
            (
                Para("no_phone", "Tidak punya ponsel? Temui petugas", Style("bold", 58, COLOURS["brand_dark"], 40)),
                Para("no_phone_en", "No phone? See the officer", Style("italic", 40, COLOURS["muted"], 30)),
            ),
            valign="middle",
            gap=4,
        ),
        # Four numbered steps in a row, the visit from arriving to leaving.
        *_step(1, "Pindai QR dengan kamera ponsel", "Scan the QR with your phone camera"),
        *_step(2, "Isi NIK dan nama (sekali saja)", "Enter your NIK and name (only once)"),
        *_step(3, "Tunjukkan layar hasil ke petugas", "Show the result screen to the officer"),
        *_step(4, "Saat pulang, pindai lagi lalu Check-out", "When leaving, scan again and check out"),
        # Footer band.
        Rect("footer_stripe", (0, 3236, 2480, 14), COLOURS["accent"]),
        Rect("footer", (0, 3250, 2480, 258), COLOURS["brand_dark"]),
        Text(
            (MARGIN, 3250, 2180, 258),
            (
                Para(
                    "footer_text",
                    "Pemerintah Kota Denpasar · Satgas Penanganan COVID-19",
                    Style("bold", 52, "#FFFFFF", 36),
                ),
            ),
            valign="middle",
        ),
    ),
)


# --- Content: what fills the layout's templates ------------------------------------------------------------------


def poster_content(*, entrance: Entrance) -> dict[str, str]:
    # The QR holds the long code; people type the short one (it opens the same page at /c/<short code>/).
    return {
        "office": entrance.office.name,
        "entrance": entrance.name,
        "address": entrance.office.address,
        "url": entrance.url,
        "url_short": f"{code_entry_address()}{entrance.short_code}/",
        "short_code": short_code_grouped(entrance.short_code),
    }


def _slug(text: str, fallback: str) -> str:
    # Capped so a 200-character office name still gives a file name every system accepts.
    return slugify(text)[:60].strip("-") or fallback


def poster_filename(*, entrance: Entrance, extension: str) -> str:
    office = _slug(entrance.office.name, f"office-{entrance.office_id}")
    return f"poster-{office}-{_slug(entrance.name, f'entrance-{entrance.pk}')}.{extension}"


def office_posters_filename(*, office: Office) -> str:
    return f"posters-{_slug(office.name, f'office-{office.pk}')}.pdf"


# --- The renderer ------------------------------------------------------------------------------------------------


@dataclass
class RenderedPoster:
    image: Image.Image
    bounds: dict[str, Bounds]  # what each named element really covers on the page (ink, not its box)
    texts: dict[str, str] = field(default_factory=dict)  # what each paragraph says as drawn, its lines joined


@lru_cache(maxsize=256)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    # BASIC layout: the same glyph placement with or without libraqm on the machine.
    return ImageFont.truetype(str(FONT_DIR / FONTS[name]), size, layout_engine=ImageFont.Layout.BASIC)


@dataclass
class _Fitted:
    para: Para
    lines: list[str]
    font: ImageFont.FreeTypeFont
    line_height: int

    @property
    def height(self) -> int:
        return len(self.lines) * self.line_height


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap; a word wider than the box is broken between characters."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if font.getlength(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while font.getlength(word) > width:
            cut = max(1, _longest_prefix(word, font, width))
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line:
        lines.append(line)
    return lines


def _longest_prefix(text: str, font: ImageFont.FreeTypeFont, width: int, suffix: str = "") -> int:
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if font.getlength(text[:middle] + suffix) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def _fit_para(para: Para, text: str, width: int, size: int) -> _Fitted:
    """The largest size from `size` down to the style's minimum at which the text wraps into max_lines."""
    style = para.style
    floor = style.min_size or style.size
    while True:
        font = _font(style.font, size)
        lines = _wrap(text, font, width)
        if len(lines) <= style.max_lines or size <= floor:
            break
        size = max(floor, int(size * 0.94))
    if len(lines) > style.max_lines:
        # Even the smallest size is not enough (names are capped by the model, so this is a safety net).
        lines = lines[: style.max_lines]
        lines[-1] = _ellipsize(lines[-1], font, width)
    return _Fitted(para, lines, font, round(size * style.line_height))


def _ellipsize(line: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    return line[: _longest_prefix(line, font, width, "…")].rstrip() + "…"


def _fit_block(element: Text, content: Mapping[str, str]) -> list[_Fitted]:
    """Fit every paragraph; while the block is taller than its box, shrink the last paragraph that still can.

    Paragraphs are listed most important first, so a long address gives way before the office's name does.
    """
    _x, _y, width, height = element.box
    paras = [(para, " ".join(para.text.format_map(content).split())) for para in element.paras]
    paras = [(para, text) for para, text in paras if text]
    sizes = [para.style.size for para, _text in paras]
    while True:
        fitted = [_fit_para(para, text, width, size) for (para, text), size in zip(paras, sizes, strict=True)]
        total = sum(f.height for f in fitted) + element.gap * max(0, len(fitted) - 1)
        shrinkable = [i for i, f in enumerate(fitted) if f.font.size > (f.para.style.min_size or f.para.style.size)]
        if total <= height or not shrinkable:
            break
        last = shrinkable[-1]
        floor = fitted[last].para.style.min_size or fitted[last].para.style.size
        sizes[last] = max(floor, int(fitted[last].font.size * 0.94))
    # Safety net at the smallest sizes: drop last lines of the longest paragraph until the block fits.
    while total > height and any(len(f.lines) > 1 for f in fitted):
        longest = max(fitted, key=lambda f: len(f.lines))
        longest.lines = longest.lines[:-1]
        longest.lines[-1] = _ellipsize(longest.lines[-1] + " …", longest.font, width)
        total -= longest.line_height
    return fitted


def _union(a: Bounds | None, b: Bounds) -> Bounds:
    if a is None:
        return b
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _draw_text(
    draw: ImageDraw.ImageDraw, element: Text, content: Mapping[str, str], texts: dict[str, str]
) -> dict[str, Bounds]:
    x, y, width, height = element.box
    fitted = _fit_block(element, content)
    total = sum(f.height for f in fitted) + element.gap * max(0, len(fitted) - 1)
    top = y + (height - total) // 2 if element.valign == "middle" else y
    anchor, left = {"left": ("la", x), "center": ("ma", x + width // 2), "right": ("ra", x + width)}[element.align]
    bounds: dict[str, Bounds] = {}
    for f in fitted:
        ink: Bounds | None = None
        for index, line in enumerate(f.lines):
            position = (left, top + index * f.line_height)
            draw.text(position, line, font=f.font, fill=f.para.style.colour, anchor=anchor)
            ink = _union(ink, draw.textbbox(position, line, font=f.font, anchor=anchor))
        if ink is not None:
            bounds[f.para.name] = ink
            texts[f.para.name] = " ".join(f.lines)
        top += f.height + element.gap
    return bounds


def _draw_qr(image: Image.Image, element: Qr, content: Mapping[str, str]) -> dict[str, Bounds]:
    x, y, width, height = element.box
    qr = segno.make_qr(element.data.format_map(content), error=element.error)
    rows = [bytes(255 if dark else 0 for dark in row) for row in qr.matrix_iter(scale=1, border=element.quiet_zone)]
    modules = len(rows)
    # Whole pixels per module and NEAREST scaling: module edges stay sharp, no resampling blur.
    module = min(width, height) // modules
    side = modules * module
    mask = Image.frombytes("L", (modules, modules), b"".join(rows)).resize((side, side), Image.Resampling.NEAREST)
    left, top = x + (width - side) // 2, y + (height - side) // 2
    image.paste(COLOURS["qr_light"], (left, top, left + side, top + side))
    image.paste(COLOURS["qr_dark"], (left, top, left + side, top + side), mask)
    return {element.name: (left, top, left + side, top + side)}


def _draw_badge(draw: ImageDraw.ImageDraw, element: Badge) -> dict[str, Bounds]:
    x, y, width, height = element.box
    draw.ellipse((x, y, x + width - 1, y + height - 1), fill=element.fill)
    font = _font(element.style.font, element.style.size)
    draw.text((x + width / 2, y + height / 2), element.text, font=font, fill=element.style.colour, anchor="mm")
    return {element.name: (x, y, x + width, y + height)}


def _draw_rect(draw: ImageDraw.ImageDraw, element: Rect) -> dict[str, Bounds]:
    x, y, width, height = element.box
    shape = (x, y, x + width - 1, y + height - 1)
    draw.rounded_rectangle(
        shape, radius=element.radius, fill=element.fill, outline=element.outline, width=element.outline_width
    )
    return {element.name: (x, y, x + width, y + height)}


def render(layout: Layout, content: Mapping[str, str]) -> RenderedPoster:
    """Draw `layout` filled with `content`: the one renderer every poster format comes from."""
    image = Image.new("RGB", layout.size, layout.background)
    draw = ImageDraw.Draw(image)
    bounds: dict[str, Bounds] = {}
    texts: dict[str, str] = {}
    for element in layout.elements:
        match element:
            case Rect():
                bounds.update(_draw_rect(draw, element))
            case Badge():
                bounds.update(_draw_badge(draw, element))
            case Text():
                bounds.update(_draw_text(draw, element, content, texts))
            case Qr():
                bounds.update(_draw_qr(image, element, content))
            case _:
                raise TypeError(f"unknown poster element {element!r}")
    return RenderedPoster(image, bounds, texts)


# --- Services ----------------------------------------------------------------------------------------------------


class NoActiveEntrances(ValueError):
    """An office poster PDF needs at least one active entrance."""


def poster_render(*, entrance: Entrance) -> RenderedPoster:
    return render(POSTER, poster_content(entrance=entrance))


def poster_render_png(*, entrance: Entrance) -> bytes:
    buffer = io.BytesIO()
    poster_render(entrance=entrance).image.save(buffer, "PNG", dpi=(POSTER.dpi, POSTER.dpi))
    return buffer.getvalue()


def poster_render_pdf(*, entrances: Iterable[Entrance]) -> bytes:
    """One A4 page per entrance, in the given order."""
    buffer = io.BytesIO()
    pages = 0
    for entrance in entrances:
        # Page by page (Pillow appends to the PDF in place), so a 20-entrance office holds one page image in
        # memory, not twenty. Quality 92 without chroma subsampling keeps QR edges and text clean in the JPEG.
        poster_render(entrance=entrance).image.save(
            buffer,
            "PDF",
            resolution=POSTER.dpi,
            quality=92,
            subsampling=0,
            append=pages > 0,
            title="Poster check-in",
            author="Pemerintah Kota Denpasar",
        )
        pages += 1
    if not pages:
        raise NoActiveEntrances("no entrances to render")
    return buffer.getvalue()


def office_posters_pdf(*, office: Office) -> bytes:
    """One page per active entrance of the office; raises NoActiveEntrances when it has none."""
    entrances = list(office.entrances.filter(active=True).select_related("office").order_by("name", "id"))
    if not entrances:
        raise NoActiveEntrances(f"office {office.pk} has no active entrances")
    return poster_render_pdf(entrances=entrances)
