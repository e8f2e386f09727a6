"""Accepted forms handled again: a process that stops after a form's effect but before what is owed was queued
(a kill, a store error, a stop's deadline) leaves the form in the inbox, and the next pass handles it again. That
second handling must answer as the first would have, and tell everyone once."""

from __future__ import annotations

import pytest
from scenario_kit import JORDAN, LENA, World

from bot.types import Event, Kind


def action_form(world: World, email: str, action: str, ref: str, stage: int, answers: dict[str, str],
                event_id: str) -> Event:
    chat = world.person(email)
    return Event.submitted(chat.user, chat.thread, answers, {"step": "action", "action": action, "ref": ref,
                                                             "stage": stage}, event_id=event_id, reply_to=chat.thread)


async def crashed_after_the_effect(world: World, event: Event) -> None:
    """Accept the form, then handle it in a process that dies before anything owed is queued."""
    taken = await world.core.door.submit(event)
    assert taken.ticket
    queue = world.core.threads.send

    async def killed(*args, **kwargs):
        raise RuntimeError("killed before what is owed was queued")

    world.core.threads.send = killed  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await world.core.door.process(taken.ticket)
    world.core.threads.send = queue  # type: ignore[method-assign]
    assert await world.core.inbox.recover() == 0  # moments after: left to the handling under way in this process
    world.clock.advance(minutes=1)  # a later pass


async def test_an_action_handled_again_answers_as_it_did_and_the_case_thread_is_told_once(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    ref = (await world.open_case()).case_ref
    event = action_form(world, LENA, "resolve", ref, 1, {"outcome": "Strategy discussion agreed.",
                                                         "follow_up": "Lena checks on Friday."}, "form-resolve-1")
    await crashed_after_the_effect(world, event)
    assert (await world.case(ref))["status"] == "resolved"  # (the effect was made)
    before = len(world.sender.sent)

    assert await world.core.inbox.recover() == 1
    await world.settle()
    delivered = [reply for _, reply in world.sender.sent[before:]]
    assert [r.kind for r in delivered if r.kind == Kind.RESOLVE] == [Kind.RESOLVE]  # the case's thread, once
    assert not any(r.kind == Kind.REFUSED for r in delivered)  # nobody is told it was refused
    case = await world.case(ref)
    assert len([e for e in case["events"] if e["action"] == "resolved"]) == 1
    assert await world.core.inbox.recover() == 0 and await store.keys("inbox") == []


async def test_a_stage1_form_handled_again_opens_one_case_and_tells_the_raiser_once(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    chat = world.person(JORDAN)
    answers = {"arose_on": "2026-11-23", "other_agency": "Northshire Police", "other_professional": "Chris Walker",
               "other_role": "Detective Constable", "category": "safeguarding_decision", "disputed": "Closed",
               "impact": "Risk continues", "desired_change": "Strategy discussion", "discussed_line_manager": "yes",
               "discussed_other": "yes", "child_status": "none", "child_name": "Tallulah Quenby-Marsh",
               "child_dob": "2015-02-03"}
    event = Event.submitted(chat.user, chat.thread, answers, {"step": "intake", "policy": "surrey"},
                            event_id="form-intake-1", reply_to=chat.thread)
    await crashed_after_the_effect(world, event)
    assert len(await store.keys("cases")) == 1

    assert await world.core.inbox.recover() == 1
    await world.settle()
    assert len(await store.keys("cases")) == 1
    opened = [r for _, r in world.sender.sent if r.kind == Kind.CASE_OPENED]
    assert len(opened) == 1 and opened[0].case_ref


async def test_the_immediate_risk_answer_handled_again_is_recorded_once(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    chat = world.person(JORDAN)
    event = Event.submitted(chat.user, chat.thread, {"immediate_risk": "yes"}, {"step": "start", "policy": "surrey"},
                            event_id="form-harm-1", reply_to=chat.thread)
    await crashed_after_the_effect(world, event)
    assert await world.core.inbox.recover() == 1
    await world.settle()
    records = [doc for _, doc in await store.scan("cases")]
    assert [c["status"] for c in records] == ["immediate_harm"]
    assert len([r for _, r in world.sender.sent if r.kind == Kind.EMERGENCY]) == 1
