-- name: pairs
-- title: Traffic by address pair
-- description: Bytes, packets and flows of records that carry traffic, by source and destination address (and packet-level addresses) and action. `src_private` and `dst_private` are `is_private` of the two addresses, faster to read than to match again. For the top-pairs steps (engine/rewrite.py): `pair` is a 64-bit hash of the two addresses and `pkt_pair` of the two packet-level ones (or the addresses where those are missing), faster to group by than the strings; `pair_bytes` is the bytes of the `pair` over all the rows, which are sorted by it, largest first, and `pkt_pair_bytes` those of the `pkt_pair`.
select hash(srcaddr, dstaddr) as pair,
       hash(coalesce(pkt_srcaddr, srcaddr), coalesce(pkt_dstaddr, dstaddr)) as pkt_pair,
       srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr, action,
       is_private(srcaddr) as src_private, is_private(dstaddr) as dst_private,
       cast(sum(bytes) as bigint) as bytes, cast(sum(packets) as bigint) as packets, count(*) as flows,
       cast(sum(sum(bytes)) over (partition by hash(srcaddr, dstaddr)) as bigint) as pair_bytes,
       cast(sum(sum(bytes)) over (partition by hash(coalesce(pkt_srcaddr, srcaddr), coalesce(pkt_dstaddr, dstaddr)))
            as bigint) as pkt_pair_bytes
from rollup_input
where coalesce(log_status, 'OK') = 'OK'
group by srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr, action
order by pair_bytes desc nulls last, pair, srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr, action
