{{
    config(
        indexes=[
            {'columns': ['calendar_date'], 'unique': true},
        ]
    )
}}

-- One row per calendar day of dim_calendar (2016–2030) with the periods KPIs are reported on:
-- keys to group by and labels to show, in Vietnamese and English.
with calendar as (

    select calendar_date, is_working_day from {{ ref('dim_calendar') }}

),

parts as (

    select
        calendar_date,
        is_working_day,
        extract(year from calendar_date)::integer as year_number,
        extract(quarter from calendar_date)::integer as quarter_number,
        extract(month from calendar_date)::integer as month_number,
        extract(day from calendar_date)::integer as day_of_month,
        extract(isoyear from calendar_date)::integer as iso_year,
        extract(week from calendar_date)::integer as iso_week,
        extract(isodow from calendar_date)::integer as iso_day_of_week
    from calendar

),

labelled as (

    select
        calendar_date::date as calendar_date,
        is_working_day::boolean as is_working_day,
        year_number::integer as year_number,
        quarter_number::integer as quarter_number,
        month_number::integer as month_number,
        day_of_month::integer as day_of_month,
        iso_year::integer as iso_year,
        iso_week::integer as iso_week,
        iso_day_of_week::integer as iso_day_of_week,
        date_trunc('month', calendar_date)::date as month_start,
        date_trunc('quarter', calendar_date)::date as quarter_start,
        date_trunc('year', calendar_date)::date as year_start,
        to_char(calendar_date, 'YYYY-MM')::text as month_key,
        (year_number || '-Q' || quarter_number)::text as quarter_key,
        year_number::text as year_key,
        (iso_year || '-W' || lpad(iso_week::text, 2, '0'))::text as iso_week_key,
        ('Tháng ' || month_number || '/' || year_number)::text as month_label_vi,
        ('Quý ' || quarter_number || '/' || year_number)::text as quarter_label_vi,
        ('Năm ' || year_number)::text as year_label_vi,
        -- Vietnamese weekday names: Monday is "Thứ Hai" (the second day), Sunday "Chủ nhật"
        (case iso_day_of_week
            when 7 then 'Chủ nhật'
            else 'Thứ ' || (array['Hai', 'Ba', 'Tư', 'Năm', 'Sáu', 'Bảy'])[iso_day_of_week]
        end)::text as day_name_vi,
        -- FM drops the blank padding; without TM, to_char names are English whatever lc_time is
        to_char(calendar_date, 'FMMonth YYYY')::text as month_label_en,
        ('Q' || quarter_number || ' ' || year_number)::text as quarter_label_en,
        year_number::text as year_label_en,
        to_char(calendar_date, 'FMDay')::text as day_name_en
    from parts

)

select * from labelled
