-- One row per satisfaction rating: the latest extracted version, renamed and typed (epoch
-- milliseconds → timestamptz).
with source as (

    select * from {{ source('dvc', 'ratings') }}

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
        record_key as rating_id,
        payload ->> 'dossier_code' as dossier_code,
        (payload ->> 'score')::integer as score,
        (payload ->> 'comment_flag')::boolean as is_complaint,
        timestamptz 'epoch'
        + (payload ->> 'rated_at')::bigint * interval '1 millisecond' as rated_at,
        source_updated_at,
        batch_id
    from latest_versions
    where version_rank = 1

)

select * from renamed
