"""API keys for writes to the feedback store, kept only as SHA-256 digests.

The server's settings hold digests (``PINGJIA_API_KEYS``, comma-separated),
made with ``pingjia store hash-key``; a key file of plaintext keys, one a line,
is hashed when read. A presented key is hashed and compared in constant time.
Keys are long random strings (``pingjia store new-key``), so a plain SHA-256
is enough: there is nothing to guess that a slow hash would protect.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from pathlib import Path

DIGEST = re.compile(r"^[0-9a-f]{64}$")


def hash_key(key: str) -> str:
    """The SHA-256 hex digest of a key, as the settings hold it."""
    if not key.strip():
        raise ValueError("expected a non-empty API key, got an empty one")
    return hashlib.sha256(key.strip().encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh random key (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def check_digests(digests: Iterable[str]) -> list[str]:
    """The digests, lower-cased; a value that is no digest is refused.

    The refused value is not shown: it is most likely a plaintext key put
    where its digest belongs, and errors end up in logs.
    """
    checked = []
    for position, digest in enumerate(digests, start=1):
        digest = digest.strip().lower()
        if not DIGEST.match(digest):
            raise ValueError(
                f"expected API key entry {position} to be a SHA-256 hex digest "
                f"(64 characters 0-9a-f), got {len(digest)} characters that are "
                "not one; put the digest made by `pingjia store hash-key` there, "
                "not the key itself"
            )
        checked.append(digest)
    return checked


def read_key_file(path: Path) -> list[str]:
    """Digests of the plaintext keys in ``path``: one a line, '#' comments."""
    if not path.is_file():
        raise FileNotFoundError(
            f"expected an API key file at {str(path)!r}, found none; create it "
            "with one key per line or unset PINGJIA_API_KEY_FILE"
        )
    lines = path.read_text("utf-8").splitlines()
    return [
        hash_key(line) for line in lines if line.strip() and not line.startswith("#")
    ]


def key_matches(presented: str | None, digests: Iterable[str]) -> bool:
    """Whether ``presented`` hashes to one of ``digests`` (constant time each)."""
    if not presented or not presented.strip():
        return False
    digest = hash_key(presented)
    return any(hmac.compare_digest(digest, known) for known in digests)
