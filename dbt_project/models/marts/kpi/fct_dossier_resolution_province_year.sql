{{
    config(
        indexes=[
            {'columns': ['period_year'], 'unique': true},
        ]
    )
}}

-- One row per year: the province total, equal to the sum of fct_dossier_resolution_unit_year.
-- Formulas: int_dossier_resolution_kpis (written once for every grain and scope).
select
    period_year,
    period_start,
    period_end,
    {{ dossier_resolution_kpi_columns() }}
from {{ ref('int_dossier_resolution_kpis') }}
where scope = 'province'
    and period_grain = 'year'
