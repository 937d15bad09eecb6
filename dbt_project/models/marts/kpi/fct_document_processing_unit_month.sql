{{
    config(
        indexes=[
            {'columns': ['unit_code', 'period_year', 'period_month'], 'unique': true},
            {'columns': ['period_start']},
        ]
    )
}}

-- One row per unit (department, district or commune that existed in the month, or had documents
-- in it) and month from the first to the last month with a document; a unit without documents
-- has zero counts and NULL rates.
-- Formulas: int_document_kpis (written once for every grain and scope).
select
    unit_code,
    period_year,
    period_month,
    period_start,
    period_end,
    document_count,
    outgoing_count,
    incoming_count,
    eo1_numerator,
    eo1_denominator,
    eo1_signed_rate,
    eo2_numerator,
    eo2_denominator,
    eo2_exchange_axis_rate,
    eo3_numerator,
    eo3_denominator,
    eo3_issued_on_time_rate,
    eo4_numerator,
    eo4_denominator,
    eo4_same_day_acknowledgement_rate,
    eo5_numerator,
    eo5_denominator,
    eo5_electronic_share
from {{ ref('int_document_kpis') }}
where scope = 'unit'
    and period_grain = 'month'
