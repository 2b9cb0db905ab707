-- name: traffic-from-source
-- title: Traffic from one source
-- description: Every flow from one source address, newest first. Athena console: VpcFlowLogsTrafficFrmSrcAddr (and VpcFlowLogsTopTCPTraffic with --where 'protocol = 6').
-- param: src text
-- param: limit integer = 100
select start_time, interface_id, srcaddr, dstaddr, srcport, dstport, protocol_name(protocol) as protocol, action, packets, bytes
from traffic
where srcaddr = $src or pkt_srcaddr = $src
order by start_time desc, interface_id, dstaddr, srcport, dstport
limit $limit
