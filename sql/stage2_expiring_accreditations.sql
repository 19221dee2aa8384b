-- Stage 2: accreditations expiring within the alert window.
-- Grain: one row per accreditation (of one facility of the snapshot) whose valid_until lies in
-- [as_of, date_add('month', expiring_window_months, as_of)], both ends inclusive; the window end
-- is clamped to the end of a shorter month (2026-08-31 + 6 months = 2027-02-28).
-- Parameters, in order:
--   1. as_of                   'YYYY-MM-DD'
--   2. expiring_window_months  integer
--   3. snapshot_date           'YYYY-MM-DD', the partition to read
with run_parameters as (
    select
        cast(? as date) as as_of,
        cast(? as integer) as expiring_window_months
),

alert_window as (
    select
        as_of,
        date_add('month', expiring_window_months, as_of) as window_end
    from run_parameters
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
)

select
    facility_accreditations.facility_id,
    facility_accreditations.facility_name,
    facility_accreditations.state,
    facility_accreditations.accreditation_body,
    facility_accreditations.accreditation_id,
    facility_accreditations.valid_until,
    date_diff('day', alert_window.as_of, facility_accreditations.valid_until) as days_until_expiry
from facility_accreditations
cross join alert_window
-- A NULL (invalid) valid_until fails both comparisons and drops out.
where facility_accreditations.valid_until >= alert_window.as_of
    and facility_accreditations.valid_until <= alert_window.window_end
order by
    days_until_expiry,
    facility_accreditations.facility_id,
    facility_accreditations.accreditation_body,
    facility_accreditations.accreditation_id
