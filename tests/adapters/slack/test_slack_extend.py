"""Where the procedure allows it (Gloucestershire), the nudge offers Extend and the extension goes through Slack."""

from __future__ import annotations

from datetime import date, datetime, time

from slack_server import CASES_CHANNEL, JORDAN, answers_for, start_bot
from slack_support import view_submission
from test_slack_case_thread import action_modal, buttons

from bot.dates.workdays import LONDON, calendar_for


async def test_extend_offered_and_applied_where_the_procedure_allows_it(aiohttp_server):
    bot = await start_bot(aiohttp_server, policy="gloucestershire")
    try:
        intake = await bot.intake_modal()
        status, ack = await bot.post_json(view_submission(JORDAN, intake, answers_for(intake), bot.view_id()))
        assert status == 200 and not ack, ack
        await bot.until(lambda: len(bot.fake.called("chat.postMessage")) >= 2, "root and confirmation")
        ((ref, case),) = await bot.store.scan("cases")
        due = date.fromisoformat(case["stage_due"])
        day_before = calendar_for("ENG").previous_working_day(due)
        sent = await bot.tick(datetime.combine(day_before, time(9, 0), tzinfo=LONDON))
        assert [s.kind for s in sent] == ["before"]
        (nudge,) = bot.posts(channel=CASES_CHANNEL, thread_ts=case["thread"]["thread"])
        nudge["ts"] = bot.fake.ts_of(nudge)
        assert [b["action_id"] for b in buttons(nudge)] == [
            "case_resolve", "case_escalate", "case_extend", "case_record"]

        modal = await action_modal(bot, JORDAN, "extend", nudge)
        assert [b["block_id"] for b in modal["blocks"] if b["type"] == "input"] == [
            "new_due", "agreed_here", "agreed_other", "reason"]
        new_due = calendar_for("ENG").add_working_days(due, 3).isoformat()
        answers = {"new_due": new_due, "agreed_here": "Lena Okafor, Team Manager",
                   "agreed_other": "Priya Nair, Detective Sergeant", "reason": "Waiting for the strategy meeting."}
        status, ack = await bot.post_json(view_submission(JORDAN, modal, answers, "VEXT"))
        assert status == 200 and not ack, ack
        (update,) = await bot.until(lambda: bot.fake.called("chat.update"), "the nudge's update")
        assert update["ts"] == nudge["ts"] and not [b for b in update["blocks"] if b["type"] == "actions"]
        stored = await bot.store.get("cases", ref)
        assert stored["stage"] == 1 and stored["stage_due"] == new_due and len(stored["extensions"]) == 1
        told = bot.posts(thread_ts=case["thread"]["thread"])[-1]
        assert "as both agencies agreed" in told["text"] and ref in told["text"]
        assert "Priya Nair" not in told["text"]  # (who agreed was typed: on the record, never in chat)
    finally:
        await bot.session.close()
