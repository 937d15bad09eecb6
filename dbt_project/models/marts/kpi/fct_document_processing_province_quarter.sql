{{
    config(
        indexes=[
            {'columns': ['period_year', 'period_quarter'], 'unique': true},
        ]
    )
}}

-- One row per quarter: the province total, equal to the sum of
-- fct_document_processing_unit_quarter.
-- Formulas: int_document_kpis (written once for every grain and scope).
select
    period_year,
    period_quarter,
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
where scope = 'province'
    and period_grain = 'quarter'
