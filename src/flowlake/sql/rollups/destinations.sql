-- name: destinations
-- title: Traffic by destination address
-- description: Bytes, packets and flows of records that carry traffic, by destination address (and packet-level destination), action and whether each end is private (`src_private`, `dst_private`: `is_private` of the two addresses; traffic from the internet, or from inside, to each address).
select dstaddr, pkt_dstaddr, action, is_private(srcaddr) as src_private, is_private(dstaddr) as dst_private,
       cast(sum(bytes) as bigint) as bytes, cast(sum(packets) as bigint) as packets, count(*) as flows
from rollup_input
where coalesce(log_status, 'OK') = 'OK'
group by all
order by all
