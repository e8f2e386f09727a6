"""The backup and restore drill, through the command line (`python -m bot backup|restore`) on a store sealed as
deployed: cases opened through the real core are backed up, the data folder and its data keys wiped, restored from
the archive with the master key kept apart, and every document of every collection is back, by value, and `audit
verify` passes. A backup is the store at one moment even while it is being written to; it never holds a key file nor a
child's details in the clear; restore refuses a folder not empty, a damaged or hostile archive, a wrong or missing
master key and a broken audit trail, leaving the target as it was."""

from __future__ import annotations

import asyncio
import glob
import gzip
import hashlib
import io
import json
import re
import shutil
import stat
import subprocess
import tarfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import CHILD_NAME
from postgres_support import MASTER_KEY, database_url, drop_schemas, new_schema
from records_kit import LENA, Desk, at, bot, fresh_copy

from bot.cases.trail import log_event
from bot.config import deployment_store, read_settings
from bot.dates.workdays import LONDON
from bot.records.backup import make_backup, restore
from policies.loader import load_policies
from storage import KeySource, TinyDBStore
from storage.backup import MANIFEST, BackupError
from storage.keys import write_key_file

KEEP_APART = "keep the master key apart: the backup cannot be read without it"


async def build(data: Path | None, env: dict[str, str] | None = None) -> list[str]:
    """Three cases through the real core (one resolved, one escalated, one just opened) and an operator's export, in
    the data folder `data` (or the database `env` names)."""
    policies = load_policies()
    async with deployment_store(read_settings(env or {}), data) as store:
        desk = Desk(store, {"bcssp": policies["bcssp"], "medway": policies["medway"]}, at(2026, 3, 2))
        first = await desk.open_case(policy_id="bcssp")
        await desk.resolve(LENA, first, at(2026, 3, 3))
        second = await desk.open_case(at(2026, 3, 4), policy_id="medway")
        await desk.escalate(LENA, second, at(2026, 3, 5))
        third = await desk.open_case(at(2026, 3, 6), policy_id="medway")
        await log_event(store, {"at": at(2026, 3, 6, 11).isoformat(), "by": "cli:ops", "action": "record_exported",
                                "ref": first, "detail": f"{first}-record.docx"})
        return [first, second, third]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("backup")
    return folder, asyncio.run(build(folder / "data"))


@pytest.fixture
def data(template: tuple[Path, list[str]], tmp_path: Path) -> Path:
    return fresh_copy(template[0], tmp_path)


@pytest.fixture
def key_file(data: Path, tmp_path: Path) -> Path:
    """The development master key, copied apart (as an operator keeps it: never with the data or its backups)."""
    apart = tmp_path / "secrets"
    apart.mkdir(mode=0o700)
    shutil.copy(data.with_name("data-keys") / "master.key", apart / "master.key")
    (apart / "master.key").chmod(0o600)
    return apart / "master.key"


def backed_up(tmp_path: Path, data: Path) -> Path:
    backups = tmp_path / "backups"
    backups.mkdir(exist_ok=True)
    made = bot(tmp_path, "backup", "--out", backups, "--data", data)
    assert made.returncode == 0, made.stderr
    (archive,) = backups.iterdir()
    return archive


async def contents(data: Path, key_file: Path) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, Any]]:
    """Every document of every collection of the data folder and its data keys, as stored (sealed fields sealed),
    and the cases as the master key opens them."""
    raw: dict[tuple[str, str], dict[str, Any]] = {}
    for folder in (data, data.with_name(f"{data.name}-keys")):
        async with TinyDBStore(folder) as store:
            for collection in await store.collections():
                raw[(folder.name, collection)] = dict(await store.scan(collection))
    async with deployment_store(read_settings({"BOT_MASTER_KEY_FILE": str(key_file)}), data) as store:
        return raw, dict(await store.scan("cases"))


def members(archive: Path) -> dict[str, bytes | None]:
    """Each member's bytes (None: a folder)."""
    with tarfile.open(archive) as tar:
        return {m.name: None if m.isdir() else (tar.extractfile(m) or io.BytesIO()).read() for m in tar.getmembers()}


def rebuilt(archive: Path, out: Path, change) -> Path:
    """The archive made again with `change(files)` applied to its files (name -> bytes) and the manifest's digest made
    over them as the bot makes it, counts kept: a damaged or doctored archive that still looks whole."""
    files = members(archive)
    manifest = json.loads(files.pop(MANIFEST) or b"")
    files = change(files)
    digest = hashlib.sha256()
    with tarfile.open(out, "w") as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            if body is None:
                info.type = tarfile.DIRTYPE
            info.size = len(body or b"")
            digest.update(name.encode() + b"\x00" + str(info.size).encode() + b"\x00" + (body or b""))
            tar.addfile(info, None if body is None else io.BytesIO(body))
        body = json.dumps({**manifest, "digest": f"sha256:{digest.hexdigest()}"}).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    return out


def nothing_left(place: Path, data: Path) -> None:
    """No data folder, no data-key folder, no unpacked folder beside them."""
    assert not data.exists() and not data.with_name("data-keys").exists()
    assert not [p.name for p in place.iterdir() if ".restore-" in p.name]


def test_the_drill_back_up_wipe_restore_and_everything_is_back(tmp_path: Path, data: Path, key_file: Path,
                                                                template: tuple[Path, list[str]]) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    made = bot(tmp_path, "backup", "--out", backups, "--data", data)
    assert made.returncode == 0, made.stderr
    (archive,) = backups.iterdir()
    assert archive.name.startswith("escalation-bot-backup-") and archive.name.endswith(".tar.gz")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert made.stdout.splitlines()[0].startswith(f"Backed up {data} and its data keys")
    assert ": 3 case(s), 5 audit-log entries, this backup's own among them; audit head entry 5." in made.stdout
    assert KEEP_APART in made.stdout.lower() and CHILD_NAME not in made.stdout + made.stderr
    inside = members(archive)
    assert not [name for name in inside if name.endswith(".key")]  # (master.key sat in data-keys/: left out)
    assert any(name.startswith("data-keys/data_keys/") for name in inside)
    everything = b"".join(body or b"" for body in inside.values())
    assert CHILD_NAME.encode() not in everything and CHILD_NAME.encode() not in gzip.decompress(archive.read_bytes())
    manifest = json.loads(inside[MANIFEST] or b"")
    assert manifest["counts"]["data"]["cases"] == 3 and manifest["audit_head"]["seq"] == 5
    assert manifest["made_at"][:10] == datetime.now(LONDON).date().isoformat() and manifest["bot_version"]

    before = asyncio.run(contents(data, key_file))  # (the live store after the backup: its own entry in it)
    shutil.rmtree(data)
    shutil.rmtree(data.with_name("data-keys"))
    back = bot(tmp_path, "restore", archive, "--data", data, BOT_MASTER_KEY_FILE=str(key_file))
    assert back.returncode == 0, back.stderr
    lines = back.stdout.splitlines()
    assert lines[0].startswith(f"Restored {archive.name} (made at {manifest['made_at']}")
    assert lines[1] == "Cases restored: 3."
    assert lines[2].startswith("Audit trail intact: 5 audit-log entries") and lines[3].startswith("Head: entry 5, link")
    assert lines[-2] == ("The restore is in the audit log as entry 6, after the check above: the head is now entry 6 "
                         "(`audit verify` prints the Head line to keep).") and lines[-1].startswith("Start the bot")

    raw, cases = asyncio.run(contents(data, key_file))
    assert cases == before[1] and set(cases) == set(template[1])
    assert CHILD_NAME in json.dumps(cases[template[1][0]]["child"])  # (the sealed fields open)
    for place, docs in before[0].items():
        if place == ("data", "audit_log"):
            added = {k: v for k, v in raw[place].items() if k not in docs}
            assert {k: raw[place][k] for k in docs} == docs and [e["action"] for e in added.values()] == ["restored"]
            (entry,) = added.values()
            assert entry["detail"].startswith(f"from {archive.name}, made at {manifest['made_at']}; 3 case(s)")
        elif place == ("data", "meta"):
            assert {k: v for k, v in raw[place].items() if k != "audit-head"} == \
                {k: v for k, v in docs.items() if k != "audit-head"}
        else:
            assert raw[place] == docs, place
    assert set(raw) == set(before[0])
    assert [e["action"] for e in before[0][("data", "audit_log")].values()].count("backup_made") == 1
    verified = bot(tmp_path, "audit", "verify", "--data", data, BOT_MASTER_KEY_FILE=str(key_file))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("Audit trail intact: 6 audit-log entries")


async def test_a_backup_taken_while_the_bot_writes_is_the_store_at_one_moment(tmp_path: Path, data: Path,
                                                                               key_file: Path) -> None:
    written: list[str] = []
    async with deployment_store(read_settings({}), data) as store:
        stop = asyncio.Event()

        async def busy() -> None:  # (the bot at work: audit entries, and dialogs sealed under the day's data key)
            n = 0
            while not stop.is_set():
                written.append(await log_event(store, {"at": datetime.now(LONDON).isoformat(), "by": "console:x",
                                                       "action": "status_viewed", "detail": str(n)}))
                await store.put("dialogs", f"console:{n}", {"touched_at": "2026-11-23", "answers": {"n": n}})
                n += 1

        worker = asyncio.create_task(busy())
        while len(written) < 3:
            await asyncio.sleep(0.01)
        report = await make_backup(store, tmp_path / "b.tar.gz", by="cli:test", now=datetime.now(LONDON))
        at_backup = len(written)
        while len(written) < at_backup + 3:
            await asyncio.sleep(0.01)
        stop.set()
        await worker
    target = tmp_path / "restored" / "data"
    target.parent.mkdir()
    done = await restore(report.path, target, target.with_name("data-keys"), KeySource(file=str(key_file)),
                         by="cli:test", now=datetime.now(LONDON))
    assert done.verdict.ok, done.verdict.problems
    assert done.verdict.head is not None and done.verdict.head[0] == report.head  # (the chain ends at the head)
    async with deployment_store(read_settings({"BOT_MASTER_KEY_FILE": str(key_file)}), target) as restored:
        dialogs = await restored.scan("dialogs")  # (each opens: its data key was copied with it)
        assert len(dialogs) == report.manifest["counts"]["data"]["dialogs"] and len(dialogs) >= 3
        assert sorted(doc["answers"]["n"] for _, doc in dialogs) == list(range(len(dialogs)))


async def test_a_failed_backup_leaves_no_file_and_is_in_the_audit_log(tmp_path: Path, data: Path, monkeypatch) -> None:
    def full(*_args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("storage.backup._write", full)
    async with deployment_store(read_settings({}), data) as store:
        with pytest.raises(BackupError, match="No space left on device"):
            await make_backup(store, tmp_path / "b.tar.gz", by="cli:test", now=datetime.now(LONDON))
        actions = [doc["action"] for _, doc in sorted(await store.scan("audit_log"))]
    assert actions[-2:] == ["backup_made", "backup_failed"]
    assert not (tmp_path / "b.tar.gz").exists() and not list((data / "tmp").iterdir())


def test_backup_refuses_a_wrong_out_and_postgres(tmp_path: Path, data: Path) -> None:
    (tmp_path / "old.tar.gz").write_bytes(b"an older backup")
    for out, why in ((tmp_path / "old.tar.gz", "already exists"), (tmp_path / "b.zip", "is not one"),
                     (tmp_path / "none" / "b.tar", "no folder"), (tmp_path / "backups-not-made", "there is no folder"),
                     (data / "b.tar", "inside the store's folders")):
        refused = bot(tmp_path, "backup", "--out", out, "--data", data)
        assert refused.returncode in (1, 2) and why in refused.stderr and len(refused.stderr.splitlines()) == 1, out
    assert (tmp_path / "old.tar.gz").read_bytes() == b"an older backup" and not (data / "b.tar").exists()
    on_postgres = bot(tmp_path, "backup", "--out", tmp_path, BOT_DATABASE_URL="postgresql://nobody@127.0.0.1:1/x")
    assert on_postgres.returncode == 2 and "pg_dump and pg_restore" in on_postgres.stderr


def test_restore_refuses_a_folder_not_empty_and_changes_nothing(tmp_path: Path, data: Path, key_file: Path) -> None:
    archive = backed_up(tmp_path, data)
    target = tmp_path / "other" / "data"
    target.mkdir(parents=True)
    (target / "notes.txt").write_text("someone's")
    refused = bot(tmp_path, "restore", archive, "--data", target, BOT_MASTER_KEY_FILE=str(key_file))
    assert refused.returncode == 1 and "is not empty" in refused.stderr and "nothing was restored" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1
    assert [p.name for p in target.iterdir()] == ["notes.txt"] and (target / "notes.txt").read_text() == "someone's"
    assert sorted(p.name for p in target.parent.iterdir()) == ["data"]
    again = bot(tmp_path, "restore", archive, "--data", data, BOT_MASTER_KEY_FILE=str(key_file))  # (the live one)
    assert again.returncode == 1 and "is not empty" in again.stderr


@pytest.mark.parametrize("doctor, why", [
    (lambda files: {**files, "data/../../escaped": b"x"}, "not a path inside it"),
    (lambda files: {k: v for k, v in files.items() if not (k.startswith("data/cases/") and v)} | {"data/x.json": b"{}"},
     "other numbers of files than the manifest says"),
    (lambda files: {**files, "data-keys/master.key": b"k"}, "a key file"),
], ids=["climbing out", "cases missing", "a key file"])
def test_restore_refuses_a_doctored_archive_leaving_nothing(tmp_path: Path, data: Path, key_file: Path, doctor,
                                                            why: str) -> None:
    archive = rebuilt(backed_up(tmp_path, data), tmp_path / "doctored.tar", doctor)
    place = tmp_path / "place"
    place.mkdir()
    refused = bot(tmp_path, "restore", archive, "--data", place / "data", BOT_MASTER_KEY_FILE=str(key_file))
    assert refused.returncode == 1 and why in refused.stderr and len(refused.stderr.splitlines()) == 1
    nothing_left(place, place / "data")
    assert not (tmp_path / "escaped").exists()


def test_restore_refuses_an_archive_with_no_manifest(tmp_path: Path, data: Path, key_file: Path) -> None:
    archive = tmp_path / "plain.tar"
    with tarfile.open(archive, "w") as tar:  # (the folder by hand, as the bot would have it but for the manifest)
        tar.add(data, arcname="data", filter=lambda m: None if m.name in ("data/.lock", "data/tmp") else m)
    place = tmp_path / "place"
    place.mkdir()
    refused = bot(tmp_path, "restore", archive, "--data", place / "data", BOT_MASTER_KEY_FILE=str(key_file))
    assert refused.returncode == 1 and "has no manifest.json" in refused.stderr
    nothing_left(place, place / "data")


def test_restore_refuses_a_wrong_or_missing_master_key_leaving_nothing(tmp_path: Path, data: Path) -> None:
    archive = backed_up(tmp_path, data)
    place = tmp_path / "place"
    place.mkdir()
    other = tmp_path / "other.key"
    write_key_file(other)
    wrong = bot(tmp_path, "restore", archive, "--data", place / "data", BOT_MASTER_KEY_FILE=str(other))
    assert wrong.returncode == 1 and len(wrong.stderr.splitlines()) == 1
    assert f"BOT_MASTER_KEY_FILE {other} does not hold master key" in wrong.stderr
    assert wrong.stderr.rstrip().endswith("nothing was restored")
    nothing_left(place, place / "data")
    missing = bot(tmp_path, "restore", archive, "--data", place / "data")
    assert missing.returncode == 1 and "set BOT_MASTER_KEY_FILE to the file holding it" in missing.stderr
    nothing_left(place, place / "data")


def test_restore_refuses_a_broken_audit_trail_unless_told(tmp_path: Path, data: Path, key_file: Path) -> None:
    def forged(files: dict[str, bytes]) -> dict[str, bytes]:
        (name,) = [n for n, body in files.items() if body and b"record_exported" in body]
        return {**files, name: (files[name] or b"").replace(b"cli:ops", b"cli:eve")}

    archive = rebuilt(backed_up(tmp_path, data), tmp_path / "forged.tar", forged)
    place = tmp_path / "place"
    place.mkdir()
    refused = bot(tmp_path, "restore", archive, "--data", place / "data", BOT_MASTER_KEY_FILE=str(key_file))
    assert refused.returncode == 1 and "audit trail is broken (audit-log entry 4" in refused.stderr
    nothing_left(place, place / "data")
    anyway = bot(tmp_path, "restore", archive, "--data", place / "data", "--despite-audit-break",
                 BOT_MASTER_KEY_FILE=str(key_file))
    assert anyway.returncode == 0, anyway.stderr
    assert "Audit trail BROKEN: audit-log entry 4" in anyway.stdout
    rows = json.loads(bot(tmp_path, "audit", "--format", "json", "--data", place / "data",
                          BOT_MASTER_KEY_FILE=str(key_file)).stdout)
    (entry,) = [row for row in rows if row.get("action") == "restored"]
    assert "its audit trail was broken: 1 problem(s)" in entry["detail"]


# --- PostgreSQL: the README's procedure, pg_dump of both schemas and pg_restore into empty ones ---------------------

def pg_tool(name: str) -> str | None:
    """A PostgreSQL client program: the installed server's own (where tests/postgres_support.py starts one), else on
    the PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


async def database_contents(url: str, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the deployment's data and data-key tables, as stored."""
    import psycopg

    out: dict[str, list[tuple[Any, ...]]] = {}
    async with await psycopg.AsyncConnection.connect(url) as conn:
        for table in (f'"{schema}".docs', f'"{schema}".sequences', f'"{schema}_keys".docs'):
            rows = await (await conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")).fetchall()
            out[table] = [tuple(row) for row in rows]
    return out


async def put_aside(url: str, schema: str) -> None:
    """The README's step: `ALTER SCHEMA escalation RENAME TO escalation_old`, and the same for `escalation_keys`."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f'ALTER SCHEMA "{schema}" RENAME TO "{schema}_old"')
        await conn.execute(f'ALTER SCHEMA "{schema}_keys" RENAME TO "{schema}_keys_old"')


async def server_major(url: str) -> int:
    import psycopg

    async with await psycopg.AsyncConnection.connect(url) as conn:
        row = await (await conn.execute("SHOW server_version_num")).fetchone()
    return int(row[0]) // 10000 if row else 0


def test_the_postgres_procedure_pg_dump_of_both_schemas_then_pg_restore(tmp_path: Path) -> None:
    url, schema = database_url(), new_schema()
    dump, restore_ = pg_tool("pg_dump"), pg_tool("pg_restore")
    if dump is None or restore_ is None:
        pytest.skip("pg_dump and pg_restore are not installed (PostgreSQL's client programs): the README's PostgreSQL "
                    "backup procedure is not tried here")
    version = re.search(r"(\d+)", subprocess.run([dump, "--version"], capture_output=True, text=True,
                                                 check=True).stdout)
    if version is None or int(version[1]) < asyncio.run(server_major(url)):
        pytest.skip(f"{dump} is older than the PostgreSQL server, which it cannot dump")
    env = {"BOT_DATABASE_URL": url, "BOT_DATABASE_SCHEMA": schema, "BOT_MASTER_KEY": MASTER_KEY}
    try:
        refs = asyncio.run(build(None, env))
        before = asyncio.run(database_contents(url, schema))
        file = tmp_path / "escalation.dump"
        dumped = subprocess.run([dump, "--format=custom", f"--schema={schema}", f"--schema={schema}_keys",
                                 f"--file={file}", url], capture_output=True, text=True, timeout=120, check=False)
        assert dumped.returncode == 0, dumped.stderr
        asyncio.run(put_aside(url, schema))  # (as the README says: both schemas put aside, kept until one is sure)
        restored = subprocess.run([restore_, f"--dbname={url}", str(file)], capture_output=True, text=True,
                                  timeout=120, check=False)
        assert restored.returncode == 0, restored.stderr
        assert asyncio.run(database_contents(url, schema)) == before
        verified = bot(tmp_path, "audit", "verify", **env)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert verified.stdout.startswith("Audit trail intact: 4 audit-log entries and") and "3 case(s)" in \
            verified.stdout
        shown = bot(tmp_path, "export", refs[0], "--format", "md", **env)  # (the sealed fields open)
        assert shown.returncode == 0 and refs[0] in shown.stdout, shown.stderr
        refused = bot(tmp_path, "backup", "--out", tmp_path, **env)
        assert refused.returncode == 2 and "pg_dump and pg_restore" in refused.stderr
    finally:
        asyncio.run(drop_schemas(url, schema))
        for aside in (f"{schema}_old", f"{schema}_keys_old"):
            asyncio.run(drop_schemas(url, aside))
