"""Slack listeners: /escalate, the two-step Stage 1 modal, case buttons and action modals, @mentions.

Every listener acks first (within Slack's 3 seconds; modals are opened straight after with the trigger id), and
does slow work (storage, posting) after. Validation errors go back in the view submission's ack itself.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack import views
from adapters.slack.sender import FAILURES, SlackSender, error_code, plain_error
from bot.conversation.engine import CASE_COMMANDS, Engine
from bot.jobs.outbox import SendError
from bot.types import Event, Reply, ThreadRef, UserRef

log = logging.getLogger(__name__)
HELP = ("Use /escalate to start an escalation. Also: /escalate status REF, /escalate resolve REF, "
        "/escalate escalate REF, /escalate extend REF, /escalate record REF (your private copy of the written "
        "record), /escalate summary (safeguarding leads), /escalate help.")


def user_of(body: dict[str, Any]) -> UserRef:
    user = body.get("user")
    if isinstance(user, dict) and user.get("id"):  # interactivity payloads
        return UserRef("slack", str(user["id"]), name=str(user.get("username") or user.get("name") or ""))
    return UserRef("slack", str(body.get("user_id", "")), name=str(body.get("user_name", "")))  # slash commands


def register(app: AsyncApp, engine: Callable[[], Engine], sender: SlackSender, cases_channel: str) -> None:
    """Attach every listener to the bolt app; `engine()` gives the running engine."""

    async def tell(user: UserRef, channel: str, text: str) -> None:
        """A private answer: ephemeral in the channel where asked, else (or if Slack refuses that, e.g. the bot is
        not in that channel) a direct message."""
        if not user.id:
            return  # (another bot, or a payload without a user: nobody to answer)
        if channel and not channel.startswith("D"):
            try:
                await app.client.chat_postEphemeral(channel=channel, user=user.id, text=views.escape(text))
                return
            except FAILURES as exc:
                log.info("no ephemeral answer in that channel (%s); answering by direct message", error_code(exc))
        try:
            await app.client.chat_postMessage(channel=user.id, text=views.escape(text))
        except FAILURES as exc:
            log.warning("could not answer a Slack user privately: %s", error_code(exc))

    async def open_modal(user: UserRef, channel: str, trigger_id: str, view: dict[str, Any] | str) -> None:
        """Open a modal; if Slack will not, say why privately (nothing was stored, so trying again is safe)."""
        error = await sender.open_view(trigger_id, view)
        if error is not None:
            await tell(user, channel, f"Sorry, the form could not be opened: {plain_error(error)}. Nothing was "
                                      "saved; please try the same command or button again.")

    @app.command("/escalate")
    async def escalate(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        user, channel = user_of(body), str(body.get("channel_id", ""))
        words = str(body.get("text", "")).strip().split()
        command = words[0].lower() if words else ""
        if not command:
            modal = views.start_modal_json(engine().policies, channel)
            await open_modal(user, channel, str(body.get("trigger_id", "")), modal)
            return
        if command in CASE_COMMANDS and len(words) < 2:  # ("/escalate escalate" alone would start a new dialog)
            await tell(user, channel, f"Which case? Type /escalate {command} REF, with the case reference "
                                      "(e.g. ESC-2026-0001).")
            return
        if command in ("resolve", "escalate", "extend"):
            reply = await engine().action_form(user, command, words[1], None)
            if reply.kind == "form":
                meta: dict[str, Any] = {"action": command, "ref": reply.case_ref, "stage": reply.stage,
                                        "channel": channel}
                await open_modal(user, channel, str(body.get("trigger_id", "")),
                                 views.action_modal(reply, command, meta))
            else:
                await tell(user, channel, reply.text)
            return
        if command == "summary":
            await summary(user, channel, " ".join(words[1:]))
            return
        if command == "help":
            await tell(user, channel, HELP)
            return
        thread = ThreadRef("slack", channel)
        replies = await engine().handle(Event(user, thread, text=" ".join(words)))
        for reply in replies:
            if reply.private and reply.attachment is not None:
                if not await sender.send_private(user.id, reply):
                    await tell(user, channel, "Sorry, I could not send you the record privately. Try again, or "
                                              "ask an operator to export it.")
                    continue
            await tell(user, channel, reply.text)
        if not replies:
            await tell(user, channel, HELP)

    async def summary(user: UserRef, channel: str, week: str) -> None:
        """Posted in the channel where it was asked (with its chart), for safeguarding leads only."""
        reply = await engine().summary(user, week)
        if reply.kind != "summary" or not channel:
            await tell(user, channel, reply.text)
            return
        try:
            await sender.send(ThreadRef("slack", channel), reply)
        except SendError as exc:
            await tell(user, channel, f"Sorry, the summary could not be posted here: {exc}.")

    @app.view(views.START)
    async def start_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        answers, meta = views.values(view), views.metadata(view)
        policy_id = answers.get("policy") or next(iter(engine().policies))
        risk = answers.get("immediate_risk")
        if policy_id not in engine().policies or risk not in ("yes", "no"):
            await ack(response_action="errors", errors={"immediate_risk": "Please answer yes or no."})
            return
        user = user_of(body)
        policy = engine().policies[policy_id]
        if risk == "yes":
            await ack(response_action="update", view=views.emergency_modal(policy))
            form = {"policy": policy_id, "immediate_risk": "yes"}
            for reply in await engine().handle(Event(user, _thread(meta, user, cases_channel), form=form,
                                                     event_id=f"slack-view:{view.get('id')}")):
                await tell(user, "", reply.text)  # (none for a repeat of the same submission)
            return
        found = engine().intake_questions(user, policy_id)
        assert found is not None
        meta = {**meta, "policy": policy_id}
        await ack(response_action="update", view=views.intake_modal(policy, found[1], meta))

    @app.view(views.INTAKE)
    async def intake_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta, user = views.metadata(view), user_of(body)
        form = {**views.values(view), "policy": meta.get("policy", ""), "immediate_risk": "no"}
        event = Event(user, _thread(meta, user, cases_channel), form=form, event_id=f"slack-view:{view.get('id')}")
        errors = engine().validate_form(event)
        if errors:
            await ack(response_action="errors", errors=dict(errors))
            return
        await ack()
        replies = await engine().handle(event)
        for reply in replies:
            text = reply.text
            if reply.kind == "case_opened":
                try:
                    await sender.rooted(reply.case_ref, event.thread)
                except SendError as exc:
                    log.warning("case %s: its root message was not posted; retried by the scheduler", reply.case_ref)
                    text += (f"\n(The case's thread could not be started in Slack yet: {exc}. It will be tried again "
                             "in a few minutes, and before any reminder.)")
            await tell(user, "", text)

    async def button(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = user_of(body)
        kind = str(action.get("action_id", "")).removeprefix("case_")
        try:
            value = json.loads(action.get("value") or "{}")
        except ValueError:
            value = {}
        channel = str((body.get("channel") or {}).get("id", ""))
        reply = await engine().action_form(user, kind, str(value.get("ref", "")), value.get("stage"))
        if reply.kind != "form":
            await tell(user, channel, reply.text)
            return
        message = body.get("message") or {}
        meta = {"action": kind, "ref": reply.case_ref, "stage": reply.stage, "channel": channel,
                "ts": message.get("ts", ""), "text": views.fit_metadata(str(message.get("text", "")))}
        await open_modal(user, channel, str(body.get("trigger_id", "")), views.action_modal(reply, kind, meta))

    for name in views.BUTTONS:
        app.action(f"case_{name}")(button)

    @app.action(views.RECORD)
    async def download(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user, channel = user_of(body), str((body.get("channel") or {}).get("id", ""))
        try:
            ref = str(json.loads(action.get("value") or "{}").get("ref", ""))
        except ValueError:
            ref = ""
        reply = await engine().record(user, ref)
        if reply.private and reply.attachment is not None and not await sender.send_private(user.id, reply):
            reply = Reply("Sorry, I could not send you the record privately. Try again, or ask an operator.")
        await tell(user, channel, reply.text)

    @app.view(views.ACTION)
    async def action_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta, user = views.metadata(view), user_of(body)
        action, ref = str(meta.get("action", "")), str(meta.get("ref", ""))
        reply = await engine().action_form(user, action, ref, meta.get("stage"))
        if reply.kind == "form":
            from dialogs.actions import check_form  # pure: the same checks as the console dialog

            policy = engine().policies[(await engine().store.get("cases", ref) or {}).get("policy", "")]
            checked = check_form(action, policy, int(meta["stage"]), views.values(view), _today(engine()))
            if checked.effect != "apply":
                await ack(response_action="errors", errors=dict(checked.replies[0].errors))
                return
        await ack()
        if reply.kind != "form":
            await tell(user, str(meta.get("channel", "")), reply.text)
            return
        event = Event(user, ThreadRef("slack", str(meta.get("channel", ""))), form=views.values(view),
                      action=action, case_ref=ref, stage=meta.get("stage"), event_id=f"slack-view:{view.get('id')}")
        results = await engine().handle(event)
        posted = not any(r.kind == "not_posted" for r in results)
        for result in results:
            if result.kind != action:
                await tell(user, str(meta.get("channel", "")), result.text)
                continue
            if meta.get("ts"):
                note = f"{views.BUTTONS[action]} by <@{user.id}>" + (": see the reply in this thread." if posted
                                                                       else ".")
                await sender.update(str(meta["channel"]), str(meta["ts"]), str(meta.get("text", "")), note)

    @app.event("app_mention")
    async def mentioned(body: dict[str, Any], event: dict[str, Any]) -> None:
        text = " ".join(w for w in str(event.get("text", "")).split() if not w.startswith("<@"))
        user = UserRef("slack", str(event.get("user", "")))
        channel = str(event.get("channel", ""))
        word = text.split()[0].lower() if text.split() else "help"
        if word == "summary":
            await summary(user, channel, " ".join(text.split()[1:]))
        elif word in ("status",):
            replies = await engine().handle(Event(user, ThreadRef("slack", channel), text=text,
                                                  event_id=f"slack-event:{body.get('event_id', '')}"))
            await tell(user, channel, "\n".join(r.text for r in replies))
        else:
            await tell(user, channel, HELP)


def _thread(meta: dict[str, Any], user: UserRef, cases_channel: str) -> ThreadRef:
    return ThreadRef("slack", cases_channel or user.id)


def _today(engine: Engine) -> Any:
    from bot.dates.workdays import london_today

    return london_today(engine.clock.now())
