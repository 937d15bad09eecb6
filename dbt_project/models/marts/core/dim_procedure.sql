{{
    config(
        indexes=[
            {'columns': ['procedure_code'], 'unique': true},
        ]
    )
}}

-- One row per administrative procedure (TTHC, SOURCES.md §1) with its legal processing time
-- in English and as the working or calendar days it allows (macros/working_days.sql, the one
-- definition of DOMAIN §3).
with procedures as (

    select * from {{ ref('stg_onestop__procedures') }}

),

described as (

    select
        procedure_code::text as procedure_code,
        procedure_name::text as procedure_name,
        field::text as field,
        implementing_level::text as implementing_level_code,
        (case implementing_level
            when 'tinh' then 'province'
            when 'huyen' then 'district'
            when 'xa' then 'commune'
        end)::text as implementing_level,
        processing_time_amount::numeric(8, 2) as processing_time_amount,
        processing_time_unit::text as processing_time_unit_code,
        (case processing_time_unit
            when 'ngay_lam_viec' then 'working days'
            when 'ngay' then 'calendar days'
            when 'gio' then 'hours'
        end)::text as processing_time_unit,
        {{ processing_working_days('processing_time_amount', 'processing_time_unit') }}
            as allowed_working_days,
        {{ processing_calendar_days('processing_time_amount', 'processing_time_unit') }}
            as allowed_calendar_days,
        has_fee::boolean as has_fee,
        returns_paper_result::boolean as returns_paper_result,
        applicant_type::text as applicant_type_code,
        (case applicant_type
            when 'cong_dan' then 'citizens'
            when 'to_chuc' then 'organisations'
            when 'ca_hai' then 'citizens and organisations'
        end)::text as applicant_type,
        source_updated_at::timestamptz as source_updated_at
    from procedures

)

select * from described
