"""The composition root: builds the core (store, people, cases, jobs, conversation, door) and the channels, up front
and explicitly, for every process: the web server, the console, and one scheduler pass. Nothing else wires things.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.admin.socket import AdminSocket
from bot.cases.book import CaseBook
from bot.cases.desk import CaseDesk
from bot.cases.roles import Roles
from bot.config import ConfigError, Settings, deployment_store, read_settings
from bot.conversation.engine import Engine
from bot.conversation.inbox import Inbox
from bot.dates.clock import Clock, SystemClock
from bot.door import Door
from bot.door.logs import log_handler
from bot.jobs.agenda import Agenda
from bot.jobs.claims import Claimer
from bot.jobs.expiry import DEDUPE, DailySweep
from bot.jobs.health import Health
from bot.jobs.outbox import ChannelInfo, Outbox, PrintSender
from bot.jobs.runner import Jobs, PassReport
from bot.jobs.scheduler import Scheduler
from bot.jobs.threads import Threads
from bot.jobs.weekly import WeeklyPoster
from bot.jobs.work import Work
from bot.people.directory import Directory, People, directory_stamp, load_directory
from bot.people.directory_csv import demo_directory
from bot.types import ThreadRef
from policies.model import Policy
from storage.base import Store
from storage.common import KeyedLocks
from storage.postgres_store import redacted

# (log_handler: for the CLI)
__all__ = ["Core", "build_app", "build_core", "log_handler", "operating", "scheduler_loop", "serve"]
log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
STOP_SECONDS = 20.0  # a stop (SIGTERM, SIGINT) takes at most this, all told: requests in flight, the scheduler's pass,
#                     work in flight; what has not finished by then is stored, and the next start finishes it
REQUEST_STOP_SECONDS = 5.0  # of which requests in flight (they wait on nothing outbound for longer than a few seconds)
STOPPING = web.AppKey("stopping", list)


@dataclass
class Core:
    """Everything the core is made of, built once per process."""

    store: Store
    policies: Mapping[str, Policy]
    clock: Clock
    people: People
    book: CaseBook
    roles: Roles
    outbox: Outbox
    work: Work
    threads: Threads
    scheduler: Scheduler
    desk: CaseDesk
    engine: Engine
    weekly: WeeklyPoster
    sweep: DailySweep
    jobs: Jobs
    inbox: Inbox
    door: Door
    directory_stamp: str = ""  # which import is in use (bot.people.directory.directory_stamp)
    passing: asyncio.Lock = field(default_factory=asyncio.Lock)  # one pass at a time: the loop's, or an operator's tick

    async def load_directory(self, settings: Settings | None = None) -> bool:
        """Put the imported directory in use (else the shipped fictional one); True if one was imported."""
        stamp = await directory_stamp(self.store)
        directory, imported = await directory_for(self.store, settings)
        self.people.directory = directory
        self.directory_stamp = stamp
        return imported

    async def refresh_directory(self) -> bool:
        """Load the directory again if another has been imported since (by `directory import`, beside running
        replicas); True if it was."""
        stamp = await directory_stamp(self.store)
        if stamp == self.directory_stamp:
            return False
        stored = await load_directory(self.store)
        if stored is None:
            return False
        self.people.directory, self.directory_stamp = stored, stamp
        log.info("a new directory was imported: now in use (%d people)", len(stored))
        return True

    async def tick(self, now: datetime | None = None, *, expire: bool = True) -> PassReport:
        """One scheduler pass: the directory again if a new one was imported, forms accepted but not handled (the
        process stopped), then the jobs. Passes in one process run one at a time (an operator's `tick` through the
        administration socket waits for the scheduler's)."""
        async with self.passing:
            return await self._pass(now, expire)

    async def _pass(self, now: datetime | None, expire: bool) -> PassReport:
        try:
            await self.refresh_directory()
        except Exception as exc:  # (the one in use stays; tried again at the next pass)
            log.warning("could not check for a new directory (%s)", type(exc).__name__)
        try:
            await self.inbox.claimer.refresh(self.store)  # (replicas that have gone: their work is taken over)
        except Exception as exc:
            log.warning("could not check which replicas are running (%s)", type(exc).__name__)
        maintain = getattr(self.store, "maintain", None)  # (a sealed store: key rotation, older records sealed)
        if maintain is not None:
            try:
                await maintain()
            except Exception as exc:
                log.warning("could not look after the data keys (%s); tried again at the next pass", exc)
        await self.inbox.recover()
        return await self.jobs.run_pass(now, expire=expire)


def build_core(store: Store, policies: Mapping[str, Policy], clock: Clock | None = None, *,
               directory: Directory | None = None, settings: Settings | None = None) -> Core:
    """The core over `store` (which need not be open yet). With no `directory`, none until `load_directory`."""
    settings = settings or read_settings({})
    clock = clock or SystemClock()
    policies = dict(policies)
    people = People(directory or Directory([]))
    # (this process's name on the work it claims: the store's name for it, where replicas share the store)
    claimer = Claimer(exclusive=store.exclusive, name=getattr(store, "instance", None))
    book, roles, outbox, work = CaseBook(store), Roles(people), Outbox(store, clock, claimer), Work()
    threads = Threads(book, outbox, roles, policies, work)
    scheduler = Scheduler(book, policies, clock, threads, Agenda(store), roles, KeyedLocks(),
                          send_time=settings.nudge_time, review_days=settings.review_days, claimer=claimer)
    desk = CaseDesk(book, store, policies, clock, roles, scheduler)
    engine = Engine(store, book, desk, roles, threads, outbox, policies, clock)
    weekly = WeeklyPoster(book, store, policies, threads, summary_place(settings), settings.summary_weekday,
                          settings.summary_time)
    sweep = DailySweep(store, list(DEDUPE))
    inbox = Inbox(store, clock, engine, threads, claimer)
    door = Door(engine, inbox, outbox, store, clock, sweep, threads, work)
    return Core(store, policies, clock, people, book, roles, outbox, work, threads, scheduler, desk, engine, weekly,
                sweep, Jobs(threads, scheduler, weekly, sweep, clock), inbox, door)


def summary_place(settings: Settings) -> ThreadRef | None:
    """Where the weekly summary is posted (BOT_SUMMARY_CHANNEL), if anywhere."""
    if not settings.summary_target:
        return None
    channel, _, conversation = settings.summary_target.partition(":")
    return ThreadRef(channel, conversation)


async def directory_for(store: Store, settings: Settings | None = None) -> tuple[Directory, bool]:
    """The imported directory and True, or the shipped fictional example and False when none has been imported."""
    stored = await load_directory(store)
    if stored is not None:
        return stored, True
    from policies.loader import POLICY_DIR, load_policies

    return demo_directory(load_policies(settings.policy_dir if settings else POLICY_DIR)), False


# --- the web server ---------------------------------------------------------------------------------------------
CORE = web.AppKey("core", Core)
HEALTH = web.AppKey("health", Health)
METRICS_TOKEN = web.AppKey("metrics_token", str)


def build_app(store: Store, policies: Mapping[str, Policy], settings: Settings | None = None,
              clock: Clock | None = None, *, manage_store: bool = True, run_scheduler: bool = True,
              teams: bool = True, admin: bool = False, serving: bool = True) -> web.Application:
    """The bot's web app with its channels mounted. On start-up: open the store, load the directory, start the
    scheduler (`run_scheduler`) and, on an embedded store, the administration socket (`admin`: bot.admin.socket); on
    clean-up, the reverse. `serving`: it serves requests (False: an operator's command only connects the channels
    through it, and its stop is not announced)."""
    from adapters.http import quiet_unreadable_requests

    settings = settings or read_settings({})
    core = build_core(store, policies, clock, settings=settings)
    quiet_unreadable_requests()
    health = Health(core.store, core.outbox, settings.tick_seconds)
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_measured(health)])
    app[CORE] = core
    app[HEALTH] = health
    app[STOPPING] = []  # when the stop began (the loop's clock), set by on_shutdown
    app[METRICS_TOKEN] = settings.metrics_token

    async def stopping(_: web.Application) -> None:
        app[STOPPING].append(asyncio.get_running_loop().time())
        log.info("stopping: taking no new requests; finishing what is in flight (at most %.0f s)", STOP_SECONDS)

    if serving:
        app.on_shutdown.append(stopping)

    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        if manage_store:
            await store.open()
        await core.load_directory(settings)
        stop = asyncio.Event()
        task = (asyncio.create_task(scheduler_loop(core, settings.tick_seconds, stop, health.after_pass))
                if run_scheduler else None)
        # (the first summary after a start is not slower; an operator's command serves no summaries)
        warming = asyncio.create_task(_prepare_summary(core)) if serving else None
        folder = getattr(store, "path", None)
        live = AdminSocket(folder, core, settings) if admin and store.exclusive and folder is not None else None
        if live is not None:
            await live.start()
        yield
        if live is not None:
            await live.stop()  # (first: an operator's command is told the bot is stopping, never half-served)
        if warming is not None:
            warming.cancel()  # (preparation still under way is of no use to a process stopping)
            with contextlib.suppress(asyncio.CancelledError):
                await warming
        # Stopping (SIGTERM, SIGINT): the server has stopped taking requests and waited for those in flight. The
        # scheduler finishes the pass it is in, work started after an answer (a form being handled, messages being
        # delivered) finishes, each within STOP_SECONDS; only then is the store closed. What did not finish is
        # stored, and the next start does it.
        loop = asyncio.get_running_loop()
        deadline = (app[STOPPING][0] if app[STOPPING] else loop.time()) + STOP_SECONDS
        stop.set()
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), max(0.1, deadline - loop.time()))
            except TimeoutError:
                log.warning("stopping: the scheduler pass did not finish in time; the next start goes on")
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await core.work.drain(max(0.1, deadline - loop.time()))
        if manage_store:
            await store.close()
        if app[STOPPING] and serving:
            log.info("stopped after %.1f s", loop.time() - app[STOPPING][0])

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    socket = None
    if settings.slack_enabled:
        from adapters.slack.mount import mount_slack

        socket = mount_slack(app, settings, core.door, measure=health.answered)
    if teams and (settings.teams_app_id or settings.teams_emulator):
        from adapters.teams.mount import mount_teams

        mount_teams(app, settings, core.door)
    # (after the channels' own set-up, so that its stop runs before theirs: the channels' connections are still open
    # while the scheduler pass and the work in flight finish, and closed after)
    app.cleanup_ctx.append(lifecycle)
    if socket is not None and serving:
        # Slack's Socket Mode connection: opened once the store is open and the directory loaded, and closed first on
        # a stop (no envelope is taken on then), before the work in flight is waited for and the store closed. (An
        # operator's command only sends through Slack: it takes no envelopes.)
        app.cleanup_ctx.append(socket.running)
        health.probes.append(socket.not_ready)
    return app


async def _prepare_summary(core: Core) -> None:
    """What the first weekly summary after a start would otherwise pay, done at start off the event loop: the
    chart's drawing prepared in a worker thread (bot.summary.chart.warm_up), and the store's answer to the summary's
    question (on the embedded store, the owner's projection of the cases is built once, by reading every case). A
    failure is only logged: the first summary does it."""
    from bot.summary.chart import warm_up
    from bot.summary.figures import summary_window

    try:
        chart = await asyncio.to_thread(warm_up)
        started = asyncio.get_running_loop().time()
        await core.book.for_summary(summary_window(core.clock.now().date()))
        log.debug("summary ready: chart %.2f s, cases %.2f s", chart, asyncio.get_running_loop().time() - started)
    except Exception:
        log.exception("could not prepare the weekly summary; the first summary asked for does it")


async def scheduler_loop(core: Core, every: int, stop: asyncio.Event | None = None,
                         after: Callable[[PassReport], Awaitable[None]] | None = None) -> None:
    """Run a scheduler pass now and then every `every` seconds until `stop` is set (a pass in progress finishes);
    a failing pass is logged, never fatal. `after`: told of each pass that finished (readiness, metrics)."""
    stop = stop or asyncio.Event()
    while not stop.is_set():
        try:
            report = await core.tick()
            if after is not None:
                await after(report)
        except Exception:
            log.exception("scheduler pass failed; trying again in %s s", every)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def healthz(request: web.Request) -> web.Response:
    """Alive (the process answers): for a supervisor's liveness check."""
    return web.json_response({"status": "ok", "policies": sorted(request.app[CORE].policies)})


async def readyz(request: web.Request) -> web.Response:
    """Ready to do its work (bot.jobs.health): 200, or 503 with the reasons, for a load balancer."""
    reasons = await request.app[HEALTH].not_ready()
    if reasons:
        return web.json_response({"status": "not ready", "reasons": reasons}, status=503)
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus metrics, to a caller on this machine (not through a proxy) or one presenting
    `Authorization: Bearer $BOT_METRICS_TOKEN`; else 403."""
    token = request.app[METRICS_TOKEN]
    offered = request.headers.get("Authorization", "")
    if not ((token and hmac.compare_digest(offered.encode(), f"Bearer {token}".encode())) or _from_here(request)):
        return web.Response(status=403, text="metrics are served to this machine, or with BOT_METRICS_TOKEN\n")
    body, content_type = request.app[HEALTH].metrics_text()
    return web.Response(body=body, headers={"Content-Type": content_type})


def _from_here(request: web.Request) -> bool:
    if request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded"):
        return False  # (through a proxy, the peer is the proxy, not the caller)
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return isinstance(peer, tuple) and bool(peer) and _loopback(str(peer[0]))


def _measured(health: Health) -> Any:
    """Middleware: each request counted by route pattern and status, and how long its answer took."""
    @web.middleware
    async def measure(request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        started, status = time.perf_counter(), 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            health.answered(route, status, time.perf_counter() - started)

    return measure


def channel_lines(host: str, port: int, data_dir: Path | str, settings: Settings) -> list[str]:
    """What `serve` prints: which channels are live and how to reach each."""
    base = f"http://{host}:{port}"
    where = settings.slack_cases_channel or "direct messages (SLACK_CASES_CHANNEL not set)"
    if settings.slack_socket_mode:
        slack = (f"  Slack:   live over Socket Mode (no public address needed; /escalate); case threads in {where}")
    elif settings.slack_enabled:
        slack = f"  Slack:   live at POST {base}/slack/events (/escalate); case threads in {where}"
    else:
        slack = ("  Slack:   off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to serve POST /slack/events, or "
                 "SLACK_BOT_TOKEN and SLACK_APP_TOKEN for Socket Mode)")
    teams_where = settings.teams_cases_channel or "the personal chat (TEAMS_CASES_CHANNEL not set)"
    if settings.teams_app_id:
        teams = (f"  Teams:   live at POST {base}/api/messages (escalate; {settings.teams_app_type} bot); case threads "
                 f"in {teams_where}")
    elif settings.teams_emulator:
        teams = (f"  Teams:   local trial mode at POST {base}/api/messages for the Agents Playground "
                 f"(BOT_TEAMS_EMULATOR=1: unauthenticated, loopback only); case threads in {teams_where}")
    else:
        teams = ("  Teams:   off (set MICROSOFT_APP_ID, MICROSOFT_APP_TENANT_ID and MICROSOFT_APP_PASSWORD, or "
                 "BOT_TEAMS_EMULATOR=1 for local trials with the Agents Playground)")
    return [
        f"Escalation bot listening on {base} (data: {data_dir})",
        f"  health:  GET {base}/healthz (alive), {base}/readyz (ready: 503 with the reasons), {base}/metrics "
        "(Prometheus: this machine, or BOT_METRICS_TOKEN)",
        slack,
        teams,
        *(["  console: python -m bot chat --user EMAIL (beside the replicas, with the same BOT_DATABASE_URL)"]
          if settings.database_url else
          ["  console: python -m bot chat --user EMAIL --data DIR (one process per data folder:",
           "           stop this server first, or give the console another --data folder)"]),
    ]


def key_line(settings: Settings, data_dir: Path) -> str:
    """What `serve` prints about the master key sealing the data (where it comes from, never the key)."""
    from storage import default_key_dir

    if settings.master_key:
        return "  keys:    data sealed under BOT_MASTER_KEY"
    if settings.master_key_file:
        return f"  keys:    data sealed under the key file {settings.master_key_file} (BOT_MASTER_KEY_FILE)"
    dev = (settings.key_dir or default_key_dir(data_dir)) / "master.key"
    return (f"  keys:    data sealed under the development key {dev} (made on the first start; for trials only: "
            "set BOT_MASTER_KEY_FILE to a key kept apart from the data)")


def _loopback(name: str) -> bool:
    try:
        return name.lower() in ("localhost", "localhost.") or ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(settings: Settings, policies: Mapping[str, Policy], *, host: str | None = None, port: int | None = None,
          data_dir: Path | None = None) -> int:
    host = host or settings.host
    port = port or settings.port
    data = data_dir or settings.data_dir
    if settings.teams_emulator and not _loopback(host.strip()):
        raise ConfigError(
            f"refusing to listen on {host}: BOT_TEAMS_EMULATOR is set and MICROSOFT_APP_ID is not, so Teams "
            "requests would not be authenticated (the local trial mode of the Agents Playground and the Bot "
            "Framework Emulator). Set MICROSOFT_APP_ID (README: Teams), or listen on a loopback address such as "
            "127.0.0.1"
        )
    _can_listen(host, port)
    app = build_app(deployment_store(settings, data), policies, settings, admin=True)
    names = ", ".join(policies)

    def announce(_: object) -> None:
        where = f"database {redacted(settings.database_url)}" if settings.database_url else str(data)
        admin = [] if settings.database_url else [
            f"  admin:   {data / '.admin.sock'} (tick, purge, hold, release, directory import and backup, run as "
            "this user, are done by this bot)"]
        for line in [*channel_lines(host, port, where, settings), *admin, f"  procedures: {names}",
                     key_line(settings, data)]:
            print(line, flush=True)

    try:
        web.run_app(app, host=host, port=port, print=announce, access_log=None,
                    shutdown_timeout=REQUEST_STOP_SECONDS)
    except OSError as error:
        raise _listen_error(host, port, error) from None
    return 0


def _listen_error(host: str, port: int, error: OSError) -> ConfigError:
    return ConfigError(f"cannot listen on {host}:{port}: {error.strerror or error} (is another copy running? set "
                       "BOT_PORT or pass --port)")


def _can_listen(host: str, port: int) -> None:
    """Fail before the store is opened if the address cannot be listened on (in use, not this machine's, not
    allowed): one line naming it."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as error:
        raise ConfigError(f"cannot listen on {host}:{port}: {error}") from None
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp does
            try:
                probe.bind(address)
            except OSError as error:
                raise _listen_error(host, port, error) from None


async def channel_checks(settings: Settings) -> list[tuple[str, str, str]]:
    """Slack and Teams reached as this bot reaches them, changing nothing (`check-config`): each channel's
    (name, "ok" | "FAIL" | "skipped", what was seen), side by side."""
    from adapters.slack.check import slack_checks
    from adapters.teams.identity import teams_check

    slack, teams = await asyncio.gather(slack_checks(settings), teams_check(settings))
    return [*(("slack", *line) for line in slack), ("teams", *teams)]


# --- the console and one scheduler pass -------------------------------------------------------------------------
async def run_console(data_dir: Path, policies: Mapping[str, Policy], settings: Settings, email: str) -> int:
    """The console channel over the data folder, for one person, until standard input ends."""
    from adapters.console import Console

    async with deployment_store(settings, data_dir) as store:
        core = build_core(store, policies, SystemClock(), settings=settings)
        await core.load_directory(settings)
        return await Console(core.door, email, data_dir).run()


@contextlib.asynccontextmanager
async def operating(settings: Settings, data_dir: Path, policies: Mapping[str, Policy], clock: Clock | None = None, *,
                    channels: bool = False) -> AsyncIterator[Core]:
    """The core for one operator's command in this process (bot.admin.ops), over the deployment's store, opened
    exclusively on the embedded store (StoreInUse while the bot runs: the command then asks the bot) and beside the
    replicas on PostgreSQL. `channels`: Slack and Teams connected as the server connects them, without listening for
    requests, so that what the command sends is delivered."""
    store = deployment_store(settings, data_dir)
    if not channels:
        async with store:
            core = build_core(store, policies, clock, settings=settings)
            await core.load_directory(settings)
            yield core
        return
    from adapters.console import render

    app = build_app(store, policies, settings, clock, run_scheduler=False, serving=False)
    # (console threads: delivered by being listed, as `tick` lists the nudges it sends)
    app[CORE].outbox.register(ChannelInfo("console", roots=False), PrintSender(lambda _: None, render))
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()  # (opens the store, loads the directory, connects the channels)
    try:
        yield app[CORE]
    finally:
        await runner.cleanup()
