-- name: rejected-traffic
-- title: All rejected traffic
-- description: Every rejected flow, newest first. Athena console: VpcFlowLogsRejectedTraffic.
-- param: limit integer = 100
select start_time, interface_id, srcaddr, dstaddr, srcport, dstport, protocol_name(protocol) as protocol,
       packets, bytes
from traffic
where action = 'REJECT'
order by start_time desc, interface_id, srcaddr, dstaddr, srcport, dstport
limit $limit
