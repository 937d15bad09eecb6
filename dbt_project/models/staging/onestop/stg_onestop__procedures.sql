-- One row per administrative procedure: the latest extracted version, renamed and typed.
with source as (

    select * from {{ source('onestop', 'thutuc') }}

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
        record_key as procedure_code,
        payload ->> 'TenTTHC' as procedure_name,
        payload ->> 'LinhVuc' as field,
        payload ->> 'CapThucHien' as implementing_level,
        (payload ->> 'ThoiHanGiaiQuyet')::numeric as processing_time_amount,
        payload ->> 'DonViThoiHan' as processing_time_unit,
        (payload ->> 'CoPhiLePhi')::boolean as has_fee,
        (payload ->> 'TraKetQuaGiay')::boolean as returns_paper_result,
        payload ->> 'DoiTuong' as applicant_type,
        source_updated_at,
        batch_id
    from latest_versions
    where version_rank = 1

)

select * from renamed
