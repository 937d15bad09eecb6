{{
    config(
        pre_hook='set local enable_nestloop = off',
        indexes=[
            {'columns': ['scope', 'period_grain', 'period_start', 'unit_code', 'procedure_code']},
        ]
    )
}}

-- enable_nestloop off (pre-hook, SET LOCAL: this model's transaction only): the aggregations
-- run over scaffolds the planner cannot size (CTEs of unknown length), and a nested loop chosen
-- on a one-row estimate ran for minutes where hash and merge joins stay linear.

{#- The grains built; unit tests narrow them to one to keep their expected rows short. -#}
{% set grains = var('online_service_kpi_grains', ['month', 'quarter', 'year']) %}

-- Every portal KPI (DOMAIN §4, DVC-1 … DVC-7) as numerator, denominator and rate, written once for
-- every scope the marts publish: unit × period (every department, district and commune that
-- existed in the period or had activity in it, zeros and NULL rates when it had none),
-- procedure × period (procedures with activity at those units) and the province (the sum of its
-- units). Each KPI is a set of counted items tagged in_numerator; the facts only filter this model.
-- Activity of the province's own unit (level 1) and of unknown units is left out.
with units as (

    select * from {{ ref('stg_onestop__units') }}

),

dossiers as (

    select * from {{ ref('int_dossiers_with_online_channel_and_payment') }}

),

applications as (

    select * from {{ ref('int_online_applications_with_outcomes') }}

),

ratings as (

    select * from {{ ref('stg_dvc__ratings') }}

),

service_levels as (

    select * from {{ ref('dim_online_service') }}

),

-- DVC-6: a rating counts in the period it was given (rated_at), for the unit and procedure of
-- the dossier rated (the one-stop dossier; else the service of its accepted application).
accepted_applications as (

    select distinct on (dossier_code)
        dossier_code,
        unit_code,
        procedure_code
    from applications
    where is_accepted
        and dossier_code is not null
    order by dossier_code, submission_id

),

rated as (

    select
        ratings.rating_id,
        coalesce(dossiers.unit_code, accepted_applications.unit_code) as unit_code,
        coalesce(dossiers.procedure_code, accepted_applications.procedure_code) as procedure_code,
        {{ to_local_date('ratings.rated_at') }} as rated_date,
        ratings.score >= 4 as is_satisfied
    from ratings
    left join dossiers
        on ratings.dossier_code = dossiers.dossier_code
    left join accepted_applications
        on ratings.dossier_code = accepted_applications.dossier_code

),

activity as (

    select unit_code, received_date as activity_date from dossiers
    union all
    select unit_code, finished_date from dossiers where finished_date is not null
    union all
    select unit_code, started_date from applications where unit_code is not null
    union all
    select unit_code, rated_date from rated where unit_code is not null

),

-- The reported periods: from the first to the last period with any activity.
bounds as (

    select
        min(activity_date) as first_date,
        max(activity_date) as last_date
    from activity

),

grains (period_grain, period_length) as (

    values
        {%- for grain in grains %}
        ('{{ grain }}', interval '{{ {"month": "1 month", "quarter": "3 months", "year": "1 year"}[grain] }}'){{ "," if not loop.last }}
        {%- endfor %}

),

periods as (

    select
        grains.period_grain,
        series.period_start::date as period_start,
        (series.period_start + grains.period_length - interval '1 day')::date as period_end,
        extract(year from series.period_start)::integer as period_year,
        extract(quarter from series.period_start)::integer as period_quarter,
        extract(month from series.period_start)::integer as period_month,
        -- the period as instants [starts_at, ends_at), local midnight to local midnight
        series.period_start at time zone '{{ var("local_timezone") }}' as period_starts_at,
        (series.period_start + grains.period_length) at time zone '{{ var("local_timezone") }}'
            as period_ends_at
    from bounds
    cross join grains
    cross join lateral generate_series(
        date_trunc(grains.period_grain, bounds.first_date::timestamp),
        date_trunc(grains.period_grain, bounds.last_date::timestamp),
        grains.period_length
    ) as series (period_start)

),

-- Ranked units (levels 2–4) that existed in the period, or had activity in it.
unit_periods as (

    {{ ranked_units_in_periods('periods') }}

    union

    select
        units.unit_code,
        periods.period_grain,
        periods.period_start
    from activity
    inner join periods
        on activity.activity_date between periods.period_start and periods.period_end
    inner join units
        on activity.unit_code = units.unit_code
    where units.unit_level in (2, 3, 4)

),

-- Service level periods in force at some moment of the period.
service_periods as (

    select
        service_levels.service_id,
        service_levels.unit_code,
        service_levels.procedure_code,
        service_levels.counts_toward_online_coverage,
        service_levels.accepts_online_applications,
        periods.period_grain,
        periods.period_start,
        periods.period_end
    from service_levels
    inner join periods
        on service_levels.valid_from < periods.period_ends_at
        and (service_levels.valid_to is null or service_levels.valid_to > periods.period_starts_at)

),

-- DVC-1: the procedures of a unit in a period are those it received a dossier for or offered
-- as a portal service (any level); offered online = a level 3–4 (until 2021) or full
-- (toàn trình, from 2022) service in force at some moment of the period. Counted per
-- (unit, procedure), so the procedure and province scopes sum the units.
unit_procedures as (

    select
        dossiers.unit_code,
        dossiers.procedure_code,
        periods.period_grain,
        periods.period_start,
        false as is_offered_online
    from dossiers
    inner join periods
        on dossiers.received_date between periods.period_start and periods.period_end

    union all

    select
        unit_code,
        procedure_code,
        period_grain,
        period_start,
        counts_toward_online_coverage
    from service_periods

),

-- DVC-7 (QĐ 766 §3.2): online services = services accepting online applications (levels 3–4,
-- full, partial) at some moment of the period; used = at least one application accepted among
-- those submitted in the period.
online_services as (

    select
        service_id,
        unit_code,
        procedure_code,
        period_grain,
        period_start,
        period_end
    from service_periods
    where accepts_online_applications
    group by service_id, unit_code, procedure_code, period_grain, period_start, period_end

),

-- The online services used in a period: an accepted application submitted in it. A join on the
-- service (hashable), not a subquery per service and period: that read every application
-- for each of them (16.6 of 23 s at scale 0.1, most of dbt at 1.0; bench/gate_share.py).
used_online_services as (

    select distinct
        online_services.service_id,
        online_services.period_grain,
        online_services.period_start
    from online_services
    inner join applications
        on online_services.service_id = applications.service_id
        and applications.submitted_date
        between online_services.period_start and online_services.period_end
    where applications.is_accepted

),

items as (

    select
        unit_code,
        procedure_code,
        period_grain,
        period_start,
        'dvc1' as kpi,
        bool_or(is_offered_online) as in_numerator
    from unit_procedures
    group by unit_code, procedure_code, period_grain, period_start

    union all

    -- DVC-2: dossiers received in the period; online ones.
    select
        dossiers.unit_code,
        dossiers.procedure_code,
        periods.period_grain,
        periods.period_start,
        'dvc2',
        dossiers.is_online
    from dossiers
    inner join periods
        on dossiers.received_date between periods.period_start and periods.period_end

    union all

    -- DVC-3 (QĐ 766 §3.6): fee-bearing dossiers received in the period; paid online.
    select
        dossiers.unit_code,
        dossiers.procedure_code,
        periods.period_grain,
        periods.period_start,
        'dvc3',
        dossiers.is_paid_online
    from dossiers
    inner join periods
        on dossiers.received_date between periods.period_start and periods.period_end
    where dossiers.is_fee_bearing

    union all

    -- DVC-4 (GOV.UK digital take-up): dossiers completed in the period; online ones.
    select
        dossiers.unit_code,
        dossiers.procedure_code,
        periods.period_grain,
        periods.period_start,
        'dvc4',
        dossiers.is_online
    from dossiers
    inner join periods
        on dossiers.finished_date between periods.period_start and periods.period_end
    where dossiers.is_completed

    union all

    -- DVC-5 (GOV.UK completion rate): applications started in the period; submitted ones.
    select
        applications.unit_code,
        applications.procedure_code,
        periods.period_grain,
        periods.period_start,
        'dvc5',
        applications.is_submitted
    from applications
    inner join periods
        on applications.started_date between periods.period_start and periods.period_end

    union all

    -- DVC-6: ratings given in the period; scores 4–5.
    select
        rated.unit_code,
        rated.procedure_code,
        periods.period_grain,
        periods.period_start,
        'dvc6',
        rated.is_satisfied
    from rated
    inner join periods
        on rated.rated_date between periods.period_start and periods.period_end

    union all

    select
        online_services.unit_code,
        online_services.procedure_code,
        online_services.period_grain,
        online_services.period_start,
        'dvc7',
        used_online_services.service_id is not null
    from online_services
    left join used_online_services
        on online_services.service_id = used_online_services.service_id
        and online_services.period_grain = used_online_services.period_grain
        and online_services.period_start = used_online_services.period_start

),

-- Only items of ranked units count, so the province equals the sum of its units.
scoped_items as (

    select items.*
    from items
    inner join unit_periods
        on items.unit_code = unit_periods.unit_code
        and items.period_grain = unit_periods.period_grain
        and items.period_start = unit_periods.period_start

),

counts as (

    select
        case
            when grouping(unit_code) = 0 then 'unit'
            when grouping(procedure_code) = 0 then 'procedure'
            else 'province'
        end as scope,
        period_grain,
        period_start,
        unit_code,
        procedure_code,
        {%- for kpi in ['dvc1', 'dvc2', 'dvc3', 'dvc4', 'dvc5', 'dvc6', 'dvc7'] %}
        count(*) filter (where kpi = '{{ kpi }}' and in_numerator) as {{ kpi }}_numerator,
        count(*) filter (where kpi = '{{ kpi }}') as {{ kpi }}_denominator{{ "," if not loop.last }}
        {%- endfor %}
    from scoped_items
    group by grouping sets (
        (period_grain, period_start, unit_code),
        (period_grain, period_start, procedure_code),
        (period_grain, period_start)
    )

),

-- Units and the province get a row for every period, procedures only where they had items.
scope_periods as (

    select
        'unit' as scope,
        unit_code,
        null::text as procedure_code,
        period_grain,
        period_start
    from unit_periods

    union all

    select
        'procedure' as scope,
        null::text as unit_code,
        procedure_code,
        period_grain,
        period_start
    from counts
    where scope = 'procedure'

    union all

    select
        'province' as scope,
        null::text as unit_code,
        null::text as procedure_code,
        period_grain,
        period_start
    from periods

),

filled as (

    select
        scope_periods.scope,
        scope_periods.unit_code,
        scope_periods.procedure_code,
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        periods.period_year,
        periods.period_quarter,
        periods.period_month,
        {%- for kpi in ['dvc1', 'dvc2', 'dvc3', 'dvc4', 'dvc5', 'dvc6', 'dvc7'] %}
        coalesce(counts.{{ kpi }}_numerator, 0) as {{ kpi }}_numerator,
        coalesce(counts.{{ kpi }}_denominator, 0) as {{ kpi }}_denominator{{ "," if not loop.last }}
        {%- endfor %}
    from scope_periods
    inner join periods
        on scope_periods.period_grain = periods.period_grain
        and scope_periods.period_start = periods.period_start
    left join counts
        on scope_periods.scope = counts.scope
        and scope_periods.period_grain = counts.period_grain
        and scope_periods.period_start = counts.period_start
        -- the scope's one member (a unit, a procedure or none) as an equality, so the join can
        -- hash (IS NOT DISTINCT FROM cannot: a nested loop over every pair of rows)
        and coalesce(scope_periods.unit_code, scope_periods.procedure_code, '')
        = coalesce(counts.unit_code, counts.procedure_code, '')

),

kpis as (

    select
        scope,
        unit_code,
        procedure_code,
        period_grain,
        period_start,
        period_end,
        period_year,
        period_quarter,
        period_month,
        -- DVC-1: procedures offered online (level 3–4; toàn trình from 2022) / procedures.
        dvc1_numerator,
        dvc1_denominator,
        {{ safe_divide('dvc1_numerator', 'dvc1_denominator') }} as dvc1_online_coverage_rate,
        -- DVC-2: dossiers received online / received.
        dvc2_numerator,
        dvc2_denominator,
        {{ safe_divide('dvc2_numerator', 'dvc2_denominator') }} as dvc2_online_dossier_rate,
        -- DVC-3 (QĐ 766 §3.6): fee-bearing dossiers paid online / fee-bearing dossiers.
        dvc3_numerator,
        dvc3_denominator,
        {{ safe_divide('dvc3_numerator', 'dvc3_denominator') }} as dvc3_online_payment_rate,
        -- DVC-4 (GOV.UK): completed online transactions / completed transactions.
        dvc4_numerator,
        dvc4_denominator,
        {{ safe_divide('dvc4_numerator', 'dvc4_denominator') }} as dvc4_digital_take_up_rate,
        -- DVC-5 (GOV.UK): applications submitted / started.
        dvc5_numerator,
        dvc5_denominator,
        {{ safe_divide('dvc5_numerator', 'dvc5_denominator') }} as dvc5_completion_rate,
        -- DVC-6: ratings of 4–5 / ratings.
        dvc6_numerator,
        dvc6_denominator,
        {{ safe_divide('dvc6_numerator', 'dvc6_denominator') }} as dvc6_satisfaction_rate,
        -- DVC-7 (QĐ 766 §3.2): online services with ≥ 1 online dossier / online services.
        dvc7_numerator,
        dvc7_denominator,
        {{ safe_divide('dvc7_numerator', 'dvc7_denominator') }}
            as dvc7_services_with_online_dossier_rate
    from filled

)

select * from kpis
