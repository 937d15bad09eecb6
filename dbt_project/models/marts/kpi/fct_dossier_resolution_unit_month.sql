{{
    config(
        indexes=[
            {'columns': ['unit_code', 'period_year', 'period_month'], 'unique': true},
            {'columns': ['period_start']},
        ]
    )
}}

-- One row per unit (department, district or commune that existed in the month) and month with at
-- least one dossier received in the province.
-- Formulas: int_dossier_resolution_kpis (written once for every grain and scope).
select
    unit_code,
    period_year,
    period_month,
    period_start,
    period_end,
    {{ dossier_resolution_kpi_columns() }}
from {{ ref('int_dossier_resolution_kpis') }}
where scope = 'unit'
    and period_grain = 'month'
