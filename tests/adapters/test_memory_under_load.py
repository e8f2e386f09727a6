"""Memory stays bounded under a stream of requests: the bot as deployed (`python -m bot serve`, its own process, the
TinyDB store, Slack and Teams mounted, fakes of Slack's Web API and the Bot Connector on 127.0.0.1) is sent 20,000
requests after a warm-up, three in four mutated payloads (the fuzz gates' kind) and the rest well formed (commands,
forms, clicks, messages: work that is done and answered), each signed and unique, over both endpoints. Its resident
memory, read from /proc, grows by less than 20 MB.

What used to grow without bound: the replay memory (every request's signature string kept for ten minutes, up to
50,000) now keeps a 16-byte digest for Slack's five minutes; the per-channel cache of serialised first modals was
keyed by any channel id a request named.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from fuzzing import json_values, mutated
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SECRET = "memory-signing-secret"
TOKEN = "xoxb-memory-token"
JORDAN = "U0DEMO0001"  # practitioner@example.org in the demo directory
LENA = "U0DEMO0002"
WARM_UP = 3_000
REQUESTS = 20_000
CONCURRENCY = 16
LIMIT_MB = 20


def _fixture(name: str) -> Any:
    data = json.loads((FIXTURES / name).read_text())
    data.pop("_DERIVED_NOTE", None)
    return data


def slack_bases() -> dict[str, Any]:
    """Real Slack payloads, pointed at the bot's own commands, forms and buttons."""
    start = _fixture("slack/view_submission.json")
    start["user"]["id"] = JORDAN
    start["view"].update(callback_id="escalate_start", private_metadata=json.dumps({"step": "start", "channel": "C1"}),
                         state={"values": {"immediate_risk": {"answer": {"type": "radio_buttons",
                                                                          "selected_option": {"value": "no"}}}}})
    intake = copy.deepcopy(start)
    intake["view"].update(callback_id="escalate_submit",
                          private_metadata=json.dumps({"step": "intake", "policy": "surrey", "channel": "C1"}),
                          state={"values": {"disputed": {"answer": {"type": "plain_text_input", "value": "x"}}}})
    click = _fixture("slack/block_actions_in_thread.DERIVED.json")
    click.update(user={"id": LENA}, actions=[{"action_id": "case_resolve", "block_id": "case_actions",
                                              "type": "button", "value": '{"ref":"ESC-2026-0001","stage":1}',
                                              "action_ts": "1.1"}])
    mention = _fixture("slack/app_mention_event.json")
    mention["event"].update(user=JORDAN, text="<@W111> help")
    command = {"command": "/escalate", "text": "", "user_id": JORDAN, "user_name": "jordan", "channel_id": "C1",
               "team_id": "T111", "trigger_id": "t"}
    return {"command": command, "status": {**command, "text": "status ESC-2026-0001"}, "start": start,
            "intake": intake, "click": click, "mention": mention, "url_verification": _fixture(
                "slack/url_verification.json")}


def teams_bases(service_url: str) -> dict[str, Any]:
    """Real Teams activities (the Emulator's: no token), saying and sending what people do."""
    message = _fixture("teams/teams_personal_message.json")
    message.update(serviceUrl=service_url, text="escalate", attachments=[])
    message["from"] = {"id": "29:demo-jordan-ellis", "name": "Jordan Ellis"}
    message["conversation"] = {"conversationType": "personal", "id": "a:personal-jordan"}
    submit = _fixture("teams/teams_channel_card_submit_messageback_with_value.json")
    submit.update(serviceUrl=service_url, text="", value={"step": "start", "immediate_risk": "no"})
    submit["from"] = dict(message["from"])
    submit["conversation"] = dict(message["conversation"])
    mention = _fixture("teams/teams_channel_message_mention_with_channeldata.json")
    mention.update(serviceUrl=service_url)
    return {"message": message, "help": {**message, "text": "help"}, "submit": submit, "mention": mention}


def corpus(bases: dict[str, Any], count: int) -> list[tuple[str, Any]]:
    """`count` payloads (fixed seed): each base as it is, then mutated ones."""
    found: list[tuple[str, Any]] = [(kind, base) for kind, base in bases.items()]

    @settings(max_examples=count, derandomize=True, database=None, deadline=None)
    @given(kind=st.sampled_from(sorted(bases)), data=st.data())
    def collect(kind: str, data: st.DataObject) -> None:
        found.append((kind, data.draw(mutated(bases[kind]) | json_values)))

    collect()
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class Traffic:
    """Requests for the bot, each unique (a replay would be answered from the replay memory, doing nothing)."""

    def __init__(self, url: str, connector: str) -> None:
        self.url = url
        self.slack = corpus(slack_bases(), 400)
        self.teams = corpus(teams_bases(connector), 200)
        self.sent = 0

    def request(self) -> tuple[str, bytes, dict[str, str]]:
        import hashlib
        import hmac

        self.sent += 1
        n = self.sent
        well_formed = n % 4 == 0
        if n % 3 == 0:  # Teams
            kind, activity = self.teams[(n // 3) % (len(self.teams) if not well_formed else 4)]
            if isinstance(activity, dict):  # (from many people: one person's messages are answered in turn)
                activity = {**activity, "id": f"m{n}", "from": {"id": f"29:person-{n % 500}", "name": "Someone"}}
            return "/api/messages", json.dumps(activity).encode(), {"Content-Type": "application/json"}
        kind, payload = self.slack[n % (len(self.slack) if not well_formed else 7)]
        if isinstance(payload, dict):
            payload = {**payload, "trigger_id": f"t{n}", "event_id": f"Ev{n}"}
            person = f"U{n % 500:08d}"
            if kind in ("command", "status"):
                payload["user_id"] = person
            elif kind == "mention" and isinstance(payload.get("event"), dict):
                payload["event"] = {**payload["event"], "user": person}
            elif isinstance(payload.get("user"), dict):
                payload["user"] = {**payload["user"], "id": person}
        if kind in ("command", "status") and isinstance(payload, dict):
            body, content_type = urlencode({k: v if isinstance(v, str) else json.dumps(v)
                                            for k, v in payload.items()}, errors="surrogatepass"), \
                "application/x-www-form-urlencoded"
        elif kind in ("mention", "url_verification"):
            body, content_type = json.dumps(payload), "application/json"
        else:
            body, content_type = urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        stamp = str(int(time.time()))
        digest = hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
        return "/slack/events", body.encode(), {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
                                                "X-Slack-Signature": f"v0={digest}"}

    async def send(self, session: aiohttp.ClientSession, count: int) -> dict[int, int]:
        statuses: dict[int, int] = {}
        left = count

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                path, body, headers = self.request()
                async with session.post(self.url + path, data=body, headers=headers) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return statuses


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads resident memory from /proc")
async def test_memory_stays_bounded_over_20000_requests(tmp_path):
    fakes = subprocess.Popen([sys.executable, str(ROOT / "tests" / "fakes" / "serve.py")], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "NO_PROXY": "127.0.0.1"})
    assert fakes.stdout is not None
    ports = dict(part.split("=") for part in fakes.stdout.readline().split())
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "NO_PROXY": "127.0.0.1",
           "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "BOT_TEAMS_EMULATOR": "1",
           "SLACK_API_URL": f"http://127.0.0.1:{ports['slack']}/api/"}
    log = (tmp_path / "bot.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port), "--data",
                             str(tmp_path / "data")], stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT, env=env)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "procedures:" in line:
                break
        traffic = Traffic(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{ports['connector']}/")
        async with aiohttp.ClientSession() as session:
            await traffic.send(session, WARM_UP)
            before = rss_mb(proc.pid)
            statuses = await traffic.send(session, REQUESTS)
            after = rss_mb(proc.pid)
        print(f"\nRSS after warm-up {before:.1f} MB, after {REQUESTS} more requests {after:.1f} MB "
              f"(+{after - before:.1f} MB); answers {dict(sorted(statuses.items()))}")
        assert sum(statuses.values()) == REQUESTS and not any(s >= 500 for s in statuses), statuses
        assert statuses.get(200, 0) > REQUESTS // 4  # (most well-formed ones were answered, not refused)
        assert after - before < LIMIT_MB, (before, after)
    finally:
        for child in (proc, fakes):
            child.terminate()
            child.wait(timeout=30)
        log.close()
    assert "Traceback" not in (tmp_path / "bot.log").read_text()
