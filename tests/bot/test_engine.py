"""Scenario tests of the conversation core: the Stage 1 dialog through to an open case, for every procedure."""

from __future__ import annotations

import asyncio

import pytest
from conftest import CHILD_DOB, CHILD_NAME, Chat, core_for

from bot.conversation.dialogs import Dialogs
from storage.memory_store import MemoryStore
from storage.tinydb_store import TinyDBStore

# Opened on Monday 23 November 2026, the disagreement arising that day (hand-counted working days).
STAGE1_DUE = {
    "surrey": "2026-11-25",  # 2 working days from the disagreement arising (SSCP 6.4 Stage 1)
    "bcssp": "2026-11-25",  # within 2 working days (BCSSP Stage 1)
    "lincolnshire": None,  # no timescales
    "medway": "2026-11-30",  # response within 5 working days (MSCB Stage 1)
    "gloucestershire": "2026-11-30",  # 5 working days (GSCP 2.1 d)
}


def engine_for(store, all_policies, clock, *ids):
    return core_for(store, {i: all_policies[i] for i in ids} if ids else all_policies, clock)


@pytest.mark.parametrize("policy_id", sorted(STAGE1_DUE))
async def test_every_procedure_opens_a_case_with_its_stage1_due_date(store, all_policies, clock, policy_id):
    chat = Chat(engine_for(store, all_policies, clock, policy_id))
    final = await chat.escalate()
    assert final.kind == "case_opened"
    assert final.case_ref == "ESC-2026-0001"
    case = await store.get("cases", "ESC-2026-0001")
    assert case["policy"] == policy_id and case["status"] == "open"
    assert case["stage"] == all_policies[policy_id].first_stage.number
    assert case["stage_due"] == STAGE1_DUE[policy_id]
    assert case["child"]["child_name"] == CHILD_NAME and case["child"]["child_dob"] == CHILD_DOB
    assert CHILD_NAME not in str(case["details"]) and "child_name" not in case["details"]
    assert case["events"][0]["action"] == "opened" and case["events"][0]["by"] == "console:pat@example.org"
    assert "ESC-2026-0001" in final.text
    text = chat.all_text()
    assert CHILD_NAME not in text and CHILD_DOB not in text and "Acacia" not in text
    assert await store.get("dialogs", Dialogs.key(chat.user, chat.thread)) is None


async def test_reply_says_due_date_who_acts_and_next_stage(store, all_policies, clock):
    final = await Chat(engine_for(store, all_policies, clock, "surrey")).escalate()
    assert "Wednesday 25 November 2026" in final.text
    # No directory here: who acts is said by their place from the raiser's side, and the directory's gap explained.
    assert "Who acts: your line manager / supervisor; the other agency is not involved at this stage." in final.text
    assert "You are not in the directory, so it cannot name your line manager / supervisor" in final.text
    assert "If not resolved: Stage 2: Inter-agency Discussion, within 2 working days of the end of Stage 1." in (
        final.text)
    assert "Northshire Police" not in final.text  # the other agency as typed is never repeated


async def test_bcssp_states_its_overall_ten_day_cap(store, all_policies, clock):
    await Chat(engine_for(store, all_policies, clock, "bcssp")).escalate()
    case = await store.get("cases", "ESC-2026-0001")
    assert case["overall_due"] == "2026-12-07"  # 10 working days from Monday 23 Nov 2026


async def test_medway_iro_duty_when_child_has_a_protection_plan(store, all_policies, clock):
    final = await Chat(engine_for(store, all_policies, clock, "medway")).escalate(
        child_status="child_protection_plan"
    )
    case = await store.get("cases", "ESC-2026-0001")
    assert [d["duty"] for d in case["duties"] if d["stage"] == 1] != []
    assert "Independent Reviewing Officer" in final.text or "IRO" in final.text


async def test_no_iro_duty_without_a_plan(store, all_policies, clock):
    await Chat(engine_for(store, all_policies, clock, "medway")).escalate(child_status="none")
    case = await store.get("cases", "ESC-2026-0001")
    assert case["duties"] == []


async def test_old_disagreement_is_flagged_overdue(store, all_policies, clock):
    final = await Chat(engine_for(store, all_policies, clock, "surrey")).escalate(arose_on="2026-11-16")
    case = await store.get("cases", "ESC-2026-0001")
    assert case["stage_due"] == "2026-11-18"
    # Mon 23 Nov: three working days late (Thu 19, Fri 20, Mon 23).
    assert "Stage 1: Internal Discussion, overdue by 3 working days: it was due by Wednesday 18 November 2026" in (
        final.text)


@pytest.mark.parametrize("policy_id", sorted(STAGE1_DUE))
async def test_immediate_harm_gives_the_procedures_route_at_once_and_records_it(
    store, all_policies, clock, policy_id
):
    chat = Chat(engine_for(store, all_policies, clock, policy_id))
    final = await chat.escalate(immediate_risk="yes")
    policy = all_policies[policy_id]
    assert final.kind == "emergency"
    assert policy.immediate_harm.route in final.text
    assert len(chat.transcript) == 2  # the first question, then the route: nothing else asked
    record = await store.get("cases", final.case_ref)
    assert record["status"] == "immediate_harm"
    assert record["events"][0]["action"] == "immediate_harm_route_given"
    assert await store.get("dialogs", Dialogs.key(chat.user, chat.thread)) is None


async def test_invalid_answers_get_a_reason_and_the_same_question(store, all_policies, clock):
    chat = Chat(engine_for(store, all_policies, clock, "surrey"))
    await chat.say("escalate")
    (reply,) = await chat.say("maybe")
    assert reply.kind == "invalid" and "yes or no" in reply.text and reply.question.id == "immediate_risk"
    await chat.say("no")
    (reply,) = await chat.say("2026-11-30")
    assert "future" in reply.text and reply.question.id == "arose_on"
    (reply,) = await chat.say("31/02/2026")
    assert "not a real date" in reply.text
    (reply,) = await chat.say("23/11/2026")
    assert reply.question.id == "other_agency"
    (reply,) = await chat.say("   ")
    assert "needs an answer" in reply.text and reply.question.id == "other_agency"
    for text in ("Police", "DS Doe", "DS"):
        (reply,) = await chat.say(text)
    assert reply.question.id == "category"
    (reply,) = await chat.say("9")
    assert "number" in reply.text and reply.question.id == "category"


async def test_cancel_ends_cleanly_and_records_nothing(store, all_policies, clock):
    chat = Chat(engine_for(store, all_policies, clock, "surrey"))
    await chat.say("escalate")
    await chat.say("no")
    (reply,) = await chat.say("cancel")
    assert "Cancelled" in reply.text
    assert await store.keys("cases") == [] and await store.keys("dialogs") == []
    (reply,) = await chat.say("cancel")
    assert "nothing to cancel" in reply.text


async def test_back_returns_to_the_previous_question(store, all_policies, clock):
    chat = Chat(engine_for(store, all_policies, clock, "surrey"))
    await chat.say("escalate")
    await chat.say("no")
    (reply,) = await chat.say("back")
    assert reply.question.id == "immediate_risk"


async def test_several_procedures_ask_the_partnership_first(store, all_policies, clock):
    chat = Chat(engine_for(store, all_policies, clock))
    replies = await chat.say("escalate")
    assert replies[-1].question.id == "policy"
    assert "999" in replies[-1].question.help
    (reply,) = await chat.say("medway")
    assert reply.question.id == "immediate_risk" and "Medway" in reply.text
    final = await chat.escalate("gloucestershire")  # "escalate" again resumes the dialog in progress
    assert final.kind == "case_opened"
    assert (await store.get("cases", final.case_ref))["policy"] == "medway"


async def test_dialog_survives_a_restart_and_resumes(tmp_path, all_policies, clock):
    async with TinyDBStore(tmp_path) as store:
        chat = Chat(engine_for(store, all_policies, clock, "surrey"))
        await chat.say("escalate")
        await chat.say("no")
        await chat.say("today")
    async with TinyDBStore(tmp_path) as store:
        chat = Chat(engine_for(store, all_policies, clock, "surrey"))
        (reply,) = await chat.say("escalate")
        assert "already answering" in reply.text and reply.question.id == "other_agency"
        final = await chat.escalate()
        assert final.kind == "case_opened"
        case = await store.get("cases", final.case_ref)
        assert case["details"]["other_agency"] == "Northshire Police"


async def test_case_interrupted_mid_opening_is_opened_exactly_once(store, all_policies, clock):
    engine = engine_for(store, all_policies, clock, "surrey")
    chat = Chat(engine)
    await chat.escalate()
    case = await store.get("cases", "ESC-2026-0001")
    # Replay the state a crash would leave: the dialog finished but not yet forgotten.
    key = Dialogs.key(chat.user, chat.thread)
    started = case["raised_at"]
    done = {"dialog": "intake", "policy": "surrey", "step": "done", "answers": {}, "started_at": started}
    await store.put("dialogs", key, done)
    await store.put("openings", f"dialog:{key}:{started}", {"ref": "ESC-2026-0001"})
    replies = await chat.say("status ESC-2026-0001")
    assert replies[0].case_ref == "ESC-2026-0001"
    assert await store.keys("cases") == ["ESC-2026-0001"]
    assert await store.get("dialogs", key) is None


async def test_repeated_event_id_has_no_second_effect(store, all_policies, clock):
    chat = Chat(engine_for(store, all_policies, clock, "surrey"))
    assert await chat.say("escalate", event_id="ev-1")
    assert await chat.say("escalate", event_id="ev-1") == []
    (reply,) = await chat.say("no", event_id="ev-2")
    assert reply.question.id == "arose_on"
    assert await chat.say("no", event_id="ev-2") == []


async def test_form_submission_opens_a_case_once_and_reports_errors_per_field(store, all_policies, clock):
    chat = Chat(engine_for(store, all_policies, clock, "gloucestershire"))
    bad = {"immediate_risk": "no", "arose_on": "2027-01-01", "other_agency": ""}
    (reply,) = await chat.submit(bad, event_id="v1")
    assert {"arose_on", "other_agency", "disputed"} <= set(reply.errors)
    assert await store.keys("cases") == []
    good = {
        "immediate_risk": "no", "arose_on": "2026-11-20", "other_agency": "Northshire Police",
        "other_professional": "DS Doe", "other_role": "DS", "category": "1", "disputed": "x", "impact": "y",
        "desired_change": "z", "discussed_line_manager": "yes", "discussed_other": "no",
        "child_status": "looked_after", "child_name": CHILD_NAME,
    }
    (reply,) = await chat.submit(good, event_id="v2")
    assert reply.kind == "case_opened" and CHILD_NAME not in reply.text
    assert await chat.submit(good, event_id="v2") == []
    assert await store.keys("cases") == [reply.case_ref]


async def test_status_is_only_for_the_person_who_raised_it(store, all_policies, clock):
    engine = engine_for(store, all_policies, clock, "surrey")
    await Chat(engine).escalate()
    (mine,) = await Chat(engine).say("status esc-2026-0001")
    assert "Stage 1" in mine.text and CHILD_NAME not in mine.text
    (theirs,) = await Chat(engine, "someone@example.org").say("status ESC-2026-0001")
    assert "cannot find" in theirs.text
    (bad,) = await Chat(engine).say("status 12")
    assert "not a case reference" in bad.text


async def test_concurrent_practitioners_get_distinct_references(all_policies, clock):
    async with MemoryStore() as store:
        engine = engine_for(store, all_policies, clock, "surrey")
        finals = await asyncio.gather(*(Chat(engine, f"p{i}@example.org").escalate() for i in range(20)))
        refs = {f.case_ref for f in finals}
        assert len(refs) == 20 and len(await store.keys("cases")) == 20
