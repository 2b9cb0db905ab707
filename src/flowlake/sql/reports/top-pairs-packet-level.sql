-- name: top-pairs-packet-level
-- title: Top packet-level pairs by bytes
-- description: Original source/destination pairs (pkt-srcaddr, pkt-dstaddr, or the interface-level address where absent). Athena console: VpcFlowLogsTotalBytesTransferredPacketLevel.
-- param: limit integer = 10
select coalesce(pkt_srcaddr, srcaddr) as pkt_srcaddr, coalesce(pkt_dstaddr, dstaddr) as pkt_dstaddr,
       sum(bytes) as bytes, sum(packets) as packets, count(*) as flows
from traffic
where coalesce(pkt_srcaddr, srcaddr) is not null and coalesce(pkt_dstaddr, dstaddr) is not null
group by 1, 2
order by bytes desc, 1, 2
limit $limit
