"""Keyed hashing of personal data before anything is written (ARCHITECTURE.md: PII never lands).

HMAC-SHA256 with a secret from the environment: equal inputs give equal hashes (so analysts can
still count distinct applicants) but nobody without the key can test a guess. Values are
normalised first (Unicode NFC, collapsed whitespace, case-folded) so "Nguyễn  Văn A" and
"nguyễn văn a" hash alike.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from govkpi import config


def normalise(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", value).split()).casefold()


class PiiHasher:
    """Replaces the named personal fields of a record by ``hmac-sha256:<hex>`` strings."""

    PREFIX = "hmac-sha256:"

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else config.pii_key()

    def hash_value(self, value: Any) -> str | None:
        if value is None:
            return None
        text = normalise(str(value))
        if not text:
            return None
        digest = hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()
        return self.PREFIX + digest

    def scrub(self, record: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
        out = dict(record)
        for name in fields:
            if name in out:
                out[name] = self.hash_value(out[name])
        return out
