"""The facts the seed article reports for 2017 (DOMAIN.md §2), read from published releases.

One place states them, for the test on the demo's province and for the benchmark at province
scale (``bench/gate_share.py --years 2016-2017``): each fact is read from the PUBLISHED tables
(``published.ranking_release_unit``, ``_tier``, ``_group_score``) of the 2016 and 2017 releases
of ``binh_dinh_2017``, as a reader of the report would, and compared with what the article says.

The scenario's choices where the article names nothing (which department did not submit) come
from ``assessments.not_submitted`` of the binh_dinh scenario.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

METHODOLOGY = "binh_dinh_2017"
YEARS = (2016, 2017)

TAI_CHINH = "Sở Tài chính"
TT_TT = "Sở Thông tin và Truyền thông"
TN_MT = "Sở Tài nguyên và Môi trường"
GT_VT = "Sở Giao thông vận tải"
QUY_NHON = "UBND thành phố Quy Nhơn"
# the scenario's choice (the article names none): assessments.not_submitted of binh_dinh.yaml
MISSING_2017 = ("Ban Dân tộc",)
MISSING_2016 = ("Ban Dân tộc", "Sở Du lịch", "Sở Ngoại vụ", "Thanh tra tỉnh")


@dataclass(frozen=True)
class Fact:
    key: str
    statement: str  # what the article says
    expected: object
    actual: object

    @property
    def holds(self) -> bool:
        return self.expected == self.actual

    def line(self) -> str:
        verdict = "holds" if self.holds else f"DOES NOT HOLD: expected {self.expected!r}"
        return f"{self.statement}: {self.actual!r} — {verdict}"


def _units(conn, release_id: int, group: str) -> dict[str, tuple]:
    """unit name → (is_assessed, reason, rank, previous rank, tier, share)."""
    rows = conn.execute("""
        select unit_name, is_assessed, not_assessed_reason, rank_in_group, previous_rank,
               tier_key, score_share
        from published.ranking_release_unit
        where release_id = %s and unit_group = %s
    """, (release_id, group)).fetchall()
    return {name: tuple(rest) for name, *rest in rows}


def _tier(conn, release_id: int, group: str, key: str) -> tuple[int, int, Decimal] | None:
    return conn.execute("""
        select unit_count, assessed_unit_count, unit_share from published.ranking_release_tier
        where release_id = %s and unit_group = %s and tier_key = %s
    """, (release_id, group, key)).fetchone()


def _percent(share: Decimal | None) -> int | None:
    return None if share is None else round(share * 100)


def check(wh, releases: dict[int, int]) -> list[Fact]:
    """Every fact of DOMAIN.md §2 from the releases ``{2016: id, 2017: id}``."""
    missing_years = [y for y in YEARS if y not in releases]
    if missing_years:
        raise ValueError(f"seed facts need the {METHODOLOGY} releases of {YEARS}; "
                         f"missing: {missing_years}")
    with wh.connect() as conn:
        dep = _units(conn, releases[2017], "departments")
        dis = _units(conn, releases[2017], "districts")
        dep16 = _units(conn, releases[2016], "departments")
        tot = _tier(conn, releases[2017], "departments", "tot")
        tot16 = _tier(conn, releases[2016], "departments", "tot")
        dis_tot = _tier(conn, releases[2017], "districts", "tot")
        online = {name: (points, maximum) for name, points, maximum in conn.execute("""
            select unit_name, points, max_points from published.ranking_release_group_score
            where release_id = %s and unit_group = 'districts' and group_number = 4
        """, (releases[2017],)).fetchall()}
        thresholds = dict(conn.execute(
            "select tier_key, min_share from published.ranking_release_tier "
            "where release_id = %s and unit_group = 'districts'", (releases[2017],)).fetchall())

    def assessed(units):
        return sum(1 for a, *_ in units.values() if a), len(units)

    def not_assessed(units):
        return tuple(sorted(n for n, (a, *_) in units.items() if not a))

    def rank(units, name):
        return units.get(name, (None,) * 6)[2]

    def previous(units, name):
        return units.get(name, (None,) * 6)[3]

    ranked = sorted(r for a, _, r, *_ in dep.values() if a and r is not None)
    missing_rows = [dep[n] for n in not_assessed(dep)]
    others = [p for n, (p, m) in online.items() if n != QUY_NHON]
    qn_points, qn_max = online.get(QUY_NHON, (None, None))
    qn_tier = None
    if qn_points is not None and qn_max:
        share = Decimal(qn_points) / Decimal(qn_max)
        qn_tier = max((k for k, v in thresholds.items() if v is not None and share >= v),
                      key=lambda k: thresholds[k], default=None)
    return [
        Fact("assessed", "31 of 32 units assessed: 20 of 21 departments, 11 of 11 districts",
             ((20, 21), (11, 11)), (assessed(dep), assessed(dis))),
        Fact("missing_listed", "the department that did not submit is listed, not ranked, "
             "with its reason",
             (MISSING_2017, True),
             (not_assessed(dep),
              all(r[1] and r[1].startswith("no self-assessment return") and r[2] is None
                  and r[4] is None for r in missing_rows) and bool(missing_rows))),
        Fact("ranks_dense", "the 20 assessed departments ranked 1–20", list(range(1, 21)),
             ranked),
        Fact("tot_2017", "11 of 20 departments tốt (55%)", (11, 20, 55),
             None if tot is None else (tot[0], tot[1], _percent(tot[2]))),
        Fact("tot_2016", "6 of 17 departments tốt the year before (35%)",
             (6, 17, 35, MISSING_2016),
             None if tot16 is None else (tot16[0], tot16[1], _percent(tot16[2]),
                                         not_assessed(dep16))),
        Fact("leaders", "Sở Tài chính and Sở TT&TT first and second", (1, 2),
             (rank(dep, TAI_CHINH), rank(dep, TT_TT))),
        Fact("tn_mt", "Sở TN-MT 6th (11th the year before)", (6, 11, 11),
             (rank(dep, TN_MT), previous(dep, TN_MT), rank(dep16, TN_MT))),
        Fact("gt_vt", "Sở GT-VT 7th (10th the year before)", (7, 10, 10),
             (rank(dep, GT_VT), previous(dep, GT_VT), rank(dep16, GT_VT))),
        Fact("quy_nhon_first", "TP Quy Nhơn first among districts and the only one tốt",
             (1, (QUY_NHON,), (1, 11)),
             (rank(dis, QUY_NHON), tuple(sorted(n for n, r in dis.items() if r[4] == "tot")),
              None if dis_tot is None else (dis_tot[0], dis_tot[1]))),
        Fact("online_quy_nhon", "online services (max 160): Quy Nhơn 100/160 = 62.5%, khá",
             (Decimal(100), Decimal(160), "kha"), (qn_points, qn_max, qn_tier)),
        Fact("online_others", "online services: the 10 other districts score 20–40 of 160",
             (10, True, {Decimal(160)}),
             (len(others), bool(others) and all(20 <= p <= 40 for p in others),
              {m for n, (p, m) in online.items()})),
    ]
