"""'Download record' in chat: the file goes only to someone who may act on the case; everyone else is refused in
the same words as for a case that does not exist, and nothing is logged for them."""

from __future__ import annotations

import pytest
from conftest import CHILD_NAME, audit_entries
from records_kit import DAVID, EMMA, JORDAN, LENA, STRANGER, Desk, at, fields, opened

from bot.records.download import download, sent_text
from bot.records.files import DOCX_MIME, MARKDOWN_MIME
from bot.types import Reply, UserRef


def user(email: str) -> UserRef:
    return UserRef("console", email, email=email)


@pytest.fixture
async def medway_case(store, all_policies):
    desk = Desk(store, {"medway": all_policies["medway"]}, at(2026, 11, 23))
    ref = await desk.open_case()
    await desk.escalate(LENA, ref, at(2026, 11, 24))
    await desk.escalate(DAVID, ref, at(2026, 11, 25))
    return desk, ref


@pytest.mark.parametrize("email", [JORDAN, LENA, DAVID])
async def test_people_on_the_case_get_the_record(medway_case, email):
    desk, ref = medway_case
    record = await download(desk.core.desk, desk.store, user(email), ref)
    assert not isinstance(record, Reply), record.text
    assert record.filename == f"{ref}-record.docx" and record.mime == DOCX_MIME
    assert fields(record.content)[("The child", "Name")] == CHILD_NAME
    assert CHILD_NAME not in record.title + record.filename + sent_text(record)
    logged = await audit_entries(desk.store)
    assert logged == [{"at": "2026-11-25T10:00:00+00:00", "by": f"console:{email}", "action": "record_downloaded",
                       "ref": ref, "policy": "medway", "detail": f"{ref}-record.docx sent privately"}]


@pytest.mark.parametrize("email", [EMMA, STRANGER])
async def test_anyone_else_is_refused_as_if_there_were_no_case(medway_case, email):
    desk, ref = medway_case
    refused = await download(desk.core.desk, desk.store, user(email), ref)
    missing = await download(desk.core.desk, desk.store, user(JORDAN), "ESC-2026-0999")
    assert isinstance(refused, Reply) and isinstance(missing, Reply)
    assert refused.kind == "refused"
    assert refused.text == missing.text.replace("ESC-2026-0999", ref)
    assert CHILD_NAME not in refused.text
    # Both refusals are audited (nothing was sent): the case is named only where the reference is a real one.
    logged = sorted(([doc["by"], doc["action"], doc["ref"], doc["detail"]] for doc in
                     await audit_entries(desk.store)), key=lambda row: row[2])
    assert logged == [[f"console:{JORDAN}", "access_refused", "", "record"],
                      [f"console:{email}", "access_refused", ref, "record"]]


async def test_a_form_or_the_chronology_can_be_asked_for(medway_case):
    desk, ref = medway_case
    form = await download(desk.core.desk, desk.store, user(JORDAN), ref, "stage3_alert")
    assert not isinstance(form, Reply)
    assert form.filename == f"{ref}-stage3_alert.docx"
    assert fields(form.content)[("Child", "Name of Child")] == CHILD_NAME
    assert opened(form.content).paragraphs[0].text == "Stage 3 Escalation Alert Form"
    md = await download(desk.core.desk, desk.store, user(JORDAN), ref, "chronology", fmt="md")
    assert not isinstance(md, Reply)
    assert md.mime == MARKDOWN_MIME and md.content.decode().startswith(f"# Chronology of {ref}")
    wrong = await download(desk.core.desk, desk.store, user(JORDAN), ref, "appendix2")
    assert isinstance(wrong, Reply) and wrong.kind == "refused"
    assert "there is no such record to send; choose one of record, chronology, stage3_alert" in wrong.text
    assert "appendix2" not in wrong.text  # (what was typed is not repeated)
    assert len(await audit_entries(desk.store)) == 2
