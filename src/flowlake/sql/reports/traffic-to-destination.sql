-- name: traffic-to-destination
-- title: Traffic to one destination
-- description: Every flow to one destination address, newest first. Athena console: VpcFlowLogsTrafficToDstAddr.
-- param: dst text
-- param: limit integer = 100
select start_time, interface_id, srcaddr, dstaddr, srcport, dstport, protocol_name(protocol) as protocol, action, packets, bytes
from traffic
where dstaddr = $dst or pkt_dstaddr = $dst
order by start_time desc, interface_id, srcaddr, srcport, dstport
limit $limit
