-- name: admin
-- title: Traffic to administration ports by source
-- description: Records that carry traffic to an administration port (`admin_port` in setup.sql: SSH, RDP, VNC, WinRM, Docker, Kubernetes...), by destination port, action and source address (`src_private`: `is_private` of it): admin-ports, without reading the other records. It answers only queries that keep `admin_port(dstport)` themselves.
select dstport, action, srcaddr, is_private(srcaddr) as src_private,
       cast(sum(bytes) as bigint) as bytes, cast(sum(packets) as bigint) as packets, count(*) as flows
from rollup_input
where coalesce(log_status, 'OK') = 'OK' and admin_port(dstport)
group by all
order by all
