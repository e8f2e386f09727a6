"""End to end over HTTP: "escalate" in a Teams personal chat through the Adaptive Card form to a case thread."""

from __future__ import annotations

import json

from conftest import CHILD_NAME
from teams_server import (  # noqa: F401  (fixtures)
    ANSWERS,
    TeamsHarness,
    inputs,
    no_child_identifiers,
    submit_data,
    teams_bot,
    teams_bot_dm,
)
from teams_support import CASES_CHANNEL, JORDAN, STRANGER, personal_chat, personal_message

from dialogs.intake import ordered_questions


def error_under(card: dict, field_id: str) -> str:
    """The red problem text right under an input (within the body or a container)."""
    for items in [card["body"], *[i.get("items", []) for i in card["body"]]]:
        ids = [i.get("id") for i in items]
        if field_id in ids:
            after = items[ids.index(field_id) + 1:]
            marked = [i for i in after[:2] if i.get("color") == "Attention"]
            return marked[0]["text"] if marked else ""
    raise AssertionError(f"no input {field_id}")


async def test_escalate_in_a_personal_chat_answers_with_the_start_card(teams_bot: TeamsHarness):
    message = personal_message(JORDAN, "escalate", teams_bot.connector)
    (reply,) = await teams_bot.deliver(message)
    assert reply.method == "reply" and reply.conversation == personal_chat(JORDAN)
    assert reply.activity_id == message["id"]
    card = reply.card
    assert card is not None and card["type"] == "AdaptiveCard"
    assert [i["id"] for i in inputs(card)] == ["immediate_risk"]  # the immediate-harm question first
    assert [c["value"] for c in inputs(card)[0]["choices"]] == ["yes", "no"]
    (button,) = card["actions"]
    assert button["type"] == "Action.Submit" and button["data"]["_form"] == "start"
    assert "999" in json.dumps(card)
    (slash,) = await teams_bot.say(JORDAN, "/escalate")
    assert slash.card is not None and [i["id"] for i in inputs(slash.card)] == ["immediate_risk"]


async def test_yes_to_immediate_risk_gives_the_emergency_route_and_records_it(teams_bot: TeamsHarness):
    start = await teams_bot.start_card()
    assert start.card is not None
    calls = await teams_bot.submit(JORDAN, personal_chat(JORDAN), start,
                                   {**submit_data(start.card), "immediate_risk": "yes"})
    (update,) = [c for c in calls if c.method == "update"]
    assert update.activity_id == start.given and update.card is not None and "actions" not in update.card
    (told,) = [c for c in calls if c.method == "reply"]
    route = teams_bot.core.policies["surrey"].immediate_harm.route
    assert route.split(".")[0] in told.text and "ESC-2026-0001" in told.text
    case = await teams_bot.store.get("cases", "ESC-2026-0001")
    assert case["status"] == "immediate_harm"


async def test_no_shows_the_stage_1_questions_from_the_same_question_data(teams_bot: TeamsHarness):
    intake = await teams_bot.intake_card()
    card = intake.card
    assert card is not None
    policy = teams_bot.core.policies["surrey"]
    expected = [q.id for q in ordered_questions(policy) if q.id != "immediate_risk"]
    assert [i["id"] for i in inputs(card)] == expected
    (container,) = [b for b in card["body"] if b.get("type") == "Container"]
    assert container["items"][0]["text"] == "For the written record only — never shown in chat"
    sensitive = [i["id"] for i in inputs({"body": container["items"]})]
    assert sensitive == [q.id for q in policy.questions if q.sensitive]
    kinds = {i["id"]: i["type"] for i in inputs(card)}
    assert kinds["arose_on"] == "Input.Date" and kinds["category"] == "Input.ChoiceSet"
    assert kinds["disputed"] == "Input.Text"
    (button,) = card["actions"]
    assert button["type"] == "Action.Submit" and button["data"]["_form"] == "intake"
    assert button["data"]["_policy"] == "surrey"


async def test_invalid_answers_come_back_on_the_card_with_each_problem_marked(teams_bot: TeamsHarness):
    intake = await teams_bot.intake_card()
    assert intake.card is not None
    bad = {**ANSWERS, "arose_on": "2026-12-25", "other_agency": ""}
    calls = await teams_bot.submit(JORDAN, personal_chat(JORDAN), intake, {**submit_data(intake.card), **bad})
    (again,) = calls
    assert again.method == "update" and again.activity_id == intake.given  # the same card, problems marked
    card = again.card
    assert card is not None
    assert error_under(card, "arose_on") and error_under(card, "other_agency")
    assert not error_under(card, "disputed")
    field = {i["id"]: i for i in inputs(card)}
    assert field["disputed"]["value"] == "Closed referral"  # what was typed is kept
    assert "value" not in field["child_name"] and "value" not in field["child_dob"]  # never echoed
    assert await teams_bot.store.scan("cases") == []

    calls = await teams_bot.submit(JORDAN, personal_chat(JORDAN), intake, {**submit_data(card), **ANSWERS})
    case = await teams_bot.store.get("cases", "ESC-2026-0001")
    assert case is not None and case["status"] == "open"
    no_child_identifiers(teams_bot.fake)


async def test_an_impossible_date_of_birth_is_marked_on_the_card_without_repeating_it(teams_bot: TeamsHarness):
    intake = await teams_bot.intake_card()
    assert intake.card is not None
    calls = await teams_bot.submit(JORDAN, personal_chat(JORDAN), intake,
                                   {**submit_data(intake.card), **ANSWERS, "child_dob": "30/02/2015"})
    (again,) = calls
    problem = error_under(again.card or {}, "child_dob")
    assert "not a real date" in problem
    assert "30/02/2015" not in teams_bot.fake.everything() and "2015" not in problem
    assert await teams_bot.store.scan("cases") == []
    no_child_identifiers(teams_bot.fake)


async def test_a_valid_form_opens_the_case_with_a_thread_in_the_cases_channel(teams_bot: TeamsHarness):
    intake = await teams_bot.intake_card()
    assert intake.card is not None
    calls = await teams_bot.submit(JORDAN, personal_chat(JORDAN), intake, {**submit_data(intake.card), **ANSWERS})
    (create,) = [c for c in calls if c.method == "create"]
    assert create.body["channelData"]["channel"]["id"] == CASES_CHANNEL and create.body["isGroup"] is True
    root = create.text
    assert "ESC-2026-0001" in root and "Stage 1" in root and "Wednesday 25 November 2026" in root
    assert "Lena Okafor" in root
    case = await teams_bot.store.get("cases", "ESC-2026-0001")
    thread = f"{CASES_CHANNEL};messageid={create.given}"
    assert case["thread"] == {"channel": "teams", "conversation": thread, "thread": ""}
    assert case["child"]["child_name"] == CHILD_NAME  # kept for the written record only
    (sent_form,) = [c for c in calls if c.method == "update"]
    assert sent_form.activity_id == intake.given and not inputs(sent_form.card or {})  # the answers are gone
    (told,) = [c for c in calls if c.method == "reply"]
    assert told.conversation == personal_chat(JORDAN)
    assert "Case ESC-2026-0001 is open" in told.text and "cases channel" in told.text
    stored = await teams_bot.store.get("teams_refs", thread)
    assert stored["conversation"]["id"] == thread and stored["serviceUrl"] == teams_bot.connector
    no_child_identifiers(teams_bot.fake)


async def test_without_a_cases_channel_the_personal_chat_is_the_case_thread(teams_bot_dm: TeamsHarness):
    case = await teams_bot_dm.open_case()
    chat = personal_chat(JORDAN)
    assert case["thread"] == {"channel": "teams", "conversation": chat, "thread": ""}
    assert not [c for c in teams_bot_dm.fake.calls if c.method == "create"]
    texts = [c.text for c in teams_bot_dm.fake.posted(chat)]
    (root,) = [t for t in texts if "Who must act: Lena Okafor" in t]
    assert "ESC-2026-0001" in root and "Wednesday 25 November 2026" in root
    assert "your private chat with me" in texts[-1]
    no_child_identifiers(teams_bot_dm.fake)


async def test_a_repeated_activity_id_has_no_second_effect(teams_bot: TeamsHarness):
    message = personal_message(JORDAN, "escalate", teams_bot.connector)
    assert len(await teams_bot.deliver(message)) == 1
    assert await teams_bot.deliver(message) == []  # Teams retrying: no second reply
    markers = [doc for _, doc in await teams_bot.store.scan("teams_marks")]
    assert markers and all(doc["at"] == teams_bot.clock.now().isoformat() for doc in markers)  # so they can expire

    intake = await teams_bot.intake_card()
    assert intake.card is not None
    from teams_support import card_submit

    submit = card_submit(JORDAN, {**submit_data(intake.card), **ANSWERS}, teams_bot.connector,
                         personal_chat(JORDAN), intake.given)
    first = await teams_bot.deliver(submit)
    assert [c.method for c in first].count("create") == 1
    before = teams_bot.snapshot()
    assert await teams_bot.deliver(submit) == []  # the same activity again
    assert teams_bot.snapshot() == before

    again = card_submit(JORDAN, {**submit_data(intake.card), **ANSWERS}, teams_bot.connector,
                        personal_chat(JORDAN), intake.given)  # a second click on the same card: a new activity id
    (told,) = await teams_bot.deliver(again)
    assert "already sent" in told.text
    assert [k for k, _ in await teams_bot.store.scan("cases")] == ["ESC-2026-0001"]


async def test_someone_not_in_the_directory_is_asked_who_they_are(teams_bot: TeamsHarness):
    intake = await teams_bot.intake_card(STRANGER)
    ids = [i["id"] for i in inputs(intake.card or {})]
    assert ids[:4] == ["raiser_agency", "raiser_role", "raiser_manager", "arose_on"]


async def test_the_same_submit_delivered_twice_at_once_opens_one_case(teams_bot: TeamsHarness):
    import asyncio

    from teams_support import card_submit

    intake = await teams_bot.intake_card()
    submit = card_submit(JORDAN, {**submit_data(intake.card or {}), **ANSWERS}, teams_bot.connector,
                         personal_chat(JORDAN), intake.given)
    results = await asyncio.gather(teams_bot.post(submit), teams_bot.post(submit))
    assert [status for status, _ in results] == [200, 200]
    assert [k for k, _ in await teams_bot.store.scan("cases")] == ["ESC-2026-0001"]
    assert len([c for c in teams_bot.fake.calls if c.method == "create"]) == 1
