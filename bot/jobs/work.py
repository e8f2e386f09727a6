"""Work in flight: what the process is doing outside a request (processing a form after it was acknowledged,
delivering queued messages), so a stop can let it finish before the store closes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

log = logging.getLogger(__name__)


MAX_IN_FLIGHT = 500  # pieces of work at once: past this a channel says "busy, try again" to new requests


class Work:
    def __init__(self, limit: int = MAX_IN_FLIGHT) -> None:
        self.limit = limit
        self._tasks: set[asyncio.Task[Any]] = set()
        self._held: set[asyncio.Task[Any]] = set()  # counted until they end, whatever `running` says
        self.stopping = False

    def spawn(self, job: Coroutine[Any, Any, Any], name: str = "work") -> asyncio.Task[Any] | None:
        """Run `job` in the background, tracked; None (and `job` closed unrun) once the process is stopping: what
        it would do is done by the next start instead (everything it needs is stored)."""
        if self.stopping:
            job.close()
            return None
        task = asyncio.get_running_loop().create_task(job, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background %s failed (%s)", task.get_name(), type(task.exception()).__name__,
                      exc_info=task.exception())

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Count the current task as work in flight while inside (work a platform's listener runs after its ack)."""
        task = asyncio.current_task()
        if task is None or task in self._tasks:
            yield
            return
        self._tasks.add(task)
        try:
            yield
        finally:
            if task not in self._held:
                self._tasks.discard(task)

    def hold(self) -> None:
        """Count the current task as work in flight until it ends (a form acknowledged between its `submit` and its
        `process`: a stop waits for it to be handled)."""
        task = asyncio.current_task()
        if task is not None and task not in self._held:
            self._tasks.add(task)
            self._held.add(task)
            task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._held.discard(task)

    @property
    def busy(self) -> int:
        return len(self._tasks)

    @property
    def overloaded(self) -> bool:
        """More work in flight than the process should take on (requests arriving faster than the platforms take
        the answers, say): new requests are better refused, to be retried, than queued without bound."""
        return len(self._tasks) >= self.limit

    async def settle(self, seconds: float = 30.0) -> None:
        """Wait (up to `seconds`) until the background work in flight now, and any it starts, is done."""
        current = asyncio.current_task()
        async with asyncio.timeout(seconds):
            while pending := {t for t in self._tasks if t is not current}:
                await asyncio.wait(pending)

    async def drain(self, seconds: float) -> bool:
        """Let the work in flight finish, and what it starts meanwhile (a form handled, then its messages
        delivered), for up to `seconds`; then take no more and cancel what is left (it is stored: the next start
        finishes it). True if it all finished."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        current = asyncio.current_task()
        while (pending := {t for t in self._tasks if t is not current}) and (left := deadline - loop.time()) > 0:
            await asyncio.wait(pending, timeout=left)
        self.stopping = True
        late = {t for t in self._tasks if t is not current}
        for task in late:
            task.cancel()
        if late:
            log.warning("stopping: %d piece(s) of work did not finish within %.0f s; they are finished at the next "
                        "start", len(late), seconds)
            await asyncio.gather(*late, return_exceptions=True)
        return not late
