{#-
    Working-day arithmetic: the one definition of DOMAIN §3 due dates in SQL, the twin of
    include/govkpi/calendar.py (both must give identical dates).

    Everything is a join on dim_calendar.working_day_number, the cumulative count of working days
    up to and including a date: a working day carries its own ordinal, a day off carries the
    ordinal of the last working day before it. So
      - the working day with ordinal k is the unique row (is_working_day, working_day_number = k);
      - the next working day after any date d has ordinal number(d) + 1;
      - "add N working days" to a working day with ordinal k is the working day with ordinal k + N.
    Hash joins on these equalities scale to millions of dossiers (no per-row loops).
-#}

{#- Join the calendar row of a date. -#}
{% macro join_calendar_date(calendar, alias, date_expression) -%}
    left join {{ calendar }} as {{ alias }}
        on {{ alias }}.calendar_date = ({{ date_expression }})
{%- endmacro %}

{#- Join the working day whose ordinal is working_day_number. -#}
{% macro join_working_day(calendar, alias, working_day_number) -%}
    left join {{ calendar }} as {{ alias }}
        on {{ alias }}.is_working_day
        and {{ alias }}.working_day_number = ({{ working_day_number }})
{%- endmacro %}

{#- Join the working day that comes `days` working days after the working day with ordinal
    start_working_day_number (days = 0 joins that day itself). -#}
{% macro join_add_working_days(calendar, alias, start_working_day_number, days) -%}
    {{ join_working_day(calendar, alias, '(' ~ start_working_day_number ~ ') + (' ~ days ~ ')') }}
{%- endmacro %}

{#- Ordinal of the first working day on or after the date of a joined calendar row. -#}
{% macro first_working_day_number_on_or_after(calendar_day) -%}
    ({{ calendar_day }}.working_day_number
        + case when {{ calendar_day }}.is_working_day then 0 else 1 end)
{%- endmacro %}

{#- Ordinal of the effective receipt day (Decree 61/2018 practice): a dossier received on a working
    day before 15:00 local counts from that day; at/after 15:00 or on a day off, from the next
    working day. receipt_day is the joined calendar row of the local receipt date. -#}
{% macro effective_receipt_day_number(received_at, receipt_day) -%}
    ({{ receipt_day }}.working_day_number
        + case
            when {{ receipt_day }}.is_working_day
                and {{ to_local_time(received_at) }} < time '{{ var("afternoon_cutoff") }}'
                then 0
            else 1
        end)
{%- endmacro %}

{#- Working days allowed by a processing time: ngay_lam_viec = N working days; gio = hours as
    8-hour working days rounded up, at least 1; NULL for calendar days (ngay) or unknown units. -#}
{% macro processing_working_days(amount, unit) -%}
    (case ({{ unit }})
        when 'ngay_lam_viec' then trunc({{ amount }})::integer
        when 'gio' then greatest(1, ceil(trunc({{ amount }}) / 8.0))::integer
    end)
{%- endmacro %}

{#- Calendar days allowed by a processing time in ngay; NULL for any other unit. -#}
{% macro processing_calendar_days(amount, unit) -%}
    (case when ({{ unit }}) = 'ngay' then trunc({{ amount }})::integer end)
{%- endmacro %}

{#- A select over `receipts` (a CTE or relation) adding effective_receipt_date and legal_due_date,
    the last day on which finishing is on time (DOMAIN §3):
      ngay_lam_viec: N working days after the effective receipt day;
      gio:           ceil(N / 8) working days after it, at least 1;
      ngay:          N calendar days after it, moved to the next working day if a day off.
    NULL when the unit is unknown or a date falls outside the calendar. -#}
{% macro select_with_legal_due_date(
    receipts,
    calendar,
    received_at='received_at',
    amount='processing_time_amount',
    unit='processing_time_unit'
) -%}
    {%- set received_at_column = 'receipts.' ~ received_at -%}
    {%- set amount_column = 'receipts.' ~ amount -%}
    {%- set unit_column = 'receipts.' ~ unit -%}
    select
        receipts.*,
        effective_day.calendar_date as effective_receipt_date,
        case
            when {{ unit_column }} = 'ngay' then calendar_due_day.calendar_date
            else working_due_day.calendar_date
        end as legal_due_date
    from {{ receipts }} as receipts
    {{ join_calendar_date(calendar, 'receipt_day', to_local_date(received_at_column)) }}
    {{ join_working_day(
        calendar,
        'effective_day',
        effective_receipt_day_number(received_at_column, 'receipt_day')
    ) }}
    {{ join_add_working_days(
        calendar,
        'working_due_day',
        'effective_day.working_day_number',
        processing_working_days(amount_column, unit_column)
    ) }}
    {{ join_calendar_date(
        calendar,
        'calendar_due_date',
        'effective_day.calendar_date + ' ~ processing_calendar_days(amount_column, unit_column)
    ) }}
    {{ join_working_day(
        calendar,
        'calendar_due_day',
        first_working_day_number_on_or_after('calendar_due_date')
    ) }}
{%- endmacro %}
