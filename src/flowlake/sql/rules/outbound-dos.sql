-- name: outbound-dos
-- title: Outbound denial-of-service traffic
-- severity: high
-- mitre: T1498 Network Denial of Service
-- tactic: TA0040 Impact
-- description: An instance sending one internet address a flood of small packets (TCP, UDP or an unusual protocol) within a window, like GuardDuty's Backdoor:EC2/DenialOfService findings.
-- param: min_packets integer = 500000
-- param: max_packet_bytes integer = 250
-- param: window_minutes integer = 10
-- param: detect_from timestamp
with outbound as (
    select srcaddr, dstaddr, protocol, dstport, start_time, end_time, packets, bytes,
           cast(floor("start" / (60.0 * $window_minutes)) as bigint) as win
    from traffic
    where start_time >= $detect_from and is_private(srcaddr) and not is_private(dstaddr)
)
select srcaddr as src, dstaddr as dst, port_span(min(dstport), max(dstport)) as ports,
       min(start_time) as first_seen, max(end_time) as last_seen, count(*) as flows, sum(bytes) as bytes,
       protocol_name(protocol) || ', ' || cast(sum(packets) as varchar) || ' packets' as detail,
       'srcaddr = ''' || srcaddr || ''' and dstaddr = ''' || dstaddr || ''' and protocol = '
           || cast(protocol as varchar) as evidence
from outbound
group by srcaddr, dstaddr, protocol, win
having sum(packets) >= $min_packets and sum(bytes) <= $max_packet_bytes * sum(packets)
