select
    ride_id,
    member_id,
    plan,
    start_station_id,
    end_station_id,
    start_district <> end_district as crosses_district,
    cast(started_at as date) as ride_date,
    duration_minutes
from {{ ref('int_rides_enriched') }}
