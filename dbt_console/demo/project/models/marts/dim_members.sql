select
    m.member_id,
    m.plan,
    m.joined_on,
    count(r.ride_id) as rides,
    coalesce(sum(r.duration_minutes), 0) as minutes_ridden
from {{ ref('stg_members') }} m
left join {{ ref('fct_rides') }} r using (member_id)
group by all
