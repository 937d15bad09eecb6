{{
    config(
        indexes=[
            {'columns': ['dossier_code', 'period_year'], 'unique': true},
            {'columns': ['unit_code', 'period_year']},
            {'columns': ['procedure_code', 'period_year']},
        ]
    )
}}

-- The calendar-year rows of int_dossiers_classified_by_period with the law convention's due
-- date and class: one row per dossier and year (kept for the yearly reports and checks).
with dossier_periods as (

    select * from {{ ref('int_dossiers_classified_by_period') }}

),

dossiers as (

    select * from {{ ref('int_dossiers_with_deadlines_and_outcomes') }}

)

select
    dossier_periods.dossier_code,
    dossier_periods.unit_code,
    dossier_periods.procedure_code,
    dossier_periods.period_year,
    dossier_periods.period_start,
    dossier_periods.period_end,
    dossier_periods.received_at,
    dossiers.legal_due_date,
    dossier_periods.due_date,
    dossier_periods.due_date_portal,
    dossier_periods.finished_at,
    dossier_periods.is_received_in_period,
    dossier_periods.is_finished_in_period,
    dossier_periods.deadline_class,
    dossier_periods.deadline_class_portal
from dossier_periods
inner join dossiers
    on dossier_periods.dossier_code = dossiers.dossier_code
where dossier_periods.period_grain = 'year'
