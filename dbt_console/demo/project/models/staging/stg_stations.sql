select
    station_id,
    trim(name) as station_name,
    district,
    capacity
from {{ ref('stations') }}
