-- name: top-talkers-packet-level
-- title: Top talkers by packet-level source
-- description: Original sources (pkt-srcaddr, or srcaddr where absent) by bytes: the true endpoints behind NAT gateways, transit gateways and EKS pods. Athena console: VpcFlowLogsTopTalkersPacketLevel.
-- param: limit integer = 10
select coalesce(pkt_srcaddr, srcaddr) as pkt_srcaddr, sum(bytes) as bytes, sum(packets) as packets, count(*) as flows
from traffic
where coalesce(pkt_srcaddr, srcaddr) is not null
group by 1
order by bytes desc, 1
limit $limit
