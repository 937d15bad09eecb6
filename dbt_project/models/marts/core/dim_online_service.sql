-- One row per online service and level period (type-2 history): the portal changes a service's
-- level in place (3 → 4; 3/4 → full/partial at the Decree 42/2022 reform) and serves only the
-- current state, so each period starts at the updated_at of the first landed version with that
-- level. The first known level is assumed from online_from: a version extracted after a change
-- cannot tell the level before it (level_observed_at shows when it was first seen).
with versions as (

    select * from {{ ref('stg_dvc__service_versions') }}

),

services as (

    select * from {{ ref('stg_dvc__services') }}

),

versions_with_previous_level as (

    select
        service_id,
        source_updated_at,
        level,
        level_number,
        lag(level) over (
            partition by service_id order by source_updated_at
        ) as previous_level
    from versions

),

-- gaps and islands: a period starts where the level differs from the version before
level_periods as (

    select
        service_id,
        level,
        level_number,
        source_updated_at as level_observed_at,
        row_number() over (
            partition by service_id order by source_updated_at
        ) as period_number,
        lead(source_updated_at) over (
            partition by service_id order by source_updated_at
        ) as next_level_from
    from versions_with_previous_level
    where previous_level is null or previous_level <> level

),

final as (

    select
        level_periods.service_id,
        level_periods.period_number::integer as period_number,
        services.procedure_code,
        services.unit_code,
        level_periods.level,
        level_periods.level_number,
        case
            when level_periods.level_number is not null then 'numbered'
            else 'full_partial'
        end as level_scale,
        -- level 4 (Decree 43/2011) and toàn trình (Decree 42/2022): the whole process online
        level_periods.level in ('4', 'full') as is_full_online,
        -- an application can be submitted online: levels 3–4, full and partial (not level 2)
        level_periods.level in ('3', '4', 'full', 'partial') as accepts_online_applications,
        -- DVC-1: level 3–4 on the numbered scale, toàn trình (full) on the Decree 42/2022 scale
        level_periods.level in ('3', '4', 'full') as counts_toward_online_coverage,
        case
            when level_periods.period_number = 1
                then least(services.online_from, level_periods.level_observed_at)
            else level_periods.level_observed_at
        end as valid_from,
        coalesce(level_periods.next_level_from, services.online_to) as valid_to,
        level_periods.next_level_from is null as is_current,
        level_periods.level_observed_at,
        services.online_from,
        services.online_to
    from level_periods
    inner join services
        on level_periods.service_id = services.service_id

)

select * from final
