"""Where the tests find PostgreSQL: BOT_TEST_DATABASE_URL if set, else a server on 127.0.0.1:5432 if one answers (user
postgres, database test), else a throwaway cluster started from the installed PostgreSQL binaries (as a non-root
user), else the PostgreSQL tests are skipped with the reason. With BOT_REQUIRE_POSTGRES=1 (CI's `.ci/run`) that skip
is a failure instead. Each test gets a schema of its own, dropped after it."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

LOCAL = "postgresql://postgres@127.0.0.1:5432/test"


def _answers(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _throwaway() -> tuple[str | None, str]:
    """Start a cluster of our own from the installed binaries; (its URL, or None and why not)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or ([shutil.which("initdb")] if shutil.which(
        "initdb") else [])
    if not found:
        return None, "no PostgreSQL server answers on 127.0.0.1:5432 and no PostgreSQL binaries (initdb) are installed"
    bin_dir = Path(str(found[-1])).parent
    folder = Path(tempfile.mkdtemp(prefix="escalation-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # (PostgreSQL refuses to run as root)
        user = next((u for u in ("postgres", "nobody") if _user_exists(u)), None)
        if user is None:
            return None, "running as root and no unprivileged user to start PostgreSQL as"
        shutil.chown(folder, user)
        os.chmod(folder, 0o700)
        run_as = ["runuser", "-u", user, "--"]
    port = _free_port()
    data = folder / "data"
    try:
        subprocess.run([*run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E",
                        "UTF8", "--no-sync"], check=True, capture_output=True, timeout=120)
        subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
                        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                       check=True, capture_output=True, timeout=120)
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"could not start a throwaway PostgreSQL from {bin_dir}: {exc}"
    atexit.register(lambda: subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                            "stop"], capture_output=True, check=False))
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    deadline = time.monotonic() + 30
    while not _answers(url):
        if time.monotonic() > deadline:
            return None, "a throwaway PostgreSQL started but did not answer"
        time.sleep(0.2)
    return url, ""


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@functools.cache
def database() -> tuple[str | None, str]:
    """(a URL of a PostgreSQL the tests may use, or None and the reason there is none)."""
    given = os.environ.get("BOT_TEST_DATABASE_URL", "").strip()
    if given:
        return (given, "") if _answers(given) else (None, "BOT_TEST_DATABASE_URL is set but does not answer")
    if _answers(LOCAL):
        return LOCAL, ""
    return _throwaway()


def database_url() -> str:
    """The URL, or the test is skipped with the reason (a failure when BOT_REQUIRE_POSTGRES=1)."""
    url, why = database()
    if url is None:
        if os.environ.get("BOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here (BOT_REQUIRE_POSTGRES=1): {why}")
        pytest.skip(f"PostgreSQL tests skipped: {why}")
    return url


MASTER_KEY = "dGVzdHMtb25seS1wb3N0Z3Jlcy1tYXN0ZXIta2V5ISE"  # (the tests' deployments on PostgreSQL share it)


def new_schema() -> str:
    """A schema name no other test uses."""
    return f"t_{uuid.uuid4().hex[:16]}"


async def drop_schemas(url: str, schema: str) -> None:
    """Drop a deployment's schemas: its data and its data keys (`<schema>_keys`)."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for name in (schema, f"{schema}_keys"):
            await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@contextlib.asynccontextmanager
async def two_replicas() -> AsyncIterator[tuple[Any, Any]]:
    """Two stores on one new schema, as two replicas of the bot would have; the schema dropped after."""
    from storage.postgres_store import PostgresStore

    url, schema = database_url(), new_schema()
    first, second = PostgresStore(url, schema=schema), PostgresStore(url, schema=schema)
    await asyncio.gather(first.open(), second.open())
    try:
        yield first, second
    finally:
        await first.drop()
        await asyncio.gather(first.close(), second.close())
