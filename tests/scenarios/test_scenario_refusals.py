"""What the bot refuses, in words, with nothing changed: strangers, extensions the procedure does not allow, escalating
past the final stage, and a resolution without its written outcome."""

from __future__ import annotations

import pytest
from conftest import POLICIES
from scenario_kit import (
    CHRIS,
    EMMA,
    JORDAN,
    KIM,
    LENA,
    LUCY,
    OLIVIA,
    POLICY_IDS,
    PRIYA,
    RUTH,
    STRANGER,
    World,
    at,
    events,
    nudge_status,
)

from adapters.console import render_question
from bot.conversation.dialogs import Dialogs


@pytest.mark.parametrize("outsider", [EMMA, OLIVIA, STRANGER])
async def test_someone_unrelated_is_refused_everything_and_nothing_changes(store, all_policies, clock, outsider):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    ref = (await world.open_case()).case_ref
    await world.escalate(LENA, ref)  # Stage 2: Jordan and Chris Walker act; Emma is a teacher, not involved
    before = await world.case(ref)
    not_found = "that you can act on"
    chat = world.person(outsider)
    for command in (f"status {ref}", f"resolve {ref}", f"escalate {ref}", f"extend {ref}", f"harm {ref}",
                    f"done {ref} 1", f"contact {ref} Sam Lee, sam.lee@agency.example"):
        (reply,) = await chat.say(command)
        assert reply.kind == "refused", command
        assert not_found in reply.text and reply.question is None
        assert await store.get("dialogs", Dialogs.key(chat.user, chat.thread)) is None
    # The same words as for a case that does not exist: the refusal does not reveal that it exists.
    (missing,) = await chat.say("status ESC-2026-0999")
    assert missing.text == reply.text.replace(ref, "ESC-2026-0999")
    # A button click from an old message is refused too.
    (clicked,) = await world.click(outsider, "resolve", ref, 2, {"outcome": "x", "follow_up": "y"})
    assert clicked.kind == "refused"
    assert await world.case(ref) == before
    assert world.sender.sent[-1][1].kind == "escalate"  # nothing more was posted into the case's thread


async def test_the_other_agency_has_no_part_in_surreys_internal_stage_1(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    ref = (await world.open_case()).case_ref
    before = await world.case(ref)
    (reply,) = await world.person(PRIYA).say(f"escalate {ref}")
    assert reply.kind == "refused"
    assert await world.case(ref) == before


@pytest.mark.parametrize("policy_id", [pid for pid, p in POLICIES.items() if not p.extension.allowed])
async def test_extend_is_refused_in_the_procedures_own_words(store, all_policies, clock, policy_id):
    policy = all_policies[policy_id]
    world = World(store, {policy_id: policy}, clock)
    ref = (await world.open_case()).case_ref
    before = await world.case(ref)
    (reply,) = await world.person(JORDAN).say(f"extend {ref}")
    assert reply.kind == "refused" and reply.question is None
    assert f'In its own words: "{policy.extension.wording}" ({policy.extension.cite})' in reply.text
    # Nor through a form.
    (clicked,) = await world.click(JORDAN, "extend", ref, 1, {
        "new_due": "2026-12-31", "agreed_here": "Lena Okafor", "agreed_other": "Priya Nair", "reason": "Leave"})
    assert clicked.kind == "refused" and policy.extension.wording in clicked.text
    assert await world.case(ref) == before
    # No dialog was left waiting: the next message is understood as a command.
    (status,) = await world.person(JORDAN).say(f"status {ref}")
    assert status.case_ref == ref and status.kind == "message"


async def test_lincolnshire_says_in_its_own_voice_that_its_steps_have_no_timescale(store, all_policies, clock):
    """LSCB's steps carry no timescales; saying so is the bot's sentence, never inside the procedure's quotation."""
    policy = all_policies["lincolnshire"]
    world = World(store, {"lincolnshire": policy}, clock)
    ref = (await world.open_case()).case_ref
    (reply,) = await world.person(JORDAN).say(f"extend {ref}")
    assert reply.text.startswith(f"{ref}: Step 1: Discussion amongst frontline professionals has no timescale in "
                                 "this procedure, so there is no date to change. In its own words: \"Individual "
                                 "agencies are responsible for ensuring completion of recommendations/planned actions")
    assert "sets no timescales" not in reply.text


async def test_gloucestershire_extension_by_agreement_at_stages_1_to_3_but_not_4(store, all_policies, clock):
    policy = all_policies["gloucestershire"]
    world = World(store, {"gloucestershire": policy}, clock)
    world.set_time(at(2026, 12, 18))  # Friday 18 December 2026
    ref = (await world.open_case(arose_on="2026-12-17")).case_ref
    case = await world.case(ref)
    assert case["stage_due"] == "2026-12-24"  # 5 working days from Thu 17 Dec

    world.set_time(at(2026, 12, 21))  # Monday 21 December
    jordan = world.person(JORDAN)
    (asked,) = await jordan.say(f"extend {ref}")
    assert asked.question.id == "new_due" and "both agencies" in asked.question.prompt
    assert "(a working day after today: YYYY-MM-DD or DD/MM/YYYY)" in render_question(asked.question)
    assert "today or yesterday" not in render_question(asked.question)
    # A date is checked when it is given: the question is asked again, with the reason, and the dialog goes on.
    (again,) = await jordan.say("2026-12-18")  # in the past
    assert again.kind == "invalid" and again.question.id == "new_due"
    assert again.text == "The new date must be after today (Monday 21 December 2026)."
    (again,) = await jordan.say("today")
    assert again.kind == "invalid" and again.question.id == "new_due"
    # Boxing Day observed is not a working day: the bot offers the next one.
    (again,) = await jordan.say("2026-12-28")
    assert again.kind == "invalid" and again.question.id == "new_due"
    assert again.text == ("Monday 28 December 2026 is Boxing Day (observed), not a working day; choose Tuesday "
                          "29 December 2026 or another working day.")
    (asked,) = await jordan.say("2026-12-29")
    assert asked.question.id == "agreed_here" and "your agency" in asked.question.prompt
    (back,) = await jordan.say("back")  # a change of mind: back to the date, keeping nothing wrong
    assert back.question.id == "new_due"
    (asked,) = await jordan.say("2026-12-31")
    assert asked.question.id == "agreed_here"
    (asked,) = await jordan.say("Lena Okafor, Team Manager")
    assert asked.question.id == "agreed_other" and "other agency" in asked.question.prompt
    (asked,) = await jordan.say("Priya Nair, DS")
    assert asked.question.id == "reason"
    assert (await world.case(ref))["stage_due"] == "2026-12-24"
    # A form is checked the same way, the problem shown on its field, and nothing stored.
    (shown,) = await world.click(LENA, "extend", ref, 1, {
        "new_due": "2026-12-25", "agreed_here": "Lena Okafor", "agreed_other": "Priya Nair", "reason": "Leave"})
    assert shown.kind == "invalid" and set(shown.errors) == {"new_due"}
    assert shown.errors["new_due"].startswith("Friday 25 December 2026 is Christmas Day, not a working day")
    assert (await world.case(ref))["stage_due"] == "2026-12-24"
    (cancelled,) = await jordan.say("cancel")
    assert cancelled.text == f"Cancelled. {ref} was not changed."

    # An empty name is asked again: both sides must be named.
    (asked,) = await jordan.say(f"extend {ref}")
    await jordan.say("2026-12-31")
    (again,) = await jordan.say("  ")
    assert again.kind == "invalid" and again.question.id == "agreed_here"
    await jordan.say("Lena Okafor, Team Manager")
    await jordan.say("Priya Nair, DS")
    (moved,) = await jordan.say("School input needed.")
    assert moved.kind == "extend" and moved.stage == 1
    assert "is now due by Thursday 31 December 2026, as both agencies agreed (GSCP 2.1 d, 2.2 g, 2.3 h)" in moved.text
    # Status gives the agreed date alone: the procedure's "within 5 working days" no longer applies beside it.
    (status,) = await jordan.say(f"status {ref}")
    assert ("Stage 1: Discuss with the other worker, due by Thursday 31 December 2026 as both agencies agreed "
            "(GSCP 2.1 d, 2.2 g, 2.3 h).") in status.text
    assert "working days" not in status.text and "whichever is less" not in status.text
    assert "Priya Nair" not in moved.text  # typed: kept on the case (below), never repeated in chat
    case = await world.case(ref)
    assert case["stage_due"] == "2026-12-31" and case["stages"][-1]["due"] == "2026-12-31"
    (record,) = case["extensions"]
    assert record == {**record, "stage": 1, "old_due": "2026-12-24", "new_due": "2026-12-31",
                      "agreed_here": "Lena Okafor, Team Manager", "agreed_other": "Priya Nair, DS",
                      "reason": "School input needed."}
    assert len(events(case, "extended")) == 1
    # The same extension sent again (a second form opened from the same reminder): refused, nothing changes.
    form = {"new_due": "2026-12-31", "agreed_here": "Lena Okafor, Team Manager", "agreed_other": "Priya Nair, DS",
            "reason": "School input needed."}
    (twice,) = await world.click(LENA, "extend", ref, 1, form, event_id="slack-view:V2")
    assert twice.kind == "refused" and "was already extended to Thursday 31 December 2026" in twice.text
    assert await world.case(ref) == case
    # The nudges move with the due date: the old ladder is cancelled, the new one is pending.
    assert nudge_status(case) == {
        "1:before:2026-12-23": "cancelled", "1:due:2026-12-24": "cancelled", "1:overdue:2026-12-29": "cancelled",
        "1:lead:2027-01-05": "cancelled",
        "1:before:2026-12-30": "pending", "1:due:2026-12-31": "pending", "1:overdue:2027-01-04": "pending",
        "1:lead:2027-01-08": "pending",  # (5 working days after the new date: the leads told, if still overdue)
    }
    assert await world.tick(at(2026, 12, 23, 9)) == []
    assert await world.tick(at(2026, 12, 24, 9)) == []
    (before,) = await world.tick(at(2026, 12, 30, 9))
    assert before.kind == "before" and "due tomorrow, Thursday 31 December 2026" in before.text

    # Stages 2 and 3 can be extended too (by either side's people); Stage 4 cannot.
    await world.escalate(CHRIS, ref)
    moved = await world.act(PRIYA, "extend", ref, "2027-01-08", "Lena Okafor", "Priya Nair", "Annual leave.")
    assert moved.kind == "extend" and (await world.case(ref))["stage_due"] == "2027-01-08"
    await world.escalate(LENA, ref)
    moved = await world.act(LENA, "extend", ref, "2027-01-15", "David Hughes", "Sam Patel", "Awaiting a report.")
    assert moved.kind == "extend" and (await world.case(ref))["stage_due"] == "2027-01-15"
    await world.escalate(LENA, ref)
    before_case = await world.case(ref)
    (refused,) = await jordan.say(f"extend {ref}")
    assert refused.kind == "refused"
    assert "allows an agreed new date only at Stages 1, 2 and 3 (GSCP 2.1 d, 2.2 g, 2.3 h)" in refused.text
    assert "the timescale of Stage 4: Resolution by GSCP stands (GSCP 2.4" in refused.text
    assert policy.extension.wording not in refused.text  # its "unless agreed otherwise" does not apply at Stage 4
    assert await world.case(ref) == before_case


@pytest.mark.parametrize("policy_id", POLICY_IDS)
async def test_there_is_no_stage_after_the_final_one(store, all_policies, clock, policy_id):
    policy = all_policies[policy_id]
    world = World(store, {policy_id: policy}, clock)
    ref = (await world.open_case()).case_ref
    for _ in policy.stages[1:]:
        assert (await world.escalate(JORDAN, ref)).kind == "escalate"
    before = await world.case(ref)
    assert before["stage"] == policy.last_stage.number
    reply = await world.escalate(RUTH, ref)
    assert reply.kind == "refused"
    assert "already at the final stage" in reply.text and "Record its decision with resolve" in reply.text
    assert await world.case(ref) == before
    (clicked,) = await world.click(KIM, "escalate", ref, before["stage"], {"reason": "Still unresolved."})
    assert clicked.kind == "refused" and "already at the final stage" in clicked.text
    assert await world.case(ref) == before


async def test_a_resolution_needs_its_written_outcome(store, all_policies, clock):
    world = World(store, {"bcssp": all_policies["bcssp"]}, clock)
    ref = (await world.open_case()).case_ref
    lena = world.person(LENA)
    (asked,) = await lena.say(f"resolve {ref}")
    assert asked.question.id == "outcome"
    for empty in ("", "   ", "skip"):
        (again,) = await lena.say(empty)
        assert again.kind == "invalid" and again.question.id == "outcome", empty
        assert "needs an answer" in again.text
    (asked,) = await lena.say("Agreed a strategy discussion.")
    assert asked.question.id == "follow_up"
    (again,) = await lena.say("")
    assert again.kind == "invalid" and again.question.id == "follow_up"
    assert (await world.case(ref))["status"] == "open"
    (done,) = await lena.say("Lena checks on Friday.")
    assert done.kind == "resolve"


async def test_a_resolution_form_without_its_outcome_is_sent_back(store, all_policies, clock):
    world = World(store, {"medway": all_policies["medway"]}, clock)
    ref = (await world.open_case()).case_ref
    before = await world.case(ref)
    (reply,) = await world.click(LENA, "resolve", ref, 1, {"outcome": "  ", "follow_up": ""})
    assert set(reply.errors) == {"outcome", "follow_up"}
    assert reply.form is not None and [q.id for q in reply.form.questions] == ["outcome", "follow_up"]
    assert await world.case(ref) == before


async def test_cancel_leaves_the_case_as_it_was(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    ref = (await world.open_case()).case_ref
    before = await world.case(ref)
    lena = world.person(LENA)
    await lena.say(f"escalate {ref}")
    (reply,) = await lena.say("cancel")
    assert reply.text == f"Cancelled. {ref} was not changed."
    assert await world.case(ref) == before


@pytest.mark.parametrize("form", [{}, {"outcome": "Agreed.", "follow_up": "None."}], ids=["empty", "filled"])
async def test_a_strangers_form_does_not_reveal_that_a_case_exists(store, all_policies, clock, form):
    world = World(store, {"gloucestershire": all_policies["gloucestershire"]}, clock)
    ref = (await world.open_case()).case_ref
    before = await world.case(ref)
    (real,) = await world.click(EMMA, "resolve", ref, 1, form)
    (missing,) = await world.click(EMMA, "resolve", "ESC-2026-0999", 1, form)
    assert missing.kind == "refused"
    assert real.kind == "refused" and real.form is None and real.errors == {}
    assert real.text == missing.text.replace("ESC-2026-0999", ref)
    assert await world.case(ref) == before


async def test_an_unknown_form_action_is_refused_and_changes_nothing(store, all_policies, clock):
    world = World(store, {"gloucestershire": all_policies["gloucestershire"]}, clock)
    ref = (await world.open_case()).case_ref
    before = await world.case(ref)
    form = {"new_due": "2026-12-04", "agreed_here": "Lena Okafor", "agreed_other": "Priya Nair", "reason": "x"}
    (reply,) = await world.click(JORDAN, "delete", ref, 1, form)
    assert reply.kind == "refused", reply.text
    assert await world.case(ref) == before


async def test_someone_else_in_the_other_agency_has_no_part_in_the_case(store, all_policies, clock):
    """Seniority in the other agency is not enough: only the named professional's own line may see or act."""
    world = World(store, {"bcssp": all_policies["bcssp"]}, clock)
    ref = (await world.open_case()).case_ref  # the disagreement is with Chris Walker (police DC)
    before = await world.case(ref)
    lucy = world.person(LUCY)  # a DC in another police team, with her own line manager
    for command in (f"status {ref}", f"resolve {ref}", f"record {ref}"):
        (reply,) = await lucy.say(command)
        assert reply.kind == "refused" and reply.attachment is None, command
        assert "Northshire Police" not in reply.text and "Stage" not in reply.text
    (refused,) = await world.click(LUCY, "resolve", ref, 1, {"outcome": "x", "follow_up": "y"})
    assert refused.kind == "refused"
    assert await world.case(ref) == before
    (mine,) = await world.person(CHRIS).say(f"status {ref}")  # the named professional still may
    assert "Stage 1" in mine.text


async def test_a_command_typed_mid_dialog_is_never_taken_as_an_answer(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    ref = (await world.open_case()).case_ref
    lena = world.person(LENA)
    (asked,) = await lena.say(f"escalate {ref}")
    assert asked.question.id == "reason"
    # a command that answers at once is done, and the question asked again
    status, again = await lena.say(f"status {ref}")
    assert "Stage 1" in status.text and again.question.id == "reason"
    # one with questions of its own waits: nothing is escalated with it as the reason
    (held,) = await lena.say(f"resolve {ref}")
    assert held.kind == "invalid" and "type cancel" in held.text and held.question.id == "reason"
    case = await world.case(ref)
    assert case["stage"] == 1 and not events(case, "escalated")
    (done,) = await lena.say("No reply from the police after two days.")
    assert done.kind == "escalate" and (await world.case(ref))["stages"][0]["reason"].startswith("No reply")


async def test_a_duty_number_in_unicode_digits_is_asked_again_not_an_error(store, all_policies, clock):
    world = World(store, {"bcssp": all_policies["bcssp"]}, clock)
    ref = (await world.open_case()).case_ref
    (reply,) = await world.person(JORDAN).say(f"done {ref} ²")
    assert "Which duty?" in reply.text
