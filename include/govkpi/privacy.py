"""Keyed hashing of personal data before anything is written (ARCHITECTURE.md: PII never lands).

HMAC-SHA256 with a secret from the environment: equal inputs give equal hashes (so analysts can
still count distinct applicants) but nobody without the key can test a guess. Values are
normalised first (Unicode NFC, collapsed whitespace, case-folded) so "Nguyễn  Văn A" and
"nguyễn văn a" hash alike.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from govkpi import config


def normalise(value: str) -> str:
    # NFC is the identity on ASCII and on text already in NFC (the usual case): skip the copy
    if not (value.isascii() or unicodedata.is_normalized("NFC", value)):
        value = unicodedata.normalize("NFC", value)
    return " ".join(value.split()).casefold()


class PiiHasher:
    """Replaces the named personal fields of a record by ``hmac-sha256:<hex>`` strings."""

    PREFIX = "hmac-sha256:"

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else config.pii_key()
        # HMAC (RFC 2104) with its key schedule done once: the SHA-256 states after the inner
        # and outer padded keys, copied per value (same digests as hmac.new(key, msg, sha256))
        block = self._key if len(self._key) <= 64 else hashlib.sha256(self._key).digest()
        block = block.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def hash_value(self, value: Any) -> str | None:
        if value is None:
            return None
        text = normalise(str(value))
        if not text:
            return None
        return self.PREFIX + self.hmac_hex(text.encode("utf-8"))

    def hmac_hex(self, normalised: bytes) -> str:
        """HMAC-SHA256 hex digest of the UTF-8 of an already normalised value."""
        inner = self._inner.copy()
        inner.update(normalised)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def scrub(self, record: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
        out = dict(record)
        for name in fields:
            if name in out:
                out[name] = self.hash_value(out[name])
        return out
