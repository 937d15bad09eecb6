"""The dbt seeds assessment_items.csv and assessment_item_values.csv are assessment_items.yaml.

stg_files__assessment_returns needs each item's type (a percent is divided by 100) and each
enum value's position (scored index / (n − 1), docs/ranking.md); dbt cannot read the YAML, so
both are seeds derived mechanically from it. This test fails when they drift; regenerate with
``.venv/bin/python -m tests.unit.test_assessment_item_seeds`` — never edit them by hand.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from govkpi import config
from govkpi.assessment_items import load_items

SEEDS = Path(config.DBT_PROJECT_DIR) / "seeds"


def expected_seeds() -> dict[str, str]:
    """File name → CSV text of each seed, from the item list."""
    items, values = io.StringIO(), io.StringIO()
    item_rows = csv.writer(items, lineterminator="\n")
    value_rows = csv.writer(values, lineterminator="\n")
    item_rows.writerow(["item_code", "item_type"])
    value_rows.writerow(["item_code", "value_code", "value_position", "value_count"])
    for item in load_items():
        item_rows.writerow([item.code, item.type])
        for position, code in enumerate(item.value_codes):
            value_rows.writerow([item.code, code, position, len(item.value_codes)])
    return {"assessment_items.csv": items.getvalue(),
            "assessment_item_values.csv": values.getvalue()}


def test_seeds_match_the_item_list():
    for name, text in expected_seeds().items():
        assert (SEEDS / name).read_text(encoding="utf-8") == text, (
            f"dbt_project/seeds/{name} differs from assessment_items.yaml: regenerate it with "
            "`.venv/bin/python -m tests.unit.test_assessment_item_seeds`")


def test_enum_positions_run_from_the_weakest():
    rows = list(csv.DictReader(io.StringIO(expected_seeds()["assessment_item_values.csv"])))
    backup = [r for r in rows if r["item_code"] == "AT-05"]
    assert [(r["value_code"], r["value_position"], r["value_count"]) for r in backup] == [
        ("khong", "0", "4"), ("thu_cong", "1", "4"), ("dinh_ky", "2", "4"),
        ("tu_dong_ngoai_vi", "3", "4")]


if __name__ == "__main__":
    for seed_name, seed_text in expected_seeds().items():
        (SEEDS / seed_name).write_text(seed_text, encoding="utf-8")
        print(f"wrote {SEEDS / seed_name}")
