-- name: rejected-over-time
-- title: Rejected traffic over time
-- description: Rejected flows, packets and distinct sources per time bucket.
-- param: bucket interval = auto
select time_bucket(cast($bucket as interval), start_time) as time, count(*) as flows, sum(packets) as packets,
       count(distinct srcaddr) as sources
from traffic
where action = 'REJECT' and start_time is not null
group by 1
order by 1
