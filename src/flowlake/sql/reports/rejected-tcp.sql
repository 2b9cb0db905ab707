-- name: rejected-tcp
-- title: Rejected TCP connections
-- description: Rejected TCP flows, newest first. Athena console: VpcFlowLogsRejectedTCPTraffic; AWS's sample query 2.
-- param: limit integer = 100
select start_time, dayname(start_time) as day, interface_id, srcaddr, dstaddr, dstport, packets
from traffic
where action = 'REJECT' and protocol = 6
order by start_time desc, interface_id, srcaddr, dstaddr, dstport
limit $limit
