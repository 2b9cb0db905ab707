-- name: port-sweep-inbound
-- title: Port sweep from the internet
-- severity: medium
-- mitre: T1595.001 Active Scanning: Scanning IP Blocks
-- tactic: TA0043 Reconnaissance
-- description: One internet address probing the same port on many instances within a window with short connections (a busy client of many web servers is not a sweep).
-- param: min_hosts integer = 10
-- param: max_avg_packets integer = 3
-- param: window_minutes integer = 60
-- param: detect_from timestamp
with probes as (
    select srcaddr, dstaddr, dstport, start_time, end_time, packets, bytes,
           cast(floor("start" / (60.0 * $window_minutes)) as bigint) as win
    from traffic
    where start_time >= $detect_from and protocol in (6, 17)
      and not is_private(srcaddr) and is_private(dstaddr)
)
select srcaddr as src, cast(null as varchar) as dst, cast(dstport as varchar) as ports,
       min(start_time) as first_seen, max(end_time) as last_seen, count(*) as flows, sum(bytes) as bytes,
       cast(count(distinct dstaddr) as varchar) || ' hosts' as detail,
       'srcaddr = ''' || srcaddr || ''' and dstport = ' || cast(dstport as varchar) as evidence
from probes
group by srcaddr, dstport, win
having count(distinct dstaddr) >= $min_hosts and avg(packets) <= $max_avg_packets
