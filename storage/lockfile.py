"""The owner's lock on a data directory: an exclusive flock on DATA/.lock holding the owner's pid.

One process at a time owns a data directory (the server, or a command run while it is stopped) and holds the lock
for as long as its store is open. The flock belongs to the open file description, so even a second open in the
same process is refused. Guests (TinyDBStore(shared=True): export and audit beside the running server) do not
take or touch the lock at all.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from storage.base import StoreError, StoreInUse


def acquire_lock(root: Path) -> int:
    """An exclusive flock on DATA/.lock holding our pid; StoreInUse if another holder has it."""
    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        who = "this process" if holder == str(os.getpid()) else "another process"
        raise StoreInUse(
            f"store in use: {who} (pid {holder}) has {root} open; stop it or use another --data directory",
            holder=holder,
        ) from None
    except OSError as exc:
        os.close(fd)
        raise StoreError(f"cannot lock the store at {root}: {exc.strerror}") from exc
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return fd


def release_lock(fd: int) -> None:
    """Release a lock taken by `acquire_lock`."""
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def holder(root: Path) -> str | None:
    """The pid of the process that owns the data directory now (it holds the lock), or None: checked without taking
    the lock or changing anything (a shared flock, tried and let go at once)."""
    try:
        fd = os.open(root / ".lock", os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
    except OSError:
        return None
    finally:
        os.close(fd)  # (closing lets go of a shared lock taken)
    return None
