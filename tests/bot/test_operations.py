"""What an operator watches: /readyz (and why not), /metrics (only to this machine or with the token), and JSON log
lines that carry the case and actor but never personal data."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CHILD_NAME
from deployment import free_port

from bot.app import CORE, HEALTH, build_app
from bot.config import ConfigError, read_settings
from bot.door.logs import JsonFormatter, log_context
from bot.jobs.runner import PassReport
from bot.types import Event, ThreadRef, UserRef
from storage.memory_store import MemoryStore

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-0123456789"
ANSWERS = {"arose_on": "2026-11-23", "other_agency": "Northshire Police", "other_professional": "Chris Walker",
           "other_role": "Detective Constable", "category": "safeguarding_decision", "disputed": "Closed",
           "impact": "Risk continues", "desired_change": "Strategy discussion", "discussed_line_manager": "yes",
           "discussed_other": "yes", "child_status": "none", "child_name": CHILD_NAME, "child_dob": "2015-02-03"}


async def test_ready_once_a_pass_has_run_and_why_not_otherwise(aiohttp_client, all_policies):
    store = MemoryStore()
    app = build_app(store, all_policies, read_settings({"BOT_TICK_SECONDS": "5"}), run_scheduler=False)
    client = await aiohttp_client(app)
    health = app[HEALTH]
    assert (await client.get("/readyz")).status == 200  # (within a start's grace)
    health.started -= 60  # (no pass for a minute: more than three passes' time)
    answer = await client.get("/readyz")
    assert answer.status == 503 and "no scheduler pass has finished since the start" in (await answer.json())[
        "reasons"][0]
    await health.after_pass(PassReport())
    assert (await client.get("/readyz")).status == 200
    health.last_pass = time.monotonic() - 30
    assert "the last scheduler pass finished 30 s ago" in (await (await client.get("/readyz")).json())["reasons"][0]
    health.last_pass = time.monotonic()
    await store.close()  # (the store stops answering)
    reasons = (await (await client.get("/readyz")).json())["reasons"]
    assert reasons == ["the store does not answer (StoreError)"]


async def test_metrics_count_requests_and_measure_the_outbox_and_open_cases(aiohttp_client, all_policies):
    store = MemoryStore()
    app = build_app(store, {"surrey": all_policies["surrey"]}, read_settings({}), run_scheduler=False)
    client = await aiohttp_client(app)
    me = ThreadRef("console", "practitioner@example.org")
    user = UserRef("console", "practitioner@example.org", email="practitioner@example.org")
    taken = await app[CORE].door.submit(Event.submitted(user, me, ANSWERS, {"step": "intake", "policy": "surrey"},
                                                        event_id="ops-1", reply_to=me))
    assert any(r.case_ref for r in await app[CORE].door.process(taken.ticket))
    assert (await client.post("/slack/events", data=b"x")).status in (404, 405)
    await app[HEALTH].after_pass(PassReport())
    text = await (await client.get("/metrics")).text()
    assert 'escalation_requests_total{route="unmatched",status="404"} 1.0' in text or \
        'escalation_requests_total{route="unmatched",status="405"} 1.0' in text
    assert "escalation_ack_seconds_bucket" in text and "escalation_scheduler_lag_seconds" in text
    assert 'escalation_cases_open{policy="surrey",stage="1"} 1.0' in text
    assert "escalation_outbox_depth 1.0" in text or "escalation_outbox_depth 0.0" in text
    assert "escalation_deliveries_failed 0.0" in text and "escalation_nudges_queued_total 0.0" in text
    assert CHILD_NAME not in text


async def test_metrics_are_refused_through_a_proxy_or_elsewhere_without_the_token(aiohttp_client, all_policies):
    app = build_app(MemoryStore(), all_policies, read_settings({"BOT_METRICS_TOKEN": TOKEN}), run_scheduler=False)
    client = await aiohttp_client(app)
    assert (await client.get("/metrics")).status == 200  # (this machine)
    proxied = {"X-Forwarded-For": "203.0.113.9"}
    assert (await client.get("/metrics", headers=proxied)).status == 403
    assert (await client.get("/metrics", headers={**proxied, "Authorization": "Bearer wrong-token-0000000"})).status \
        == 403
    assert (await client.get("/metrics", headers={**proxied, "Authorization": f"Bearer {TOKEN}"})).status == 200


def test_settings_for_logs_and_metrics_are_checked() -> None:
    with pytest.raises(ConfigError, match="BOT_LOG_FORMAT must be text or json"):
        read_settings({"BOT_LOG_FORMAT": "xml"})
    with pytest.raises(ConfigError, match="BOT_METRICS_TOKEN must be at least 16 characters"):
        read_settings({"BOT_METRICS_TOKEN": "short"})
    assert read_settings({"BOT_LOG_FORMAT": "JSON"}).log_format == "json"


def test_a_json_line_carries_the_case_and_actor_and_only_the_kind_of_an_error() -> None:
    record = logging.LogRecord("bot.x", logging.WARNING, __file__, 1, "delivery failed (%s)", ("SendError",), None)
    with log_context(case="ESC-2026-0001", actor="slack:U123"):
        line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "WARNING" and line["event"] == "delivery failed (SendError)"
    assert line["case"] == "ESC-2026-0001" and line["actor"] == "slack:U123" and line["time"].endswith("+00:00")
    try:
        raise ValueError(f"a message quoting {CHILD_NAME}")
    except ValueError:
        failed = logging.LogRecord("bot.x", logging.ERROR, __file__, 1, "pass failed", (), sys.exc_info())
    out = JsonFormatter().format(failed)
    assert json.loads(out)["error"] == "ValueError" and CHILD_NAME not in out and "case" not in json.loads(out)


def test_serve_with_json_logs_writes_one_object_per_line(tmp_path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "BOT_LOG_FORMAT": "json",
           "BOT_LOG_LEVEL": "INFO"}
    port = str(free_port())
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", port, "--data", str(tmp_path / "data")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "procedures:" in line:
            break
    time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=40)
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, "no log lines"
    assert all(line.startswith("{") for line in lines), err
    parsed = [json.loads(line) for line in lines]  # (every line is one JSON object)
    assert {"time", "level", "logger", "event"} <= set(parsed[0])
    assert any("stopped after" in p["event"] for p in parsed)


@pytest.mark.parametrize("setting", ["missing file", "wrong key"])
def test_serve_stops_with_exit_code_2_and_one_line_when_the_master_key_will_not_do(tmp_path, setting) -> None:
    """A master key missing or wrong is a setting that stops start-up: exit code 2, which the unit does not restart
    (RestartPreventExitStatus=2), and one line naming it."""
    from datetime import datetime

    from bot.dates.workdays import LONDON
    from storage.keys import write_key_file

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    data = tmp_path / "data"
    now = datetime.now(LONDON).replace(microsecond=0).isoformat()
    made = subprocess.run([sys.executable, "-m", "bot", "tick", "--now", now, "--data", str(data)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)  # (sealed under a development key)
    assert made.returncode == 0 and (tmp_path / "data-keys" / "master.key").is_file(), made.stderr
    key_file = tmp_path / "secrets" / "master.key"
    key_file.parent.mkdir()
    if setting == "wrong key":
        write_key_file(key_file)
    port = str(free_port())
    done = subprocess.run([sys.executable, "-m", "bot", "serve", "--port", port, "--data", str(data)], cwd=ROOT,
                          env={**env, "BOT_MASTER_KEY_FILE": str(key_file)}, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: ") and "BOT_MASTER_KEY_FILE" in line
