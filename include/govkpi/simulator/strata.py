"""Stratified yes/no decisions: a unit's yearly rates hit their target at any volume.

A random stream puts a unit's online share, or its share of signed documents, within about
1/√n of the rate the simulator aims at; with a few dozen dossiers a year (a small department in
a 10,000-dossier demo world) that is several points, enough to move a unit across a step of a
ranking curve (issue 6). :class:`Strata` decides instead by error diffusion: each key (say a
unit, a year and what is decided) keeps a carry, starting at an offset drawn from a hash of the
salt (the seed) and the key; each decision adds its probability p to the carry and says yes when
the carry reaches 1 (then takes 1 off). After n decisions of a key the number of yeses is
⌊offset + Σ p⌋ — within 1 of the expected count, whatever n and however p varies (a share that
rises through the year included).

Decisions of different keys are independent of each other's counts, so a rate on a subset is
on target when the subset has its own key (electronic documents among those to connected
recipients, for EO-2). Deterministic: a decision depends on the salt, the key and the
probabilities of the key's earlier decisions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable


class Strata:
    """Yes/no decisions whose count per key stays within 1 of the sum of their probabilities."""

    def __init__(self, *salt: object) -> None:
        self._salt = "|".join(map(str, salt))
        self._carry: dict[Hashable, float] = {}

    def hit(self, key: Hashable, p: float) -> bool:
        """Yes with probability ``p`` (clipped to [0, 1]), stratified within ``key``."""
        carry = self._carry.get(key)
        if carry is None:
            digest = hashlib.blake2b(f"{self._salt}|{key}".encode(), digest_size=8).digest()
            carry = int.from_bytes(digest, "big") / 2**64
        carry += min(1.0, max(0.0, p))
        hit = carry >= 1.0
        self._carry[key] = carry - 1.0 if hit else carry
        return hit
