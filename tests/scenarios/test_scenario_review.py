"""The typed Stage 1 dialog as a practitioner meets it: choices answered in words, a date far in the past asked about,
the answers shown back before the case opens (a child's details and typed text only as "(given)"), `back` and a
number to change an answer, and a review that survives a restart."""

from __future__ import annotations

from conftest import CHILD_DOB, CHILD_NAME, DEFAULT_ANSWERS, answer_for
from scenario_kit import JORDAN, OPENING, World, at


async def answer_up_to_review(chat, **answers: str):
    """Jordan answers every question; the reply that shows the review."""
    wanted = {**DEFAULT_ANSWERS, **OPENING, **answers}
    (reply,) = (await chat.say("escalate"))[-1:]
    while reply.question is not None and reply.question.id != "review":
        reply = (await chat.say(answer_for(reply.question, wanted)))[-1]
        if reply.question is not None and reply.question.prompt == "Is that right?":
            reply = (await chat.say("yes"))[-1]
    return reply


async def test_the_answers_are_shown_back_and_changed_before_the_case_opens(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    world.set_time(at(2026, 11, 23))
    jordan = world.person(JORDAN)
    shown = await answer_up_to_review(jordan, child_status="child protection plan", arose_on="2025-09-10")
    assert shown.question.id == "review" and await store.scan("cases") == []
    assert "2. When did the disagreement or concern arise? Wednesday 10 September 2025" in shown.question.prompt
    assert "12. Which of these applies to the child? Subject to a child protection plan" in shown.question.prompt
    assert "3. Which agency made the decision you disagree with? (given)" in shown.question.prompt
    # The year was mistyped: the date is changed by its number, asked about again, and the review comes back.
    (asked,) = await jordan.say("2")
    assert asked.question.id == "arose_on"
    (checked,) = await jordan.say("2026-11-19")
    assert checked.question.id == "review"
    assert "Thursday 19 November 2026" in checked.question.prompt
    (opened,) = await jordan.say("confirm")
    assert opened.kind == "case_opened"
    case = await world.case(opened.case_ref)
    assert case["arose_on"] == "2026-11-19" and case["details"]["child_status"] == "child_protection_plan"
    assert case["child"]["child_name"] == CHILD_NAME and case["details"]["other_agency"] == "Northshire Police"
    said = jordan.all_text() + "\n".join(r.question.prompt for r in jordan.transcript if r.question)
    assert CHILD_NAME not in said and CHILD_DOB not in said and "February 2015" not in said
    assert DEFAULT_ANSWERS["disputed"] not in said


async def test_a_date_far_in_the_past_is_asked_about_in_the_dialog(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    jordan = world.person(JORDAN)
    await jordan.say("escalate")
    await jordan.say("no")
    (asked,) = await jordan.say("23/09/2025")
    assert asked.text == "Tuesday 23 September 2025 is 14 months ago." and asked.question.prompt == "Is that right?"
    (again,) = await jordan.say("no")
    assert again.question.id == "arose_on"
    (future,) = await jordan.say("2026-12-01")
    assert future.kind == "invalid" and "in the future" in future.text


async def test_a_review_left_before_a_restart_is_confirmed_after_it_once(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    await answer_up_to_review(world.person(JORDAN))
    restarted = World(store, {"surrey": all_policies["surrey"]}, clock)
    jordan = restarted.person(JORDAN)
    (waiting,) = await jordan.say("escalate")
    assert waiting.text.startswith("You are already answering questions") and waiting.question.id == "review"
    (opened,) = await jordan.say("yes")
    assert opened.kind == "case_opened"
    (nothing,) = await jordan.say("confirm")
    assert "did not understand" in nothing.text
    assert len(await store.scan("cases")) == 1
