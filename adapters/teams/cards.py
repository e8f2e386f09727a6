"""Adaptive Cards (plain dicts): the core's forms, and case messages with Resolve / Escalate / Extend.

Every button is an `Action.Submit` (botbuilder 4.17 answers `Action.Execute` invokes with a 500). A submit arrives as
a message activity whose `value` is the button's data merged with the inputs, keyed by question id; the data's own
keys start with "_" so they never collide with a question id (`context_of` reads them back, cards sent by earlier
versions included).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.door import ACTION_LABELS, Form, Question, Reply

VERSION = "1.4"  # what Teams renders on desktop, web and mobile
NOT_REPEATED = "Child details are never sent back in a message, so enter them again if you gave them."
YES_NO = ({"title": "Yes", "value": "yes"}, {"title": "No", "value": "no"})
CONTEXT = {"step": "_form", "policy": "_policy", "action": "_act", "ref": "_ref", "stage": "_stage"}


def card(body: list[dict[str, Any]], actions: Sequence[dict[str, Any]] = (),
         entities: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                           "version": VERSION, "body": body, "msteams": {"width": "Full"}}
    if actions:
        out["actions"] = list(actions)
    if entities:
        out["msteams"]["entities"] = list(entities)
    return out


def text_block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def lines(text: str) -> list[dict[str, Any]]:
    """One TextBlock per line, so line breaks survive every Teams client."""
    return [text_block(line) for line in text.split("\n") if line.strip()]


def submit(title: str, data: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "Action.Submit", "title": title, "data": dict(data)}


def question_input(question: Question, value: Any = None, error: str = "") -> list[dict[str, Any]]:
    """One input (id = question id), its help, and its problem in red under it after a failed submit."""
    field: dict[str, Any] = {"id": question.id, "label": question.prompt, "isRequired": question.required,
                             "errorMessage": error or "This question needs an answer."}
    if question.kind == "yes_no":
        field.update(type="Input.ChoiceSet", style="expanded", choices=list(YES_NO))
    elif question.kind == "choice":
        field.update(type="Input.ChoiceSet", style="compact", placeholder="Choose",
                     choices=[{"title": o.label, "value": o.id} for o in question.options])
    elif question.kind == "date":
        field.update(type="Input.Date")
    else:
        field.update(type="Input.Text", maxLength=question.max_length, isMultiline=question.max_length > 200)
    if isinstance(value, str) and value and not question.sensitive:
        field["value"] = value
    out = [field]
    if question.help:
        out.append(text_block(question.help, isSubtle=True, size="Small", spacing="None"))
    if error:
        out.append(text_block(f"⚠ {error}", color="Attention", spacing="None"))
    return out


def _inputs(questions: Iterable[Question], values: Mapping[str, Any],
            errors: Mapping[str, str]) -> list[dict[str, Any]]:
    return [block for q in questions for block in question_input(q, values.get(q.id), errors.get(q.id, ""))]


def form_card(form: Form, card_id: str, values: Mapping[str, Any] | None = None,
              errors: Mapping[str, str] | None = None, nudge: str = "") -> dict[str, Any]:
    """A form as a card: its words, its questions (a child's details in their own container, never prefilled), and
    the button that sends it back with the form's context (`nudge`: the case message it was opened from)."""
    values, errors = values or {}, errors or {}
    body = [text_block(form.intro if form.step == "action" else "Escalate a professional disagreement",
                       weight="Bolder", size="Medium" if form.step != "action" else "Default")]
    if form.step == "start":
        body.append(text_block(form.intro, weight="Bolder", color="Attention"))
    elif form.step == "intake":
        body.append(text_block(form.intro, isSubtle=True))
    if errors:
        body.append(text_block("Some answers need another look: each problem is marked below.", color="Attention",
                               weight="Bolder"))
    body += _inputs([q for q in form.questions if not q.sensitive], values, errors)
    sensitive = [q for q in form.questions if q.sensitive]
    if sensitive:
        items = [text_block(form.sensitive_heading, weight="Bolder"), text_block(form.sensitive_note, isSubtle=True)]
        if errors:
            items.append(text_block(NOT_REPEATED, isSubtle=True))
        items += _inputs(sensitive, {}, errors)
        body.append({"type": "Container", "style": "emphasis", "separator": True, "items": items})
    data = {CONTEXT[k]: v for k, v in form.context().items()}
    data["_card"] = card_id
    if nudge:
        data["_nudge"] = nudge
    return card(body, [submit(form.submit, data)])


def context_of(value: Mapping[str, Any]) -> dict[str, Any]:
    """A form's context from a submit's data (a card of an earlier version named the procedure "policy")."""
    out = {name: value[key] for name, key in CONTEXT.items() if key in value}
    if "policy" not in out and isinstance(value.get("policy"), str):
        out["policy"] = value["policy"]
    return out


def answers_of(value: Mapping[str, Any]) -> dict[str, str]:
    """A submit's inputs by question id (the card's own data keys start with "_")."""
    return {k: v for k, v in value.items() if isinstance(k, str) and not k.startswith("_") and isinstance(v, str)}


def message_card(reply: Reply, mentions: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """A case message: who must act (mentioned), the text, and buttons when the reply offers actions on a stage."""
    body: list[dict[str, Any]] = []
    entities = [{"type": "mention", "text": f"<at>{name}</at>", "mentioned": {"id": uid, "name": name}}
                for uid, name in mentions]
    if mentions:
        body.append(text_block(" ".join(f"<at>{name}</at>" for _, name in mentions)))
    body += lines(reply.text)
    actions = []
    if reply.case_ref and reply.actions:
        actions = [submit(ACTION_LABELS[a], {"_action": a, "ref": reply.case_ref, "stage": reply.stage})
                   for a in reply.actions if a in ACTION_LABELS]
    return card(body, actions, entities)


def done_card(text: str, note: str) -> dict[str, Any]:
    """A case message after someone acted on it: its text, who did what, and no buttons."""
    return card([*lines(text), text_block(note, weight="Bolder", color="Good", separator=True)])


def sent_card(title: str, note: str) -> dict[str, Any]:
    """What a form becomes once it is sent: no inputs (and so none of the answers), no button."""
    return card([text_block(title, weight="Bolder"), *lines(note)])
