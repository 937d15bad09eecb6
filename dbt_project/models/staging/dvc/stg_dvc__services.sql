-- One row per online service: the latest extracted version, renamed and typed. Portal times are
-- epoch milliseconds (SOURCES.md §3) and become timestamptz by exact integer arithmetic.
with source as (

    select * from {{ source('dvc', 'services') }}

),

latest_versions as (

    select
        *,
        row_number() over (
            partition by record_key
            order by source_updated_at desc nulls last, batch_id desc
        ) as version_rank
    from source

),

renamed as (

    select
        record_key as service_id,
        payload ->> 'procedure_code' as procedure_code,
        payload ->> 'unit_code' as unit_code,
        payload ->> 'level' as level,
        -- the numbered scale (2, 3, 4) used until Decree 42/2022; null on the full/partial scale
        case
            when payload ->> 'level' in ('2', '3', '4') then (payload ->> 'level')::integer
        end as level_number,
        timestamptz 'epoch'
        + (payload ->> 'online_from')::bigint * interval '1 millisecond' as online_from,
        timestamptz 'epoch'
        + (payload ->> 'online_to')::bigint * interval '1 millisecond' as online_to,
        source_updated_at,
        batch_id
    from latest_versions
    where version_rank = 1

)

select * from renamed
