-- name: rejects
-- title: Rejected traffic
-- description: Rejected records that carry traffic, by five-minute bucket of `start` (`t`, Unix seconds), source and destination address, destination port and protocol: rejected sources, ports and sources over time, without reading the accepted records (about 95 % of them). It answers only queries that keep `action = 'REJECT'` themselves.
select "start" - "start" % 300 as t, srcaddr, dstaddr, dstport, protocol, action,
       cast(sum(bytes) as bigint) as bytes, cast(sum(packets) as bigint) as packets, count(*) as flows
from rollup_input
where coalesce(log_status, 'OK') = 'OK' and action = 'REJECT'
group by all
order by all
