"""Block Kit rendering: questions as modal inputs, case messages with Resolve / Escalate / Extend buttons."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.types import Reply
from policies.model import Option, Policy, Question

ANSWER = "answer"  # every input's action_id; its block_id is the question id
START = "escalate_start"  # modal 1: partnership and the immediate-risk question
INTAKE = "escalate_submit"  # modal 2: the rest of the Stage 1 questions
ACTION = "case_action"  # resolve / escalate / extend
BUTTONS = {"resolve": "Resolve", "escalate": "Escalate", "extend": "Extend"}
RECORD = "case_record"  # "Download record": the written record, sent privately to the person who clicked
SAFETY = "If a child is in immediate danger, call 999 now."


def escape(text: str) -> str:
    """Slack mrkdwn needs &, < and > escaped in anything users typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str, limit: int = 3000) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(text, limit), "emoji": False}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _options(options: Iterable[Option]) -> list[dict[str, Any]]:
    return [{"text": plain(o.label, 75), "value": o.id} for o in options]


def question_block(question: Question, initial: Any = None) -> dict[str, Any]:
    """One input block; block_id is the question id, so errors and values map straight back."""
    element: dict[str, Any]
    if question.kind == "yes_no":
        element = {"type": "radio_buttons", "options": _options([Option("yes", "Yes"), Option("no", "No")])}
    elif question.kind == "choice":
        element = {"type": "static_select", "placeholder": plain("Choose"), "options": _options(question.options)}
    elif question.kind == "date":
        element = {"type": "datepicker"}
    else:
        element = {"type": "plain_text_input", "multiline": question.max_length > 200,
                   "max_length": min(question.max_length, 3000)}
    element["action_id"] = ANSWER
    block: dict[str, Any] = {"type": "input", "block_id": question.id, "label": plain(question.prompt, 2000),
                             "optional": not question.required, "element": element}
    if question.help:
        block["hint"] = plain(question.help, 2000)
    return block


def start_modal(policies: Mapping[str, Policy], metadata: Mapping[str, Any]) -> dict[str, Any]:
    """First modal: which partnership (if several) and whether a child is at immediate risk."""
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{SAFETY}*"}}]
    if len(policies) > 1:
        choice = Question("policy", "choice", "Which safeguarding partnership's procedure applies?",
                          options=tuple(Option(p.id, p.name) for p in policies.values()))
        blocks.append(question_block(choice))
    first = next(iter(policies.values())).questions[0]
    blocks.append(question_block(first))
    return _modal(START, "Escalate a disagreement", blocks, "Next", metadata)


# /escalate's first modal is the same for every request from one channel: kept serialised, per set of procedures.
_START_JSON: dict[tuple[int, str], tuple[Mapping[str, Policy], str]] = {}


def start_modal_json(policies: Mapping[str, Policy], channel: str) -> str:
    """`start_modal(policies, {"channel": channel})` as JSON, built once per (procedures, channel)."""
    key = (id(policies), channel)
    hit = _START_JSON.get(key)
    if hit is None or hit[0] is not policies:  # (holding `policies` keeps its id from being reused)
        if len(_START_JSON) >= 1024:
            _START_JSON.clear()
        hit = (policies, json.dumps(start_modal(policies, {"channel": channel}), separators=(",", ":")))
        _START_JSON[key] = hit
    return hit[1]


def intake_modal(policy: Policy, questions: Sequence[Question], metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Second modal: the rest of the Stage 1 questions; child details in their own section."""
    blocks: list[dict[str, Any]] = [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(f"{policy.name} ({policy.source})")}]}
    ]
    sensitive_started = False
    for question in questions:
        if question.id == "immediate_risk":
            continue
        if question.sensitive and not sensitive_started:
            sensitive_started = True
            blocks += [{"type": "divider"}, {"type": "section", "text": {"type": "mrkdwn", "text": (
                "*For the written record only.* Optional. Stored securely for authorised people and never "
                "shown in any chat message.")}}]
        blocks.append(question_block(question))
    return _modal(INTAKE, "Escalate a disagreement", blocks, "Open the case", metadata)


def emergency_modal(policy: Policy) -> dict[str, Any]:
    text = f"*Immediate risk of harm: act now.*\n{escape(policy.immediate_harm.text)}"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}},
              {"type": "context", "elements": [{"type": "mrkdwn", "text": (
                  "This has been recorded; you will get its reference in a message. When the child is safe you can "
                  "still raise the disagreement with /escalate.")}]}]
    view = _modal("escalate_emergency", "Immediate risk", blocks, None, {})
    view["close"] = plain("Close")
    return view


def action_modal(reply: Reply, action: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": escape(reply.text)}}]
    blocks += [question_block(q) for q in reply.form]
    return _modal(ACTION, f"{BUTTONS[action]} {reply.case_ref}", blocks, BUTTONS[action], metadata)


def _modal(callback: str, title: str, blocks: list[dict[str, Any]], submit: str | None,
           metadata: Mapping[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {"type": "modal", "callback_id": callback, "title": plain(title, 24),
                            "close": plain("Cancel"), "blocks": blocks,
                            "private_metadata": json.dumps(dict(metadata), separators=(",", ":"))}
    if submit:
        view["submit"] = plain(submit, 24)
    return view


def fit_metadata(text: str, budget: int = 1500) -> str:
    """`text` cut so that, JSON-encoded as private_metadata is (non-ASCII escaped), it takes at most `budget`
    characters: Slack refuses a modal whose private_metadata is over 3000."""
    if len(json.dumps(text)) <= budget:
        return text
    low, high = 0, min(len(text), budget)  # the longest prefix that fits: at least `low` characters, fewer than high+1
    while low < high:
        middle = (low + high + 1) // 2
        if len(json.dumps(text[:middle])) <= budget:
            low = middle
        else:
            high = middle - 1
    return text[:low]


def values(view: Mapping[str, Any]) -> dict[str, Any]:
    """A submitted modal's answers by question id, as text the dialogs parse."""
    out: dict[str, Any] = {}
    for block_id, actions in view.get("state", {}).get("values", {}).items():
        field: dict[str, Any] = actions.get(ANSWER) or next(iter(actions.values()), {})
        if "selected_option" in field:
            out[block_id] = (field["selected_option"] or {}).get("value")
        elif "selected_date" in field:
            out[block_id] = field["selected_date"]
        else:
            out[block_id] = field.get("value")
    return out


def metadata(view: Mapping[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def message_blocks(reply: Reply, mentions: Sequence[str] = ()) -> tuple[str, list[dict[str, Any]]]:
    """A case message: fallback text and blocks; with buttons when the reply offers actions on a stage."""
    head = " ".join(f"<@{m}>" for m in mentions)
    text = (head + " " if head else "") + escape(reply.text)
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, 3000)}}]
    if reply.case_ref and (reply.actions or reply.kind in ("root", "nudge")):
        value = json.dumps({"ref": reply.case_ref, "stage": reply.stage}, separators=(",", ":"))
        elements = [{"type": "button", "action_id": f"case_{a}", "text": plain(BUTTONS[a]), "value": value,
                     **({"style": "primary"} if a == "resolve" else {})} for a in reply.actions if a in BUTTONS]
        elements.append({"type": "button", "action_id": RECORD, "text": plain("Download record"), "value": value})
        blocks.append({"type": "actions", "block_id": "case_actions", "elements": elements})
    return _cut(text, 3900), blocks


def done_blocks(original_text: str, note: str) -> list[dict[str, Any]]:
    """A nudge after someone acted on it: its text, what was done, and no buttons."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": _cut(original_text, 2900)}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(note, 1900)}]}]
