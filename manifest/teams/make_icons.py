"""Draws the Teams app icons with Pillow: color.png (192x192, full colour) and outline.png (32x32, white on clear).

Run from the repository root: .venv/bin/python manifest/teams/make_icons.py (the PNGs are committed).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
ACCENT = (31, 78, 121, 255)  # #1F4E79, the manifest's accentColor
WHITE = (255, 255, 255, 255)


def steps(draw: ImageDraw.ImageDraw, size: int, width: int) -> None:
    """Three rising steps and an arrow: a disagreement escalated stage by stage."""
    unit = size / 32
    points = [(5, 26), (11, 26), (11, 20), (17, 20), (17, 14), (20, 14), (26, 8)]
    draw.line([(x * unit, y * unit) for x, y in points], fill=WHITE, width=width, joint="curve")
    head = [(20 * unit, 7 * unit), (27 * unit, 7 * unit), (27 * unit, 14 * unit)]
    draw.line(head, fill=WHITE, width=width, joint="curve")


def color_icon() -> Image.Image:
    image = Image.new("RGBA", (192, 192), ACCENT)
    steps(ImageDraw.Draw(image), 192, 14)
    return image


def outline_icon() -> Image.Image:
    image = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    steps(ImageDraw.Draw(image), 32, 2)
    return image


def main() -> None:
    color_icon().save(HERE / "color.png", optimize=True)
    outline_icon().save(HERE / "outline.png", optimize=True)


if __name__ == "__main__":
    main()
