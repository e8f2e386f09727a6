"""The deployer's master keys (key-encryption keys): where they come from, and wrapping data keys with them.

A master key is 32 random bytes, written as URL-safe base64. Its id is the first 12 hex digits of its SHA-256, so a
wrong key can never pass for the right one: data wrapped under key `a1b2...` asks for that id, and a key file holding
another key simply does not have it. Keys come from `BOT_MASTER_KEY` (one or more keys, comma-separated, the first
current) or from `BOT_MASTER_KEY_FILE`, a file of one key per line (the first current; `#` starts a comment), which a
running bot reads again whenever it changes: rotating is adding a new first line (`python -m bot keys new --file`),
waiting for the running bot to re-wrap every data key under it (`python -m bot keys status`), then deleting the old
line. Nothing here ever logs or prints a key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.base import StoreError

log = logging.getLogger(__name__)
KEY_BYTES = 32
NONCE_BYTES = 12


class KeyringError(StoreError):
    """A master key problem that stops start-up: the message names the setting and the way forward."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:12]


def new_key() -> str:
    """A fresh master key, as written in a key file or BOT_MASTER_KEY."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def parse_key(text: str, where: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip().encode("ascii") + b"=" * (-len(text.strip()) % 4), altchars=b"-_",
                               validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise KeyringError(f"{where} is not a key (URL-safe base64 of 32 bytes; `python -m bot keys new` makes one)"
                        ) from None
    if len(raw) != KEY_BYTES:
        raise KeyringError(f"{where} is {len(raw)} bytes, not a {KEY_BYTES}-byte key (`python -m bot keys new` makes "
                        "one)")
    return raw


@functools.lru_cache(maxsize=4096)
def _cipher(key: bytes) -> AESGCM:
    return AESGCM(key)  # (made once per key in use: a case's fields are sealed and opened many times)


def seal(key: bytes, plain: bytes, aad: bytes) -> bytes:
    """AES-256-GCM: a random nonce, then the ciphertext and its tag (authenticated, bound to `aad`)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + _cipher(key).encrypt(nonce, plain, aad)


def unseal(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    """The plaintext, or InvalidTag if the key, the data or what it is bound to is not the one it was sealed with."""
    return _cipher(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)


@dataclass
class Keyring:
    """The master keys this process holds, the current one first."""

    keys: dict[str, bytes] = field(default_factory=dict)
    source: str = "BOT_MASTER_KEY"
    path: Path | None = None
    _stamp: tuple[int, int] | None = None

    @property
    def current(self) -> str:
        if not self.keys:
            raise KeyringError(f"no master key to seal with ({self.source} is not set)")
        return next(iter(self.keys))

    @classmethod
    def from_text(cls, text: str, source: str, path: Path | None = None) -> Keyring:
        keys: dict[str, bytes] = {}
        for number, line in enumerate(text.replace(",", "\n").splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if line:
                raw = parse_key(line, f"{source} (key {number})")
                keys.setdefault(key_id(raw), raw)
        if not keys:
            raise KeyringError(f"{source} holds no key (`python -m bot keys new` makes one)")
        return cls(keys, source, path)

    @classmethod
    def from_file(cls, path: Path) -> Keyring:
        try:
            stat = path.stat()
            text = path.read_text(encoding="ascii")
        except FileNotFoundError:
            raise KeyringError(f"BOT_MASTER_KEY_FILE {path} does not exist (`python -m bot keys new --file {path}` "
                            "makes it)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyringError(f"BOT_MASTER_KEY_FILE {path} cannot be read: {getattr(exc, 'strerror', None) or exc}"
                            ) from None
        if stat.st_mode & 0o077:
            raise KeyringError(f"BOT_MASTER_KEY_FILE {path} can be read by others (mode {stat.st_mode & 0o777:o}); "
                            f"chmod 600 {path}")
        ring = cls.from_text(text, f"BOT_MASTER_KEY_FILE {path}", path)
        ring._stamp = (stat.st_mtime_ns, stat.st_size)
        return ring

    def reload(self) -> bool:
        """Read the key file again if it changed (a rotation under way); whether the keys changed. A file that has
        become unreadable or empty keeps the keys already held (logged by the caller), never none."""
        if self.path is None:
            return False
        try:
            stat = self.path.stat()
        except OSError:
            return False
        if (stat.st_mtime_ns, stat.st_size) == self._stamp:
            return False
        fresh = Keyring.from_file(self.path)
        changed = list(fresh.keys) != list(self.keys)
        self.keys, self._stamp = fresh.keys, fresh._stamp
        return changed

    def wrap(self, data_key: bytes, scope: str) -> dict[str, str]:
        """A data key sealed under the current master key, bound to its scope."""
        sealed = seal(self.keys[self.current], data_key, b"data-key\x00" + scope.encode())
        return {"kek": self.current, "wrapped": base64.b64encode(sealed).decode("ascii")}

    def unwrap(self, doc: dict[str, str], scope: str) -> bytes:
        kek = doc.get("kek", "")
        if kek not in self.keys:
            raise KeyringError(f"the data key of {scope} is wrapped under master key {kek}, which {self.source} does "
                            "not hold (the wrong key file, or an old key removed too soon)")
        try:
            return unseal(self.keys[kek], base64.b64decode(doc["wrapped"]), b"data-key\x00" + scope.encode())
        except (InvalidTag, KeyError, binascii.Error, ValueError):
            raise KeyringError(f"the data key of {scope} does not open with master key {kek}: it was altered") from None


@dataclass(frozen=True)
class KeySource:
    """Where a deployment's master keys come from: BOT_MASTER_KEY, else BOT_MASTER_KEY_FILE, else the development
    key file `development` (beside the data keys), which the first start of a new store makes."""

    inline: str = field(default="", repr=False)
    file: str = ""
    development: Path | None = None

    def keyring(self, new_store: bool) -> Keyring:
        """The keyring; for a new store with no key configured, a development key made now (logged as such). A store
        that already has data keys and no key configured: KeyringError naming what to set."""
        if self.inline.strip():
            return Keyring.from_text(self.inline, "BOT_MASTER_KEY")
        if self.file.strip():
            return Keyring.from_file(Path(self.file.strip()).expanduser())
        dev = self.development
        if dev is not None and dev.exists():
            log.debug("using the development master key %s (set BOT_MASTER_KEY_FILE to a key kept apart from the "
                      "data for anything but a trial)", dev)
            return _development(Keyring.from_file(dev), dev)
        if dev is not None and new_store:
            write_key_file(dev)
            log.debug("made a development master key at %s for this new store (set BOT_MASTER_KEY_FILE to a key "
                      "kept apart from the data for anything but a trial)", dev)
            return _development(Keyring.from_file(dev), dev)
        if dev is None:
            raise KeyringError("no master key: set BOT_MASTER_KEY_FILE (or BOT_MASTER_KEY) to the key every replica "
                               "on this database shares; `python -m bot keys new --file PATH` makes one")
        raise KeyringError(f"no master key: this store's data is sealed, and neither BOT_MASTER_KEY nor "
                           f"BOT_MASTER_KEY_FILE is set (nor is there a development key at {dev})")


def _development(ring: Keyring, path: Path) -> Keyring:
    ring.source = f"the development key {path} (BOT_MASTER_KEY_FILE unset)"
    return ring


def write_key_file(path: Path) -> str:
    """Add a new current key at the top of a key file (made 0600 if new; older keys kept below it, for the data
    still wrapped under them); the new key's id."""
    key = new_key()
    old = path.read_text(encoding="ascii") if path.exists() else ""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(f"{key}\n{old}")
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)
    return key_id(parse_key(key, "the new key"))
