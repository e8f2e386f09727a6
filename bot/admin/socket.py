"""The running bot's administration socket: `<data>/.admin.sock`, through which an operator's command asks the bot
that owns the embedded store to run an operation (bot.admin.ops) for it.

Only the service account reaches it: the socket lives in the data folder (0700) and is itself 0600, and the bot
answers only a caller running as its own user (or root), checked from the socket's peer credentials, never from
anything the caller says. The caller is named in the audit log from those credentials too. One request a connection,
one JSON object a line each way: {"op": NAME, "params": {...}} in, {"code", "out", "err"} back. Operations run one at
a time. Nothing logged here carries the parameters (a hold's reason, a directory).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.admin.ops import OPERATIONS, Answer, Context, Refused, Running, operator
from bot.config import Settings
from storage.base import StoreError

log = logging.getLogger(__name__)
SOCKET_NAME = ".admin.sock"
LIMIT = 16 * 1024 * 1024  # one request (a directory's CSV is the largest)
CONNECT_SECONDS = 5.0
MAX_PATH = 100  # a Unix socket's path is at most 107 bytes on Linux


def socket_path(data_dir: Path) -> Path:
    return Path(data_dir) / SOCKET_NAME


def peer_uid(sock: socket.socket | None) -> int | None:
    """The user id of the process at the other end of a Unix socket (Linux: SO_PEERCRED), or None."""
    if sock is None or not hasattr(socket, "SO_PEERCRED"):
        return None
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return None
    _, uid, _ = struct.unpack("3i", raw)
    return int(uid)


class AdminSocket:
    """Listens on `<data>/.admin.sock` while the bot runs (start, stop), running each request's operation with
    the bot's own core."""

    def __init__(self, data_dir: Path, core: Running, settings: Settings) -> None:
        self.path = socket_path(data_dir)
        self.data_dir = Path(data_dir)
        self.core = core
        self.settings = settings
        self._server: asyncio.Server | None = None
        self._one_at_a_time = asyncio.Lock()

    async def start(self) -> bool:
        """Listen (True); False, with a warning, where it cannot (the commands then ask for the bot to be stopped)."""
        if len(os.fsencode(self.path)) > MAX_PATH:
            log.warning("live administration is off: the data folder's path is too long for a local socket (%d "
                        "bytes; at most %d)", len(os.fsencode(self.path)), MAX_PATH)
            return False
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # (one left by a bot that died: this process holds the store's lock, so it is stale)
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=LIMIT)
        except OSError as exc:
            log.warning("live administration is off: cannot listen on %s (%s)", self.path, exc.strerror or exc)
            return False
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        return True

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            uid = peer_uid(writer.get_extra_info("socket"))
            if uid is None or uid not in (os.geteuid(), 0):
                log.warning("admin socket: refused a caller running as another user (uid %s)", uid)
                answer = Answer(1, err="error: only the bot's service account (or root) may administer it\n")
            else:
                answer = await self._answer(await reader.readline(), uid)
            writer.write(json.dumps(answer.to_dict()).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            log.info("admin socket: a request was not read whole (%s)", type(exc).__name__)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, line: bytes, uid: int) -> Answer:
        try:
            request = json.loads(line)
            name, params = request["op"], request["params"]
            operation = OPERATIONS[name]
            if not isinstance(params, Mapping):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return Answer(2, err="error: the bot did not understand the request (is the command the bot's own "
                                 "version?)\n")
        context = Context(operator(uid), self.data_dir, self.settings, live=True)
        async with self._one_at_a_time:
            log.info("admin socket: %s asked for %s", context.by, name)
            try:
                return await operation(self.core, params, context)
            except Refused as exc:
                return Answer(2, err=f"error: {exc}\n")
            except StoreError as exc:
                return Answer(1, err=f"error: {exc}\n")
            except Exception as exc:
                log.exception("admin socket: %s failed", name)
                return Answer(1, err=f"error: the running bot could not do it ({type(exc).__name__}); its log has "
                                     "the details\n")


async def ask(data_dir: Path, name: str, params: Mapping[str, Any]) -> Answer | None:
    """Ask the bot running on `data_dir` to run operation `name`; its answer, or None if no bot answers there (none
    is running, or one from before live administration)."""
    path = socket_path(data_dir)
    if len(os.fsencode(path)) > MAX_PATH or not path.exists():
        return None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path), limit=LIMIT),
                                                CONNECT_SECONDS)
    except (OSError, TimeoutError):
        return None
    try:
        writer.write(json.dumps({"op": name, "params": dict(params)}).encode() + b"\n")
        await writer.drain()
        line = await reader.readline()  # (as long as the operation takes: a tick delivers what it sends)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    if not line:
        raise StoreError("the running bot closed the connection without answering (it may be stopping); see its log")
    return Answer.from_dict(json.loads(line))
