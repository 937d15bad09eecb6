"""Emulated source systems: a deterministic synthetic province served over real HTTP.

``world`` builds the one-stop data (:func:`generate_world`, :class:`OneStopWorld`); ``eoffice``
and ``dvc`` derive the e-office documents and the portal's services, submissions, payments and
ratings from it; ``onestop``, ``eoffice`` and ``dvc`` serve each system's API (SOURCES.md §1–3);
:class:`SimulatedProvince` runs all three on one clock (``govkpi simulate serve``). The server
names load lazily so that importing the world does not import aiohttp.
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
    from govkpi.simulator.dvc import DvcServer, build_dvc_world
    from govkpi.simulator.eoffice import EofficeServer, build_eoffice_world
    from govkpi.simulator.onestop import OneStopServer, create_app, run_forever
    from govkpi.simulator.province import SimulatedProvince

_LAZY = {
    "OneStopServer": "onestop", "create_app": "onestop", "run_forever": "onestop",
    "EofficeServer": "eoffice", "build_eoffice_world": "eoffice",
    "DvcServer": "dvc", "build_dvc_world": "dvc",
    "SimulatedProvince": "province",
}

__all__ = [
    "DEFAULT_AS_OF",
    "Apology",
    "Dossier",
    "DvcServer",
    "EofficeServer",
    "Event",
    "OneStopServer",
    "OneStopWorld",
    "Procedure",
    "SimulatedProvince",
    "Unit",
    "build_dvc_world",
    "build_eoffice_world",
    "create_app",
    "generate_world",
    "run_forever",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"govkpi.simulator.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
