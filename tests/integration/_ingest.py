"""Helpers of the ingestion tests: what a simulated province serves as of a moment, read with
the simulator's own parsers (not the code under test), and what the warehouse holds."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from govkpi.calendar import VN_TZ
from govkpi.config import DvcSettings, EofficeSettings, OneStopSettings
from govkpi.simulator.dvc import from_epoch_ms
from govkpi.simulator.eoffice import parse_time
from govkpi.sources.systems import SYSTEMS
from tests.helpers import query

# (system, endpoint) → (world method giving the served records, key, modification time)
SERVED = {
    ("onestop", "donvi"): ("onestop", "units_as_of", "MaDonVi", "NgayCapNhat"),
    ("onestop", "thutuc"): ("onestop", "procedures_as_of", "MaTTHC", "NgayCapNhat"),
    ("onestop", "hoso"): ("onestop", "dossiers_as_of", "MaHoSo", "NgayCapNhat"),
    ("eoffice", "documents"): ("eoffice", "documents_as_of", "id", "ngay_sua"),
    ("dvc", "services"): ("dvc", "services_as_of", "service_id", "updated_at"),
    ("dvc", "submissions"): ("dvc", "submissions_as_of", "submission_id", "updated_at"),
    ("dvc", "payments"): ("dvc", "payments_as_of", "payment_id", "updated_at"),
    ("dvc", "ratings"): ("dvc", "ratings_as_of", "rating_id", "updated_at"),
}
ENDPOINTS = list(SERVED)
BY_PATH = {e.path: (name, e.name) for name, s in SYSTEMS.items() for e in s.endpoints.values()}


def modified(system: str, value: Any) -> dt.datetime:
    if system == "onestop":
        return dt.datetime.fromisoformat(value)
    if system == "eoffice":
        return parse_time(value).replace(tzinfo=VN_TZ)
    return from_epoch_ms(value)


def served(province, system: str, endpoint: str,
           as_of: dt.datetime | None = None) -> dict[str, tuple[dt.datetime, dict]]:
    """key → (modification time, record) of what the clean source serves as of ``as_of``."""
    owner, method, key, updated = SERVED[(system, endpoint)]
    world = {"onestop": province.world, "eoffice": province.eoffice.world,
             "dvc": province.dvc.dvc_world}[owner]
    records = getattr(world, method)(as_of or province.onestop.as_of)
    return {r[key]: (modified(system, r[updated]), r) for r in records}


def settings(province, page_size: int = 1000) -> dict[str, Any]:
    return {
        "onestop": OneStopSettings(province.onestop.url, province.onestop.client_id,
                                   province.onestop.client_secret, page_size=page_size),
        "eoffice": EofficeSettings(province.eoffice.url, province.eoffice.api_key,
                                   page_size=page_size),
        "dvc": DvcSettings(province.dvc.url, province.dvc.username, province.dvc.password,
                           page_size=page_size),
    }


def checksum(pairs) -> str:
    """Order-free digest of (key, modification time) pairs."""
    lines = sorted(f"{k}|{t.timestamp():.6f}" for k, t in pairs)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def latest_loaded(wh, system: str, endpoint: str) -> dict[str, dt.datetime]:
    return dict(query(wh, f"select record_key, max(source_updated_at) from raw_{system}."
                          f"{endpoint} group by record_key"))


def quarantined(wh, system: str, endpoint: str) -> dict[str, str]:
    return dict(query(wh, "select record_key, reason from audit.quarantine where "
                          "source_system = %s and endpoint = %s", (system, endpoint)))


def ingest_small_province(wh, seed: int, dossiers: int, years: tuple[int, ...], drop,
                          mess_rate: float = 0.0):
    """A small simulated province loaded as the ingest DAGs leave it: the three systems
    extracted in full, the self-assessment returns of ``years`` (written to ``drop``) loaded;
    the world, for the tests' own expectations."""
    from govkpi.extract import extract
    from govkpi.load.assessments import load_returns
    from govkpi.simulator import SimulatedProvince, generate_world
    from govkpi.simulator.assessments import generate_returns

    world = generate_world(seed=seed, dossiers=dossiers, years=years)
    with SimulatedProvince(seed=seed, world=world) as province:
        conf = settings(province)
        for system in ("onestop", "eoffice", "dvc"):
            extract(system, wh, conf[system], mode="full")
    for year in years:
        generate_returns(world, year, drop, seed, mess_rate=mess_rate)
    load_returns(wh, drop)
    return world
