-- name: traffic-over-time
-- title: Traffic over time
-- description: Bytes, packets and flows per time bucket; the bucket fits the range (minute to day) unless --param bucket is given.
-- param: bucket interval = auto
select time_bucket(cast($bucket as interval), start_time) as time, sum(bytes) as bytes, sum(packets) as packets,
       count(*) as flows
from traffic
where start_time is not null
group by 1
order by 1
