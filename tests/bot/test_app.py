"""The web server: /healthz through the aiohttp test client, and `python -m bot serve` as a user starts it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from aiohttp import web

from bot.app import build_app
from storage.tinydb_store import TinyDBStore

ROOT = Path(__file__).resolve().parents[2]


async def test_healthz_reports_the_enabled_policies(aiohttp_client, tmp_path, all_policies):
    app = build_app(TinyDBStore(tmp_path), {"medway": all_policies["medway"]}, run_scheduler=False)
    client = await aiohttp_client(app)
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "policies": ["medway"]}


async def test_oversized_bodies_are_refused(aiohttp_client, tmp_path, all_policies):
    app = build_app(TinyDBStore(tmp_path), all_policies, run_scheduler=False)
    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    app.router.add_post("/echo", echo)
    client = await aiohttp_client(app)
    response = await client.post("/echo", data=b"x" * (2 * 1024 * 1024))
    assert response.status == 413


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_prints_its_channels_and_answers_healthz(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port), "--data", str(tmp_path / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NO_PROXY": "127.0.0.1"},
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "procedures:" in line:
                break
        text = "".join(lines)
        assert f"http://127.0.0.1:{port}" in text
        assert "Slack:" in text and "Teams:" in text and "console:" in text
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "ok" and len(body["policies"]) == 5
    finally:
        proc.terminate()
        proc.wait(timeout=30)
