-- name: actions-over-time
-- title: Accepted and rejected traffic over time
-- description: Accepted and rejected flows and bytes per time bucket.
-- param: bucket interval = auto
select time_bucket(cast($bucket as interval), start_time) as time,
       count(*) filter (where action = 'ACCEPT') as accepted_flows,
       count(*) filter (where action = 'REJECT') as rejected_flows,
       coalesce(sum(bytes) filter (where action = 'ACCEPT'), 0) as accepted_bytes,
       coalesce(sum(bytes) filter (where action = 'REJECT'), 0) as rejected_bytes
from traffic
where start_time is not null
group by 1
order by 1
