"""Draws the web-app icons and the favicon next to this script; run once after changing the drawing, commit the output.

.venv/bin/python static/pwa/draw_icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
BLUE = (11, 61, 145, 255)  # base.html's theme-color, #0b3d91
WHITE = (255, 255, 255, 255)
# Drawn this many times larger, then scaled down: Pillow draws lines and curves without anti-aliasing.
OVERSAMPLE = 4


def _check_mark(draw: ImageDraw.ImageDraw, size: int, box: float) -> None:
    """A white check mark filling `box` (a fraction of the side) around the centre."""
    half = size * box / 2
    centre = size / 2
    points = [(-0.62, 0.02), (-0.2, 0.45), (0.66, -0.45)]
    xy = [(centre + x * half, centre + y * half) for x, y in points]
    width = round(size * box * 0.17)
    draw.line(xy, fill=WHITE, width=width, joint="curve")
    # Round caps: Pillow's lines end square.
    for x, y in (xy[0], xy[-1]):
        draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=WHITE)


def icon(size: int, *, maskable: bool) -> Image.Image:
    """The app icon: a rounded blue tile with the mark; maskable, a full blue square with the mark inside the
    centre circle every launcher's mask keeps (80 % of the side)."""
    big = size * OVERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle((0, 0, big, big), fill=BLUE)
        _check_mark(draw, big, 0.5)
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=round(big * 0.22), fill=BLUE)
        _check_mark(draw, big, 0.66)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    icon(192, maskable=False).save(HERE / "icon-192.png", optimize=True)
    icon(512, maskable=False).save(HERE / "icon-512.png", optimize=True)
    icon(512, maskable=True).save(HERE / "icon-maskable-512.png", optimize=True)
    icon(256, maskable=False).save(HERE / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])


if __name__ == "__main__":
    main()
