-- name: admin-ports
-- title: Administrative port traffic
-- description: Traffic to remote-administration and admin web ports (SSH, RDP, Telnet, WinRM, VNC, admin consoles), accepted and rejected. Athena console: VpcFlowLogsAdminPortTraffic and VpcFlowLogsSshRdpTraffic.
-- param: limit integer = 50
select dstport, port_name(dstport) as service, action, count(*) as flows, sum(bytes) as bytes,
       count(distinct srcaddr) as sources, count(distinct srcaddr) filter (where not is_private(srcaddr)) as public_sources
from traffic
where admin_port(dstport)
group by dstport, action
order by flows desc, dstport, action
limit $limit
