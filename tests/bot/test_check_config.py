"""`python -m bot check-config` as an operator runs it: one line per check, exit 0 / 1 / 2, within seconds, never a
secret printed, and nothing changed: not the data folder (files and times), not the database (no schema made, no row
written), not beside a running bot. Slack is a fake Web API and Microsoft's login endpoint a fake too
(MICROSOFT_LOGIN_URL), both on 127.0.0.1; PostgreSQL is tests/postgres_support's."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from deployment import free_port
from fakes.slack_api import FakeSlack

from storage import KeySource, store_for
from storage.keys import key_id, parse_key, write_key_file

REPO = Path(__file__).resolve().parents[2]
APP_ID = "11111111-2222-3333-4444-555555555555"
TENANT = "66666666-7777-8888-9999-000000000000"
SECRET = "the-client-secret-value"
SLACK_TOKEN = "xoxb-1-the-bot-token"
SIGNING = "a-signing-secret"


def check(cwd: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """`python -m bot check-config` in `cwd` with only these settings (none of this process's); and how long it took."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "SLACK_", "MICROSOFT_", "TEAMS_"))}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "bot", "check-config"], cwd=cwd, capture_output=True, text=True,
                          env={**clean, "PYTHONPATH": str(REPO), "NO_PROXY": "127.0.0.1,localhost", **env},
                          timeout=60, check=False)
    return done, time.monotonic() - started


async def run_check(cwd: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    return await asyncio.to_thread(check, cwd, **env)


def lines(done: subprocess.CompletedProcess[str]) -> dict[str, tuple[str, str]]:
    """Each check's (status, text), by name."""
    found = {}
    for line in done.stdout.splitlines():
        status, rest = line.split(None, 1)
        name, text = rest.split(": ", 1)
        found[name] = (status, text)
    return found


class Login:
    """Microsoft's login endpoint as msal calls it for an app registration's token: the tenant's OpenID configuration,
    then the client-credentials grant."""

    def __init__(self) -> None:
        self.asked: list[dict[str, str]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self.configuration)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self.token)
        app.router.add_get("/common/discovery/instance", self.instance)  # (msal asks it after a refusal)
        return app

    async def instance(self, request: web.Request) -> web.Response:
        hosts = ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"]
        return web.json_response({
            "tenant_discovery_endpoint": "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
            "api-version": "1.1", "metadata": [{"preferred_network": hosts[0], "preferred_cache": hosts[1],
                                                "aliases": hosts}]})

    async def configuration(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        if tenant != TENANT:
            return web.json_response({"error": "invalid_tenant"}, status=400)
        base = f"https://login.microsoftonline.com/{tenant}"
        return web.json_response({"token_endpoint": f"{base}/oauth2/v2.0/token",
                                  "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                                  "issuer": f"{base}/v2.0"})

    async def token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.asked.append({k: str(v) for k, v in form.items()})
        if form.get("client_secret") != SECRET:
            return web.json_response({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client "
                                      "secret provided. Trace ID: 0f0f Correlation ID: 1e1e"}, status=401)
        return web.json_response({"token_type": "Bearer", "expires_in": 3599, "access_token": "a-token-for-teams"})


async def channels(aiohttp_server: Any) -> tuple[FakeSlack, Login, dict[str, str]]:
    """The fake Slack and login endpoint running, and the settings that point the bot at them."""
    slack, login = FakeSlack(token=SLACK_TOKEN), Login()
    slack_server = await aiohttp_server(slack.app(), host="127.0.0.1")
    login_server = await aiohttp_server(login.app(), host="127.0.0.1")
    return slack, login, {
        "SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": SIGNING,
        "SLACK_API_URL": f"http://127.0.0.1:{slack_server.port}/api/",
        "MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_TENANT_ID": TENANT, "MICROSOFT_APP_PASSWORD": SECRET,
        "MICROSOFT_LOGIN_URL": f"http://127.0.0.1:{login_server.port}/"}


async def sealed_folder(data: Path, key_file: Path) -> None:
    """A data folder holding one sealed case, under the master key in `key_file` (written to the side, 0600)."""
    write_key_file(key_file)
    async with store_for(data, keys=KeySource(file=str(key_file))) as store:
        await store.put("cases", "ESC-2026-0001", {"ref": "ESC-2026-0001", "status": "open",
                                                   "child": {"child_name": "Tallulah Quenby-Marsh"}})
        await store.maintain()  # type: ignore[attr-defined]


def snapshot(*folders: Path) -> dict[str, tuple[int, int, str]]:
    """Every file and folder under `folders`: its size, modification time and content digest."""
    found = {}
    for folder in folders:
        for path in [folder, *sorted(folder.rglob("*"))]:
            info = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
            found[str(path)] = (info.st_size, info.st_mtime_ns, digest)
    return found


async def test_all_good_prints_ok_lines_and_exits_0_changing_nothing(tmp_path: Path, aiohttp_server: Any) -> None:
    slack, login, env = await channels(aiohttp_server)
    data, key_file = tmp_path / "data", tmp_path / "secret" / "master.key"
    await sealed_folder(data, key_file)
    before = snapshot(data, tmp_path / "data-keys", key_file.parent)
    done, _ = await run_check(tmp_path, BOT_DATA_DIR=str(data), BOT_MASTER_KEY_FILE=str(key_file), **env)
    assert done.returncode == 0, done.stdout + done.stderr
    seen = lines(done)
    assert list(seen) == ["settings", "master key", "embedded store", "slack", "teams"]
    assert {status for status, _ in seen.values()} == {"ok"}, done.stdout
    assert seen["settings"][1] == ("5 procedures (bcssp, gloucestershire, lincolnshire, medway, surrey), data folder "
                                   f"{data}, serving on 127.0.0.1:3978")
    current = key_id(parse_key(key_file.read_text().split()[0], "the key"))
    assert seen["master key"][1] == (f"BOT_MASTER_KEY_FILE {key_file} (1 key, current {current}, mode 600); opens "
                                     f"the data keys stored (wrapped under {current})")
    assert seen["embedded store"][1].startswith(f"{data} (schema version 1, 1 case); data keys in {tmp_path}/data-keys")
    assert seen["slack"][1] == "auth.test as escalation-bot in team Fake (SLACK_BOT_TOKEN)"
    assert seen["teams"][1] == (f"got a token for MICROSOFT_APP_ID {APP_ID} from http://127.0.0.1:"
                                f"{env['MICROSOFT_LOGIN_URL'].rsplit(':', 1)[1]}{TENANT} (SingleTenant)")
    assert [call.method for call in slack.calls] == ["auth.test"]  # nothing posted
    assert [(a["client_id"], a["grant_type"], a["scope"]) for a in login.asked] == [
        (APP_ID, "client_credentials", "https://api.botframework.com/.default")]
    assert snapshot(data, tmp_path / "data-keys", key_file.parent) == before
    for secret in (SLACK_TOKEN, SIGNING, SECRET, "a-token-for-teams", key_file.read_text().split()[0]):
        assert secret not in done.stdout + done.stderr


async def test_a_bad_slack_token_fails_that_line_alone(tmp_path: Path, aiohttp_server: Any) -> None:
    slack, _, env = await channels(aiohttp_server)
    slack.fail["auth.test"] = "invalid_auth"
    done, _ = await run_check(tmp_path, BOT_TEAMS_EMULATOR="1", **{k: v for k, v in env.items()
                                                                   if not k.startswith("MICROSOFT_")})
    assert done.returncode == 1, done.stdout + done.stderr
    seen = lines(done)
    assert [name for name, (status, _) in seen.items() if status == "FAIL"] == ["slack"]
    assert seen["slack"][1].startswith("Slack refused SLACK_BOT_TOKEN (auth.test): invalid_auth: copy the Bot User "
                                       "OAuth Token")
    assert seen["teams"] == ("skipped", "local trial mode (BOT_TEAMS_EMULATOR=1: no app id, nothing to sign in with)")
    assert SLACK_TOKEN not in done.stdout + done.stderr


async def test_a_wrong_client_secret_and_an_unreachable_slack_fail_saying_what_to_do(
        tmp_path: Path, aiohttp_server: Any) -> None:
    _, login, env = await channels(aiohttp_server)
    env.update(MICROSOFT_APP_PASSWORD="not-the-secret", SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/")
    done, took = await run_check(tmp_path, **env)
    assert done.returncode == 1 and took < 15, done.stdout + done.stderr
    seen = lines(done)
    assert seen["teams"][0] == "FAIL" and "invalid_client (AADSTS7000215): MICROSOFT_APP_PASSWORD is not the " \
        "client secret's value" in seen["teams"][1]
    assert seen["slack"][0] == "FAIL" and seen["slack"][1].startswith("cannot reach Slack at http://127.0.0.1:")
    assert len(login.asked) == 1 and "not-the-secret" not in done.stdout + done.stderr


async def test_in_socket_mode_the_app_token_is_tried_too(tmp_path: Path, aiohttp_server: Any) -> None:
    from fakes.slack_socket import FakeSocketMode

    app_token = "xapp-1-A111-the-app-token"
    fake = FakeSocketMode(app_token, FakeSlack(token=SLACK_TOKEN))
    server = await aiohttp_server(fake.app(), host="127.0.0.1")
    env = {"SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_APP_TOKEN": app_token, "BOT_TEAMS_EMULATOR": "1",
           "SLACK_API_URL": f"http://127.0.0.1:{server.port}/api/"}
    done, _ = await run_check(tmp_path, **env)
    assert done.returncode == 0, done.stdout + done.stderr
    slack = [line for line in done.stdout.splitlines() if line.split(None, 1)[1].startswith("slack: ")]
    assert slack == ["ok       slack: auth.test as escalation-bot in team Fake (SLACK_BOT_TOKEN)",
                     "ok       slack: apps.connections.open gave a Socket Mode address (SLACK_APP_TOKEN)"]
    assert fake.opened == [f"Bearer {app_token}"] and fake.sockets == []  # (an address asked for, never opened)

    fake.refuse = "invalid_auth"
    refused, _ = await run_check(tmp_path, **env)
    assert refused.returncode == 1
    assert lines(refused)["slack"] == ("FAIL", "Slack refused SLACK_APP_TOKEN (apps.connections.open): invalid_auth: "
                                       "copy an app-level token (xapp-...) with the connections:write scope from the "
                                       "app's Basic Information page, and turn Socket Mode on")
    assert app_token not in refused.stdout + refused.stderr


async def test_an_unreachable_database_fails_within_seconds_its_password_hidden(tmp_path: Path) -> None:
    url = f"postgresql://bot:hunter2-secret@127.0.0.1:{free_port()}/escalation"
    done, took = await run_check(tmp_path, BOT_DATABASE_URL=url, BOT_MASTER_KEY="A" * 43)
    assert done.returncode == 1, done.stdout + done.stderr
    assert took < 15
    seen = lines(done)
    assert seen["database"][0] == "FAIL"
    assert seen["database"][1].startswith("cannot reach the database at postgresql://bot:***@127.0.0.1:")
    assert "hunter2" not in done.stdout + done.stderr
    assert seen["master key"][0] == "ok"


async def test_a_wrong_master_key_for_a_sealed_folder_fails_naming_it(tmp_path: Path) -> None:
    data, key_file, wrong = tmp_path / "data", tmp_path / "keys" / "master.key", tmp_path / "other" / "master.key"
    await sealed_folder(data, key_file)
    write_key_file(wrong)
    before = snapshot(data, tmp_path / "data-keys")
    done, _ = await run_check(tmp_path, BOT_DATA_DIR=str(data), BOT_MASTER_KEY_FILE=str(wrong))
    assert done.returncode == 1, done.stdout + done.stderr
    seen = lines(done)
    assert [name for name, (status, _) in seen.items() if status == "FAIL"] == ["master key"]
    right = key_id(parse_key(key_file.read_text().split()[0], "the key"))
    assert seen["master key"][1] == (f"BOT_MASTER_KEY_FILE {wrong} does not hold master key {right}, which this "
                                     "store's data keys are wrapped under (the wrong key, or an old key removed "
                                     "before `python -m bot keys status` showed none left under it): give the bot "
                                     "the master key this data was sealed under")
    assert snapshot(data, tmp_path / "data-keys") == before


async def test_a_new_deployment_makes_nothing(tmp_path: Path) -> None:
    done, _ = await run_check(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    seen = lines(done)
    assert seen["embedded store"] == ("ok", f"{tmp_path}/data not made yet: made on the first start")
    assert seen["master key"] == ("ok", f"none set: the first start makes a development key at {tmp_path}/data-keys/"
                                  "master.key (for trials only: set BOT_MASTER_KEY_FILE to a key kept apart from the "
                                  "data)")
    assert seen["slack"][0] == seen["teams"][0] == "skipped"
    assert list(tmp_path.iterdir()) == []


def test_a_wrong_setting_exits_2_with_one_line(tmp_path: Path) -> None:
    done, _ = check(tmp_path, BOT_PORT="eighty")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == ["error: BOT_PORT must be a whole number from 1 to 65535 (found 'eighty')"]


def test_it_works_beside_a_running_bot(tmp_path: Path) -> None:
    data, key_file = tmp_path / "data", tmp_path / "keys" / "master.key"
    asyncio.run(sealed_folder(data, key_file))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "SLACK_", "MICROSOFT_", "TEAMS_"))}
    env = {**clean, "PYTHONPATH": str(REPO), "BOT_MASTER_KEY_FILE": str(key_file)}
    server = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(free_port()), "--data", str(data)],
                              cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        assert server.stdout.readline().startswith("Escalation bot listening on")
        deadline = time.monotonic() + 10
        while (data / ".lock").read_text().strip() != str(server.pid):
            assert time.monotonic() < deadline, "the server never took the store's lock"
            time.sleep(0.05)
        done, _ = check(tmp_path, BOT_DATA_DIR=str(data), BOT_MASTER_KEY_FILE=str(key_file))
        assert done.returncode == 0, done.stdout + done.stderr
        assert lines(done)["embedded store"][1].startswith(f"{data} (schema version 1, 1 case)")
        assert done.stderr == ""
        assert server.poll() is None and (data / ".lock").read_text() == f"{server.pid}\n"
    finally:
        server.terminate()
        server.wait(30)


@pytest.fixture
def database() -> Any:
    from postgres_support import MASTER_KEY, database_url, drop_schemas, new_schema

    url, schema = database_url(), new_schema()
    yield url, schema, MASTER_KEY
    asyncio.run(drop_schemas(url, schema))


def rows(url: str, schema: str) -> dict[str, Any]:
    """Every row of the deployment's tables, and which of its schemas exist."""
    import psycopg

    with psycopg.connect(url) as conn:
        there = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)",
                                            ([schema, f"{schema}_keys"],)).fetchall()}
        found: dict[str, Any] = {"schemas": there}
        for name in sorted(there):
            for table in ("docs", "sequences", "replicas", "schema_migrations"):
                if conn.execute("SELECT to_regclass(%s)", (f"{name}.{table}",)).fetchone()[0]:
                    found[f"{name}.{table}"] = sorted(map(repr, conn.execute(f'SELECT * FROM "{name}".{table}')))
    return found


async def test_on_postgresql_nothing_is_made_or_written(tmp_path: Path, database: Any) -> None:
    url, schema, key = database
    done, _ = await run_check(tmp_path, BOT_DATABASE_URL=url, BOT_DATABASE_SCHEMA=schema, BOT_MASTER_KEY=key)
    assert done.returncode == 0, done.stdout + done.stderr
    assert lines(done)["database"] == ("ok", f"{url}, schema {schema} not made yet: made on the first start (if this "
                                       "deployment has stored cases before, BOT_DATABASE_SCHEMA is wrong)")
    assert rows(url, schema) == {"schemas": set()}

    async with store_for(tmp_path, url, schema=schema, keys=KeySource(key)) as store:
        await store.put("cases", "ESC-2026-0001", {"ref": "ESC-2026-0001", "child": {"child_name": "T Q-M"}})
        await store.maintain()  # type: ignore[attr-defined]
    before = rows(url, schema)
    done, _ = await run_check(tmp_path, BOT_DATABASE_URL=url, BOT_DATABASE_SCHEMA=schema, BOT_MASTER_KEY=key)
    assert done.returncode == 0, done.stdout + done.stderr
    seen = lines(done)
    assert seen["database"][1].startswith(f"{url}, schema {schema} (schema version 3, 1 case); data keys in "
                                          f"{schema}_keys (")
    assert seen["master key"][1].startswith("BOT_MASTER_KEY (1 key, current ")
    assert "opens the data keys stored" in seen["master key"][1]
    other = "B" * 43
    wrong, _ = await run_check(tmp_path, BOT_DATABASE_URL=url, BOT_DATABASE_SCHEMA=schema, BOT_MASTER_KEY=other)
    assert wrong.returncode == 1 and lines(wrong)["master key"][0] == "FAIL"
    assert "BOT_MASTER_KEY does not hold master key" in lines(wrong)["master key"][1]
    assert rows(url, schema) == before
