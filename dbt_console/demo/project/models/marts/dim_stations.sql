select
    s.station_id,
    s.station_name,
    s.district,
    s.capacity,
    count(r.ride_id) as rides_started
from {{ ref('stg_stations') }} s
left join {{ ref('fct_rides') }} r on r.start_station_id = s.station_id
group by all
