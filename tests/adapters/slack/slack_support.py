"""Signed requests built from the real Slack fixtures (tests/fixtures/slack), for end-to-end tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "slack"
SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"


def fixture(name: str) -> Any:
    data = json.loads((FIXTURES / name).read_text())
    data.pop("_DERIVED_NOTE", None)
    return data


def signed_headers(body: str, content_type: str, stamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    stamp = int(time.time()) if stamp is None else stamp
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(stamp), "X-Slack-Signature": f"v0={digest}",
            "Content-Type": content_type}


def slash_command(user_id: str, text: str = "", channel_id: str = "C0CASES01") -> str:
    """The real slash-command body with our command, user and text."""
    fields = dict(parse_qsl((FIXTURES / "slash_command.form-urlencoded.txt").read_text().strip()))
    fields.update(command="/escalate", text=text, user_id=user_id, user_name=user_id.lower(), channel_id=channel_id,
                  trigger_id=f"trigger-{time.time_ns()}")
    return urlencode(fields)


def view_submission(user_id: str, view: dict[str, Any], answers: dict[str, Any], view_id: str) -> str:
    """The real view_submission payload carrying our modal, with Slack-shaped state values."""
    payload = fixture("view_submission.json")
    payload["user"] = {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": "T111"}
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        if block.get("type") != "input" or block["block_id"] not in answers:
            continue
        value, kind = answers[block["block_id"]], block["element"]["type"]
        if kind in ("radio_buttons", "static_select"):
            field: dict[str, Any] = {"type": kind, "selected_option": {"value": value} if value else None}
        elif kind == "datepicker":
            field = {"type": kind, "selected_date": value}
        else:
            field = {"type": kind, "value": value}
        state[block["block_id"]] = {"answer": field}
    payload["view"] = {**payload["view"], **{k: view[k] for k in ("callback_id", "private_metadata", "blocks")},
                       "id": view_id, "state": {"values": state}}
    return urlencode({"payload": json.dumps(payload)})


def button_click(user_id: str, action_id: str, value: str, channel: str, message_ts: str, text: str) -> str:
    """The real block_actions payload (a button in a bot message in a thread) for one of our buttons."""
    payload = fixture("block_actions_in_thread.DERIVED.json")
    payload["user"] = {"id": user_id}
    payload["channel"] = {"id": channel}
    payload["container"].update(channel_id=channel, message_ts=message_ts)
    payload["message"].update(ts=message_ts, text=text)
    payload["trigger_id"] = f"trigger-{time.time_ns()}"
    payload["actions"] = [{"action_id": action_id, "block_id": "case_actions", "type": "button", "value": value,
                           "action_ts": str(time.time())}]
    return urlencode({"payload": json.dumps(payload)})
