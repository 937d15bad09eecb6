{{
    config(
        indexes=[
            {
                'columns': [
                    'methodology_name', 'period_grain', 'period_start', 'unit_group', 'unit_code',
                    'indicator_key',
                ],
                'unique': true,
            },
        ]
    )
}}

-- Every indicator of every unit of every ranked group, per period, for the current content of
-- every methodology (docs/ranking.md; nothing here names a methodology). The units of a group are
-- those of its level that existed in the period (dim_unit history), never today's units. Points
-- follow the indicator's curve on its input R; a missing input (NULL rate, unanswered item)
-- follows when_missing. A unit is not assessed when its group requires a self-assessment return
-- and it has no usable one for the period's year, when an input with when_missing not_assessed
-- is missing, or when none of its indicators is measured; its indicators are then not_assessed
-- (not measured ones stay not_measured) and score nothing.
with methodologies as (

    select
        methodology_name,
        content_sha256,
        periods
    from {{ source('ranking_config', 'current_methodology') }}

),

unit_groups as (

    select unit_groups.*
    from {{ source('ranking_config', 'methodology_unit_group') }} as unit_groups
    inner join methodologies
        on unit_groups.methodology_name = methodologies.methodology_name
        and unit_groups.content_sha256 = methodologies.content_sha256

),

indicators as (

    select indicators.*
    from {{ source('ranking_config', 'methodology_indicator') }} as indicators
    inner join methodologies
        on indicators.methodology_name = methodologies.methodology_name
        and indicators.content_sha256 = methodologies.content_sha256

),

unit_versions as (

    select * from {{ ref('dim_unit') }}

),

returns as (

    select * from {{ ref('stg_files__assessment_file_status') }}

),

-- The periods with data, of every grain.
periods as (

    select distinct
        period_grain,
        period_start,
        period_end,
        period_year,
        period_quarter,
        period_month
    from {{ ref('int_ranking_inputs') }}

),

-- A unit's life (HieuLucTu / HieuLucDen) as its latest version states it.
unit_lives as (

    select
        unit_code,
        effective_from,
        effective_to
    from unit_versions
    where is_current

),

-- The units that existed in each period, with the name and level of the version in force at
-- the period's end (or, failing one, the first version known). Materialized, as members: the
-- planner cannot estimate the methodology joins and would otherwise recompute them per
-- indicator.
unit_periods as materialized (

    select
        periods.*,
        unit_lives.unit_code,
        version_then.unit_name,
        version_then.unit_level
    from periods
    inner join unit_lives
        on unit_lives.effective_from <= periods.period_end
        and (unit_lives.effective_to is null or unit_lives.effective_to >= periods.period_start)
    cross join lateral (
        select
            unit_versions.unit_name,
            unit_versions.unit_level
        from unit_versions
        where unit_versions.unit_code = unit_lives.unit_code
        order by
            unit_versions.valid_from
            < ((periods.period_end + 1)::timestamp at time zone '{{ var("local_timezone") }}')
            desc,
            unit_versions.version_number desc
        limit 1
    ) as version_then

),

-- Units × the periods and unit groups each methodology ranks, with the year's return.
members as materialized (

    select
        methodologies.methodology_name,
        methodologies.content_sha256,
        unit_periods.period_grain,
        unit_periods.period_start,
        unit_periods.period_year,
        unit_periods.period_quarter,
        unit_periods.period_month,
        unit_periods.unit_code,
        unit_periods.unit_name,
        unit_groups.unit_group,
        -- a group that requires a self-assessment needs a usable return for the period's year
        case
            when unit_groups.requires_assessment and not coalesce(returns.has_usable_return, false)
                then 'no self-assessment return ('
                    || coalesce(returns.return_status, 'not_submitted') || ')'
        end as return_reason
    from methodologies
    inner join unit_groups
        on methodologies.methodology_name = unit_groups.methodology_name
        and methodologies.content_sha256 = unit_groups.content_sha256
    inner join unit_periods
        on unit_periods.period_grain = any(methodologies.periods)
        and unit_groups.unit_level = unit_periods.unit_level
    left join returns
        on unit_periods.unit_code = returns.unit_code
        and unit_periods.period_year = returns.assessment_year

),

unit_indicators as (

    select
        members.*,
        indicators.group_key,
        indicators.group_number,
        indicators.group_label_vi,
        indicators.group_label_en,
        indicators.indicator_key,
        indicators.indicator_label_vi,
        indicators.indicator_label_en,
        indicators.ordinal as indicator_ordinal,
        indicators.input_kind,
        indicators.input_code,
        indicators.input_convention,
        indicators.curve_type,
        indicators.curve_params,
        indicators.when_missing,
        indicators.max_points,
        inputs.input_value,
        inputs.input_numerator,
        inputs.input_denominator,
        indicators.input_kind <> 'not_measured' and inputs.input_value is null as is_missing,
        -- not measured: no data at all (QĐ 766 §1.1 …), or missing with when_missing not_measured
        indicators.input_kind = 'not_measured'
        or (inputs.input_value is null and indicators.when_missing = 'not_measured')
            as is_not_measured
    from members
    inner join indicators
        on members.methodology_name = indicators.methodology_name
        and members.content_sha256 = indicators.content_sha256
        and members.unit_group = indicators.unit_group
    -- the table itself, not a CTE: its unique index serves this lookup whatever the estimates
    left join {{ ref('int_ranking_inputs') }} as inputs
        on members.unit_code = inputs.unit_code
        and members.period_grain = inputs.period_grain
        and members.period_start = inputs.period_start
        and indicators.input_kind = inputs.input_kind
        and indicators.input_code = inputs.input_code
        and indicators.input_convention = inputs.input_convention

),

-- Why a unit is not assessed (NULL: it is): the return first, then each missing input whose
-- when_missing is not_assessed, in file order (a window aggregate reads its rows in the
-- window's order); or nothing measurable at all.
judged as (

    select
        *,
        nullif(concat_ws(
            '; ',
            max(return_reason) over unit_window,
            string_agg(
                'no value for indicator ' || indicator_key || ' (' || input_code || ')', '; '
            ) filter (where is_missing and when_missing = 'not_assessed') over unit_window,
            case
                when coalesce(
                    sum(max_points) filter (where not is_not_measured) over unit_window, 0
                ) = 0
                    then 'no indicator measured (achievable maximum 0)'
            end
        ), '') as not_assessed_reason
    from unit_indicators
    window unit_window as (
        partition by methodology_name, period_grain, period_start, unit_group, unit_code
        order by indicator_ordinal, indicator_key
        rows between unbounded preceding and unbounded following
    )

),

-- The curve's points on R = input_value (docs/ranking.md, "Curves").
curved as (

    select
        judged.*,
        case judged.curve_type
            -- max × clamp(R, 0, 1)
            when 'linear'
                then judged.max_points
                * least(greatest(judged.input_value, 0), 1)
            -- max × min(1, max(R, 0) / t)
            when 'cap'
                then judged.max_points
                * least(
                    1,
                    greatest(judged.input_value, 0)
                    / (judged.curve_params ->> 'at')::numeric
                )
            -- the points of the highest threshold ≤ R; 0 below the first
            when 'step' then coalesce(step.points, 0)
            -- max × the share interpolated between the points, flat outside them
            when 'piecewise' then judged.max_points * piecewise.share
            -- max when R = 1 (true), else 0
            when 'boolean'
                then case when judged.input_value = 1 then judged.max_points else 0 end
            -- max × clamp((worst − R) / (worst − best), 0, 1): fewer is better
            when 'inverse_linear'
                then judged.max_points
                * least(greatest(
                    ((judged.curve_params ->> 'worst')::numeric - judged.input_value)
                    / ((judged.curve_params ->> 'worst')::numeric
                        - (judged.curve_params ->> 'best')::numeric),
                    0
                ), 1)
        end as curve_points
    from judged
    left join lateral (
        select (threshold.step ->> 1)::numeric as points
        from jsonb_array_elements(judged.curve_params -> 'steps')
            with ordinality as threshold (step, position)
        where judged.curve_type = 'step'
            and (threshold.step ->> 0)::numeric <= judged.input_value
        order by (threshold.step ->> 0)::numeric desc, threshold.position desc
        limit 1
    ) as step on true
    left join lateral (
        select
            case
                when judged.input_value <= min(knot.x)
                    then min(knot.share) filter (where knot.position = 1)
                when judged.input_value >= max(knot.x)
                    then min(knot.share) filter (where knot.next_x is null)
                else min(
                    knot.share
                    + (knot.next_share - knot.share)
                    * (judged.input_value - knot.x) / (knot.next_x - knot.x)
                ) filter (
                    where knot.x <= judged.input_value
                    and judged.input_value < knot.next_x
                )
            end as share
        from (
            select
                point.position,
                (point.xy ->> 0)::numeric as x,
                (point.xy ->> 1)::numeric as share,
                lead((point.xy ->> 0)::numeric) over (order by point.position) as next_x,
                lead((point.xy ->> 1)::numeric) over (order by point.position) as next_share
            from jsonb_array_elements(judged.curve_params -> 'points')
                with ordinality as point (xy, position)
            where judged.curve_type = 'piecewise'
        ) as knot
    ) as piecewise on true

),

scored as (

    select
        *,
        case
            when is_not_measured then 'not_measured'
            when not_assessed_reason is not null then 'not_assessed'
            when not is_missing then 'scored'
            when when_missing = 'zero' then 'missing_zero'
            when when_missing = 'full' then 'missing_full'
            when when_missing = 'not_assessed' then 'not_assessed'
        end as status
    from curved

)

select
    methodology_name::text as methodology_name,
    content_sha256::text as content_sha256,
    period_grain::text as period_grain,
    period_start::date as period_start,
    period_year::integer as period_year,
    period_quarter::integer as period_quarter,
    period_month::integer as period_month,
    unit_code::text as unit_code,
    unit_name::text as unit_name,
    unit_group::text as unit_group,
    group_key::text as group_key,
    group_number::integer as group_number,
    group_label_vi::text as group_label_vi,
    group_label_en::text as group_label_en,
    indicator_key::text as indicator_key,
    indicator_ordinal::integer as indicator_ordinal,
    indicator_label_vi::text as indicator_label_vi,
    indicator_label_en::text as indicator_label_en,
    input_kind::text as input_kind,
    input_code::text as input_code,
    input_convention::text as input_convention,
    input_value::numeric(18, 6) as input_value,
    input_numerator::bigint as input_numerator,
    input_denominator::bigint as input_denominator,
    curve_type::text as curve_type,
    when_missing::text as when_missing,
    max_points::numeric(12, 4) as max_points,
    (case status
        when 'scored' then round(curve_points, 4)
        when 'missing_zero' then 0
        when 'missing_full' then max_points
    end)::numeric(12, 4) as points,
    status::text as status,
    not_assessed_reason::text as not_assessed_reason
from scored
