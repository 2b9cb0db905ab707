-- name: sources
-- title: Traffic by source address
-- description: Bytes, packets and flows of records that carry traffic, by source address (and packet-level source), action and whether each end is private (`src_private`, `dst_private`: `is_private` of the two addresses, read instead of matching them again; traffic to the internet, or from it).
select srcaddr, pkt_srcaddr, action, is_private(srcaddr) as src_private, is_private(dstaddr) as dst_private,
       cast(sum(bytes) as bigint) as bytes, cast(sum(packets) as bigint) as packets, count(*) as flows
from rollup_input
where coalesce(log_status, 'OK') = 'OK'
group by all
order by all
