"""How the Word documents are laid out: each form's fields in the policy file's order under their section headings,
and the documents' created/modified times in true UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

import pytest
from conftest import POLICY_FOLDER
from docx.table import Table
from docx.text.paragraph import Paragraph
from records_kit import DAVID, DIRECTORY, Desk, at, field_rows, opened, walk

from bot.dates.workdays import LONDON
from bot.records.docx_record import chronology_docx, form_docx, record_docx
from policies.loader import load_policies

SHIPPED_FORMS = [(pid, form) for pid, policy in load_policies(POLICY_FOLDER).items() for form in policy.forms]


def layout(content: bytes) -> list[tuple[str, str]]:
    """After the form's notes: ("heading", text) for each section heading and ("field", label) for each table row."""
    out: list[tuple[str, str]] = []
    for block in opened(content).iter_inner_content():
        if isinstance(block, Table):  # (a label spanning several rows, one per stage, is one field)
            out += [("field", label) for label, _ in field_rows(block)]
        elif isinstance(block, Paragraph) and block.style is not None and block.style.name == "Heading 2":
            out.append(("heading", block.text))
    return out


@pytest.mark.parametrize("key", SHIPPED_FORMS, ids=[f"{pid}-{form}" for pid, form in SHIPPED_FORMS])
async def test_form_fields_keep_the_policy_files_order(store, all_policies, key):
    policy = all_policies[key[0]]
    form = policy.forms[key[1]]
    desk = Desk(store, {policy.id: policy}, at(2026, 11, 23))
    ref = await desk.open_case()
    await walk(desk, ref, policy.last_stage.number, at(2026, 11, 23))
    await desk.resolve(DAVID, ref, at(2026, 11, 30))
    got = layout(form_docx(await desk.case(ref), policy, form, DIRECTORY))
    assert [label for kind, label in got if kind == "field"] == [f.label for f in form.fields]
    expected: list[tuple[str, str]] = []
    for index, field in enumerate(form.fields):  # a heading wherever a new named section starts
        if field.section and (index == 0 or form.fields[index - 1].section != field.section):
            expected.append(("heading", field.section))
        expected.append(("field", field.label))
    assert got == expected


async def test_the_medway_notification_puts_the_child_where_the_form_does(store, all_policies):
    policy = all_policies["medway"]
    desk = Desk(store, {"medway": policy}, at(2026, 11, 23))
    ref = await desk.open_case()
    await walk(desk, ref, 4, at(2026, 11, 23))
    got = layout(form_docx(await desk.case(ref), policy, policy.forms["mscb_notification"], DIRECTORY))
    assert [label for _, label in got][:5] == ["Case reference", "Date the disagreement arose", "Child",
                                               "Name of Child", "DOB"]
    content = form_docx(await desk.case(ref), policy, policy.forms["mscb_notification"], DIRECTORY)
    blocks = list(opened(content).iter_inner_content())
    tables = [i for i, b in enumerate(blocks) if isinstance(b, Table)]
    assert all(b - a > 1 for a, b in pairwise(tables))  # never two tables run together


@pytest.mark.parametrize(("when", "utc"), [
    (at(2026, 7, 1, 10), datetime(2026, 7, 1, 9, 0, tzinfo=UTC)),  # British Summer Time: UTC+1
    (at(2026, 11, 23, 10), datetime(2026, 11, 23, 10, 0, tzinfo=UTC)),  # GMT
    (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 0, 30, tzinfo=UTC)),
])
async def test_created_and_modified_are_true_utc(store, all_policies, when, utc):
    policy = all_policies["lincolnshire"]
    desk = Desk(store, {"lincolnshire": policy}, at(2026, 6, 1))
    case = await desk.case(await desk.open_case())
    for make in (record_docx, chronology_docx):
        props = opened(make(case, policy, DIRECTORY, when)).core_properties
        assert props.created == utc and props.modified == utc
    footer = opened(record_docx(case, policy, DIRECTORY, when)).sections[0].footer.paragraphs[0].text
    local = when.astimezone(LONDON)
    assert f"on {local.day} {local:%b %Y %H:%M}." in footer  # the footer says London time
