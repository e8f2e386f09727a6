"""Word documents (python-docx) to file on a child's record: a procedure's form, the case record, the chronology."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from bot.dates.workdays import LONDON
from bot.people.directory import Directory
from bot.records import layout
from bot.records.chronology import chronology, summary
from bot.records.clean import clean
from bot.records.forms import form_values, forms_for
from bot.records.glyphs import printable
from bot.records.people import day, moment, stage_contacts, who
from bot.records.story import BY_STAGE, FormContext
from dialogs.answers import show_answer
from policies.model import Form, Policy

Case = Mapping[str, Any]
MARKING = ("OFFICIAL-SENSITIVE: special category personal data about a child. File it on the child's record and "
           "share it only securely; never post it in a chat channel.")
DETAIL_LABELS = {
    "arose_on": "Date the disagreement arose", "other_agency": "Other agency",
    "other_professional": "Professional in the other agency", "other_role": "Their role",
    "category": "Kind of disagreement", "disputed": "The decision in dispute",
    "impact": "Why it leaves the child unsafe", "desired_change": "What should change",
    "discussed_line_manager": "Discussed with own line manager",
    "discussed_other": "Discussed with the other professional",
    "child_status": "Child's status", "agency_reference": "Raising agency's reference for the child",
    "raiser_agency": "Raiser's agency", "raiser_role": "Raiser's role", "raiser_manager": "Raiser's line manager",
    "immediate_risk": "Immediate risk of harm", "child_name": "Name", "child_dob": "Date of birth",
    "child_address": "Address",
}


# Every string written into a document goes through `_text` (bot/records/clean.py, then bot/records/glyphs.py),
# here: in the header and footer, the form's note, and in `_para`, `_heading`, `_pairs` and `_grid`, the other ways
# text enters the body. Metadata goes through `clean` (it is not drawn).
def _text(text: str) -> str:
    return printable(clean(text))


def _para(doc: DocxDocument, text: str, style: str | None = None) -> Paragraph:
    return doc.add_paragraph(_text(text), style=style)


def _heading(doc: DocxDocument, text: str, level: int) -> Paragraph:
    return doc.add_heading(_text(text), level=level)


def _arial(style: Any) -> None:
    """Name the font on a style for every kind of text but East Asian (which keeps the theme's East Asian font),
    and drop the theme's font names, which Word would otherwise prefer to it."""
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)
    for attribute in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attribute), layout.FONT)


def _styles(doc: DocxDocument) -> None:
    """Page (A4, narrow margins) and styles (Arial; compact headings) as bot/records/layout.py measures them."""
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = layout.PAGE_WIDTH, layout.PAGE_HEIGHT
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, layout.MARGIN)
    section.header_distance = section.footer_distance = layout.HEADER_DISTANCE
    for name in ("Normal", *layout.HEADINGS, "List Bullet", "Header", "Footer"):
        style = doc.styles[name]
        _arial(style)
        size = layout.HEADINGS.get(name) or (layout.SMALL_POINTS if name in ("Header", "Footer")
                                             else layout.BODY_POINTS)
        style.font.size = Pt(size)
        fmt = style.paragraph_format
        fmt.line_spacing = 1.0
        fmt.space_before = Pt(layout.SPACE_BEFORE.get(name, 0.0))
        after = 0.0 if name in ("Header", "Footer") else layout.SPACE_AFTER.get(name, layout.SPACE_AFTER["Normal"])
        fmt.space_after = Pt(after)


def _new(title: str, case: Case, policy: Policy, now: datetime | None) -> DocxDocument:
    """A document with the marking in its header and footer; metadata carries no child identifiers.

    Its created and modified times are the true UTC time (the format has no zone: readers take them as UTC).
    """
    doc = Document()
    _styles(doc)
    made = (now or datetime.now(LONDON)).astimezone(LONDON)
    props = doc.core_properties
    props.title = clean(f"{title} - {case.get('ref', '')}")
    props.subject = clean(f"{policy.short_name} escalation record")
    props.author = props.last_modified_by = "Escalation bot"
    props.comments, props.keywords, props.category = "", "OFFICIAL-SENSITIVE", "OFFICIAL-SENSITIVE"
    props.created = props.modified = made.astimezone(UTC).replace(tzinfo=None)
    section = doc.sections[0]
    section.header.paragraphs[0].text = MARKING
    section.footer.paragraphs[0].text = _text(f"{case.get('ref', '')} - {policy.short_name} - produced by the "
                                              f"escalation bot on {moment(made.isoformat())}. {MARKING}")
    for part in (section.header.paragraphs[0], section.footer.paragraphs[0]):
        for run in part.runs:
            run.font.size = Pt(layout.SMALL_POINTS)
            run.font.bold = True
    _heading(doc, title, 0)
    return doc


def _bytes(doc: DocxDocument) -> bytes:
    out = BytesIO()
    doc.save(out)
    return out.getvalue()


def _fill(cell: _Cell, text: str, points: float, bold: bool = False) -> None:
    """A cell's text at the table's size, without the space after a body paragraph (rows stay compact)."""
    cell.text = _text(text)
    for paragraph in cell.paragraphs:
        paragraph.paragraph_format.space_after = Pt(0)
        for run in paragraph.runs:
            run.font.size = Pt(points)
            run.font.bold = bold or None


def _set_widths(doc: DocxDocument, table: Table, rows: list[list[tuple[str, bool]]]) -> layout.Columns:
    """Fixed column widths that never break a word (bot/records/layout.py), the same in Word and LibreOffice."""
    room = layout.body_width(doc)
    cols = layout.columns([[row[i] for row in rows] for i in range(len(table.columns))], room)
    table.autofit = False  # (w:tblLayout fixed: Word keeps these widths rather than refitting them)
    for column, wide in zip(table.columns, cols.widths, strict=True):
        column.width = Pt(wide)
    for row in table.rows:
        for cell, wide in zip(row.cells, cols.widths, strict=True):
            cell.width = Pt(wide)
    return cols


Value = str | list[str]  # a field's value; a list is one row per stage, under one label


def _pairs(doc: DocxDocument, pairs: Iterable[tuple[str, Value]]) -> None:
    """A two-column table: label | value. A value given as a list takes one row per item (one per stage), its label
    cell spanning them."""
    items = [(label, value if isinstance(value, list) else [value]) for label, value in pairs]
    cells = [[(label, True), (part, False)] for label, parts in items for part in parts or [""]]
    table = doc.add_table(rows=len(cells), cols=2)
    table.style = "Table Grid"
    cols = _set_widths(doc, table, cells)
    index = 0
    for label, parts in items:
        first = table.rows[index].cells
        _fill(first[0], label, cols.points, bold=True)
        for offset, part in enumerate(parts or [""]):
            _fill(table.rows[index + offset].cells[1], part, cols.points)
        if len(parts) > 1:
            first[0].merge(table.rows[index + len(parts) - 1].cells[0])
            _fill(first[0], label, cols.points, bold=True)
        index += len(parts or [""])


def _grid(doc: DocxDocument, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """A table with a bold header row, one row per item."""
    body = [list(row) for row in rows]
    cells = [[(text, True) for text in header], *[[(text, False) for text in row] for row in body]]
    table = doc.add_table(rows=1 + len(body), cols=len(header))
    table.style = "Table Grid"
    cols = _set_widths(doc, table, cells)
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        _fill(cell, text, cols.points, bold=True)
    repeat = table.rows[0]._tr.get_or_add_trPr()  # (a table running onto another page shows its header again)
    repeat.append(repeat.makeelement(qn("w:tblHeader"), {}))
    for row, texts in zip(table.rows[1:], body, strict=True):
        for cell, text in zip(row.cells, texts, strict=True):
            _fill(cell, text, cols.points)


def _procedure_line(doc: DocxDocument, case: Case, policy: Policy) -> None:
    opened = case.get("policy_version") or policy.version
    _para(doc, f"Procedure: {policy.name} ({policy.short_name}). {policy.source}.")
    if opened != policy.version:
        _para(doc, f"The case was opened under an earlier edition of the procedure ({opened}); this document "
                   f"follows the current one ({policy.version}).")
    _para(doc, f"Case reference: {case.get('ref', '')}")


def form_docx(case: Case, policy: Policy, form: Form, directory: Directory | None = None,
              now: datetime | None = None) -> bytes:
    """One of the procedure's forms filled from the case, its fields in the policy file's order: each run of fields
    of one section is a two-column table under that section's heading (fields with no section have none). A history
    (bot/records/story.py BY_STAGE) takes one row per stage, its label spanning them."""
    doc = _new(form.name, case, policy, now)
    _procedure_line(doc, case, policy)
    _para(doc, f"Send to: {form.send_to} ({form.cite})")
    if form.note:
        note = doc.add_paragraph()
        note.add_run(_text(f"Note: {form.note}")).italic = True
    runs: list[tuple[str, list[tuple[str, Value]]]] = []
    ctx = FormContext(case, policy, form, directory)
    for field, value in form_values(case, policy, form, directory):
        if not runs or runs[-1][0] != field.section:
            runs.append((field.section, []))
        by_stage = BY_STAGE.get(field.id)  # (a history: one row per stage, not the whole of it in one cell)
        runs[-1][1].append((field.label, by_stage(ctx) if by_stage and value else value))
    for index, (name, pairs) in enumerate(runs):
        if name:
            _heading(doc, name, 2)
        elif index:
            _para(doc, "")  # fields with no section after a section's table: their own table, not joined to it
        _pairs(doc, pairs)
    _para(doc, "Filled from the case record held by the escalation bot. Check it before sending; "
               "anything left blank was not recorded by the bot.")
    return _bytes(doc)


def _answer_rows(policy: Policy, answers: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, value in answers.items():
        question = policy.question(key)
        label = DETAIL_LABELS.get(key) or (question.prompt if question else key.replace("_", " "))
        if question is not None and question.kind == "date":
            text = day(str(value))
        elif question is not None:
            text = show_answer(question, value)
        else:
            text = "Yes" if value is True else "No" if value is False else str(value)
        rows.append((label, text))
    return rows


def _chronology_table(doc: DocxDocument, case: Case, directory: Directory | None) -> None:
    _grid(doc, ("Date", "Who", "What"), ((r.date, r.who, r.what) for r in chronology(case, directory)))


def record_docx(case: Case, policy: Policy, directory: Directory | None = None, now: datetime | None = None) -> bytes:
    """The full case record: summary, details, child, stages (with the contacts the other agency gave at each),
    extensions, outcome, duties, forms and chronology."""
    doc = _new(f"Escalation case record {case.get('ref', '')}", case, policy, now)
    _procedure_line(doc, case, policy)
    _heading(doc, "Summary", 1)
    _pairs(doc, summary(case, policy, directory))
    _heading(doc, "The disagreement", 1)
    _pairs(doc, _answer_rows(policy, case.get("details") or {}))
    _heading(doc, "The child", 1)
    child = case.get("child") or {}
    if child:
        _pairs(doc, _answer_rows(policy, child))
    else:
        _para(doc, "No child details were recorded.")
    stages = case.get("stages") or []
    if stages:
        _heading(doc, "Stages", 1)
        _grid(doc, ("Stage", "Started", "Due", "Ended", "Outcome", "Reason or outcome"), (
            (policy.stage_title(s["stage"]), day(s.get("started_on")), day(s.get("due")), day(s.get("ended_on")),
             s.get("outcome") or "in progress", str(s.get("reason") or "")) for s in stages))
        contacts = stage_contacts(case)
        if contacts:
            _heading(doc, "Contacts given by the other agency", 2)
            _grid(doc, ("Stage", "Contact, as given"), ((policy.stage_title(n), c) for n, c in contacts))
    extensions = case.get("extensions") or []
    if extensions:
        _heading(doc, "Timescales extended by agreement", 1)
        _grid(doc, ("Stage", "From", "To", "Agreed by (raising agency)", "Agreed by (other agency)", "Reason",
                    "Recorded by"), (
            (policy.stage_title(e["stage"]), day(e.get("old_due")), day(e.get("new_due")), e.get("agreed_here", ""),
             e.get("agreed_other", ""), e.get("reason", ""), who(case, e.get("by", ""), directory))
            for e in extensions))
    outcome = case.get("outcome")
    if outcome:
        _heading(doc, "Outcome", 1)
        _pairs(doc, [
            ("Resolved at", policy.stage_title(outcome["stage"]) if outcome.get("stage") else ""),
            ("Written outcome agreed between the parties", outcome.get("text", "")),
            ("How outstanding actions will be followed up", outcome.get("follow_up", "")),
            ("Final decision", "Yes" if outcome.get("final_decision") else "No"),
            ("Binding on all organisations", f"Yes ({policy.final_stage.cite})" if outcome.get("binding") else "No"),
            ("Recorded by", who(case, outcome.get("by", ""), directory)),
            ("Recorded on", moment(outcome.get("at", ""))),
        ])
    duties = case.get("duties") or []
    if duties:
        _heading(doc, "Notification duties", 1)
        _grid(doc, ("Stage", "Notify", "What to do", "Status"), (
            (str(d.get("stage", "")), d.get("notify", ""), f"{d.get('text', '')} ({d.get('cite', '')})",
             f"done {moment(d['done_at'])} by {who(case, d.get('done_by', ''), directory)}"
             if d.get("status") == "done" and d.get("done_at") else str(d.get("status", ""))) for d in duties))
    forms = forms_for(case, policy)
    _heading(doc, "Forms", 1)
    if forms:
        for form in forms:
            _para(doc, f"{form.name} (form id {form.id}; send to {form.send_to}; {form.cite})", "List Bullet")
    else:
        _para(doc, "The procedure names no form for this case at its stage: this case record is the record.")
    _heading(doc, "Chronology", 1)
    _chronology_table(doc, case, directory)
    return _bytes(doc)


def chronology_docx(case: Case, policy: Policy, directory: Directory | None = None,
                    now: datetime | None = None) -> bytes:
    """The chronology as a Word document: the case at a glance, then date | who | what."""
    doc = _new(f"Chronology of {case.get('ref', '')}", case, policy, now)
    _procedure_line(doc, case, policy)
    _pairs(doc, summary(case, policy, directory))
    _heading(doc, "Chronology", 1)
    _chronology_table(doc, case, directory)
    return _bytes(doc)
