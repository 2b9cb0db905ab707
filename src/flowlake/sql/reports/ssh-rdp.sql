-- name: ssh-rdp
-- title: SSH and RDP traffic
-- description: Every SSH (22) and RDP (3389) flow, newest first. Athena console: VpcFlowLogsSshRdpTraffic.
-- param: limit integer = 100
select start_time, interface_id, srcaddr, dstaddr, dstport, action, packets, bytes
from traffic
where dstport in (22, 3389)
order by start_time desc, interface_id, srcaddr, dstaddr, dstport
limit $limit
