"""Where the TinyDB backend keeps each record: DATA/<collection>/<shard>/<encoded key>.json."""

from __future__ import annotations

import hashlib
from pathlib import Path

SUFFIX = ".json"
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.@")
_MAX_NAME = 200  # bytes of encoded key kept readable; longer keys get a hashed name (limit is 255)
_HASH_MARK = "~"  # never produced by encode_key, so it marks a hashed name


def encode_key(key: str) -> str:
    """Reversible, case-insensitive-safe file name stem for a key.

    Lower-case letters, digits and `-_.@` stay as they are (except a leading dot); every other character,
    including upper-case letters, becomes %XX per UTF-8 byte, so "ESC-1" -> "%45%53%43-1".
    Keys whose encoding would exceed 200 bytes become a readable prefix + "~" + a SHA-256 digest; for
    those the key is read back from the record itself.
    """
    out: list[str] = []
    for i, char in enumerate(key):
        if char in _SAFE and not (i == 0 and char == "."):
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
    name = "".join(out)
    if len(name) > _MAX_NAME:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        name = name[:120] + _HASH_MARK + digest
    return name


def decode_key(stem: str) -> str | None:
    """The key for a file name stem, None for a hashed name; ValueError if it is not an encoded key."""
    if _HASH_MARK in stem:
        return None
    raw = bytearray()
    i = 0
    while i < len(stem):
        char = stem[i]
        if char == "%":
            hex_digits = stem[i + 1 : i + 3]
            if len(hex_digits) != 2 or not all(c in "0123456789abcdefABCDEF" for c in hex_digits):
                raise ValueError("bad escape")
            raw.append(int(hex_digits, 16))
            i += 3
        elif char in _SAFE:
            raw.append(ord(char))
            i += 1
        else:
            raise ValueError("unexpected character")
    key = raw.decode("utf-8")
    if encode_key(key) != stem:
        raise ValueError("not in canonical form")
    return key


def shard(key: str) -> str:
    """Two hex digits of the key's SHA-256: 256 subdirectories, about 400 files each at 100,000 records."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:2]


def record_path(root: Path, collection: str, key: str) -> Path:
    """The file holding one record."""
    return root / collection / shard(key) / (encode_key(key) + SUFFIX)


def collection_files(root: Path, collection: str) -> list[Path]:
    """Every record file of a collection (unordered); empty if the collection does not exist."""
    base = root / collection
    if not base.is_dir():
        return []
    files: list[Path] = []
    for shard_dir in base.iterdir():
        if shard_dir.is_dir():
            files.extend(p for p in shard_dir.iterdir() if p.name.endswith(SUFFIX))
    return files
