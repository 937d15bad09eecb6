{{
    config(
        indexes=[
            {'columns': ['period_year', 'period_month'], 'unique': true},
        ]
    )
}}

-- One row per month: the province total, equal to the sum of fct_dossier_resolution_unit_month
-- over its units (medians and p90 computed over the province's dossiers).
-- Formulas: int_dossier_resolution_kpis (written once for every grain and scope).
select
    period_year,
    period_month,
    period_start,
    period_end,
    {{ dossier_resolution_kpi_columns() }}
from {{ ref('int_dossier_resolution_kpis') }}
where scope = 'province'
    and period_grain = 'month'
