-- Lapsed accreditations: expired, and not renewed by the same accreditation body.
-- Grain: one row per accreditation (of one facility of the snapshot) with valid_until < as_of
-- whose facility holds no accreditation from the same accreditation_body with
-- valid_until >= as_of. A renewal from another body does not cover a lapse.
-- Parameters, in order:
--   1. as_of          'YYYY-MM-DD'
--   2. snapshot_date  'YYYY-MM-DD', the partition to read
with run_parameters as (
    select cast(? as date) as as_of
),

facility_snapshot as (
    select
        facility_id,
        facility_name,
        state,
        accreditations
    from facilities
    where snapshot_date = ?
),

facility_accreditations as (
    select
        facility.facility_id,
        facility.facility_name,
        facility.state,
        accreditation.accreditation_body,
        accreditation.accreditation_id,
        accreditation.valid_until
    from facility_snapshot as facility
    -- Trino expands an array of rows into one column per field.
    cross join unnest(facility.accreditations)
        as accreditation (accreditation_body, accreditation_id, valid_until)
    -- Invalid (NULL) dates neither lapse nor renew.
    where accreditation.valid_until is not null
),

current_bodies as (
    select distinct
        facility_accreditations.facility_id,
        facility_accreditations.accreditation_body
    from facility_accreditations
    cross join run_parameters
    where facility_accreditations.valid_until >= run_parameters.as_of
)

select
    facility_accreditations.facility_id,
    facility_accreditations.facility_name,
    facility_accreditations.state,
    facility_accreditations.accreditation_body,
    facility_accreditations.accreditation_id,
    facility_accreditations.valid_until,
    date_diff('day', run_parameters.as_of, facility_accreditations.valid_until) as days_until_expiry
from facility_accreditations
cross join run_parameters
left join current_bodies
    on facility_accreditations.facility_id = current_bodies.facility_id
    and facility_accreditations.accreditation_body = current_bodies.accreditation_body
where facility_accreditations.valid_until < run_parameters.as_of
    and current_bodies.facility_id is null
order by
    days_until_expiry,
    facility_accreditations.facility_id,
    facility_accreditations.accreditation_body,
    facility_accreditations.accreditation_id
