"""Rankings: methodologies as data (docs/ranking.md).

:mod:`govkpi.ranking.methodology` loads and validates a methodology file and stores it in the
``ranking_config`` schema, which the dbt ranking models read.

The light facts (where the shipped files are, which one is the default) live here, so that a DAG
file can list the methodologies at parse time without importing the validator.
"""

from __future__ import annotations

from pathlib import Path

METHODOLOGY_DIR = Path(__file__).resolve().parent.parent / "methodologies"
# the methodology a ranking uses unless told otherwise (annual_ranking, govkpi rank/report)
DEFAULT_METHODOLOGY = "binh_dinh_2017"


def available() -> list[Path]:
    """The methodology files shipped with govkpi, by name."""
    return sorted(METHODOLOGY_DIR.glob("*.yaml"))
