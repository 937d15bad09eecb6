"""The whole simulated province: the three vendor systems over one world, one clock.

    with SimulatedProvince(seed=2017, dossiers=10_000) as province:
        os.environ.update(province.environment())   # what the extractors read

Each system runs on its own port with its own kind of authentication (SOURCES.md §1–3); the
e-office and portal data are derived from the one-stop world, so the same dossiers, units and
procedures appear everywhere. ``mess`` (default: none) injects realistic problems into the
served records of all three (:mod:`govkpi.simulator.mess`); ``mess_manifest`` lists them.

With ``scale`` (SOURCES.md §5: 1.0 = 1,000,000 dossiers per year of ``years``, 3 documents per
dossier, the portal's records derived from them), the three systems serve a disk store of the
world (:mod:`govkpi.simulator.store`), built once per (scenario, seed, scale, years) under
``.local/simstore`` (or ``store_root``) and reused; ``dossiers`` and ``world`` are then
ignored, ``world`` is an empty one-stop world (its default as-of only), stores are clean
(``mess`` is refused) and ``build_timings`` says how long the build took (None: reused).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from govkpi.simulator.mess import Mess
from govkpi.simulator.serving import Faults
from govkpi.simulator.world import OneStopWorld, generate_world


class SimulatedProvince:
    def __init__(self, seed: int = 2017, dossiers: int = 10_000,
                 years: Sequence[int] = (2016, 2017), *, as_of: dt.datetime | None = None,
                 faults: Faults | None = None, host: str = "127.0.0.1",
                 ports: tuple[int, int, int] = (0, 0, 0),
                 world: OneStopWorld | None = None, mess: Mess | None = None,
                 scale: float | None = None, scenario: str = "binh_dinh",
                 store_root: str | os.PathLike | None = None, workers: int | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        from govkpi.simulator.dvc import DvcServer
        from govkpi.simulator.eoffice import EofficeServer
        from govkpi.simulator.onestop import OneStopServer

        self.seed = seed
        self.scale = scale
        self.store: Path | None = None
        self.build_timings: dict[str, float] | None = None
        if scale is not None:
            self._serve_store(seed, years, scale, scenario, store_root, workers, progress,
                              as_of=as_of, faults=faults, host=host, ports=ports, mess=mess)
            return
        self.world = world or generate_world(seed=seed, dossiers=dossiers, years=years)
        self.onestop = OneStopServer(self.world, as_of, host=host, port=ports[0], faults=faults,
                                     mess=mess)
        self.eoffice = EofficeServer(self.world, as_of, host=host, port=ports[1], faults=faults,
                                     seed=seed, mess=mess)
        self.dvc = DvcServer(self.world, as_of, host=host, port=ports[2], faults=faults,
                             seed=seed, mess=mess)
        self.systems = (self.onestop, self.eoffice, self.dvc)

    def _serve_store(self, seed: int, years: Sequence[int], scale: float, scenario: str,
                     root: str | os.PathLike | None, workers: int | None,
                     progress: Callable[[str], None] | None, *, as_of: dt.datetime | None,
                     faults: Faults | None, host: str, ports: tuple[int, int, int],
                     mess: Mess | None) -> None:
        from govkpi.simulator import store
        from govkpi.simulator.dvc import DvcServer
        from govkpi.simulator.eoffice import EofficeServer
        from govkpi.simulator.onestop import OneStopServer

        if mess is not None and mess.active:
            raise ValueError("mess is applied to in-memory worlds only: a store (scale=...) "
                             "serves clean records")
        dossiers = store.scale_dossiers(scale, years)
        if progress is None:
            def progress(message: str) -> None:
                print(f"[simstore] {message}", file=sys.stderr, flush=True)
        self.store, self.build_timings = store.get_or_build(
            seed, dossiers, years, scenario, root, workers=workers, progress=progress,
            systems=store.SYSTEMS)
        worlds = store.store_worlds(self.store)
        self.world = worlds["onestop"]
        self.onestop = OneStopServer(self.world, as_of, host=host, port=ports[0],
                                     faults=faults, views_for=worlds["onestop_views"])
        self.eoffice = EofficeServer(worlds["eoffice"], as_of, host=host, port=ports[1],
                                     faults=faults, views_for=worlds["eoffice_views"],
                                     cursor_secret=worlds["eoffice_cursor_secret"])
        self.dvc = DvcServer(worlds["dvc"], as_of, host=host, port=ports[2], faults=faults,
                             views_for=worlds["dvc_views"])
        self.systems = (self.onestop, self.eoffice, self.dvc)

    def start(self) -> SimulatedProvince:
        started = []
        try:
            for system in self.systems:
                started.append(system.start())
        except BaseException:
            for system in started:
                system.stop()
            raise
        return self

    def stop(self) -> None:
        for system in self.systems:
            system.stop()

    def __enter__(self) -> SimulatedProvince:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_as_of(self, as_of: dt.datetime) -> None:
        """Move the one clock of all three systems."""
        for system in self.systems:
            system.set_as_of(as_of)

    @property
    def mess_manifest(self) -> list[dict[str, Any]]:
        """Every problem injected into the three systems' current views
        (see :mod:`govkpi.simulator.mess`)."""
        return [entry for system in self.systems for entry in system.mess_manifest]

    def environment(self) -> dict[str, str]:
        """The settings an extractor needs to reach each system (see govkpi.config)."""
        return {
            "GOVKPI_ONESTOP_URL": self.onestop.url,
            "GOVKPI_ONESTOP_CLIENT_ID": self.onestop.client_id,
            "GOVKPI_ONESTOP_CLIENT_SECRET": self.onestop.client_secret,
            "GOVKPI_EOFFICE_URL": self.eoffice.url,
            "GOVKPI_EOFFICE_API_KEY": self.eoffice.api_key,
            "GOVKPI_DVC_URL": self.dvc.url,
            "GOVKPI_DVC_USERNAME": self.dvc.username,
            "GOVKPI_DVC_PASSWORD": self.dvc.password,
        }
