"""Emulated source systems: a deterministic synthetic province served over real HTTP.

``world`` builds the data (:func:`generate_world`, :class:`OneStopWorld`); ``onestop`` serves
it as the one-stop system's API (:class:`OneStopServer`, ``python -m govkpi.simulator.onestop``).
The server names load lazily so that importing the world does not import aiohttp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from govkpi.simulator.world import (
    DEFAULT_AS_OF,
    Apology,
    Dossier,
    Event,
    OneStopWorld,
    Procedure,
    Unit,
    generate_world,
)

if TYPE_CHECKING:
    from govkpi.simulator.onestop import OneStopServer, create_app, run_forever

_LAZY = {"OneStopServer", "create_app", "run_forever"}

__all__ = [
    "DEFAULT_AS_OF",
    "Apology",
    "Dossier",
    "Event",
    "OneStopServer",
    "OneStopWorld",
    "Procedure",
    "Unit",
    "create_app",
    "generate_world",
    "run_forever",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from govkpi.simulator import onestop

        return getattr(onestop, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
