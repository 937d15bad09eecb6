{{
    config(
        indexes=[
            {'columns': ['period_year', 'period_quarter'], 'unique': true},
        ]
    )
}}

-- One row per quarter: the province total, equal to the sum of
-- fct_dossier_resolution_unit_quarter.
-- Formulas: int_dossier_resolution_kpis (written once for every grain and scope).
select
    period_year,
    period_quarter,
    period_start,
    period_end,
    {{ dossier_resolution_kpi_columns() }}
from {{ ref('int_dossier_resolution_kpis') }}
where scope = 'province'
    and period_grain = 'quarter'
