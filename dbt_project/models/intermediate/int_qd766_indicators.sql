{{
    config(
        indexes=[
            {'columns': ['unit_code', 'period_grain', 'period_start'], 'unique': true},
        ]
    )
}}

{% set grains = ['month', 'quarter', 'year'] %}

-- The derived indicators of the QĐ 766 index (Decision 766/QĐ-TTg, KPI_766.md) that are not a
-- DOMAIN §4 KPI, per unit × period (month, quarter, year) as numerator, denominator and rate:
-- 1.4, 3.3, 3.5, 3.5b, 4.1, 4.2, 4.3, 4.5a, 4.5b and 5.4. The units and periods are those of the
-- one-stop facts (every department, district and commune that existed in the period, zeros and
-- NULL rates without dossiers); a zero denominator gives NULL (DOMAIN §4). Dossier flags come from
-- the one-stop record (DaDongBoDVCQG, CoKetQuaDienTu, CoThanhPhanSoHoa, TaiSuDungDuLieuSo,
-- XacThucVNeID), procedure facts from its catalogue (TraKetQuaGiay, DoiTuong), fee-bearing and
-- paid online from int_dossiers_with_online_channel_and_payment (DVC-3's definitions).
with unit_periods as (

    {%- for grain in grains %}
    select
        unit_code,
        '{{ grain }}'::text as period_grain,
        period_start,
        period_end,
        period_year,
        {{ 'extract(quarter from period_start)::integer' if grain != 'year' else 'null::integer' }}
            as period_quarter,
        {{ 'extract(month from period_start)::integer' if grain == 'month' else 'null::integer' }}
            as period_month,
        os1b_numerator_portal,
        os1b_denominator_portal
    from {{ ref('fct_dossier_resolution_unit_' ~ grain) }}
    {{ 'union all' if not loop.last }}
    {%- endfor %}

),

grains (period_grain) as (

    values
        {%- for grain in grains %}
        ('{{ grain }}'){{ "," if not loop.last }}
        {%- endfor %}

),

dossier_flags as (

    select
        dossiers.dossier_code,
        dossiers.unit_code,
        dossiers.procedure_code,
        dossiers.received_date,
        dossiers.finished_date,
        dossiers.outcome,
        dossiers.channel_code,
        dossiers.fee_amount,
        dossiers.is_fee_bearing,
        dossiers.is_paid_online,
        coalesce(flags.synced_to_national_portal, false) as is_synced,
        coalesce(flags.has_electronic_result, false) as has_electronic_result,
        coalesce(flags.has_digitised_components, false) as has_digitised_components,
        coalesce(flags.reuses_digital_data, false) as reuses_digital_data,
        coalesce(flags.vneid_authenticated, false) as is_vneid_authenticated,
        coalesce(procedures.returns_paper_result, false) as returns_paper_result,
        coalesce(procedures.applicant_type in ('cong_dan', 'ca_hai'), false) as is_citizen_facing
    from {{ ref('int_dossiers_with_online_channel_and_payment') }} as dossiers
    inner join {{ ref('stg_onestop__dossiers') }} as flags
        on dossiers.dossier_code = flags.dossier_code
    left join {{ ref('stg_onestop__procedures') }} as procedures
        on dossiers.procedure_code = procedures.procedure_code

),

-- Dossiers received in each period of each grain.
received as (

    select
        dossier_flags.*,
        grains.period_grain,
        date_trunc(grains.period_grain, dossier_flags.received_date::timestamp)::date
            as period_start
    from dossier_flags
    cross join grains

),

-- Dossiers resolved with a result (processed or returned) in each period: only they can have an
-- electronic result (4.1, 4.2: "hồ sơ đã giải quyết").
resolved as (

    select
        dossier_flags.*,
        grains.period_grain,
        date_trunc(grains.period_grain, dossier_flags.finished_date::timestamp)::date
            as period_start
    from dossier_flags
    cross join grains
    where dossier_flags.outcome in ('processed', 'returned')

),

received_counts as (

    select
        unit_code,
        period_grain,
        period_start,
        count(*) as received_count,
        -- 1.4: dossiers received in the period and synchronised to the national portal.
        count(*) filter (where is_synced) as synced_count,
        -- 3.3: received online (KenhThucHien 2), with an electronic result when the procedure
        -- returns a paper one (a paper result fetched at the counter is not "online").
        count(*) filter (
            where channel_code = 2 and (not returns_paper_result or has_electronic_result)
        ) as online_end_to_end_count,
        -- 4.3: received reusing at least one digitised component (TaiSuDungDuLieuSo).
        count(*) filter (where reuses_digital_data) as reusing_digital_data_count,
        -- 4.5b: received authenticated through VNeID (the population database).
        count(*) filter (where is_vneid_authenticated) as vneid_count
    from received
    group by unit_code, period_grain, period_start

),

resolved_counts as (

    select
        unit_code,
        period_grain,
        period_start,
        count(*) as resolved_count,
        -- 4.1: only procedures that return a paper result can replace it by an electronic one.
        count(*) filter (where returns_paper_result) as resolved_paper_result_count,
        count(*) filter (
            where returns_paper_result and has_electronic_result
        ) as resolved_paper_result_electronic_count,
        -- 4.2: digitised = digitised input components and an electronic result.
        count(*) filter (
            where has_digitised_components and has_electronic_result
        ) as resolved_digitised_count
    from resolved
    group by unit_code, period_grain, period_start

),

-- 3.5, 3.5b, 4.5a count procedures: one row per unit, period and procedure with dossiers
-- received in it.
procedure_periods as (

    select
        unit_code,
        period_grain,
        period_start,
        procedure_code,
        -- fee-bearing as DVC-3: the procedure charges a fee (CoPhiLePhi) or a dossier carries one
        bool_or(is_fee_bearing) as is_fee_bearing,
        bool_or(coalesce(fee_amount > 0, false)) as has_fee_data,
        bool_or(is_paid_online) as has_online_payment,
        bool_or(is_citizen_facing) as is_citizen_facing,
        bool_or(is_vneid_authenticated) as has_vneid_dossier
    from received
    group by unit_code, period_grain, period_start, procedure_code

),

procedure_counts as (

    select
        unit_code,
        period_grain,
        period_start,
        count(*) filter (where is_fee_bearing) as fee_bearing_procedure_count,
        -- 3.5: a fee-bearing procedure is integrated with payment once a dossier carries its fee.
        count(*) filter (where is_fee_bearing and has_fee_data) as fee_data_procedure_count,
        -- 3.5b: ... and actually used once a dossier of it was paid online successfully.
        count(*) filter (
            where is_fee_bearing and has_online_payment
        ) as paid_online_procedure_count,
        -- 4.5a: the population database serves citizens: procedures for citizens (cong_dan,
        -- ca_hai) with at least one VNeID-authenticated dossier.
        count(*) filter (where is_citizen_facing) as citizen_procedure_count,
        count(*) filter (
            where is_citizen_facing and has_vneid_dossier
        ) as citizen_procedure_vneid_count
    from procedure_periods
    group by unit_code, period_grain, period_start

),

-- 5.4: ratings given in the period on the unit's dossiers; dissatisfied = a complaint or a score
-- of 1–2.
rating_counts as (

    select
        dossier_flags.unit_code,
        grains.period_grain,
        date_trunc(
            grains.period_grain, {{ to_local_date('ratings.rated_at') }}::timestamp
        )::date as period_start,
        count(*) as rating_count,
        count(*) filter (
            where coalesce(ratings.is_complaint, false) or ratings.score <= 2
        ) as dissatisfied_rating_count
    from {{ ref('stg_dvc__ratings') }} as ratings
    inner join dossier_flags
        on ratings.dossier_code = dossier_flags.dossier_code
    cross join grains
    group by 1, 2, 3

),

counts as (

    select
        unit_periods.unit_code,
        unit_periods.period_grain,
        unit_periods.period_start,
        unit_periods.period_end,
        unit_periods.period_year,
        unit_periods.period_quarter,
        unit_periods.period_month,
        coalesce(received_counts.received_count, 0) as received_count,
        coalesce(received_counts.synced_count, 0) as synced_count,
        coalesce(received_counts.online_end_to_end_count, 0) as online_end_to_end_count,
        coalesce(received_counts.reusing_digital_data_count, 0) as reusing_digital_data_count,
        coalesce(received_counts.vneid_count, 0) as vneid_count,
        coalesce(resolved_counts.resolved_count, 0) as resolved_count,
        coalesce(resolved_counts.resolved_paper_result_count, 0) as resolved_paper_result_count,
        coalesce(resolved_counts.resolved_paper_result_electronic_count, 0)
            as resolved_paper_result_electronic_count,
        coalesce(resolved_counts.resolved_digitised_count, 0) as resolved_digitised_count,
        coalesce(procedure_counts.fee_bearing_procedure_count, 0) as fee_bearing_procedure_count,
        coalesce(procedure_counts.fee_data_procedure_count, 0) as fee_data_procedure_count,
        coalesce(procedure_counts.paid_online_procedure_count, 0) as paid_online_procedure_count,
        coalesce(procedure_counts.citizen_procedure_count, 0) as citizen_procedure_count,
        coalesce(procedure_counts.citizen_procedure_vneid_count, 0)
            as citizen_procedure_vneid_count,
        coalesce(rating_counts.rating_count, 0) as rating_count,
        coalesce(rating_counts.dissatisfied_rating_count, 0) as dissatisfied_rating_count,
        unit_periods.os1b_numerator_portal,
        unit_periods.os1b_denominator_portal
    from unit_periods
    left join received_counts
        on unit_periods.unit_code = received_counts.unit_code
        and unit_periods.period_grain = received_counts.period_grain
        and unit_periods.period_start = received_counts.period_start
    left join resolved_counts
        on unit_periods.unit_code = resolved_counts.unit_code
        and unit_periods.period_grain = resolved_counts.period_grain
        and unit_periods.period_start = resolved_counts.period_start
    left join procedure_counts
        on unit_periods.unit_code = procedure_counts.unit_code
        and unit_periods.period_grain = procedure_counts.period_grain
        and unit_periods.period_start = procedure_counts.period_start
    left join rating_counts
        on unit_periods.unit_code = rating_counts.unit_code
        and unit_periods.period_grain = rating_counts.period_grain
        and unit_periods.period_start = rating_counts.period_start

),

indicators as (

    select
        unit_code,
        period_grain,
        period_start,
        period_end,
        period_year,
        period_quarter,
        period_month,
        -- 1.4: synced / received. (The portal's fallback when both are zero — last year's total
        -- scaled to the period — is not applied: no dossier gives NULL, "no data".)
        synced_count::bigint as qd766_1_4_numerator,
        received_count::bigint as qd766_1_4_denominator,
        {{ safe_divide('synced_count', 'received_count') }} as qd766_1_4_sync_rate,
        -- 3.3: online end-to-end / received, times the 1.4 sync rate (the portal only sees synced
        -- dossiers).
        online_end_to_end_count::bigint as qd766_3_3_numerator,
        received_count::bigint as qd766_3_3_denominator,
        (case
            when received_count > 0
                then round(
                    online_end_to_end_count::numeric / received_count
                    * synced_count / received_count,
                    4
                )
        end)::numeric(7, 4) as qd766_3_3_online_rate,
        fee_data_procedure_count::bigint as qd766_3_5_numerator,
        fee_bearing_procedure_count::bigint as qd766_3_5_denominator,
        {{ safe_divide('fee_data_procedure_count', 'fee_bearing_procedure_count') }}
            as qd766_3_5_fee_integration_rate,
        paid_online_procedure_count::bigint as qd766_3_5b_numerator,
        fee_bearing_procedure_count::bigint as qd766_3_5b_denominator,
        {{ safe_divide('paid_online_procedure_count', 'fee_bearing_procedure_count') }}
            as qd766_3_5b_paid_online_rate,
        resolved_paper_result_electronic_count::bigint as qd766_4_1_numerator,
        resolved_paper_result_count::bigint as qd766_4_1_denominator,
        {{ safe_divide('resolved_paper_result_electronic_count', 'resolved_paper_result_count') }}
            as qd766_4_1_electronic_result_rate,
        resolved_digitised_count::bigint as qd766_4_2_numerator,
        resolved_count::bigint as qd766_4_2_denominator,
        {{ safe_divide('resolved_digitised_count', 'resolved_count') }}
            as qd766_4_2_digitised_rate,
        reusing_digital_data_count::bigint as qd766_4_3_numerator,
        received_count::bigint as qd766_4_3_denominator,
        {{ safe_divide('reusing_digital_data_count', 'received_count') }}
            as qd766_4_3_data_reuse_rate,
        citizen_procedure_vneid_count::bigint as qd766_4_5a_numerator,
        citizen_procedure_count::bigint as qd766_4_5a_denominator,
        {{ safe_divide('citizen_procedure_vneid_count', 'citizen_procedure_count') }}
            as qd766_4_5a_vneid_procedure_rate,
        vneid_count::bigint as qd766_4_5b_numerator,
        received_count::bigint as qd766_4_5b_denominator,
        {{ safe_divide('vneid_count', 'received_count') }} as qd766_4_5b_vneid_dossier_rate,
        -- 5.4: overdue rate = 1 − OS-1b (portal convention, the national portal's own figure);
        -- no dossier to judge gives NULL; no rating adds no dissatisfaction.
        rating_count::bigint as qd766_5_4_rating_count,
        dissatisfied_rating_count::bigint as qd766_5_4_dissatisfied_rating_count,
        {{ safe_divide('os1b_denominator_portal - os1b_numerator_portal', 'os1b_denominator_portal') }}
            as qd766_5_4_overdue_rate,
        (case
            when os1b_denominator_portal > 0
                then round(
                    greatest(0, least(1,
                        1 - (
                            (os1b_denominator_portal - os1b_numerator_portal)::numeric
                            / os1b_denominator_portal
                            + coalesce(dissatisfied_rating_count::numeric / nullif(rating_count, 0), 0)
                        )
                    )),
                    4
                )
        end)::numeric(7, 4) as qd766_5_4_satisfaction_rate
    from counts

)

select * from indicators
