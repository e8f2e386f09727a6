"""Written records as Word would lay them out, measured without Word (bot/records/layout.py): no word broken across
lines in any table, a history one row per stage, the BCSSP Appendix 2 on two pages, and every character drawn.

Why the Appendix 2 measure can be trusted to mean "two pages": the measure lays text out as Word does (Arial's own
widths, word by word, in each column's width; Arial's line height; each paragraph's spacing; the header and footer
taken off the page) and is generous where it guesses (a character it has no width for counts as a full em, and only
PAGE_FILL of a page is counted, for a heading Word moves to the next page to keep it with its table). So a form the
measure puts at two pages or less is two pages or less in Word. The budget is checked twice: on the measure, and on
what makes it fit (A4, 2 cm margins, 10 pt text in the tables, headings at most 11 pt, compact spacing), so a change
to any of them that would spill onto a third page fails here by name.
"""

from __future__ import annotations

import os

import matplotlib
import pytest
from docx.oxml.ns import qn
from docx.shared import Cm
from docx.table import Table
from records_kit import DAVID, DIRECTORY, LENA, Desk, at, field_rows, fields, grid, opened, walk

from bot.records import layout
from bot.records.docx_record import chronology_docx, form_docx, record_docx
from bot.records.glyphs import printable

# What a practitioner types, at the length of a full answer in the Stage 1 dialog: three or four sentences.
SENTENCES = ("The referral was closed without a strategy discussion although the school reported new concerns; "
             "the understanding between agencies about thresholds has broken down and the child remains exposed "
             "to domestic abuse at home. ")
TYPICAL = 300  # characters of each free-text answer, reason and outcome in the fitting test


def typed(n: int = TYPICAL) -> str:
    return (SENTENCES * (n // len(SENTENCES) + 1))[:n].rsplit(" ", 1)[0] + "."


async def full_bcssp_case(store, policy, length: int = TYPICAL, monday: int = 23):
    """A BCSSP case through all four stages (from Monday `monday` November 2026): every Appendix 2 row filled, each
    text at `length` characters."""
    desk = Desk(store, {"bcssp": policy}, at(2026, 11, monday))
    ref = await desk.open_case(disputed=typed(length), impact=typed(length), desired_change=typed(length))
    for step, who in enumerate((LENA, DAVID, DAVID), 1):
        await desk.act(who, "escalate", ref, typed(length), when=at(2026, 11, monday + step))
    await desk.act(DAVID, "resolve", ref, typed(length), typed(length), when=at(2026, 11, monday + 4))
    return desk, await desk.case(ref)


def every_table(content: bytes) -> list[Table]:
    return list(opened(content).tables)


def min_word_fits(table: Table) -> bool:
    """Every word of every cell fits its column at the cell's font size: Word has no reason to break it."""
    for row in table.rows:
        for cell in row.cells:
            room = cell.width.pt - 2 * layout.CELL_PADDING
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    size = run.font.size.pt if run.font.size else layout.BODY_POINTS
                    if layout.longest_word(run.text, size, bool(run.bold)) > room:
                        return False
    return True


async def test_appendix2_fits_on_two_pages(store, all_policies):
    policy = all_policies["bcssp"]
    _, case = await full_bcssp_case(store, policy)
    content = form_docx(case, policy, policy.forms["appendix2"], DIRECTORY)
    doc = opened(content)
    assert {label for _, label in fields(content)} == {f.label for f in policy.forms["appendix2"].fields}
    assert layout.pages(doc) <= 2.0, f"{layout.pages(doc):.2f} pages"
    # What makes it fit, by name: the page, the type and the spacing the measure assumed.
    section = doc.sections[0]
    assert abs(section.page_width.cm - 21.0) < 0.01 and abs(section.page_height.cm - 29.7) < 0.01  # A4
    assert all(m <= Cm(2.0) + 1000 for m in (section.left_margin, section.right_margin, section.top_margin,
                                      section.bottom_margin))
    sizes = {run.font.size.pt for table in doc.tables for row in table.rows for cell in row.cells
             for p in cell.paragraphs for run in p.runs}
    assert sizes and max(sizes) <= 10 and min(sizes) >= layout.MIN_POINTS
    assert doc.styles["Heading 2"].font.size.pt <= 11 and doc.styles["Title"].font.size.pt <= 16
    assert doc.styles["Normal"].paragraph_format.space_after.pt <= 4
    assert sum(len(t.rows) for t in doc.tables) <= 25  # the seed's pro-forma: 21 rows


async def test_appendix2_with_long_answers_is_measured_honestly(store, all_policies):
    """Whoever types three full pages does not get two: the measure grows with the text (it is not a constant)."""
    policy = all_policies["bcssp"]
    _, short = await full_bcssp_case(store, policy, 120)
    _, long = await full_bcssp_case(store, policy, 1800, monday=9)
    measured = [layout.pages(opened(form_docx(c, policy, policy.forms["appendix2"], DIRECTORY))) for c in (short,
                                                                                                          long)]
    assert measured[0] < 2.0 < 3.0 < measured[1]


async def test_no_table_breaks_a_word_and_columns_are_not_equal_slices(store, all_policies):
    policy = all_policies["gloucestershire"]
    desk = Desk(store, {"gloucestershire": policy}, at(2026, 11, 23))
    ref = await desk.open_case(disputed=typed(), impact="Misunderstanding about responsibilities.")
    await desk.act(LENA, "escalate", ref, "No shared understanding of the threshold.", when=at(2026, 11, 24))
    await desk.act(LENA, "extend", ref, "2026-12-10", "Lena Okafor, Team Manager", "Priya Nair, Detective Sergeant",
                   "Key worker on leave: understanding needed", when=at(2026, 11, 25))
    await walk(desk, ref, 4, at(2026, 11, 25))
    case = await desk.case(ref)
    for content in (record_docx(case, policy, DIRECTORY), chronology_docx(case, policy, DIRECTORY),
                    form_docx(case, policy, policy.forms["monitoring"], DIRECTORY)):
        tables = every_table(content)
        assert tables and all(min_word_fits(t) for t in tables)
        for table in tables:  # set, not left to Word: fixed layout with a width on every column
            assert table._tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
            assert all(c.width is not None for c in table.columns)
    chronology = next(t for t in opened(chronology_docx(case, policy, DIRECTORY)).tables if len(t.columns) == 3)
    assert chronology.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None  # its header repeats on a new page
    record = opened(record_docx(case, policy, DIRECTORY))
    stages = next(t for t in record.tables if t.rows[0].cells[0].text == "Stage" and len(t.columns) == 6)
    widths = [c.width.pt for c in stages.columns]
    assert widths[5] == max(widths) and widths[5] > 2 * min(widths)  # the text column gets the room, dates less
    extended = next(t for t in record.tables if len(t.columns) == 7)  # seven columns: still whole words
    assert min_word_fits(extended)


def test_columns_share_the_room_by_need():
    cols = layout.columns([[("Date", True), ("23 November 2026", False)],
                           [("What", True), (typed(600), False)]], 480)
    assert cols.whole and abs(sum(cols.widths) - 480) < 0.01
    assert cols.widths[0] >= layout.width("November", 10) + 2 * layout.CELL_PADDING
    assert cols.widths[1] > 3 * cols.widths[0]
    crowded = layout.columns([[("Incomprehensibilities", False)] for _ in range(8)], 480)
    assert crowded.points < layout.TABLE_POINTS  # set smaller rather than break the words
    assert layout.lines("understanding " * 10, 100, 10) == 10 and layout.lines("a-b", 1000, 10) == 1


def test_the_width_table_is_helveticas_which_arial_matches():
    from matplotlib import _afm

    folder = os.path.join(matplotlib.get_data_path(), "fonts", "pdfcorefonts")
    for name, table in (("Helvetica.afm", layout.ARIAL), ("Helvetica-Bold.afm", layout.ARIAL_BOLD)):
        with open(os.path.join(folder, name), "rb") as afm:
            metrics = _afm.AFM(afm)
        assert [round(metrics.get_width_char(c)) for c in range(32, 127)] == list(table)


async def test_a_history_is_one_row_per_stage(store, all_policies):
    policy = all_policies["surrey"]
    desk = Desk(store, {"surrey": policy}, at(2026, 11, 23))
    ref = await desk.open_case()
    await walk(desk, ref, 5, at(2026, 11, 23))
    await desk.act(DAVID, "resolve", ref, "Agreed at the partnership.\nFollow-up in a month.", "Both managers.",
                   when=at(2026, 11, 30))
    case = await desk.case(ref)
    content = form_docx(case, policy, policy.forms["sscp_standard_form"], DIRECTORY)
    label = "Stages 1-4: dates, who was involved and outcomes"
    rows = next(values for t in opened(content).tables for found, values in field_rows(t) if found == label)
    assert len(rows) == 5 and [r.split(":")[0] for r in rows] == [f"Stage {n}" for n in range(1, 6)]
    assert "Follow-up in a month." in rows[4]  # a resolution's own line break stays in its stage's row


UNUSUAL = "Mum said ✓ to the plan ★ 🙂👍🏽 ⚠️ 𝐁old ①x \ue000 – Zoë Nguyễn Ştefan Ωmega 李小龙、Ｆ → ≤ £5 €5 ‘quoted’"


def test_characters_the_font_lacks_become_plain_and_names_are_untouched():
    shown = printable(UNUSUAL)
    assert "Mum said [tick] to the plan * [slightly smiling face][thumbs up sign] [warning] Bold 1x ?" in shown
    for kept in ("Zoë", "Nguyễn", "Ştefan", "Ωmega", "李小龙、Ｆ", "→", "≤", "£5", "€5", "‘quoted’", "–"):
        assert kept in shown
    assert printable("plain ASCII text") == "plain ASCII text"


async def test_unusual_characters_reach_the_document_drawable(store, all_policies):
    policy = all_policies["bcssp"]
    desk = Desk(store, {"bcssp": policy}, at(2026, 11, 23))
    ref = await desk.open_case(disputed=UNUSUAL, child_name="Zoë Ştefan-Nguyễn ✓")
    case = await desk.case(ref)
    for content in (record_docx(case, policy, DIRECTORY), form_docx(case, policy, policy.forms["appendix2"],
                                                                    DIRECTORY)):
        doc = opened(content)
        text = "\n".join(c.text for t in doc.tables for r in t.rows for c in r.cells)
        assert "Zoë Ştefan-Nguyễn [tick]" in text and "[slightly smiling face]" in text
        assert not set("✓★🙂👍⚠\ufe0f𝐁①\ue000") & set(text)
        fonts = doc.styles["Normal"].element.rPr.rFonts
        assert fonts.get(qn("w:ascii")) == fonts.get(qn("w:hAnsi")) == fonts.get(qn("w:cs")) == "Arial"
        assert fonts.get(qn("w:asciiTheme")) is None  # (a theme font would win over the named one)
        for name in ("Title", "Heading 1", "Heading 2"):
            assert doc.styles[name].element.rPr.rFonts.get(qn("w:ascii")) == "Arial"
    assert grid(record_docx(case, policy, DIRECTORY), ("Date", "Who", "What"))  # (the chronology still there)


@pytest.mark.parametrize("size", [8.0, 10.0])
def test_line_count_matches_greedy_wrapping(size):
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa"
    room = layout.width("alpha beta gamma", size) + 0.01
    assert layout.lines(text, room, size) == 4  # alpha beta gamma | delta epsilon | zeta eta theta | iota kappa

