"""Personal chat or not, when Teams leaves conversationType out (both channel payloads in Microsoft's docs do): forms
and records never go into a channel or group chat; and a message that names no sender is ignored politely."""

from __future__ import annotations

from typing import Any

import pytest
from botbuilder.schema import Activity
from teams_server import TeamsHarness, teams_bot  # noqa: F401
from teams_support import JORDAN, TALK_CHANNEL, channel_message, fixture, personal_chat, personal_message

from adapters.teams.references import conversation_type

CONSENT = "application/vnd.microsoft.teams.card.file.consent"
THREAD = f"{TALK_CHANNEL};messageid=1759881511856"


def untyped(activity: dict[str, Any]) -> dict[str, Any]:
    activity["conversation"].pop("conversationType", None)
    activity["conversation"].pop("isGroup", None)
    return activity


def kind(payload: dict[str, Any]) -> str:
    return conversation_type(Activity().deserialize(payload))


@pytest.mark.parametrize(("name", "expected"), [
    ("teams_personal_message.json", "personal"),
    ("teams_personal_invoke_adaptivecard_action_execute.json", "personal"),
    ("teams_channel_message_mention_with_channeldata.json", "channel"),
    ("teams_channel_card_submit_messageback_with_value.json", "channel"),  # no conversationType
    ("teams_channel_message_mention_docs.json", "channel"),  # no conversationType, no channelData
])
def test_the_real_payloads_are_read_as_the_conversations_they_came_from(name, expected):
    assert kind(fixture(name)) == expected


def test_without_a_conversation_type_only_a_personal_chat_id_is_personal():
    group = {"type": "message", "channelId": "msteams", "conversation": {"id": "19:abc@thread.v2"}}
    assert kind(group) == "groupChat"
    claimed = {**group, "conversation": {"id": "19:abc@thread.v2", "conversationType": "personal"}}
    assert kind(claimed) == "groupChat"  # a 19: id is never a personal chat, whatever the payload says
    channel = {**group, "conversation": {"id": "19:abc@thread.tacv2"}, "channelData": {"team": {"id": "19:t"}}}
    assert kind(channel) == "channel"
    assert kind({**group, "conversation": {"id": "a:1xyz"}}) == "personal"
    assert kind({**group, "conversation": {"id": "a:1xyz", "isGroup": True}}) == "groupChat"
    assert kind({**group, "conversation": {"id": "something-else"}}) == "groupChat"
    emulator = {"type": "message", "channelId": "emulator", "conversation": {"id": "3b9ffa40-0c4b|livechat"}}
    assert kind(emulator) == "personal"


def cards_in(calls: list, conversation: str) -> list:
    return [c for c in calls if c.conversation == conversation and (c.card or c.body.get("attachments"))]


async def test_escalate_in_a_channel_without_a_conversation_type_sends_the_form_only_to_the_personal_chat(
        teams_bot: TeamsHarness):
    # Microsoft's own channel card-submit payload first: it must not be remembered as Jordan's personal chat.
    submit = fixture("teams_channel_card_submit_messageback_with_value.json")
    submit.update(serviceUrl=teams_bot.connector, **{"from": {"id": JORDAN[0], "name": JORDAN[1]}})
    await teams_bot.deliver(submit)
    assert await teams_bot.store.get("teams_users", JORDAN[0]) is None

    calls = await teams_bot.deliver(untyped(channel_message(JORDAN, "escalate", teams_bot.connector)))
    assert not cards_in(calls, THREAD) and not cards_in(calls, submit["conversation"]["id"])
    (said,) = [c for c in calls if c.conversation == THREAD]
    assert "in our personal chat" in said.text
    (form,) = [c for c in calls if c.card]
    assert form.conversation == personal_chat(JORDAN)

    docs = fixture("teams_channel_message_mention_docs.json")  # no conversationType and no channelData
    docs.update(serviceUrl=teams_bot.connector, text="<at>Escalation bot</at> escalate")
    calls = await teams_bot.deliver(docs)
    assert not cards_in(calls, docs["conversation"]["id"])
    (form,) = [c for c in calls if c.card]
    assert form.conversation == personal_chat((docs["from"]["id"], ""))


async def test_record_in_a_channel_never_sends_the_file_card_there_even_after_an_old_wrong_record(
        teams_bot: TeamsHarness):
    case = await teams_bot.open_case()
    # What the earlier version stored for a channel payload without conversationType: the channel as Jordan's
    # personal chat.
    await teams_bot.deliver(untyped(channel_message(JORDAN, "help", teams_bot.connector)))
    await teams_bot.store.put("teams_users", JORDAN[0], {"conversation": THREAD})

    calls = await teams_bot.deliver(untyped(channel_message(JORDAN, f"record {case['ref']}", teams_bot.connector)))
    assert not cards_in(calls, THREAD)
    (said,) = [c for c in calls if c.conversation == THREAD]
    assert "in our personal chat" in said.text
    (offer,) = [c for c in calls if c.body.get("attachments")]
    assert offer.conversation == personal_chat(JORDAN) and offer.body["attachments"][0]["contentType"] == CONSENT


async def test_a_channel_message_that_names_no_sender_is_ignored_politely(teams_bot: TeamsHarness, caplog):
    for message in (channel_message(JORDAN, "escalate", teams_bot.connector),
                    untyped(channel_message(JORDAN, "record ESC-2026-0001", teams_bot.connector)),
                    personal_message(JORDAN, "escalate", teams_bot.connector)):
        message.pop("from")
        assert await teams_bot.post(message) == (200, "")
    message = channel_message(JORDAN, "escalate", teams_bot.connector)
    message["from"] = {"name": "no id"}
    assert await teams_bot.post(message) == (200, "")
    assert teams_bot.fake.calls == [] and await teams_bot.store.scan("events") == []
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
