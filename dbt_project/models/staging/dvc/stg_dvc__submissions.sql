-- One row per online application: the latest extracted version, renamed and typed (epoch
-- milliseconds → timestamptz).
with source as (

    select * from {{ source('dvc', 'submissions') }}

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
        record_key as submission_id,
        payload ->> 'dossier_code' as dossier_code,
        payload ->> 'service_id' as service_id,
        timestamptz 'epoch'
        + (payload ->> 'started_at')::bigint * interval '1 millisecond' as started_at,
        timestamptz 'epoch'
        + (payload ->> 'submitted_at')::bigint * interval '1 millisecond' as submitted_at,
        payload ->> 'status' as status,
        payload ->> 'account_type' as account_type,
        source_updated_at,
        batch_id
    from latest_versions
    where version_rank = 1

)

select * from renamed
