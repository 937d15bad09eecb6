-- One row per online payment: the latest extracted version, renamed and typed (epoch
-- milliseconds → timestamptz).
with source as (

    select * from {{ source('dvc', 'payments') }}

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
        record_key as payment_id,
        payload ->> 'dossier_code' as dossier_code,
        (payload ->> 'amount')::bigint as amount_vnd,
        payload ->> 'method' as payment_method,
        payload ->> 'status' as status,
        timestamptz 'epoch'
        + (payload ->> 'paid_at')::bigint * interval '1 millisecond' as paid_at,
        source_updated_at,
        batch_id
    from latest_versions
    where version_rank = 1

)

select * from renamed
