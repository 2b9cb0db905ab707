-- name: pairs
-- title: Traffic by address pair
-- description: Bytes, packets and flows of records that carry traffic, by source and destination address (and packet-level addresses) and action; `pair` is a 64-bit hash of the two addresses and `pkt_pair` of the two packet-level ones (or the addresses where those are missing), faster to group by than the strings.
select hash(srcaddr, dstaddr) as pair,
       hash(coalesce(pkt_srcaddr, srcaddr), coalesce(pkt_dstaddr, dstaddr)) as pkt_pair,
       srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr, action,
       cast(sum(bytes) as bigint) as bytes, cast(sum(packets) as bigint) as packets, count(*) as flows
from rollup_input
where coalesce(log_status, 'OK') = 'OK'
group by all
order by all
