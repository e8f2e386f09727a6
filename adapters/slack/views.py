"""Block Kit rendering: the core's forms as modals, case messages with Resolve / Escalate / Extend buttons, and a
submitted modal's answers read back (any shape Slack could send, or a forger could, reads as absent answers)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.door import ACTION_LABELS, Form, Kind, Option, Question, Reply

ANSWER = "answer"  # every input's action_id; its block_id is the question id
CALLBACKS = {"start": "escalate_start", "intake": "escalate_submit", "action": "case_action"}  # per form step
STEPS = {callback: step for step, callback in CALLBACKS.items()}
RECORD = "case_record"  # "Download record": the written record, sent privately to the person who clicked
YES_NO = (Option("yes", "Yes"), Option("no", "No"))


def escape(text: str) -> str:
    """Slack mrkdwn needs &, < and > escaped in anything users typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str, limit: int = 3000) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(text, limit), "emoji": False}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _options(options: Iterable[Option]) -> list[dict[str, Any]]:
    return [{"text": plain(o.label, 75), "value": o.id} for o in options]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, 3000)}}


def question_block(question: Question) -> dict[str, Any]:
    """One input block; block_id is the question id, so errors and values map straight back."""
    element: dict[str, Any]
    if question.kind == "yes_no":
        element = {"type": "radio_buttons", "options": _options(YES_NO)}
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


def modal(form: Form, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """A form as a modal: its words, then its questions (a child's details last, in a section of their own)."""
    blocks: list[dict[str, Any]] = []
    if form.intro:
        blocks.append(_section(f"*{escape(form.intro)}*" if form.step == "start" else escape(form.intro)))
    heading = False
    for question in form.questions:
        if question.sensitive and not heading and form.sensitive_heading:
            heading = True
            blocks += [{"type": "divider"},
                       _section(f"*{escape(form.sensitive_heading)}*\n{escape(form.sensitive_note)}")]
        blocks.append(question_block(question))
    view: dict[str, Any] = {"type": "modal", "callback_id": CALLBACKS[form.step], "title": plain(form.title, 24),
                            "close": plain("Cancel"), "blocks": blocks, "submit": plain(form.submit, 24),
                            "private_metadata": json.dumps({**form.context(), **metadata}, separators=(",", ":"))}
    return view


# The first modal is the same for every /escalate from one channel: kept serialised, per form and channel.
_MODALS: dict[tuple[int, str], tuple[Form, str]] = {}


def modal_json(form: Form, channel: str) -> str:
    """`modal(form, {"channel": channel})` as JSON, built once per (form, channel) for a form the core keeps."""
    key = (id(form), channel)
    hit = _MODALS.get(key)
    if hit is None or hit[0] is not form:  # (holding `form` keeps its id from being reused)
        if len(_MODALS) >= 1024:
            _MODALS.clear()
        hit = (form, json.dumps(modal(form, {"channel": channel}), separators=(",", ":")))
        _MODALS[key] = hit
    return hit[1]


def emergency_modal(route: str) -> dict[str, Any]:
    """What the first modal becomes when a child is at immediate risk: the procedure's route, at once."""
    blocks = [_section(f"*{escape(route)}*"), {"type": "context", "elements": [{"type": "mrkdwn", "text": (
        "This has been recorded: its reference comes to you in a direct message. When the child is safe you can "
        "still raise the disagreement with /escalate.")}]}]
    return {"type": "modal", "callback_id": "escalate_emergency", "title": plain("Immediate risk", 24),
            "close": plain("Close"), "blocks": blocks, "private_metadata": "{}"}


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


def values(view: Mapping[str, Any]) -> dict[str, str]:
    """A submitted modal's answers by question id, as text the core parses; anything not shaped as Slack sends it
    (a list, a number, a missing field) is no answer."""
    state = view.get("state")
    blocks = state.get("values") if isinstance(state, dict) else None
    out: dict[str, str] = {}
    for block_id, actions in (blocks or {}).items() if isinstance(blocks, dict) else ():
        field = actions.get(ANSWER) if isinstance(actions, dict) else None
        if not isinstance(field, dict):
            continue
        chosen = field.get("selected_option")
        value = chosen.get("value") if isinstance(chosen, dict) else field.get("selected_date", field.get("value"))
        if isinstance(value, str):
            out[str(block_id)] = value
    return out


def metadata(view: Mapping[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def message_blocks(reply: Reply, mentions: Sequence[str] = ()) -> tuple[str, list[dict[str, Any]]]:
    """A case message: fallback text and blocks, @mentioning `mentions` (Slack user ids); with buttons when the reply
    offers actions on a stage, and a "Download record" button on every message about a case's stage."""
    head = " ".join(f"<@{m}>" for m in mentions)
    text = (head + " " if head else "") + escape(reply.text)
    blocks: list[dict[str, Any]] = [_section(text)]
    if reply.case_ref and (reply.actions or reply.kind in (Kind.ROOT, Kind.NUDGE)):
        value = json.dumps({"ref": reply.case_ref, "stage": reply.stage}, separators=(",", ":"))
        elements = [{"type": "button", "action_id": f"case_{a}", "text": plain(ACTION_LABELS[a]), "value": value,
                     **({"style": "primary"} if a == "resolve" else {})} for a in reply.actions if a in ACTION_LABELS]
        elements.append({"type": "button", "action_id": RECORD, "text": plain("Download record"), "value": value})
        blocks.append({"type": "actions", "block_id": "case_actions", "elements": elements})
    return _cut(text, 3900), blocks


def done_blocks(original_text: str, note: str) -> list[dict[str, Any]]:
    """A nudge after someone acted on it: its text, what was done, and no buttons."""
    return [_section(_cut(original_text, 2900)),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(note, 1900)}]}]
