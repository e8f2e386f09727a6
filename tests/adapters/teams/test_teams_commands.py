"""Commands in Teams (status, help, summary; @mentions in channels), installs, and activities from the real fixtures."""

from __future__ import annotations

import time

from teams_server import TeamsHarness, inputs, no_child_identifiers, teams_bot, teams_bot_dm  # noqa: F401
from teams_support import (
    BEN,
    BOT,
    JORDAN,
    SAM,
    STRANGER,
    TALK_CHANNEL,
    channel_message,
    execute_invoke,
    fixture,
    install,
    new_id,
    personal_chat,
    team_update,
)

THREAD = f"{TALK_CHANNEL};messageid=1759881511856"


async def test_status_in_a_channel_is_answered_where_asked_and_only_for_people_on_the_case(teams_bot: TeamsHarness):
    case = await teams_bot.open_case()
    (answer,) = await teams_bot.deliver(channel_message(SAM, f"status {case['ref']}", teams_bot.connector))
    assert answer.conversation == THREAD
    assert case["ref"] in answer.text and "Stage 1" in answer.text
    assert [b["title"] for b in answer.card["actions"]] == ["Resolve", "Escalate"]  # type: ignore[index]
    (refused,) = await teams_bot.deliver(channel_message(BEN, f"status {case['ref']}", teams_bot.connector))
    assert refused.conversation == THREAD and "cannot find a case" in refused.text
    assert case["ref"] not in refused.text.replace(f"case {case['ref']} that", "")  # says nothing about it
    channel = await teams_bot.store.get("teams_refs", TALK_CHANNEL)  # the channel is remembered too
    assert channel["conversation"]["id"] == TALK_CHANNEL
    no_child_identifiers(teams_bot.fake)


async def test_help_and_summary_in_a_personal_chat_and_when_mentioned_in_a_channel(teams_bot: TeamsHarness):
    (helped,) = await teams_bot.say(JORDAN, "help")
    assert "escalate" in helped.text and "status REF" in helped.text and "999" in helped.text
    (summary,) = await teams_bot.deliver(channel_message(SAM, "summary", teams_bot.connector))
    assert summary.conversation == THREAD and "Weekly escalation summary" in summary.text
    images = [a for a in summary.body.get("attachments", []) if a.get("contentType") == "image/png"]
    assert len(images) == 1 and images[0]["contentUrl"].startswith("data:image/png;base64,")
    (refused,) = await teams_bot.deliver(channel_message(BEN, "summary", teams_bot.connector))
    assert "for safeguarding leads" in refused.text
    (mentioned,) = await teams_bot.deliver(channel_message(SAM, "help", teams_bot.connector))
    assert mentioned.conversation == THREAD and "@mention me" in mentioned.text
    (puzzled,) = await teams_bot.say(JORDAN, "what is this")
    assert "did not understand" in puzzled.text


async def test_resolve_ref_typed_in_a_chat_offers_the_action_card(teams_bot: TeamsHarness):
    case = await teams_bot.open_case()
    (card,) = await teams_bot.say(JORDAN, f"resolve {case['ref']}")
    assert [i["id"] for i in inputs(card.card or {})] == ["outcome", "follow_up"]
    (refused,) = await teams_bot.say(BEN, f"resolve {case['ref']}")
    assert "cannot find a case" in refused.text and not refused.card


async def test_escalate_in_a_channel_sends_the_form_to_the_personal_chat(teams_bot: TeamsHarness):
    await teams_bot.say(JORDAN, "help")  # the bot has met Jordan in a personal chat
    calls = await teams_bot.deliver(channel_message(JORDAN, "escalate", teams_bot.connector))
    form, said = calls
    assert form.conversation == personal_chat(JORDAN) and [i["id"] for i in inputs(form.card or {})] == [
        "immediate_risk"]
    assert said.conversation == THREAD and "personal chat" in said.text and not said.card

    # Someone the bot has never met privately: it opens the personal chat first.
    calls = await teams_bot.deliver(channel_message(STRANGER, "escalate", teams_bot.connector))
    create, form, said = calls
    assert create.method == "create" and create.body["members"] == [{"id": STRANGER[0]}]
    assert create.body["isGroup"] is False and create.body["bot"]["id"] == BOT["id"]
    assert form.conversation == personal_chat(STRANGER) and form.card is not None
    assert said.conversation == THREAD


async def test_when_the_private_chat_cannot_be_opened_the_channel_is_told_how_to_start(teams_bot: TeamsHarness):
    teams_bot.fake.fail["create"] = 403
    calls = await teams_bot.deliver(channel_message(STRANGER, "escalate", teams_bot.connector))
    assert [c.method for c in calls] == ["create", "reply"]
    assert calls[1].conversation == THREAD and "Open a chat with me" in calls[1].text
    assert not calls[1].card  # no form in the channel


async def test_installation_stores_the_reference_and_says_hello_once(teams_bot: TeamsHarness):
    user = ("29:new-colleague", "New Colleague")
    calls = await teams_bot.deliver(install(user, teams_bot.connector))
    assert len(calls) == 1 and calls[0].conversation == personal_chat(user) and "escalate" in calls[0].text
    stored = await teams_bot.store.get("teams_refs", personal_chat(user))
    assert stored["serviceUrl"] == teams_bot.connector and stored["user"]["id"] == user[0]
    assert await teams_bot.deliver(install(user, teams_bot.connector, "conversationUpdate")) == []


async def test_being_added_to_a_team_stores_the_channel_and_posts_nothing(teams_bot: TeamsHarness):
    assert await teams_bot.deliver(team_update(teams_bot.connector)) == []
    stored = await teams_bot.store.get("teams_refs", TALK_CHANNEL)
    assert stored["conversation"]["id"] == TALK_CHANNEL and stored["bot"]["id"] == BOT["id"]


async def test_an_action_execute_invoke_gets_a_200_not_botbuilders_500(teams_bot: TeamsHarness):
    status, body = await teams_bot.post(execute_invoke(teams_bot.connector))
    assert status == 200 and "out of date" in body
    assert teams_bot.fake.calls == []


async def test_the_docs_channel_mention_fixture_without_an_id_is_answered(teams_bot: TeamsHarness):
    activity = fixture("teams_channel_message_mention_docs.json")
    activity["serviceUrl"] = teams_bot.connector
    (reply,) = await teams_bot.deliver(activity)
    assert "did not understand" in reply.text


async def test_a_typed_message_with_the_same_id_is_answered_once(teams_bot: TeamsHarness):
    message = channel_message(SAM, "help", teams_bot.connector)
    assert len(await teams_bot.deliver(message)) == 1
    assert await teams_bot.deliver(message) == []
    message["id"] = new_id()
    assert len(await teams_bot.deliver(message)) == 1


async def test_a_crafted_card_value_gets_a_plain_answer(teams_bot: TeamsHarness):
    from teams_support import card_submit

    for value in ({"_action": ["resolve"]}, {"_form": {"x": 1}}, {"_form": "intake", "policy": "nowhere"},
                  {"_form": "action", "_act": "delete", "_ref": "ESC-2026-0001"}, {"anything": "else"}):
        (told,) = await teams_bot.deliver(card_submit(JORDAN, value, teams_bot.connector, personal_chat(JORDAN), "1"))
        assert "out of date" in told.text
    assert await teams_bot.store.scan("cases") == []


async def test_the_bot_framework_emulator_shape_works_too(teams_bot_dm: TeamsHarness):
    """The Emulator sends channelId "emulator", no conversationType and no tenant: it is treated as a personal chat."""
    from teams_server import ANSWERS, submit_data
    from teams_support import card_submit, personal_message

    def emulator(activity: dict) -> dict:
        activity.update(channelId="emulator", conversation={"id": "5f3c0d10-livechat|livechat"})
        activity.pop("channelData", None)
        return activity

    user = ("8d2f-emulator-user", "User")
    (start,) = await teams_bot_dm.deliver(emulator(personal_message(user, "escalate", teams_bot_dm.connector)))
    assert start.card is not None and start.conversation == "5f3c0d10-livechat|livechat"
    calls = await teams_bot_dm.deliver(emulator(card_submit(
        user, {**submit_data(start.card), "immediate_risk": "no"}, teams_bot_dm.connector, "x", start.given)))
    (intake,) = [c for c in calls if c.card and inputs(c.card)]
    answers = {**ANSWERS, "raiser_agency": "Northshire Police", "raiser_role": "DC", "raiser_manager": "Priya Nair"}
    calls = await teams_bot_dm.deliver(emulator(card_submit(
        user, {**submit_data(intake.card or {}), **answers}, teams_bot_dm.connector, "x", intake.given)))
    ((_ref, case),) = await teams_bot_dm.store.scan("cases")
    assert case["thread"]["conversation"] == "5f3c0d10-livechat|livechat"
    assert any("is open" in c.text for c in calls)


async def test_a_personal_chat_that_hangs_does_not_hold_the_channel_request(teams_bot: TeamsHarness, monkeypatch):
    from adapters.teams import answers

    monkeypatch.setattr(answers, "REPLY_SECONDS", 0.3)
    await teams_bot.say(JORDAN, "help")
    teams_bot.fake.hang[personal_chat(JORDAN)] = 3.0
    began = time.monotonic()
    status, _ = await teams_bot.post(channel_message(JORDAN, "escalate", teams_bot.connector))
    assert status == 200 and time.monotonic() - began < 2.0  # answered long before the personal chat did
    (said,) = [c for c in teams_bot.fake.calls if c.conversation == THREAD and c.text]
    assert "slow to answer" in said.text and "type escalate there" in said.text
