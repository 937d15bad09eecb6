{{
    config(
        indexes=[
            {'columns': ['unit_code'], 'unique': true},
            {'columns': ['current_unit_code']},
        ]
    )
}}

-- Every unit code ever seen → the unit that carries it on today, following MaDonViKeThua to the
-- end of the chain (DOMAIN §1: a series survives a reorganisation). A series is shown on the
-- units of its year with dim_unit, on today's units by joining this crosswalk on unit_code.
with recursive units as (

    -- each unit's latest version: its successor as finally known
    select
        unit_code,
        unit_name,
        unit_level,
        effective_from,
        effective_to,
        successor_unit_code
    from {{ ref('dim_unit') }}
    where is_current

),

successor_walk as (

    select
        unit_code as start_unit_code,
        unit_code as reached_unit_code,
        successor_unit_code as next_unit_code,
        0 as successor_steps,
        array[unit_code] as visited_unit_codes
    from units

    union all

    select
        successor_walk.start_unit_code,
        successor_walk.next_unit_code as reached_unit_code,
        next_unit.successor_unit_code as next_unit_code,
        successor_walk.successor_steps + 1 as successor_steps,
        successor_walk.visited_unit_codes || successor_walk.next_unit_code as visited_unit_codes
    from successor_walk
    left join units as next_unit
        on successor_walk.next_unit_code = next_unit.unit_code
    where successor_walk.next_unit_code is not null
        -- a unit already on the path ends the walk: a cycle cannot loop
        and successor_walk.next_unit_code <> all(successor_walk.visited_unit_codes)

),

chain_ends as (

    select distinct on (start_unit_code)
        start_unit_code,
        reached_unit_code,
        successor_steps,
        -- the walk stopped with a successor still to go: it was already on the path
        coalesce(next_unit_code = any(visited_unit_codes), false) as has_successor_cycle
    from successor_walk
    order by start_unit_code, successor_steps desc

),

resolved as (

    select
        chain_ends.start_unit_code as unit_code,
        chain_ends.has_successor_cycle,
        -- a chain that runs into a cycle has no trustworthy end: keep the unit itself
        case
            when chain_ends.has_successor_cycle then chain_ends.start_unit_code
            else chain_ends.reached_unit_code
        end as current_unit_code,
        case
            when chain_ends.has_successor_cycle then 0
            else chain_ends.successor_steps
        end as successor_steps
    from chain_ends

),

today as (

    select {{ to_local_date('now()') }} as local_date

),

crosswalk as (

    select
        resolved.unit_code::text as unit_code,
        start_unit.unit_name::text as unit_name,
        start_unit.unit_level::integer as unit_level,
        (start_unit.effective_from <= today.local_date
            and coalesce(start_unit.effective_to >= today.local_date, true))::boolean
            as is_unit_active,
        resolved.current_unit_code::text as current_unit_code,
        current_unit.unit_name::text as current_unit_name,
        current_unit.unit_level::integer as current_unit_level,
        (current_unit.effective_from <= today.local_date
            and coalesce(current_unit.effective_to >= today.local_date, true))::boolean
            as is_current_unit_active,
        resolved.successor_steps::integer as successor_steps,
        resolved.has_successor_cycle::boolean as has_successor_cycle
    from resolved
    cross join today
    inner join units as start_unit
        on resolved.unit_code = start_unit.unit_code
    left join units as current_unit
        on resolved.current_unit_code = current_unit.unit_code

)

select * from crosswalk
