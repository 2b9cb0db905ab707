-- name: series
-- title: Matching flows over time by leg and action
-- description: Flows, packets and bytes per time bucket, request and response, accepted and rejected.
-- param: src_lo text
-- param: src_hi text
-- param: dst_lo text
-- param: dst_hi text
-- param: v6 text
-- param: port integer
-- param: protocol integer
-- param: bucket interval
select time_bucket($bucket::interval, start_time) as time, leg, action, count(*) as flows, sum(packets) as packets,
       sum(bytes) as bytes
from explain_legs($src_lo, $src_hi, $dst_lo, $dst_hi, $v6::boolean, $port, $protocol)
group by all
order by all
