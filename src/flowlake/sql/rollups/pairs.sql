-- name: pairs
-- title: Traffic by address pair
-- description: Bytes, packets and flows of records that carry traffic, by source and destination address (and packet-level addresses) and action; `pair` is a 64-bit hash of the two addresses, faster to group by than the strings.
select hash(srcaddr, dstaddr) as pair, srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr, action,
       cast(sum(bytes) as bigint) as bytes, cast(sum(packets) as bigint) as packets, count(*) as flows
from rollup_input
where coalesce(log_status, 'OK') = 'OK'
group by all
order by all
