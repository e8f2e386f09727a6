"""Activities built from the real Teams fixtures (tests/fixtures/teams), and offline JWT helpers.

Each builder starts from a captured payload and changes only what a test needs: who sent it, the text or card values,
the conversation, a fresh activity id, and `serviceUrl` (pointed at the fake Bot Connector).
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import time
from pathlib import Path
from typing import Any

import jwt
from botframework.connector.auth import AuthenticationConstants
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor, _OpenIdMetadata
from cryptography.hazmat.primitives.asymmetric import rsa

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "teams"
APP_ID = "8f1c2a4e-5b6d-4e7f-9a0b-1c2d3e4f5a6b"
BOT = {"id": "28:escalation-bot", "name": "Escalation bot"}
TENANT = "50612dbb-0237-4969-b378-8d42590f9c00"
CASES_CHANNEL = "19:cases0001@thread.tacv2"
TEAM = "19:team0001@thread.tacv2"
TALK_CHANNEL = "19:general0001@thread.tacv2"  # where people @mention the bot, not the cases channel

# Demo directory people (bot/people/demo/directory.csv): Teams id and name.
JORDAN = ("29:demo-jordan-ellis", "Jordan Ellis")  # the practitioner
LENA = ("29:demo-lena-okafor", "Lena Okafor")  # his line manager: acts at Surrey stage 1
SAM = ("29:demo-sam-patel", "Sam Patel")  # police DI and safeguarding lead
BEN = ("29:demo-ben-carter", "Ben Carter")  # an unrelated health visitor
STRANGER = ("29:not-in-the-directory", "Alex Stranger")

_ids = itertools.count(1)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def new_id() -> str:
    return f"1766{next(_ids):09d}"


def personal_chat(user: tuple[str, str]) -> str:
    return f"a:personal-{user[0]}"


def _who(activity: dict[str, Any], user: tuple[str, str], service_url: str) -> dict[str, Any]:
    activity.update(id=new_id(), serviceUrl=service_url, recipient=dict(BOT))
    activity["from"] = {"id": user[0], "name": user[1]}
    return activity


def personal_message(user: tuple[str, str], text: str, service_url: str) -> dict[str, Any]:
    """The real 1:1 message (teams_personal_message.json) from `user`, saying `text`."""
    activity = _who(fixture("teams_personal_message.json"), user, service_url)
    activity["conversation"] = {"conversationType": "personal", "id": personal_chat(user), "tenantId": TENANT}
    activity["channelData"] = {"tenant": {"id": TENANT}}
    activity.update(text=text, attachments=[{"contentType": "text/html", "content": f"<p>{text}</p>"}])
    return activity


def channel_message(user: tuple[str, str], text: str, service_url: str,
                    conversation: str = f"{TALK_CHANNEL};messageid=1759881511856") -> dict[str, Any]:
    """The real channel message that @mentions the bot, as `<at>Escalation bot</at> text`."""
    activity = _who(fixture("teams_channel_message_mention_with_channeldata.json"), user, service_url)
    channel = conversation.split(";")[0]
    activity["conversation"].update(id=conversation, tenantId=TENANT)
    activity["channelData"].update(teamsChannelId=channel, teamsTeamId=TEAM, channel={"id": channel},
                                   team={"id": TEAM}, tenant={"id": TENANT})
    mention = f"<at>{BOT['name']}</at>"
    activity["text"] = f"{mention} {text}"
    activity["entities"][0].update(mentioned=dict(BOT), text=mention)
    activity["attachments"] = [{"contentType": "text/html", "content": f"<p>{mention}&nbsp;{text}</p>"}]
    return activity


def card_submit(user: tuple[str, str], value: dict[str, Any], service_url: str, conversation: str,
                reply_to: str) -> dict[str, Any]:
    """The real card-button message (teams_channel_card_submit_messageback_with_value.json) with our card's values,
    in `conversation` (a personal chat, or a channel thread), replying to the card's message."""
    activity = _who(fixture("teams_channel_card_submit_messageback_with_value.json"), user, service_url)
    activity.update(value=copy.deepcopy(value), replyToId=reply_to, text="")
    if conversation.startswith("19:"):
        channel = conversation.split(";")[0]
        activity["conversation"] = {"id": conversation, "conversationType": "channel", "isGroup": True,
                                    "tenantId": TENANT}
        activity["channelData"] = {"channel": {"id": channel}, "team": {"id": TEAM}, "tenant": {"id": TENANT}}
    else:
        activity["conversation"] = {"id": conversation, "conversationType": "personal", "tenantId": TENANT}
        activity["channelData"] = {"tenant": {"id": TENANT}}
    return activity


def install(user: tuple[str, str], service_url: str, kind: str = "installationUpdate") -> dict[str, Any]:
    """The app added to a personal chat: installationUpdate (action add) or conversationUpdate (bot added)."""
    activity = personal_message(user, "", service_url)
    for key in ("text", "textFormat", "attachments"):
        activity.pop(key, None)
    activity["type"] = kind
    if kind == "installationUpdate":
        activity["action"] = "add"
    else:
        activity["membersAdded"] = [dict(BOT)]
    return activity


def team_update(service_url: str) -> dict[str, Any]:
    """The bot added to a team: a conversationUpdate in the team's channel (nothing is posted in reply)."""
    activity = channel_message(JORDAN, "", service_url, conversation=TALK_CHANNEL)
    for key in ("text", "textFormat", "attachments"):
        activity.pop(key, None)
    activity["type"] = "conversationUpdate"
    activity["membersAdded"] = [dict(BOT)]
    activity["entities"] = []
    return activity


def execute_invoke(service_url: str) -> dict[str, Any]:
    """The real Action.Execute invoke (adaptiveCard/action) from a personal chat."""
    activity = fixture("teams_personal_invoke_adaptivecard_action_execute.json")
    activity.update(id=new_id(), serviceUrl=service_url)
    return activity


# --- JWT, offline ---------------------------------------------------------------------------------------------


class SigningKeys:
    """A locally generated RSA key published as Bot Framework's OpenID keys, and tokens signed with it."""

    def __init__(self, kid: str = "test-key-1") -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # an attacker's key

    def jwks(self) -> list[dict[str, Any]]:
        numbers = self.private.public_key().public_numbers()
        return [{"kty": "RSA", "use": "sig", "kid": self.kid, "n": _b64(numbers.n), "e": _b64(numbers.e),
                 "endorsements": ["msteams"]}]

    def claims(self, service_url: str, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER, "aud": APP_ID,
                  "serviceurl": service_url, "nbf": now - 60, "exp": now + 3600}  # (no iat: as the connector sends)
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, service_url: str, *, key: Any = None, kid: str | None = None, alg: str = "RS256",
              **changes: Any) -> str:
        return jwt.encode(self.claims(service_url, **changes), key or self.private, algorithm=alg,
                          headers={"kid": kid or self.kid})

    def unsigned(self, service_url: str) -> str:
        """`alg: none`: a token with no signature at all."""
        head = _b64json({"alg": "none", "typ": "JWT", "kid": self.kid})
        return f"{head}.{_b64json(self.claims(service_url))}."

    def hs256(self, service_url: str) -> str:
        """Signed with HMAC, using the public key's text as the secret (the classic algorithm-confusion attack)."""
        return jwt.encode(self.claims(service_url), "the-public-key-as-a-secret-0123456789abcdef", algorithm="HS256",
                          headers={"kid": self.kid})


class LocalMetadata(_OpenIdMetadata):
    """botbuilder's OpenID metadata cache, filled from local keys instead of Microsoft's endpoints."""

    def __init__(self, url: str, keys: list[dict[str, Any]]) -> None:
        super().__init__(url)
        self._local = keys

    async def _refresh(self) -> None:
        from datetime import datetime

        self.keys = self._local
        self.last_updated = datetime.now()


def patch_openid(monkeypatch: Any, keys: SigningKeys) -> None:
    """Every metadata URL botbuilder knows answers with the local keys: no network is used."""
    urls = [AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
            AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL]
    for url in urls:
        monkeypatch.setitem(JwtTokenExtractor.metadataCache, url, LocalMetadata(url, keys.jwks()))

    async def no_network(self: Any) -> None:
        raise RuntimeError(f"a test tried to fetch signing keys from {self.url}")

    monkeypatch.setattr(_OpenIdMetadata, "_refresh", no_network)


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64json(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
