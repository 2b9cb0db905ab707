-- name: destinations
-- title: Traffic by destination address
-- description: Bytes, packets and flows of records that carry traffic, by destination address and action.
select dstaddr, action, cast(sum(bytes) as bigint) as bytes, cast(sum(packets) as bigint) as packets, count(*) as flows
from rollup_input
where coalesce(log_status, 'OK') = 'OK'
group by all
order by all
