-- Stage 2: accreditations expiring within the alert window.
-- Grain: one row per accreditation (of one facility of the snapshot) whose valid_until lies in
-- [as_of, date_add('month', expiring_window_months, as_of)], both ends inclusive; the window end
-- is clamped to the end of a shorter month (2026-08-31 + 6 months = 2027-02-28).
-- Parameters, in order:
--   1. snapshot_date           'YYYY-MM-DD', the partition to read
--   2. expiring_window_months  integer, as a string literal ('6')
-- as_of is the snapshot's own date: a partition is the registry as of its snapshot_date. It is
-- read from the rows rather than passed in, because Athena takes query parameters only in WHERE
-- clauses ("Use parameterized queries"); for the same reason the window's end is computed in
-- the WHERE predicate that uses it.
with facility_snapshot as (
    select
        facility_id,
        facility_name,
        state,
        accreditations,
        cast(snapshot_date as date) as as_of
    from facilities
    where snapshot_date = ?
),

facility_accreditations as (
    select
        facility.facility_id,
        facility.facility_name,
        facility.state,
        facility.as_of,
        accreditation.accreditation_body,
        accreditation.accreditation_id,
        accreditation.valid_until
    from facility_snapshot as facility
    -- Trino expands an array of rows into one column per field.
    cross join unnest(facility.accreditations)
        as accreditation (accreditation_body, accreditation_id, valid_until)
)

select
    facility_id,
    facility_name,
    state,
    accreditation_body,
    accreditation_id,
    valid_until,
    date_diff('day', as_of, valid_until) as days_until_expiry
from facility_accreditations
-- A NULL (invalid) valid_until fails both comparisons and drops out.
where valid_until >= as_of
    and valid_until <= date_add('month', cast(? as integer), as_of)
order by
    days_until_expiry,
    facility_id,
    accreditation_body,
    accreditation_id
