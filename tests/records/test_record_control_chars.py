"""Control characters and lone surrogates in what people type (or in the directory) never stop a written record: they
are cleaned where the record is written (bot/records/clean.py), and the store keeps what was typed."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest
from records_kit import DAVID, DIRECTORY, JORDAN, LENA, POLICY_IDS, Desk, at, fields, grid, opened, walk

from bot.people.directory import Directory
from bot.records.chronology import chronology_markdown
from bot.records.clean import clean
from bot.records.download import download
from bot.records.files import RecordFile, kinds, render
from bot.types import UserRef
from policies.model import Policy

# NUL, Word's Shift+Enter (\x0b), a form feed, ESC and a lone surrogate, as a pasted answer can carry them.
BAD = "\x00\x0b\x0c\x1b\ud800"


def nasty(label: str) -> str:
    return f"{label} a\x00b\x0bc\x0cd\x1be\ud800f"


def tidy(label: str) -> str:
    """`nasty(label)` as a record shows it."""
    return f"{label} ab\nc\nde\ufffdf"


def drawn(label: str) -> str:
    """`nasty(label)` as a Word document shows it: its font has no replacement character (bot/records/glyphs.py)."""
    return tidy(label).replace("\ufffd", "?")


def test_clean_keeps_text_readable_and_xml_safe():
    assert clean(nasty("x")) == tidy("x")
    assert clean("tab\tline\nreturn\r") == "tab\tline\nreturn\r"  # tab, \n and \r stay
    assert clean("a\r\nb") == "a\nb"  # one line break, not two
    assert clean("".join(map(chr, range(32)))) == "\t\n\n\n\r"  # \t \n \x0b \x0c \r
    assert clean("end\ud800") == "end\ufffd" and clean("\udc00x") == "\ufffdx"
    assert clean("\ud83d\ude00") == "\U0001f600"  # a surrogate pair is its character
    assert clean("\ufffe\uffff") == "\ufffd\ufffd"  # not XML characters either
    assert clean("Zoë – ✓ 😀") == "Zoë – ✓ 😀"


def poisoned_directory() -> Directory:
    """The demo directory with Jordan's and Lena's names pasted with control characters."""
    names = {JORDAN: nasty("Jordan"), LENA: nasty("Lena")}
    return Directory(replace(p, name=names[p.email]) if p.email in names else p for p in DIRECTORY.people)


def poison(case: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """Every free-text value of the case (each text answer, reasons, contacts, outcome, extension) made nasty."""
    case = copy.deepcopy(case)
    for question in policy.questions:
        if question.kind == "text":
            where = case["child"] if question.id in case["child"] or question.sensitive else case["details"]
            where[question.id] = nasty(question.id)
    for number, entry in enumerate(case["stages"], 1):
        if entry.get("reason"):
            entry["reason"] = nasty(f"reason{number}")
        if entry.get("actors"):
            entry["actors"] = {"other_recorded": nasty(f"contact{number}")}
    case["actors"] = {"other_recorded": nasty("contact-now")}
    case["raised_by"]["name"] = nasty("raiser")
    if case.get("outcome"):
        case["outcome"].update(text=nasty("outcome"), follow_up=nasty("follow-up"))
    stage = case["stages"][0]
    case["extensions"] = [{"stage": stage["stage"], "old_due": stage["due"] or "2026-11-25", "new_due": "2026-12-10",
                           "agreed_here": nasty("here"), "agreed_other": nasty("other"), "reason": nasty("ext"),
                           "by": case["events"][0]["by"], "at": case["events"][0]["at"]}]
    case["events"].insert(1, {"at": case["events"][0]["at"], "by": case["events"][0]["by"], "action": "extended",
                              "detail": f"{policy.stage_title(stage['stage'])} from 2026-11-25 to 2026-12-10"})
    return case


def all_text(content: bytes) -> str:
    doc = opened(content)
    section = doc.sections[0]
    parts = [p.text for p in doc.paragraphs] + [section.header.paragraphs[0].text, section.footer.paragraphs[0].text]
    parts += [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join(parts)


async def walked_case(desk: Desk, policy: Policy) -> str:
    """A case through every stage, a contact recorded at the first and the last, resolved at the last."""
    ref = await desk.open_case()
    desk.clock.set(at(2026, 11, 23, 11))
    await desk.chat(JORDAN).say(f"contact {ref} Sam Lee, sam.lee@police.example, DI")
    await walk(desk, ref, policy.last_stage.number, at(2026, 11, 23))
    await desk.chat(LENA).say(f"contact {ref} Priya Nair, DS")
    await desk.resolve(DAVID, ref, at(2026, 11, 30))
    return ref


@pytest.mark.parametrize("policy_id", POLICY_IDS)
async def test_every_record_and_form_is_written_whatever_was_typed(store, all_policies, policy_id):
    policy = all_policies[policy_id]
    directory = poisoned_directory()
    desk = Desk(store, {policy_id: policy}, at(2026, 11, 23), directory)
    ref = await walked_case(desk, policy)
    case = poison(await desk.case(ref), policy)
    assert any(entry.get("actors") for entry in case["stages"])  # a contact from an earlier stage is poisoned too
    await store.put("cases", ref, case)
    typed = copy.deepcopy(case)

    written: dict[str, bytes] = {}
    for kind in kinds(policy):  # the record, the chronology and every form the procedure names
        written[kind] = render(case, policy, kind, "docx", directory).content
        text = all_text(written[kind])
        assert not set(BAD) & set(text), kind
        assert "de?f" in text and "\ufffd" not in text, kind  # the lone surrogate: a replacement character, which
        # Word's fonts lack, so drawn as "?" (bot/records/glyphs.py)
    markdown = render(case, policy, "chronology", "md", directory).content.decode("utf-8")
    assert markdown == clean(markdown) and not set(BAD) & set(markdown)
    assert case == typed and await desk.case(ref) == typed  # nothing written back: the store keeps what was typed

    record = fields(written["record"])
    assert record[("The disagreement", "The decision in dispute")] == drawn("disputed")
    assert record[("The disagreement", "Other agency")] == drawn("other_agency")
    assert record[("Outcome", "Written outcome agreed between the parties")] == drawn("outcome")
    stages = grid(written["record"], ("Stage", "Started", "Due", "Ended", "Outcome", "Reason or outcome"))
    assert stages[0][5] == drawn("reason1")
    assert grid(written["record"], ("Stage", "Contact, as given"))[0][1] == drawn("contact1")
    assert grid(written["record"], ("Stage", "From", "To", "Agreed by (raising agency)", "Agreed by (other agency)",
                                    "Reason", "Recorded by"))[0][5] == drawn("ext")
    who = [row[1] for row in grid(written["chronology"], ("Date", "Who", "What"))]
    assert who[0] == f"{drawn('Jordan')} (Social Worker, Northshire Children's Services)"  # the directory's name
    assert f"{tidy('Jordan').replace(chr(10), '<br>')} \\(Social Worker" in markdown
    assert "Reason: reason1 ab<br>c<br>de\ufffdf" in markdown


async def test_typed_answers_with_control_characters_still_download(store, all_policies):
    """Through the chat: the answers typed with control characters are kept; `record REF` still sends the file."""
    policy = all_policies["medway"]
    desk = Desk(store, {"medway": policy}, at(2026, 11, 23), poisoned_directory())
    ref = await desk.open_case(disputed="line1\x0bline2\x00", child_name="Kid\x0cName\x1b")
    await walk(desk, ref, 3, at(2026, 11, 23))
    await desk.act(LENA, "escalate", ref, "Pasted\x0breason", when=at(2026, 11, 30))
    user = UserRef("console", JORDAN, email=JORDAN)
    files = {kind: await download(desk.core.desk, desk.store, user, ref, kind) for kind in kinds(policy)}
    assert all(isinstance(found, RecordFile) for found in files.values()), files
    record = files["record"]
    assert isinstance(record, RecordFile)
    assert fields(record.content)[("The child", "Name")] in ("Kid\nName", "KidName")  # a form feed: a line break
    reply = (await desk.chat(JORDAN).say(f"record {ref}"))[-1]  # the console's command
    assert reply.kind == "record" and reply.attachment is not None


def test_a_markdown_cell_is_cleaned_too():
    from bot.records.chronology import md_cell

    assert md_cell(nasty("x")) == "x ab<br>c<br>de\ufffdf"


async def test_markdown_chronology_of_a_nasty_case(store, all_policies):
    policy = all_policies["bcssp"]
    desk = Desk(store, {"bcssp": policy}, at(2026, 11, 23))
    ref = await desk.open_case()
    case = poison(await desk.case(ref), policy)
    text = chronology_markdown(case, policy, poisoned_directory())
    assert text.encode("utf-8") and "| Child's name | child_name ab<br>c<br>de\ufffdf |" in text
