-- name: port-scan-outbound
-- title: Port scan from an instance
-- severity: high
-- mitre: T1046 Network Service Discovery
-- tactic: TA0007 Discovery
-- description: An instance opening short connections to many ports of one host within a window (requests only: the destination port is below the source port).
-- param: min_ports integer = 20
-- param: max_avg_packets integer = 3
-- param: window_minutes integer = 60
-- param: detect_from timestamp
with probes as (
    select srcaddr, dstaddr, dstport, start_time, end_time, packets, bytes,
           cast(floor("start" / (60.0 * $window_minutes)) as bigint) as win
    from traffic
    where start_time >= $detect_from and protocol in (6, 17) and dstport < srcport and is_private(srcaddr)
)
select srcaddr as src, dstaddr as dst, port_span(min(dstport), max(dstport)) as ports,
       min(start_time) as first_seen, max(end_time) as last_seen, count(*) as flows, sum(bytes) as bytes,
       cast(count(distinct dstport) as varchar) || ' ports' as detail,
       'srcaddr = ''' || srcaddr || ''' and dstaddr = ''' || dstaddr || ''' and dstport < srcport' as evidence
from probes
group by srcaddr, dstaddr, win
having count(distinct dstport) >= $min_ports and avg(packets) <= $max_avg_packets
