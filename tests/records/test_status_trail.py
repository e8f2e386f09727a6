"""`status REF` in chat is a read of the case, so it is in the audit log: who, when, which case, for people on the case;
a refusal for anyone else (the case named only when it is a real one). The case itself is not written to."""

from __future__ import annotations

import pytest
from conftest import CHILD_NAME, audit_entries
from records_kit import DAVID, EMMA, JORDAN, LENA, STRANGER, Desk, at

from bot.records.audit import audit_rows


@pytest.fixture
async def medway_case(store, all_policies):
    desk = Desk(store, {"medway": all_policies["medway"]}, at(2026, 11, 23))
    ref = await desk.open_case()
    await desk.escalate(LENA, ref, at(2026, 11, 24))
    desk.clock.set(at(2026, 11, 25, 14))
    return desk, ref


@pytest.mark.parametrize("email", [JORDAN, LENA, DAVID])
async def test_a_status_read_by_someone_on_the_case_is_in_the_audit_log(medway_case, email):
    desk, ref = medway_case
    before = await desk.case(ref)
    [reply] = await desk.chat(email).say(f"status {ref.lower()}")
    assert reply.kind != "refused" and reply.case_ref == ref
    logged = await audit_entries(desk.store)
    assert logged == [{"at": "2026-11-25T14:00:00+00:00", "by": f"console:{email}", "action": "status_viewed",
                       "ref": ref, "policy": "medway", "detail": "status"}]
    assert await desk.case(ref) == before  # a read: the case and its chronology are unchanged
    rows = await audit_rows(desk.store)
    assert [(r["case"], r["who"], r["action"]) for r in rows][-1] == (ref, f"console:{email}", "status_viewed")
    assert CHILD_NAME not in str(rows)


async def test_each_read_is_recorded_and_refusals_are_too(medway_case):
    desk, ref = medway_case
    await desk.chat(JORDAN).say(f"status {ref}")
    await desk.chat(JORDAN).say(f"status {ref}")
    [emma] = await desk.chat(EMMA).say(f"status {ref}")
    [stranger] = await desk.chat(STRANGER).say("status ESC-2026-0999")
    assert emma.kind == stranger.kind == "refused"
    logged = sorted((doc["by"], doc["action"], doc["ref"], doc["detail"]) for doc in
                    await audit_entries(desk.store))
    assert logged == [(f"console:{EMMA}", "access_refused", ref, "status"),
                      (f"console:{JORDAN}", "status_viewed", ref, "status"),
                      (f"console:{JORDAN}", "status_viewed", ref, "status"),
                      (f"console:{STRANGER}", "access_refused", "", "status")]
