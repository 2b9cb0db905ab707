-- name: accepted-tcp
-- title: Accepted TCP connections
-- description: TCP flows allowed by security groups and network ACLs, newest first. Athena console: VpcFlowLogsAcceptedTraffic.
-- param: limit integer = 100
select start_time, interface_id, srcaddr, dstaddr, srcport, dstport, packets, bytes
from traffic
where action = 'ACCEPT' and protocol = 6
order by start_time desc, interface_id, srcaddr, dstaddr, srcport, dstport
limit $limit
