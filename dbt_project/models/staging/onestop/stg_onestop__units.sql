-- One row per unit: the latest extracted version, renamed to English and typed.
with source as (

    select * from {{ source('onestop', 'donvi') }}

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
        record_key as unit_code,
        payload ->> 'TenDonVi' as unit_name,
        (payload ->> 'CapDonVi')::integer as unit_level,
        payload ->> 'MaDonViCha' as parent_unit_code,
        (payload ->> 'HieuLucTu')::date as valid_from,
        (payload ->> 'HieuLucDen')::date as valid_to,
        payload ->> 'MaDonViKeThua' as successor_unit_code,
        source_updated_at,
        batch_id
    from latest_versions
    where version_rank = 1

)

select * from renamed
