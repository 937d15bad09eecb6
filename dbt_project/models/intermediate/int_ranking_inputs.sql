{#- The post-hook analyzes the table: fct_ranking_indicator_score looks inputs up by its key
    and must plan on fresh statistics, not on those of an empty table. -#}
{{
    config(
        post_hook='analyze {{ this }}',
        indexes=[
            {
                'columns': [
                    'unit_code', 'period_grain', 'period_start', 'input_kind', 'input_code',
                    'input_convention',
                ],
                'unique': true,
            },
        ]
    )
}}

{#- Every input a methodology may read (docs/ranking.md, "Inputs"), by the code a methodology
    names it with. Per fact family: code, value column, numerator and denominator columns, and
    whether the KPI has a convention: the one-stop KPIs (OS-*) are read under both, from the
    *_portal twin where the supplement convention changes them, else the same column (OS-5a,
    OS-5b, OS-6 do not depend on it). The facts' own names: a renamed column fails the build. -#}
{%- set kpis = {
    'dossier_resolution': [
        ('OS-1a', 'os1a_on_time_rate', 'os1a_numerator', 'os1a_denominator', true),
        ('OS-1b', 'os1b_on_time_rate', 'os1b_numerator', 'os1b_denominator', true),
        ('OS-2', 'os2_late_rate', 'os2_numerator', 'os2_denominator', true),
        ('OS-3', 'os3_overdue_rate', 'os3_numerator', 'os3_denominator', true),
        ('OS-4', 'os4_apology_compliance_rate', 'os4_numerator', 'os4_denominator', true),
        ('OS-5a', 'os5a_supplement_rate', 'os5a_numerator', 'os5a_denominator', false),
        ('OS-5b', 'os5b_repeat_supplement_rate', 'os5b_numerator', 'os5b_denominator', false),
        ('OS-6', 'os6_refusal_rate', 'os6_numerator', 'os6_denominator', false),
        ('OS-7', 'os7_mean_working_days', 'os7_numerator', 'os7_denominator', true),
    ],
    'online_service': [
        ('DVC-1', 'dvc1_online_coverage_rate', 'dvc1_numerator', 'dvc1_denominator', false),
        ('DVC-2', 'dvc2_online_dossier_rate', 'dvc2_numerator', 'dvc2_denominator', false),
        ('DVC-3', 'dvc3_online_payment_rate', 'dvc3_numerator', 'dvc3_denominator', false),
        ('DVC-4', 'dvc4_digital_take_up_rate', 'dvc4_numerator', 'dvc4_denominator', false),
        ('DVC-5', 'dvc5_completion_rate', 'dvc5_numerator', 'dvc5_denominator', false),
        ('DVC-6', 'dvc6_satisfaction_rate', 'dvc6_numerator', 'dvc6_denominator', false),
        ('DVC-7', 'dvc7_services_with_online_dossier_rate', 'dvc7_numerator', 'dvc7_denominator',
         false),
    ],
    'document_processing': [
        ('EO-1', 'eo1_signed_rate', 'eo1_numerator', 'eo1_denominator', false),
        ('EO-2', 'eo2_exchange_axis_rate', 'eo2_numerator', 'eo2_denominator', false),
        ('EO-3', 'eo3_issued_on_time_rate', 'eo3_numerator', 'eo3_denominator', false),
        ('EO-4', 'eo4_same_day_acknowledgement_rate', 'eo4_numerator', 'eo4_denominator', false),
        ('EO-5', 'eo5_electronic_share', 'eo5_numerator', 'eo5_denominator', false),
    ],
} -%}
{#- The QĐ 766 indicators of int_qd766_indicators (5.4 is a composite: no numerator). -#}
{%- set qd766 = [
    ('QD766-1.4', 'qd766_1_4_sync_rate', 'qd766_1_4_numerator', 'qd766_1_4_denominator'),
    ('QD766-3.3', 'qd766_3_3_online_rate', 'qd766_3_3_numerator', 'qd766_3_3_denominator'),
    ('QD766-3.5', 'qd766_3_5_fee_integration_rate', 'qd766_3_5_numerator',
     'qd766_3_5_denominator'),
    ('QD766-3.5b', 'qd766_3_5b_paid_online_rate', 'qd766_3_5b_numerator',
     'qd766_3_5b_denominator'),
    ('QD766-4.1', 'qd766_4_1_electronic_result_rate', 'qd766_4_1_numerator',
     'qd766_4_1_denominator'),
    ('QD766-4.2', 'qd766_4_2_digitised_rate', 'qd766_4_2_numerator', 'qd766_4_2_denominator'),
    ('QD766-4.3', 'qd766_4_3_data_reuse_rate', 'qd766_4_3_numerator', 'qd766_4_3_denominator'),
    ('QD766-4.5a', 'qd766_4_5a_vneid_procedure_rate', 'qd766_4_5a_numerator',
     'qd766_4_5a_denominator'),
    ('QD766-4.5b', 'qd766_4_5b_vneid_dossier_rate', 'qd766_4_5b_numerator',
     'qd766_4_5b_denominator'),
    ('QD766-5.4', 'qd766_5_4_satisfaction_rate', 'null', 'null'),
] -%}
{%- set grains = ['month', 'quarter', 'year'] -%}

-- Every input of the ranking methodologies per unit × period (docs/ranking.md): the DOMAIN §4 KPIs
-- unpivoted from the unit facts (month, quarter, year; both supplement conventions where a KPI
-- has them), the derived QĐ 766 indicators, and the self-assessment items of the latest return
-- per unit and year (year grain only). input_value NULL = missing (a zero denominator, or an
-- item the return does not answer has no row at all); the ranking applies when_missing.
with kpi_inputs as (

    {%- for family, columns in kpis.items() %}
    {%- for grain in grains %}
    select
        facts.unit_code,
        '{{ grain }}'::text as period_grain,
        facts.period_start,
        facts.period_end,
        facts.period_year,
        'kpi'::text as input_kind,
        kpi.input_code,
        kpi.input_convention,
        kpi.input_value,
        kpi.input_numerator,
        kpi.input_denominator
    from {{ ref('fct_' ~ family ~ '_unit_' ~ grain) }} as facts
    cross join lateral (
        values
            {%- for code, value, numerator, denominator, has_portal in columns %}
            ('{{ code }}', 'law', facts.{{ value }}::numeric, facts.{{ numerator }}::bigint,
             facts.{{ denominator }}::bigint)
            {%- if has_portal %},
            ('{{ code }}', 'portal', facts.{{ value }}_portal::numeric,
             facts.{{ numerator }}_portal::bigint, facts.{{ denominator }}_portal::bigint)
            {%- elif code.startswith('OS-') %},
            ('{{ code }}', 'portal', facts.{{ value }}::numeric, facts.{{ numerator }}::bigint,
             facts.{{ denominator }}::bigint)
            {%- endif %}
            {{- "," if not loop.last }}
            {%- endfor %}
    ) as kpi (input_code, input_convention, input_value, input_numerator, input_denominator)
    union all
    {%- endfor %}
    {%- endfor %}

    select
        qd766.unit_code,
        qd766.period_grain,
        qd766.period_start,
        qd766.period_end,
        qd766.period_year,
        'kpi'::text as input_kind,
        indicator.input_code,
        'law'::text as input_convention,
        indicator.input_value,
        indicator.input_numerator,
        indicator.input_denominator
    from {{ ref('int_qd766_indicators') }} as qd766
    cross join lateral (
        values
            {%- for code, value, numerator, denominator in qd766 %}
            ('{{ code }}', qd766.{{ value }}::numeric,
             {{ 'qd766.' ~ numerator if numerator != 'null' else 'null' }}::bigint,
             {{ 'qd766.' ~ denominator if denominator != 'null' else 'null' }}::bigint)
            {{- "," if not loop.last }}
            {%- endfor %}
    ) as indicator (input_code, input_value, input_numerator, input_denominator)

),

item_inputs as (

    select
        unit_code,
        'year'::text as period_grain,
        make_date(assessment_year, 1, 1) as period_start,
        make_date(assessment_year, 12, 31) as period_end,
        assessment_year as period_year,
        'item'::text as input_kind,
        item_code as input_code,
        'law'::text as input_convention,
        value_numeric::numeric as input_value,
        null::bigint as input_numerator,
        null::bigint as input_denominator
    from {{ ref('stg_files__assessment_returns') }}

),

inputs as (

    select * from kpi_inputs
    union all
    select * from item_inputs

)

select
    unit_code::text as unit_code,
    period_grain::text as period_grain,
    period_start::date as period_start,
    period_end::date as period_end,
    period_year::integer as period_year,
    (case when period_grain <> 'year' then extract(quarter from period_start) end)::integer
        as period_quarter,
    (case when period_grain = 'month' then extract(month from period_start) end)::integer
        as period_month,
    input_kind::text as input_kind,
    input_code::text as input_code,
    input_convention::text as input_convention,
    input_value::numeric(18, 6) as input_value,
    input_numerator::bigint as input_numerator,
    input_denominator::bigint as input_denominator
from inputs
