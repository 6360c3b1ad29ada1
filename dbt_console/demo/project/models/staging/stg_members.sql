select
    member_id,
    lower(plan) as plan,
    cast(joined_on as date) as joined_on
from {{ ref('members') }}
