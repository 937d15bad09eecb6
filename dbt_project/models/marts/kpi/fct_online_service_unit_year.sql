{{
    config(
        indexes=[
            {'columns': ['unit_code', 'period_year'], 'unique': true},
            {'columns': ['period_start']},
        ]
    )
}}

-- One row per unit and calendar year (as for months); a unit without activity has zero counts
-- and NULL rates.
-- Formulas: int_online_service_kpis (written once for every grain and scope).
select
    unit_code,
    period_year,
    period_start,
    period_end,
    dvc1_numerator,
    dvc1_denominator,
    dvc1_online_coverage_rate,
    dvc2_numerator,
    dvc2_denominator,
    dvc2_online_dossier_rate,
    dvc3_numerator,
    dvc3_denominator,
    dvc3_online_payment_rate,
    dvc4_numerator,
    dvc4_denominator,
    dvc4_digital_take_up_rate,
    dvc5_numerator,
    dvc5_denominator,
    dvc5_completion_rate,
    dvc6_numerator,
    dvc6_denominator,
    dvc6_satisfaction_rate,
    dvc7_numerator,
    dvc7_denominator,
    dvc7_services_with_online_dossier_rate
from {{ ref('int_online_service_kpis') }}
where scope = 'unit'
    and period_grain = 'year'
