-- name: port-sweep-outbound
-- title: Port sweep from an instance
-- severity: high
-- mitre: T1046 Network Service Discovery
-- tactic: TA0007 Discovery
-- description: An instance probing one port on many hosts with short connections within a window, like GuardDuty's Impact:EC2/PortSweep.
-- param: min_hosts integer = 25
-- param: max_avg_packets integer = 3
-- param: window_minutes integer = 60
-- param: detect_from timestamp
with probes as (
    select srcaddr, dstaddr, dstport, start_time, end_time, packets, bytes,
           cast(floor("start" / (60.0 * $window_minutes)) as bigint) as win
    from traffic
    where start_time >= $detect_from and protocol in (6, 17) and dstport < srcport and is_private(srcaddr)
)
select srcaddr as src, cast(null as varchar) as dst, cast(dstport as varchar) as ports,
       min(start_time) as first_seen, max(end_time) as last_seen, count(*) as flows, sum(bytes) as bytes,
       cast(count(distinct dstaddr) as varchar) || ' hosts' as detail,
       'srcaddr = ''' || srcaddr || ''' and dstport = ' || cast(dstport as varchar) as evidence
from probes
group by srcaddr, dstport, win
having count(distinct dstaddr) >= $min_hosts and avg(packets) <= $max_avg_packets
