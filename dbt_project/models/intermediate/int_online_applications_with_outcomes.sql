{{
    config(
        indexes=[
            {'columns': ['submission_id'], 'unique': true},
            {'columns': ['service_id']},
            {'columns': ['dossier_code']},
        ]
    )
}}

-- One row per portal application (DOMAIN §4, DVC-5/7) with the unit and procedure of its
-- service, whether it was submitted and accepted, and how its one-stop dossier ended.
with applications as (

    select * from {{ ref('stg_dvc__submissions') }}

),

services as (

    select * from {{ ref('stg_dvc__services') }}

),

dossiers as (

    select * from {{ ref('int_dossiers_with_online_channel_and_payment') }}

),

final as (

    select
        applications.submission_id,
        applications.service_id,
        -- the unit and procedure of an application are its service's (latest version)
        services.unit_code,
        services.procedure_code,
        applications.account_type,
        applications.status,
        applications.started_at,
        {{ to_local_date('applications.started_at') }} as started_date,
        applications.submitted_at,
        {{ to_local_date('applications.submitted_at') }} as submitted_date,
        -- DVC-5 (GOV.UK completion rate): submitted = the applicant pressed submit, whatever
        -- happened next (accepted, rejected or withdrawn); a draft never was.
        applications.submitted_at is not null as is_submitted,
        applications.status = 'accepted' as is_accepted,
        applications.dossier_code,
        dossiers.finished_at as dossier_finished_at,
        dossiers.outcome as dossier_outcome,
        -- a completed online transaction: accepted, and its dossier ended with a decision
        applications.status = 'accepted' and coalesce(dossiers.is_completed, false)
            as is_completed_online_transaction
    from applications
    left join services
        on applications.service_id = services.service_id
    left join dossiers
        on applications.dossier_code = dossiers.dossier_code

)

select * from final
