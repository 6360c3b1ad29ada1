select
    ride_date,
    start_station_id as station_id,
    count(*) as rides,
    median(duration_minutes) as median_minutes
from {{ ref('fct_rides') }}
group by all
