-- One row per (assessment year, unit, item) of the latest return file of each unit and year
-- (payload file_sha256 = assessment_file_status.sha256, govkpi.load.assessments), with the
-- answer as text and as the number a methodology scores (docs/ranking.md, "Inputs"):
-- percent → share in [0, 1]; boolean → 1 / 0; enum → position / (n − 1), weakest 0, strongest 1;
-- integer and decimal → the number as reported. A file re-read unchanged (force) lands its rows
-- again: the newest copy of each row is kept.
with file_status as (

    select * from {{ source('raw_files', 'assessment_file_status') }}

),

latest_file_rows as (

    select
        returns.*,
        row_number() over (
            partition by returns.record_key
            order by returns.source_updated_at desc nulls last, returns.batch_id desc
        ) as copy_rank
    from {{ source('raw_files', 'assessment_returns') }} as returns
    inner join file_status
        on (returns.payload ->> 'nam')::integer = file_status.year
        and returns.payload ->> 'ma_don_vi' = file_status.unit_code
        and returns.payload ->> 'file_sha256' = file_status.sha256

),

items as (

    select * from {{ ref('assessment_items') }}

),

enum_values as (

    select * from {{ ref('assessment_item_values') }}

),

renamed as (

    select
        (latest_file_rows.payload ->> 'nam')::integer as assessment_year,
        latest_file_rows.payload ->> 'ma_don_vi' as unit_code,
        latest_file_rows.payload ->> 'ma_tieu_chi' as item_code,
        items.item_type,
        latest_file_rows.payload ->> 'gia_tri' as value_text,
        (case items.item_type
            when 'percent' then (latest_file_rows.payload ->> 'gia_tri')::numeric / 100
            when 'boolean'
                then case when (latest_file_rows.payload ->> 'gia_tri')::boolean then 1 else 0 end
            when 'enum'
                then case
                    when enum_values.value_count > 1
                        then enum_values.value_position::numeric / (enum_values.value_count - 1)
                    else 1  -- a single value is the strongest
                end
            when 'integer' then (latest_file_rows.payload ->> 'gia_tri')::numeric
            when 'decimal' then (latest_file_rows.payload ->> 'gia_tri')::numeric
        end)::numeric(18, 6) as value_numeric,
        latest_file_rows.payload ->> 'minh_chung' as evidence,
        latest_file_rows.payload ->> 'file' as file_path,
        latest_file_rows.payload ->> 'sheet' as sheet_name,
        (latest_file_rows.payload ->> 'row')::integer as source_row,
        latest_file_rows.payload ->> 'file_sha256' as file_sha256,
        latest_file_rows.source_updated_at,
        latest_file_rows.batch_id
    from latest_file_rows
    left join items
        on latest_file_rows.payload ->> 'ma_tieu_chi' = items.item_code
    left join enum_values
        on latest_file_rows.payload ->> 'ma_tieu_chi' = enum_values.item_code
        and latest_file_rows.payload ->> 'gia_tri' = enum_values.value_code
    where latest_file_rows.copy_rank = 1

)

select * from renamed
