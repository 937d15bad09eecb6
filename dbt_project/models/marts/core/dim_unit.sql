{{
    config(
        indexes=[
            {'columns': ['unit_version_key'], 'unique': true},
            {'columns': ['unit_code', 'valid_from']},
        ]
    )
}}

-- One row per version of a unit (DOMAIN §1), from the SCD2 snapshot of the one-stop units.
-- A version is valid while the source served it (from its NgayCapNhat to the next one's); the
-- unit's own life is effective_from / effective_to (HieuLucTu / HieuLucDen).
with versions as (

    select
        dbt_scd_id as unit_version_key,
        unit_code,
        unit_name,
        unit_level,
        parent_unit_code,
        valid_from as effective_from,
        valid_to as effective_to,
        successor_unit_code,
        -- the snapshot keeps local wall-clock times (see snap_onestop__units.sql)
        dbt_valid_from at time zone '{{ var("local_timezone") }}' as recorded_from,
        dbt_valid_to at time zone '{{ var("local_timezone") }}' as recorded_to,
        source_updated_at,
        row_number() over (
            partition by unit_code order by dbt_valid_from
        ) as version_number,
        row_number() over (
            partition by unit_code order by dbt_valid_from desc
        ) = 1 as is_current
    from {{ ref('snap_onestop__units') }}

),

labelled as (

    select
        unit_version_key::text as unit_version_key,
        unit_code::text as unit_code,
        version_number::integer as version_number,
        unit_name::text as unit_name,
        unit_level::integer as unit_level,
        (case unit_level
            when 1 then 'province'
            when 2 then 'department'
            when 3 then 'district'
            when 4 then 'commune'
        end)::text as unit_level_label_en,
        (case unit_level
            when 1 then 'tỉnh'
            when 2 then 'sở-ban-ngành'
            when 3 then 'huyện'
            when 4 then 'xã'
        end)::text as unit_level_label_vi,
        parent_unit_code::text as parent_unit_code,
        effective_from::date as effective_from,
        effective_to::date as effective_to,
        successor_unit_code::text as successor_unit_code,
        -- The first version known stands for the unit from its first day (Kimball's initial
        -- row): otherwise an as-of join on a date before the first snapshot finds no unit.
        (case
            when version_number = 1
                then least(
                    recorded_from,
                    (effective_from::timestamp at time zone '{{ var("local_timezone") }}')
                )
            else recorded_from
        end)::timestamptz as valid_from,
        recorded_to::timestamptz as valid_to,
        is_current::boolean as is_current,
        source_updated_at::timestamptz as source_updated_at
    from versions

)

select * from labelled
