"""Bot Framework token checks: botbuilder's own validation, on a small thread pool of its own, within time limits.

botbuilder validates a token with `requests.get` calls to Microsoft's OpenID endpoints (to fetch the signing keys) that
block and have no timeout. So each check runs on a pool of WORKERS threads used for nothing else: a hanging key fetch
can hold those threads, never the default executor that store reads and everything else use. The key fetch gets a
timeout (KEY_FETCH_SECONDS per connect or read) and the whole check a deadline (AUTH_SECONDS): past it, `check` raises
TimeoutError and the caller answers at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import msal
import requests
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    ManagedIdentityAppCredentials,
    MicrosoftAppCredentials,
    ServiceClientCredentialsFactory,
    jwt_token_extractor,
)

log = logging.getLogger(__name__)
# A token's times, checked before botbuilder's own validation (which, through PyJWT, lets a token without `exp` live
# for ever). Microsoft's Entra tokens live about an hour (60 to 90 minutes; a tenant can set between 10 minutes and
# a day): a day is the most any of them is valid, and a token claiming longer was not issued by Microsoft.
SKEW = 300  # seconds of clock difference allowed either way (Microsoft's own validators allow 5 minutes)
MAX_LIFETIME = 24 * 3600
WORKERS = 4
AUTH_SECONDS = 5.0  # a whole check, queueing for a worker included (an inbound request waits no longer)
KEY_FETCH_SECONDS = 4.0  # one connect or read while fetching Microsoft's signing keys
IDENTITY_SECONDS = 4.0  # one connect or read while fetching the bot's own token (a managed identity's or a secret's)
LOGIN_URL = AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX  # Microsoft's login endpoint


class TimedRequests:
    """What botbuilder's key fetch uses of `requests` (only `get`), with a timeout on every call."""

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        timeout = kwargs.pop("timeout", KEY_FETCH_SECONDS)
        return requests.get(url, timeout=timeout, **kwargs)


def time_key_fetches() -> None:
    """Give botbuilder's signing-key fetch (`_OpenIdMetadata._refresh`, in an archived SDK whose last release is
    4.17.1) a timeout, by handing its module a `requests` whose `get` always has one."""
    if not isinstance(jwt_token_extractor.requests, TimedRequests):
        jwt_token_extractor.requests = TimedRequests()


def keys_unreachable(exc: BaseException) -> bool:
    """Whether a failed check failed for want of Microsoft's signing keys (our deadline, or the fetch's own timeout
    or connection error, however botbuilder wrapped it), not because of the token."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, (TimeoutError, requests.RequestException)):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


class TimedSession(requests.Session):
    """A `requests` session whose every call has a timeout (IDENTITY_SECONDS per connect or read) unless given one."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", IDENTITY_SECONDS)
        return super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]


def time_identity_fetches(credentials: object) -> None:
    """Give a managed identity's token fetch a timeout. botbuilder 4.17.1 (archived, its last release) builds msal's
    ManagedIdentityClient on a plain `requests.Session()`, so a fetch from an identity endpoint that does not answer
    (off Azure, the instance metadata address) waits without limit, on the event loop once the warm-up has failed. The
    same client is made here first, on a session with timeouts, in the attribute botbuilder then finds it in."""
    if isinstance(credentials, ManagedIdentityAppCredentials) and credentials.app is None:
        credentials.app = msal.ManagedIdentityClient(
            credentials._managed_identity, http_client=TimedSession(),
            token_cache=ManagedIdentityAppCredentials.global_token_cache)


class LoginSession(TimedSession):
    """A TimedSession that sends each call meant for Microsoft's login endpoint (LOGIN_URL) to `login_url` instead,
    when one is given: MICROSOFT_LOGIN_URL, which tests point at a fake of it."""

    def __init__(self, login_url: str = "") -> None:
        super().__init__()
        self.login_url = login_url

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        text = url.decode() if isinstance(url, bytes) else url
        if self.login_url and text.startswith(LOGIN_URL):
            text = self.login_url + text[len(LOGIN_URL):]
        return super().request(method, text, *args, **kwargs)


class _TimedApp:
    """msal's ConfidentialClientApplication for an app registration's credentials, on a LoginSession, made when first
    used (msal asks the login endpoint for the tenant's configuration as the app is made: never on the event loop)."""

    def __init__(self, credentials: MicrosoftAppCredentials, login_url: str) -> None:
        self._credentials = credentials
        self._login_url = login_url
        self._app: msal.ConfidentialClientApplication | None = None
        self._making = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        with self._making:
            if self._app is None:
                credentials = self._credentials
                self._app = msal.ConfidentialClientApplication(
                    client_id=credentials.microsoft_app_id, client_credential=credentials.microsoft_app_password,
                    authority=credentials.oauth_endpoint, http_client=LoginSession(self._login_url))
        return getattr(self._app, name)


def time_token_fetches(credentials: object, login_url: str = "") -> None:
    """Give the bot's own token fetch a timeout, whatever its app type: a managed identity's (time_identity_fetches),
    or an app registration's secret's (SingleTenant, MultiTenant), which botbuilder 4.17.1 would make on a plain
    session; its msal app is given here, made at first use on a LoginSession (which also sends it to `login_url`, when
    given), in the attribute botbuilder then finds it in."""
    time_identity_fetches(credentials)
    if isinstance(credentials, MicrosoftAppCredentials) and credentials.app is None and credentials.microsoft_app_id:
        credentials.app = _TimedApp(credentials, login_url)


class TokenRefused(Exception):
    """A bearer token refused on its times (or because it is not a JWT at all): 401, whatever its signature."""


def check_times(header: str, now: float | None = None) -> None:
    """Refuse a token without `exp` and `nbf` as whole numbers (and `iat`, when it has one: the Bot Connector's own
    tokens carry none), expired, not yet valid, issued in the future, or valid for longer than MAX_LIFETIME. Raises
    TokenRefused (its message names the problem, never the token)."""
    token = header.removeprefix("Bearer ").strip()
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise TokenRefused("not a JWT") from None
    now = time.time() if now is None else now
    times: dict[str, int] = {}
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if value is None and name == "iat":
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            raise TokenRefused(f"no whole-number {name}")
        times[name] = value
    exp, nbf = times["exp"], times["nbf"]
    start = min(nbf, times.get("iat", nbf))
    if exp <= now - SKEW:
        raise TokenRefused("expired")
    if nbf > now + SKEW or times.get("iat", nbf) > now + SKEW:
        raise TokenRefused("not valid yet")
    if exp <= nbf or times.get("iat", nbf) > exp or exp - start > MAX_LIFETIME:
        raise TokenRefused("an impossible lifetime")


class TokenChecker:
    def __init__(self, adapter: CloudAdapter, workers: int = WORKERS) -> None:
        self._auth = adapter.bot_framework_authentication
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="teams-token")
        time_key_fetches()

    async def check(self, activity: Activity, header: str) -> AuthenticateRequestResult:
        """The token's times (`check_times`), then botbuilder's JWT validation (or, with no app id and no header, the
        Emulator's anonymous identity). Raises TokenRefused, TimeoutError past AUTH_SECONDS, and whatever
        botbuilder raises for a token it refuses."""
        if not header:
            return await self._auth.authenticate_request(activity, "")
        check_times(header)

        def validate() -> AuthenticateRequestResult:
            return asyncio.run(self._auth.authenticate_request(activity, header))

        # On timeout wait_for cancels the job: one still queued never runs; one running finishes on its own thread.
        job = asyncio.get_running_loop().run_in_executor(self._pool, validate)
        return await asyncio.wait_for(job, AUTH_SECONDS)

    def close(self) -> None:
        """Stop taking checks (one still running ends within KEY_FETCH_SECONDS of its last read)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class OutgoingTokens(ServiceClientCredentialsFactory):
    """botbuilder's credentials for the bot's own calls to Teams, kept and warmed off the event loop: an app
    registration's client secret (SingleTenant, MultiTenant) or a user-assigned managed identity (UserAssignedMSI).

    As shipped (4.17.1), botbuilder makes new credentials, with a new msal app and so an empty token cache, for every
    connector it creates (each turn's replies, each proactive message), and msrest asks them for a token
    synchronously, on the event loop: a blocking call to Microsoft's login endpoint, with no timeout, per message.
    Here one set of credentials is kept per (app, audience, login endpoint), and before botbuilder uses them their
    token is fetched (or found in msal's cache) on a small pool of threads of its own, within AUTH_SECONDS and each
    call to Microsoft within IDENTITY_SECONDS (`time_token_fetches`); the call botbuilder then makes on the event loop
    is answered from the cache.
    """

    def __init__(self, inner: ServiceClientCredentialsFactory, pool: ThreadPoolExecutor, login_url: str = "") -> None:
        self._inner = inner
        self._pool = pool
        self._login_url = login_url  # MICROSOFT_LOGIN_URL (tests' fake of Microsoft's login endpoint), or ""
        self._kept: dict[tuple[str, str, str, bool], Any] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        return await self._inner.is_valid_app_id(app_id)

    async def is_authentication_disabled(self) -> bool:
        return await self._inner.is_authentication_disabled()

    async def create_credentials(self, app_id: str, oauth_scope: str, login_endpoint: str,
                                 validate_authority: bool) -> Any:
        key = (app_id, oauth_scope, login_endpoint, validate_authority)
        credentials = self._kept.get(key)
        if credentials is None:
            credentials = self._kept[key] = await self._inner.create_credentials(
                app_id, oauth_scope, login_endpoint, validate_authority)
            time_token_fetches(credentials, self._login_url)
        if getattr(credentials, "microsoft_app_id", "") and hasattr(credentials, "get_access_token"):
            job = asyncio.get_running_loop().run_in_executor(self._pool, credentials.get_access_token)
            try:
                await asyncio.wait_for(job, AUTH_SECONDS)
            except Exception as exc:  # the turn goes on; a reply then fails (and is logged) as it would have anyway
                log.warning("teams: could not fetch the bot's token for Teams (%s)", type(exc).__name__)
        return credentials
