-- name: ports
-- title: Traffic by destination port
-- description: Bytes, packets and flows of records that carry traffic, by destination port, protocol and action.
select dstport, protocol, action, sum(bytes) as bytes, sum(packets) as packets, count(*) as flows
from rollup_input
where coalesce(log_status, 'OK') = 'OK'
group by all
order by all
