select
    r.*,
    m.plan,
    s.district as start_district,
    e.district as end_district
from {{ ref('stg_rides') }} r
left join {{ ref('stg_members') }} m using (member_id)
left join {{ ref('stg_stations') }} s on s.station_id = r.start_station_id
left join {{ ref('stg_stations') }} e on e.station_id = r.end_station_id
