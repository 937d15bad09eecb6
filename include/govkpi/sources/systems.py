"""The source systems govkpi reads, by name: their endpoints, client and settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from govkpi import config
from govkpi.sources import dvc, eoffice, onestop
from govkpi.sources.client import SourceClient
from govkpi.sources.records import Endpoint


@dataclass(frozen=True)
class System:
    name: str  # raw_<name> schema, audit source_system
    label: str
    endpoints: dict[str, Endpoint]  # in load order: reference data first
    client: Callable[[Any], SourceClient]  # settings → client
    settings: type  # has from_env() and overlap_seconds


SYSTEMS: dict[str, System] = {
    s.name: s
    for s in (
        System(onestop.SYSTEM, "one-stop", onestop.ENDPOINTS, onestop.OneStopClient,
               config.OneStopSettings),
        System(eoffice.SYSTEM, "e-office", eoffice.ENDPOINTS, eoffice.EofficeClient,
               config.EofficeSettings),
        System(dvc.SYSTEM, "portal", dvc.ENDPOINTS, dvc.DvcClient, config.DvcSettings),
    )
}


def system(name: str) -> System:
    try:
        return SYSTEMS[name]
    except KeyError:
        raise ValueError(f"unknown source system {name!r}; known: {sorted(SYSTEMS)}") from None
