{{
    config(
        indexes=[
            {'columns': ['procedure_code', 'period_year'], 'unique': true},
            {'columns': ['period_start']},
        ]
    )
}}

-- One row per procedure and year in which the procedure had a dossier (received, finished or
-- pending) at a ranked unit.
-- Formulas: int_dossier_resolution_kpis (written once for every grain and scope).
select
    procedure_code,
    period_year,
    period_start,
    period_end,
    {{ dossier_resolution_kpi_columns() }}
from {{ ref('int_dossier_resolution_kpis') }}
where scope = 'procedure'
    and period_grain = 'year'
