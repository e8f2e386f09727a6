"""/escalate subcommands: status (a private answer), help, summary (leads only), record (a private file), actions.

Each answer must go to the user who typed the command (the slash command's `user_id`)."""

from __future__ import annotations

import json

from slack_server import CASES_CHANNEL, EMMA, JORDAN, LENA, SAM, slack_bot  # noqa: F401
from slack_support import button_click, slash_command


async def test_escalate_status_answers_privately(slack_bot):
    case = await slack_bot.open_case()
    response = await slack_bot.post(slash_command(JORDAN, f"status {case['ref']}"))
    assert response.status == 200
    (answer,) = await slack_bot.until(lambda: slack_bot.fake.called("chat.postEphemeral"), "the status")
    assert answer["user"] == JORDAN and answer["channel"] == CASES_CHANNEL
    assert case["ref"] in answer["text"] and "open" in answer["text"] and "Stage 1" in answer["text"]
    # someone not involved learns nothing about it
    await slack_bot.post(slash_command(EMMA, f"status {case['ref']}"))
    refusal = (await slack_bot.until(lambda: slack_bot.fake.called("chat.postEphemeral")[1:], "refusal"))[0]
    assert refusal["user"] == EMMA and "cannot find a case" in refusal["text"]
    assert "Stage 1" not in refusal["text"] and "Northshire Police" not in refusal["text"]


async def test_escalate_help_and_summary(slack_bot):
    await slack_bot.post(slash_command(JORDAN, "help"))
    (help_,) = await slack_bot.until(lambda: slack_bot.fake.called("chat.postEphemeral"), "help")
    assert "/escalate status REF" in help_["text"] and help_["user"] == JORDAN
    await slack_bot.post(slash_command(JORDAN, "summary"))
    summary = (await slack_bot.until(lambda: slack_bot.fake.called("chat.postEphemeral")[1:], "summary"))[0]
    assert "for safeguarding leads" in summary["text"] and summary["user"] == JORDAN  # a practitioner: refused
    await slack_bot.settle()
    assert not slack_bot.fake.called("views.open") and not slack_bot.fake.called("chat.postMessage")


async def test_escalate_action_command_opens_the_action_modal_for_the_user_who_typed_it(slack_bot):
    case = await slack_bot.open_case()
    response = await slack_bot.post(slash_command(JORDAN, f"escalate {case['ref']}"))
    assert response.status == 200
    await slack_bot.until(lambda: slack_bot.fake.called("views.open")[1:] or slack_bot.fake.called(
        "chat.postEphemeral"), "an answer")
    assert not slack_bot.fake.called("chat.postEphemeral"), slack_bot.fake.called("chat.postEphemeral")
    modal = slack_bot.fake.called("views.open")[1]["view"]
    assert modal["callback_id"] == "case_action"
    assert json.loads(modal["private_metadata"])["ref"] == case["ref"]


async def test_escalate_extend_command_on_surrey_is_refused_in_the_procedures_own_words(slack_bot):
    case = await slack_bot.open_case()
    before = slack_bot.snapshot()
    await slack_bot.post(slash_command(JORDAN, f"extend {case['ref']}"))
    (refusal,) = await slack_bot.until(lambda: slack_bot.fake.called("chat.postEphemeral"), "the refusal")
    assert refusal["user"] == JORDAN
    assert "Resolution should be sought within the shortest timescale possible" in refusal["text"]
    await slack_bot.settle()
    assert len(slack_bot.fake.called("views.open")) == 1 and slack_bot.snapshot() == before


async def test_a_safeguarding_lead_gets_the_summary_posted_in_the_channel_with_its_chart(slack_bot):
    await slack_bot.open_case()
    await slack_bot.post(slash_command(SAM, "summary 2026-W48", channel_id="C0LEADS01"))
    (done,) = await slack_bot.until(lambda: slack_bot.fake.called("files.completeUploadExternal"), "the upload")
    assert done["channel_id"] == "C0LEADS01"
    assert "Weekly escalation summary, 2026-W48" in done["initial_comment"] and "New escalations: 1" in done[
        "initial_comment"]
    (chart,) = slack_bot.fake.uploads.values()
    assert chart.startswith(b"\x89PNG")


async def test_record_goes_to_a_direct_message_only_and_only_for_people_on_the_case(slack_bot):
    case = await slack_bot.open_case()
    await slack_bot.post(slash_command(JORDAN, f"record {case['ref']}"))
    (done,) = await slack_bot.until(lambda: slack_bot.fake.called("files.completeUploadExternal"), "the upload")
    assert done["channel_id"].startswith("D")  # a direct message, never the cases channel
    (sent,) = slack_bot.fake.uploads.values()
    assert sent.startswith(b"PK")  # a .docx
    note = (await slack_bot.until(lambda: slack_bot.fake.called("chat.postEphemeral"), "the note"))[0]
    assert "private message" in note["text"]
    await slack_bot.post(slash_command(EMMA, f"record {case['ref']}"))
    refusal = (await slack_bot.until(lambda: slack_bot.fake.called("chat.postEphemeral")[1:], "refusal"))[0]
    assert "cannot find a case" in refusal["text"] and len(slack_bot.fake.uploads) == 1


async def test_download_record_button_on_the_root_message_sends_the_file_privately(slack_bot):
    case = await slack_bot.open_case()
    root = slack_bot.fake.called("chat.postMessage")[0]
    (button,) = [e for b in root["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == "case_record" and button["text"]["text"] == "Download record"
    ts = slack_bot.fake.ts_of(root)
    status, _ = await slack_bot.post_json(button_click(LENA, "case_record", button["value"], CASES_CHANNEL, ts,
                                                      root["text"]))
    assert status == 200
    (done,) = await slack_bot.until(lambda: slack_bot.fake.called("files.completeUploadExternal"), "the upload")
    assert done["channel_id"] == "D" + LENA[1:]  # Lena's direct message with the bot, not the cases channel
    await slack_bot.post_json(button_click(EMMA, "case_record", button["value"], CASES_CHANNEL, ts, root["text"]))
    refusal = await slack_bot.until(lambda: [c for c in slack_bot.fake.called("chat.postEphemeral")
                                             if c["user"] == EMMA], "refusal")
    assert "cannot find a case" in refusal[0]["text"] and len(slack_bot.fake.uploads) == 1
    assert case["ref"] in root["text"]


async def test_an_answer_in_a_channel_the_bot_is_not_in_comes_by_direct_message(slack_bot):
    slack_bot.fake.fail_in["C0OTHER01"] = "not_in_channel"  # Slack refuses ephemerals where the bot is not a member
    await slack_bot.post(slash_command(JORDAN, "help", channel_id="C0OTHER01"))
    (dm,) = await slack_bot.until(lambda: slack_bot.posts(channel=JORDAN), "the answer by direct message")
    assert "/escalate status REF" in dm["text"]
    assert [c["channel"] for c in slack_bot.fake.called("chat.postEphemeral")] == ["C0OTHER01"]  # tried first


async def test_an_action_command_without_a_reference_asks_which_case_and_starts_nothing(slack_bot):
    for word in ("escalate", "resolve", "extend", "status"):
        before = slack_bot.snapshot()
        count = len(slack_bot.fake.called("chat.postEphemeral"))
        await slack_bot.post(slash_command(JORDAN, word))
        told = (await slack_bot.until(lambda count=count: slack_bot.fake.called("chat.postEphemeral")[count:], word))[0]
        assert f"/escalate {word} REF" in told["text"]
        assert slack_bot.snapshot() == before and await slack_bot.store.keys("dialogs") == []
    # and a later command is answered as itself, not as an answer to a question
    case = await slack_bot.open_case()
    count = len(slack_bot.fake.called("chat.postEphemeral"))
    await slack_bot.post(slash_command(JORDAN, f"status {case['ref']}"))
    (status,) = await slack_bot.until(lambda: slack_bot.fake.called("chat.postEphemeral")[count:], "the status")
    assert case["ref"] in status["text"] and "Stage 1" in status["text"]
