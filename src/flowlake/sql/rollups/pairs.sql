-- name: pairs
-- title: Traffic by address pair
-- description: Bytes, packets and flows of records that carry traffic, by source and destination address and action.
select srcaddr, dstaddr, action, sum(bytes) as bytes, sum(packets) as packets, count(*) as flows
from rollup_input
where coalesce(log_status, 'OK') = 'OK'
group by all
order by all
