-- One row per extracted version of an online service (service_id × updated_at), renamed and
-- typed: the portal serves only a service's current state, so its level history (3 → 4 →
-- full/partial) exists only as the versions the extractor landed. Repeats of one version
-- (re-ingested windows) keep the latest batch.
with source as (

    select * from {{ source('dvc', 'services') }}

),

distinct_versions as (

    select
        *,
        row_number() over (
            partition by record_key, source_updated_at
            order by batch_id desc
        ) as repeat_rank
    from source

),

renamed as (

    select
        record_key as service_id,
        source_updated_at,
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
        batch_id
    from distinct_versions
    where repeat_rank = 1

)

select * from renamed
