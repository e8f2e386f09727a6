"""The access trail, end to end through the command line on a store sealed as deployed: every operator command and
every read of a case in chat leaves an audit entry (who, when, what, which case), and the audit never carries the
child's details nor what an operator typed. The last step moves the store to PostgreSQL, so the database's audit
shows the whole trail, the copy included."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from conftest import CHILD_NAME
from postgres_support import database_url, drop_schemas, new_schema
from records_kit import JORDAN, LENA, STRANGER, Desk, at

from bot.config import deployment_store, read_settings
from bot.dates.workdays import LONDON
from bot.people.directory_csv import demo_directory, export_directory_csv
from policies.loader import load_policies

REPO = Path(__file__).resolve().parents[2]
OPERATOR = f"cli:{pwd.getpwuid(os.geteuid()).pw_name}"
OLD, OPEN = "ESC-2016-0001", "ESC-2016-0002"  # closed in 2016 (past retention), and still open


async def build(data: Path) -> None:
    policies = load_policies()
    async with deployment_store(read_settings({}), data) as store:
        desk = Desk(store, {"medway": policies["medway"]}, at(2016, 3, 1))
        assert await desk.open_case() == OLD  # (the child: the canary name)
        await desk.resolve(LENA, OLD, at(2016, 3, 2))
        assert await desk.open_case(at(2016, 3, 3)) == OPEN


def bot(cwd: Path, *args: str | Path, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    done = subprocess.run([sys.executable, "-m", "bot", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          input=stdin, env={**clean, "PYTHONPATH": str(REPO), **env}, timeout=120, check=False)
    assert done.returncode == 0, f"{args}: {done.stderr}"
    return done


def test_every_operator_command_and_every_read_is_in_the_audit_without_the_child(tmp_path: Path) -> None:
    url, schema, data = database_url(), new_schema(), tmp_path / "data"
    asyncio.run(build(data))
    people = tmp_path / "people.csv"
    people.write_text(export_directory_csv(demo_directory(["medway"])), encoding="utf-8")
    try:
        bot(tmp_path, "export", OPEN, "--format", "docx", "--data", data)
        bot(tmp_path, "chat", "--user", JORDAN, "--data", data, stdin=f"status {OPEN}\n")  # on the case
        bot(tmp_path, "chat", "--user", STRANGER, "--data", data, stdin=f"status {OPEN}\nrecord {OPEN}\n")
        bot(tmp_path, "hold", OLD, "--reason", f"Claim about {CHILD_NAME}", "--data", data)
        bot(tmp_path, "purge", "--dry-run", "--data", data)
        bot(tmp_path, "release", OLD, "--data", data)
        bot(tmp_path, "purge", "--yes", "--data", data)
        bot(tmp_path, "subject-access", OPEN, "--out", tmp_path / "sar.json", "--data", data)
        bot(tmp_path, "directory", "import", people, "--data", data)
        bot(tmp_path, "tick", "--now", datetime.now(LONDON).replace(microsecond=0).isoformat(), "--data", data)
        bot(tmp_path, "keys", "new")  # (no store: nothing to log; see bot/cli/keys.py)
        bot(tmp_path, "keys", "status", "--data", data)
        bot(tmp_path, "audit", "--format", "csv", "--data", data)
        key = str(data.with_name("data-keys") / "master.key")  # (the replicas get the key the folder was sealed with)
        bot(tmp_path, "copy-to-database", "--data", data, BOT_DATABASE_URL=url, BOT_DATABASE_SCHEMA=schema,
            BOT_MASTER_KEY_FILE=key)
        done = bot(tmp_path, "audit", "--format", "json", "--data", data, BOT_DATABASE_URL=url,
                   BOT_DATABASE_SCHEMA=schema, BOT_MASTER_KEY_FILE=key)
    finally:
        asyncio.run(drop_schemas(url, schema))

    assert CHILD_NAME not in done.stdout and "Quenby" not in done.stdout  # not the child, nor the hold's reason
    rows = json.loads(done.stdout)
    trail = [(r["action"], r["case"], r["who"]) for r in rows
             if r["who"] != "bot" and r["action"] not in ("opened", "resolved")]  # (what people did)
    assert trail == [
        ("record_exported", OPEN, OPERATOR),
        ("status_viewed", OPEN, f"console:{JORDAN}"),
        ("access_refused", OPEN, f"console:{STRANGER}"),
        ("access_refused", OPEN, f"console:{STRANGER}"),
        ("hold", OLD, OPERATOR),  # (the audit log's entry: the case's own went with it)
        ("purge_dry_run", "", OPERATOR),
        ("released", OLD, OPERATOR),
        ("purged", OLD, OPERATOR),
        ("subject_access", OPEN, OPERATOR),
        ("directory_imported", "", OPERATOR),
        ("tick", "", OPERATOR),
        ("keys_status", "", OPERATOR),
        ("audit_exported", "", OPERATOR),
        ("copied_to_database", "", OPERATOR),
    ]
    detail = {r["action"]: r["detail"] for r in rows}
    assert [r["detail"] for r in rows if r["action"] == "access_refused"] == ["status", "record"]
    assert detail["purge_dry_run"] == "0 case(s) would be removed, 1 kept on legal hold; retention 6 years"
    assert detail["directory_imported"].endswith(" agencies") and "@" not in detail["directory_imported"]
    assert detail["copied_to_database"].startswith(f"schema {schema}; ")
    assert all(datetime.fromisoformat(r["at"]) for r in rows)
