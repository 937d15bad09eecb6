{{
    config(
        indexes=[
            {'columns': ['unit_code', 'period_year'], 'unique': true},
            {'columns': ['period_start']},
        ]
    )
}}

-- One row per unit and calendar year (as for months); a unit without dossiers has zero counts and
-- NULL rates.
-- Formulas: int_dossier_resolution_kpis (written once for every grain and scope).
select
    unit_code,
    period_year,
    period_start,
    period_end,
    {{ dossier_resolution_kpi_columns() }}
from {{ ref('int_dossier_resolution_kpis') }}
where scope = 'unit'
    and period_grain = 'year'
