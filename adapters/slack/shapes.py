"""What a Slack request (or Socket Mode envelope) must look like before bolt sees it, and the clean body bolt is
given instead of the one sent.

bolt trusts a body's shape (a number in `authorizations`, a block action without an `action_id`, `response_urls`
that are not objects: each a 500 from inside bolt). So a body is read here once, by kind, and only a payload one of
our listeners answers reaches bolt, rebuilt from the fields bolt and the listeners read, each of the type Slack sends
(a string, an object with a string `id`, ...). A field of the wrong type is `Malformed` (the route answers 400);
fields nobody reads are dropped; a kind nobody answers (another slash command, an event we do not subscribe to, a
retired button or form) is acknowledged without bolt, with a way forward where a person is waiting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl


class Malformed(ValueError):
    """The body is not a payload Slack sends (the message names the field; it carries no value from the body)."""


@dataclass(frozen=True)
class Handled:
    """What our listeners answer: slash commands, modal callback ids, button action ids, event types."""

    commands: frozenset[str] = frozenset()
    views: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()
    events: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Parsed:
    """A checked request: its kind ("command", "block_actions", "view_submission", "event", "url_verification",
    "ssl_check", or another payload's type), the clean body for bolt (None when no listener answers it), and its
    Events API event id ("" for others)."""

    kind: str
    body: dict[str, Any] | None
    event_id: str = ""
    challenge: str = ""


# The fields kept from each kind of payload (the rest is dropped before bolt sees it).
COMMAND_FIELDS = ("command", "text", "user_id", "user_name", "channel_id", "channel_name", "team_id", "team_domain",
                  "enterprise_id", "enterprise_name", "trigger_id", "response_url", "api_app_id",
                  "is_enterprise_install")
USER_FIELDS = ("id", "username", "name", "team_id")
TEAM_FIELDS = ("id", "domain", "enterprise_id")
CHANNEL_FIELDS = ("id", "name")
MESSAGE_FIELDS = ("ts", "text", "thread_ts", "user", "bot_id")
ACTION_FIELDS = ("action_id", "block_id", "type", "value", "action_ts")
VIEW_FIELDS = ("id", "callback_id", "private_metadata", "type", "hash", "team_id", "app_id",
               "app_installed_team_id")
ANSWER_FIELDS = ("type", "value", "selected_date")
EVENT_FIELDS = ("type", "user", "channel", "text", "ts", "thread_ts", "event_ts", "team", "user_team",
                "channel_type", "subtype", "bot_id")
ENVELOPE_FIELDS = ("team_id", "api_app_id", "event_id", "enterprise_id", "context_team_id", "context_enterprise_id")
# Slack's ids and names of things (never typed by a person): printable ASCII, short. They become store keys.
IDS = frozenset({"id", "trigger_id", "action_ts", "action_id", "block_id", "callback_id", "team_id", "user_id",
                 "channel_id", "event_id", "api_app_id", "enterprise_id", "app_id", "app_installed_team_id", "ts",
                 "thread_ts", "event_ts", "hash", "type", "command", "user", "channel", "team", "user_team",
                 "bot_id", "context_team_id", "context_enterprise_id", "subtype", "channel_type"})
ID = re.compile(r"[!-~]{0,255}")
LONGEST = {"private_metadata": 3000, "value": 3000}  # Slack's own limits (a modal's metadata; a button's value)
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")  # (only "\ud800"-style escapes make them: no real text has one)


def parse(text: str, content_type: str, handled: Handled) -> Parsed:
    """Read a signed body as bolt would (JSON when the content type says so or it starts with "{", a form's
    `payload` as JSON, else a plain form) and check it. Raises Malformed (or ValueError, RecursionError from the
    parsers) when it is not something Slack sends."""
    if not text:
        raise Malformed("an empty body")
    if content_type == "application/json" or text.startswith("{"):
        return _events_api(_object(json.loads(text), "the body"), handled)
    fields = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True))
    if "payload" in fields:
        return _interaction(_object(json.loads(fields["payload"]), "payload"), handled)
    if "command" in fields:
        return _command(fields, handled)
    if "ssl_check" in fields:
        return Parsed("ssl_check", None)
    raise Malformed("a form that is neither a command nor an interaction")


def envelope(kind: str, payload: Any, handled: Handled) -> Parsed:
    """Check a Socket Mode envelope's payload, already parsed from JSON, by the envelope's type: a slash command's
    fields (`slash_commands`), an interaction (`interactive`) or an Events API callback (`events_api`), each as
    `parse` checks the same payload over HTTP. Another type of envelope is acknowledged and goes no further."""
    if kind == "slash_commands":
        return _command(_object(payload, "payload"), handled)
    if kind == "interactive":
        return _interaction(_object(payload, "payload"), handled)
    if kind == "events_api":
        return _events_api(_object(payload, "payload"), handled)
    return Parsed(_text(kind, "type") or "envelope", None)


def _command(fields: Mapping[str, Any], handled: Handled) -> Parsed:
    """A slash command's fields (a form's over HTTP, an object's over Socket Mode): strings, the ids printable."""
    if _text(fields.get("command"), "command") not in handled.commands:
        return Parsed("command", None)
    body: dict[str, Any] = _texts(fields, tuple(k for k in COMMAND_FIELDS if k != "is_enterprise_install"), "")
    install = fields.get("is_enterprise_install")
    if isinstance(install, bool) or install in ("true", "false"):  # (a form's text; an object's true or false)
        body["is_enterprise_install"] = install
    return Parsed("command", body)


def _events_api(data: dict[str, Any], handled: Handled) -> Parsed:
    kind = _text(data.get("type"), "type")
    if kind == "url_verification":
        return Parsed(kind, None, challenge=_text(data.get("challenge"), "challenge"))
    if kind != "event_callback":
        return Parsed(kind or "event", None)  # (app_rate_limited, ...): acknowledged
    event_id = _text(data.get("event_id"), "event_id")
    event = _object(data.get("event"), "event")
    if _text(event.get("type"), "event.type") not in handled.events:
        return Parsed("event", None, event_id)
    body: dict[str, Any] = {"type": kind, **_texts(data, ENVELOPE_FIELDS, "")}
    body["event"] = _texts(event, EVENT_FIELDS, "event.")
    if isinstance(data.get("event_time"), int) and not isinstance(data["event_time"], bool):
        body["event_time"] = data["event_time"]
    return Parsed("event", body, event_id)


def _interaction(data: dict[str, Any], handled: Handled) -> Parsed:
    kind = _text(data.get("type"), "type")
    if kind == "block_actions":
        actions = data.get("actions")
        if not isinstance(actions, list) or not actions:
            raise Malformed("block actions without actions")
        first = _object(actions[0], "actions[0]")
        action_id = _text(first.get("action_id"), "action_id")
        if not action_id:
            raise Malformed("a block action without an action_id")
        if action_id not in handled.actions:
            return Parsed(kind, None)
        body = _person(data)
        body["actions"] = [_texts(first, ACTION_FIELDS, "action.")]
        body["channel"] = _part(data.get("channel"), CHANNEL_FIELDS, "channel")
        message = data.get("message")
        if message is not None:
            body["message"] = _texts(_object(message, "message"), MESSAGE_FIELDS, "message.")
        return Parsed(kind, body)
    if kind == "view_submission":
        view = _object(data.get("view"), "view")
        if _text(view.get("callback_id"), "view.callback_id") not in handled.views:
            return Parsed(kind, None)
        body = _person(data)
        clean: dict[str, Any] = _texts(view, VIEW_FIELDS, "view.")
        if not clean.get("type"):  # (bolt reads it, unchecked)
            raise Malformed("a view without a type")
        state = view.get("state")
        clean["state"] = {"values": _values(_object(state, "view.state").get("values") if state is not None else {})}
        body["view"] = clean
        return Parsed(kind, body)
    return Parsed(kind or "interaction", None)  # view_closed, shortcuts, ...: nothing of ours


def _person(data: dict[str, Any]) -> dict[str, Any]:
    """What every interaction carries: its type, who (a user object with a string id), their team, and how to
    answer them (a trigger id)."""
    body: dict[str, Any] = _texts(data, ("type", "trigger_id", "api_app_id", "response_url"), "")
    user = _part(data.get("user"), USER_FIELDS, "user")
    if not user.get("id"):
        raise Malformed("an interaction without a user id")
    body["user"] = user
    body["team"] = _part(data.get("team"), TEAM_FIELDS, "team")
    if isinstance(data.get("is_enterprise_install"), bool):
        body["is_enterprise_install"] = data["is_enterprise_install"]
    return body


def _values(values: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """A modal's state values: block id -> action id -> the answer (a string value, date or chosen option)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for block_id, actions in _object(values, "state.values").items():
        _text(block_id, "block_id")
        out[block_id] = {}
        for action_id, answer in _object(actions, "a block's answers").items():
            _text(action_id, "action_id")
            answer = _object(answer, "an answer")
            clean: dict[str, Any] = _texts(answer, ANSWER_FIELDS, "answer.")
            chosen = answer.get("selected_option")
            if chosen is not None:
                clean["selected_option"] = {"value": _text(_object(chosen, "selected_option").get("value"),
                                                           "selected_option.value")}
            out[block_id][action_id] = clean
    return out


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"{what} is not an object")
    return value


def _text(value: Any, what: str) -> str:
    """A string field ("" when absent or null): an id is printable ASCII; no text holds a lone surrogate."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Malformed(f"{what} is not a string")
    name = what.rpartition(".")[2]
    if name in IDS and not ID.fullmatch(value):
        raise Malformed(f"{what} is not an id Slack sends")
    if len(value) > LONGEST.get(name, 40_000) or LONE_SURROGATE.search(value):
        raise Malformed(f"{what} is not text Slack sends")
    return value


def _texts(data: Mapping[str, Any], names: tuple[str, ...], where: str) -> dict[str, str]:
    """The string fields `names` of `data` that are present (a null is left out)."""
    return {name: _text(data[name], where + name) for name in names if data.get(name) is not None}


def _part(value: Any, names: tuple[str, ...], what: str) -> dict[str, str]:
    """A user, team or channel: an object of string fields, or (as some payloads send it) its id alone."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {"id": _text(value, what + ".id")}
    return _texts(_object(value, what), names, what + ".")
