-- name: port-scan-inbound
-- title: Port scan from the internet
-- severity: medium
-- mitre: T1046 Network Service Discovery
-- tactic: TA0007 Discovery
-- description: One internet address probing many destination ports of one instance within a window, accepted or rejected.
-- param: min_ports integer = 20
-- param: window_minutes integer = 60
-- param: detect_from timestamp
with probes as (
    select srcaddr, dstaddr, dstport, start_time, end_time, bytes,
           cast(floor("start" / (60.0 * $window_minutes)) as bigint) as win
    from traffic
    where start_time >= $detect_from and protocol in (6, 17)
      and not is_private(srcaddr) and is_private(dstaddr)
)
select srcaddr as src, dstaddr as dst, port_span(min(dstport), max(dstport)) as ports,
       min(start_time) as first_seen, max(end_time) as last_seen, count(*) as flows, sum(bytes) as bytes,
       cast(count(distinct dstport) as varchar) || ' ports' as detail,
       'srcaddr = ''' || srcaddr || ''' and dstaddr = ''' || dstaddr || '''' as evidence
from probes
group by srcaddr, dstaddr, win
having count(distinct dstport) >= $min_ports
