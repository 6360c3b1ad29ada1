-- The docks sometimes never report a return; the ride then looks days long.
-- The demo's `ride_audit` job runs this test and fails on purpose.
{{ config(tags=['audit']) }}
select ride_id, duration_minutes
from {{ ref('stg_rides') }}
where duration_minutes > 24 * 60
