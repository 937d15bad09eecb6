{{
    config(
        indexes=[
            {'columns': ['dossier_code'], 'unique': true},
        ]
    )
}}

-- One row per one-stop dossier with what the portal KPIs need (DOMAIN §4, DVC-2/3/4): whether it
-- came in online, whether it carries a fee and was paid online, and whether it was completed.
-- End of processing and outcome come from int_dossiers_with_deadlines_and_outcomes (one place).
with dossiers as (

    select * from {{ ref('stg_onestop__dossiers') }}

),

outcomes as (

    select * from {{ ref('int_dossiers_with_deadlines_and_outcomes') }}

),

procedures as (

    select * from {{ ref('stg_onestop__procedures') }}

),

applications as (

    select * from {{ ref('stg_dvc__submissions') }}

),

payments as (

    select * from {{ ref('stg_dvc__payments') }}

),

accepted_applications as (

    select distinct dossier_code
    from applications
    where status = 'accepted'
        and dossier_code is not null

),

-- A failed attempt followed by a success is one dossier paid online, counted once.
successful_payments as (

    select
        dossier_code,
        count(*) as successful_payment_count,
        min(paid_at) as first_paid_at
    from payments
    where status = 'success'
    group by dossier_code

),

final as (

    select
        dossiers.dossier_code,
        dossiers.unit_code,
        dossiers.procedure_code,
        dossiers.received_at,
        {{ to_local_date('dossiers.received_at') }} as received_date,
        outcomes.finished_at,
        outcomes.finished_date,
        outcomes.outcome,
        dossiers.channel_code,
        accepted_applications.dossier_code is not null as has_accepted_application,
        -- DVC-2: online = the one-stop says so (KenhThucHien 2) or the portal accepted an
        -- application that became this dossier.
        coalesce(dossiers.is_online, false)
        or accepted_applications.dossier_code is not null as is_online,
        -- DVC-4: a completed transaction ends with a decision (processed, returned or refused);
        -- stopped and withdrawn dossiers never completed.
        coalesce(outcomes.outcome in ('processed', 'returned', 'refused'), false)
            as is_completed,
        dossiers.fee_amount,
        -- DVC-3 (QĐ 766 §3.6): fee-bearing = a fee on the dossier (PhiLePhi > 0) or a procedure
        -- that charges one (CoPhiLePhi).
        coalesce(dossiers.fee_amount > 0, false)
        or coalesce(procedures.has_fee::boolean, false) as is_fee_bearing,
        coalesce(successful_payments.successful_payment_count, 0)::integer
            as successful_payment_count,
        successful_payments.first_paid_at,
        successful_payments.dossier_code is not null as is_paid_online
    from dossiers
    left join outcomes
        on dossiers.dossier_code = outcomes.dossier_code
    left join procedures
        on dossiers.procedure_code = procedures.procedure_code
    left join accepted_applications
        on dossiers.dossier_code = accepted_applications.dossier_code
    left join successful_payments
        on dossiers.dossier_code = successful_payments.dossier_code

)

select * from final
