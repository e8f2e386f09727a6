"""A process's readiness and its Prometheus metrics (served by bot.app at `GET /readyz` and `GET /metrics`).

Ready means the process can do its work: the store answers (within 2 s), the master key is held (a sealed store), the
scheduler has finished a pass recently (within three `BOT_TICK_SECONDS`, after a start's grace of the same), and every
probe a channel added says so (Slack's Socket Mode connection is open).

The metrics (prometheus-client, a registry per process): requests by route and status (Slack's Socket Mode envelopes
under the route `socket_mode`), the time to answer each (a platform's ack), nudges queued, deliveries failed (retried)
or given up, the outbox's depth, the scheduler's lag and open cases by procedure and stage (counted at most every five
minutes, from the store's select on status). No label carries anything a person typed: routes are path patterns,
stages numbers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.jobs.outbox import Outbox
from bot.jobs.runner import PassReport
from storage.base import Store
from storage.collections import CASES, META, OUTBOX_DUE

log = logging.getLogger(__name__)
STORE_SECONDS = 2.0  # a store slower than this to answer a probe is "not ready"
OPEN_CASES_EVERY = 300.0  # seconds between counts of open cases
ACK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)  # (Slack's limit: 3 s)
QUIET_ROUTES = frozenset({"/metrics", "/readyz", "/healthz"})  # (probes: not counted as traffic)


class Health:
    def __init__(self, store: Store, outbox: Outbox, tick_seconds: int) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.store = store
        self.tick_seconds = tick_seconds
        self.started = time.monotonic()
        self.last_pass: float | None = None
        self.probes: list[Callable[[], Awaitable[str]]] = []  # a channel's own readiness: why not ready, or ""
        self._counted_at = -OPEN_CASES_EVERY
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("escalation_requests", "Requests (and Slack Socket Mode envelopes) answered, by route "
                                "and status",
                                ["route", "status"], registry=r)
        self.ack = Histogram("escalation_ack_seconds", "Time to answer a request (a platform's acknowledgement)",
                             ["route"], buckets=ACK_BUCKETS, registry=r)
        self.nudges = Counter("escalation_nudges_queued", "Nudges queued by scheduler passes", registry=r)
        failed = Gauge("escalation_deliveries_failed", "Delivery attempts that failed (each retried later) since the "
                       "process started", registry=r)
        given_up = Gauge("escalation_deliveries_given_up", "Messages given up after a day of failures since the "
                         "process started", registry=r)
        self.outbox = Gauge("escalation_outbox_depth", "Messages waiting to be delivered", registry=r)
        lag = Gauge("escalation_scheduler_lag_seconds", "Seconds since the last scheduler pass finished", registry=r)
        self.open_cases = Gauge("escalation_cases_open", "Open cases by procedure and stage", ["policy", "stage"],
                                registry=r)
        lag.set_function(lambda: time.monotonic() - (self.last_pass or self.started))
        failed.set_function(lambda: float(outbox.failed_attempts))
        given_up.set_function(lambda: float(outbox.given_up))

    def answered(self, route: str, status: int, seconds: float) -> None:
        if route not in QUIET_ROUTES:
            self.requests.labels(route, str(status)).inc()
            self.ack.labels(route).observe(seconds)

    async def after_pass(self, report: PassReport) -> None:
        """A scheduler pass finished: its nudges counted, the outbox measured, open cases counted now and then."""
        self.last_pass = time.monotonic()
        self.nudges.inc(len(report.sent))
        try:
            self.outbox.set(len(await self.store.keys(OUTBOX_DUE)))
            if time.monotonic() - self._counted_at >= OPEN_CASES_EVERY:
                self._counted_at = time.monotonic()
                counts: dict[tuple[str, str], int] = {}
                for _, case in await self.store.select(CASES, [{"status": ("=", "open")}]):
                    key = (str(case.get("policy", "")), str(case.get("stage", "")))
                    counts[key] = counts.get(key, 0) + 1
                self.open_cases.clear()
                for (policy, stage), count in counts.items():
                    self.open_cases.labels(policy, stage).set(count)
        except Exception as exc:  # (a metric never stops the scheduler)
            log.warning("could not measure the outbox or open cases (%s)", type(exc).__name__)

    async def not_ready(self) -> list[str]:
        """Why the process is not ready (empty: ready)."""
        reasons = []
        try:
            await asyncio.wait_for(self.store.get(META, "readiness-probe"), STORE_SECONDS)
        except Exception as exc:
            reasons.append(f"the store does not answer ({type(exc).__name__})")
        keyring: Any = getattr(self.store, "keyring", None)
        if keyring is not None and not keyring.keys:
            reasons.append("no master key is held")
        window = 3 * self.tick_seconds
        now = time.monotonic()
        if self.last_pass is None and now - self.started > window:
            reasons.append(f"no scheduler pass has finished since the start ({now - self.started:.0f} s ago)")
        elif self.last_pass is not None and now - self.last_pass > window:
            reasons.append(f"the last scheduler pass finished {now - self.last_pass:.0f} s ago (more than {window} s)")
        for probe in self.probes:
            reason = await probe()
            if reason:
                reasons.append(reason)
        return reasons

    def metrics_text(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
