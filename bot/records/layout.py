"""How the Word documents are set out, and a measure of them that needs no Word: page, fonts, column widths, height.

Word lays a document out only when it opens it, so "does this table break words" and "does this form fit on two
pages" are answered here by measuring, the way Word would lay the text out:

- The font is Arial, named on every style for Latin, Greek, Cyrillic and complex scripts (East Asian text keeps the
  theme's East Asian font, which Word has for those scripts). Arial is on every Windows and Mac, and LibreOffice
  draws it with Liberation Sans, which has the same widths; so one width table serves all three. Its widths are
  Helvetica's (Adobe's core-font metrics, which Arial was made to match): ARIAL and ARIAL_BOLD below, checked in
  tests/records against the Helvetica metrics matplotlib ships. A character outside ASCII is measured as its base
  letter (é as e), anything else as a full em: generous, so a measure errs towards "does not fit".
- A table's columns are set, not left to chance (Word's own autofit is not what LibreOffice does, and python-docx
  writes equal columns): each column is at least as wide as the longest word in it (so no word is ever broken
  across lines, `understan ding`), and the room left is shared in proportion to how much more each column would
  need to put its longest paragraph on one line (the auto layout of HTML tables). If the longest words cannot all
  fit at TABLE_POINTS, the table is set a point smaller, down to MIN_POINTS.
- The height of a document is the sum of its paragraphs' and table rows' heights: lines (wrapped word by word in
  the width they have) times the line height (LINE times the font size: Arial's ascent and descent are 1.117 em),
  plus the spacing before and after. `pages` divides that by the page's height inside its margins and its header
  and footer. Word keeps a heading with what follows, which can leave part of a page empty: PAGE_FILL is the share
  of a page a measure may count on.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from docx.document import Document as DocxDocument
from docx.shared import Cm, Length
from docx.table import Table
from docx.text.paragraph import Paragraph

FONT = "Arial"
BODY_POINTS = 10.0
TABLE_POINTS = 10.0
MIN_POINTS = 8.0
SMALL_POINTS = 8.0  # header and footer (the marking)
HEADINGS = {"Title": 16.0, "Heading 1": 13.0, "Heading 2": 11.0, "Heading 3": 10.0}
SPACE_BEFORE = {"Title": 0.0, "Heading 1": 10.0, "Heading 2": 6.0, "Heading 3": 4.0, "Normal": 0.0}
SPACE_AFTER = {"Title": 6.0, "Heading 1": 3.0, "Heading 2": 2.0, "Heading 3": 2.0, "Normal": 4.0}
LINE = 1.15  # a line's height per point of font size (Arial: 1.117 em, rounded up)
PAGE_WIDTH, PAGE_HEIGHT = Cm(21.0), Cm(29.7)  # A4
MARGIN = Cm(2.0)
HEADER_DISTANCE = Cm(0.8)  # from the page's edge to the header (and to the footer from the bottom)
CELL_PADDING = 5.4  # points left and right inside a cell (Word's default: 0.075 inch)
ROW_EXTRA = 1.0  # points a row adds besides its lines (its border)
SLACK = 1.0  # points a column gets beyond its longest word (widths are stored in twentieths of a point)
PAGE_FILL = 0.92

# Advance widths in thousandths of an em of ASCII 32-126 (space to tilde), from Adobe's Helvetica and
# Helvetica-Bold font metrics (the widths Arial and Liberation Sans share).
ARIAL = (278, 278, 355, 556, 556, 889, 667, 222, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556,
         556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667,
         556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 222, 556,
         556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722,
         500, 500, 500, 334, 260, 334, 584)
ARIAL_BOLD = (278, 333, 474, 556, 556, 889, 722, 278, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556,
              556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667, 611, 778, 722, 278,
              556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584,
              556, 278, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556,
              333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584)
_BREAKS = re.compile(r"(?<=-)|\s+")  # Word breaks a line at spaces and after a hyphen
_HYPHENS = re.compile(r"(?<=-)")


def _em(char: str, bold: bool) -> int:
    table = ARIAL_BOLD if bold else ARIAL
    code = ord(char)
    if 32 <= code <= 126:
        return table[code - 32]
    base = unicodedata.normalize("NFD", char)[:1]
    return table[ord(base) - 32] if base and 32 <= ord(base) <= 126 else 1000


def width(text: str, points: float, bold: bool = False) -> float:
    """The width of `text` on one line, in points."""
    return sum(_em(c, bold) for c in text) * points / 1000


def words(text: str) -> list[str]:
    return [w for w in _BREAKS.split(text) if w]


def longest_word(text: str, points: float, bold: bool = False) -> float:
    return max((width(w, points, bold) for w in words(text)), default=0.0)


def longest_line(text: str, points: float, bold: bool = False) -> float:
    return max((width(line, points, bold) for line in text.split("\n")), default=0.0)


def lines(text: str, room: float, points: float, bold: bool = False) -> int:
    """How many lines `text` takes wrapped word by word in `room` points (a word wider than the room is broken)."""
    count = 0
    space = width(" ", points, bold)
    for paragraph in text.split("\n"):
        count += 1
        used = 0.0
        for word in paragraph.split():
            for index, part in enumerate(_HYPHENS.split(word)):
                if not part:
                    continue
                gap = space if used and index == 0 else 0.0
                need = width(part, points, bold)
                if used and used + gap + need > room:
                    count, used, gap = count + 1, 0.0, 0.0
                if need > room:  # (only where even the smallest type could not fit the word)
                    extra = math.ceil(need / room) - 1
                    count += extra
                    used = need - extra * room
                else:
                    used += gap + need
    return count


@dataclass(frozen=True)
class Columns:
    """A table's column widths in points and the font size they were set for; `whole` is False when even at
    MIN_POINTS some word is wider than its column."""

    widths: list[float]
    points: float
    whole: bool


def columns(cells: Sequence[Sequence[tuple[str, bool]]], room: float, points: float = TABLE_POINTS) -> Columns:
    """Column widths for a table whose column i holds the (text, bold) cells `cells[i]`, in `room` points."""
    size = points
    while True:
        low = [max((longest_word(t, size, b) for t, b in col), default=0.0) + 2 * CELL_PADDING + SLACK
               for col in cells]
        high = [max(max((longest_line(t, size, b) for t, b in col), default=0.0) + 2 * CELL_PADDING, lo)
                for col, lo in zip(cells, low, strict=True)]
        if sum(low) <= room or size <= MIN_POINTS:
            break
        size -= 1.0
    if sum(low) > room:  # words will break: share the room as the minimums are shared
        return Columns([room * lo / sum(low) for lo in low], size, False)
    if sum(high) <= room:  # everything fits on one line: the spare room goes to the columns in proportion
        return Columns([room * hi / sum(high) for hi in high], size, True)
    spare = room - sum(low)
    wants = [hi - lo for hi, lo in zip(high, low, strict=True)]
    return Columns([lo + spare * want / sum(wants) for lo, want in zip(low, wants, strict=True)], size, True)


# --- measuring a finished document ---------------------------------------------------------------------------------
def _size(paragraph: Paragraph) -> float:
    sizes = [r.font.size.pt for r in paragraph.runs if r.font.size is not None]
    if sizes:
        return max(sizes)
    style = paragraph.style
    while style is not None:
        if style.font.size is not None:
            return float(style.font.size.pt)
        style = style.base_style
    return BODY_POINTS


def _spacing(paragraph: Paragraph) -> float:
    total = 0.0
    for attribute in ("space_before", "space_after"):
        value = getattr(paragraph.paragraph_format, attribute)
        style = paragraph.style
        while value is None and style is not None:
            value = getattr(style.paragraph_format, attribute)
            style = style.base_style
        total += value.pt if value is not None else 0.0
    return total


def _bold(paragraph: Paragraph) -> bool:
    return any(r.bold for r in paragraph.runs) or bool(paragraph.style is not None and paragraph.style.font.bold)


def paragraph_height(paragraph: Paragraph, room: float) -> float:
    size = _size(paragraph)
    return lines(paragraph.text, room, size, _bold(paragraph)) * size * LINE + _spacing(paragraph)


def table_height(table: Table) -> float:
    total = 0.0
    for row in table.rows:
        tallest = 0.0
        seen = set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # (a cell merged across columns is listed once per column it spans)
                continue
            seen.add(id(cell._tc))
            room = (cell.width.pt if cell.width is not None else 0.0) - 2 * CELL_PADDING
            tallest = max(tallest, sum(paragraph_height(p, max(room, 1.0)) for p in cell.paragraphs))
        total += tallest + ROW_EXTRA
    return total


def _points(length: Length | None, default: Length) -> float:
    return float((length if length is not None else default).pt)


def body_width(doc: DocxDocument) -> float:
    """The width inside the margins, in points."""
    section = doc.sections[0]
    return (_points(section.page_width, PAGE_WIDTH) - _points(section.left_margin, MARGIN)
            - _points(section.right_margin, MARGIN))


def body_room(doc: DocxDocument) -> tuple[float, float]:
    """The body's width and height on a page, in points: inside the margins, and below the header and above the
    footer where those reach past the margin."""
    section = doc.sections[0]
    wide = body_width(doc)
    header = sum(paragraph_height(p, wide) for p in section.header.paragraphs)
    footer = sum(paragraph_height(p, wide) for p in section.footer.paragraphs)
    top = max(_points(section.top_margin, MARGIN), _points(section.header_distance, HEADER_DISTANCE) + header)
    bottom = max(_points(section.bottom_margin, MARGIN), _points(section.footer_distance, HEADER_DISTANCE) + footer)
    return wide, _points(section.page_height, PAGE_HEIGHT) - top - bottom


def height(doc: DocxDocument) -> float:
    """The body's height, in points, laid out in one column of the page's width."""
    wide, _ = body_room(doc)
    total = 0.0
    for block in doc.iter_inner_content():
        total += table_height(block) if isinstance(block, Table) else paragraph_height(block, wide)
    return total


def pages(doc: DocxDocument) -> float:
    """How many pages the body takes, counting PAGE_FILL of each page as usable."""
    _, tall = body_room(doc)
    return height(doc) / (tall * PAGE_FILL)
