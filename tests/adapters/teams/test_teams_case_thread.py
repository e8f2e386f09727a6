"""The case thread in Teams: proactive nudges mentioning who must act, card buttons, action cards, card updates."""

from __future__ import annotations

from typing import Any

from fakes.bot_connector import Call
from teams_server import TUESDAY_9, TeamsHarness, inputs, no_child_identifiers, submit_data, teams_bot  # noqa: F401
from teams_support import BEN, JORDAN, LENA, SAM

RESOLVE = {"outcome": "Strategy discussion agreed for Thursday.", "follow_up": "Lena Okafor will check on Friday."}


async def nudged(bot: TeamsHarness) -> tuple[dict[str, Any], Call]:
    """Open a case, run the scheduler on Tuesday 09:00; return the case and the nudge as posted."""
    case = await bot.open_case()
    sent = await bot.tick(TUESDAY_9)
    assert [(s.ref, s.kind) for s in sent] == [(case["ref"], "before")]
    (nudge,) = bot.fake.posted(case["thread"]["conversation"])
    return case, nudge


def buttons(call: Call) -> list[dict[str, Any]]:
    return list((call.card or {}).get("actions", []))


async def click(bot: TeamsHarness, user: tuple[str, str], action: str, nudge: Call, thread: str) -> list[Call]:
    """A click on the nudge's button for `action` (built like the others if the nudge does not offer it)."""
    found = [b for b in buttons(nudge) if b["data"]["_action"] == action]
    data = dict(found[0]["data"] if found else {**buttons(nudge)[0]["data"], "_action": action})
    return await bot.submit(user, thread, nudge, data)


async def action_card(bot: TeamsHarness, user: tuple[str, str], action: str, nudge: Call, thread: str) -> Call:
    calls = await click(bot, user, action, nudge, thread)
    (card,) = calls
    assert card.conversation == thread and card.card is not None
    return card


async def test_the_nudge_is_a_proactive_card_in_the_thread_mentioning_who_must_act(teams_bot: TeamsHarness):
    case, nudge = await nudged(teams_bot)
    thread = case["thread"]["conversation"]
    assert nudge.conversation == thread and nudge.method == "reply"  # continue_conversation into the thread
    card = nudge.card
    assert card is not None
    mention = {"type": "mention", "text": f"<at>{LENA[1]}</at>", "mentioned": {"id": LENA[0], "name": LENA[1]}}
    assert card["msteams"]["entities"] == [mention]
    assert f"<at>{LENA[1]}</at>" in card["body"][0]["text"]
    assert case["ref"] in nudge.text and "due tomorrow" in nudge.text
    # Surrey does not let the agencies change the timescale, so there is no Extend button.
    assert [b["title"] for b in buttons(nudge)] == ["Resolve", "Escalate"]
    assert all(b["type"] == "Action.Submit" for b in buttons(nudge))
    assert [b["data"] for b in buttons(nudge)] == [{"_action": a, "ref": case["ref"], "stage": 1}
                                                    for a in ("resolve", "escalate")]
    assert await teams_bot.tick(TUESDAY_9) == []  # sent once
    no_child_identifiers(teams_bot.fake)


async def test_a_click_then_the_written_outcome_resolves_and_updates_the_nudge(teams_bot: TeamsHarness):
    case, nudge = await nudged(teams_bot)
    thread = case["thread"]["conversation"]
    form = await action_card(teams_bot, LENA, "resolve", nudge, thread)
    assert [i["id"] for i in inputs(form.card or {})] == ["outcome", "follow_up"]
    assert submit_data(form.card or {})["_nudge"] == nudge.given

    calls = await teams_bot.submit(LENA, thread, form, {**submit_data(form.card or {}), **RESOLVE})
    stored = await teams_bot.store.get("cases", case["ref"])
    assert stored["status"] == "resolved" and stored["outcome"]["stage"] == 1
    updates = {c.activity_id: c for c in calls if c.method == "update"}
    assert set(updates) == {form.given, nudge.given}
    done = updates[nudge.given]
    assert done.conversation == thread and done.card is not None and "actions" not in done.card
    assert "Resolved by Lena Okafor" in done.text and "due tomorrow" in done.text
    (told,) = [c for c in calls if c.method in ("send", "reply")]
    assert told.conversation == thread and "is resolved" in told.text
    assert not buttons(told)  # a resolved case offers nothing more

    before = teams_bot.snapshot()
    again = await teams_bot.submit(LENA, thread, form, {**submit_data(form.card or {}), **RESOLVE})
    assert [c.method for c in again] == ["reply"] and "already sent" in again[0].text
    assert teams_bot.snapshot() == before
    late = await click(teams_bot, SAM, "escalate", nudge, thread)  # a late click on the old nudge
    assert [c.method for c in late] == ["reply"] and not late[0].card
    assert teams_bot.snapshot() == before


async def test_the_practitioner_escalates_from_the_nudge(teams_bot: TeamsHarness):
    case, nudge = await nudged(teams_bot)
    thread = case["thread"]["conversation"]
    form = await action_card(teams_bot, JORDAN, "escalate", nudge, thread)
    calls = await teams_bot.submit(JORDAN, thread, form,
                                   {**submit_data(form.card or {}), "reason": "Still no strategy discussion."})
    stored = await teams_bot.store.get("cases", case["ref"])
    assert stored["status"] == "open" and stored["stage"] == 2
    (moved,) = [c for c in calls if c.method in ("send", "reply")]
    assert "escalated to Stage 2" in moved.text
    assert moved.card is not None and moved.card["msteams"]["entities"][0]["mentioned"]["id"] == JORDAN[0]
    assert [b["data"]["stage"] for b in buttons(moved)] and all(b["data"]["stage"] == 2 for b in buttons(moved))
    assert any("Escalated by Jordan Ellis" in c.text for c in calls if c.activity_id == nudge.given)


async def test_an_incomplete_action_card_comes_back_with_its_problems_and_changes_nothing(teams_bot: TeamsHarness):
    case, nudge = await nudged(teams_bot)
    thread = case["thread"]["conversation"]
    form = await action_card(teams_bot, LENA, "resolve", nudge, thread)
    before = teams_bot.snapshot()
    typed = "Agreed with DS Price about Tommy Jones"
    calls = await teams_bot.submit(LENA, thread, form, {**submit_data(form.card or {}), "outcome": "",
                                                        "follow_up": typed})
    (again,) = calls
    assert again.method == "update" and again.activity_id == form.given
    assert "needs an answer" in again.text and [i["id"] for i in inputs(again.card or {})] == ["outcome", "follow_up"]
    assert teams_bot.snapshot() == before
    assert typed not in str(again.card)  # the card is seen by the whole channel: what was typed is not shown back


async def test_someone_not_entitled_is_refused_and_nothing_changes(teams_bot: TeamsHarness):
    case, nudge = await nudged(teams_bot)
    thread = case["thread"]["conversation"]
    before = teams_bot.snapshot()
    calls = await click(teams_bot, BEN, "resolve", nudge, thread)
    assert [c.method for c in calls] == ["reply"]
    assert "cannot find a case" in calls[0].text and not calls[0].card
    assert teams_bot.snapshot() == before

    # Even holding an action card (copied from someone entitled), the submit is checked again.
    form = await action_card(teams_bot, LENA, "resolve", nudge, thread)
    forged = await teams_bot.submit(BEN, thread, form, {**submit_data(form.card or {}), **RESOLVE})
    assert [c.method for c in forged] == ["reply"] and "cannot find a case" in forged[0].text
    assert teams_bot.snapshot() == before
