-- name: threat-list
-- title: Traffic with an address on a threat list
-- severity: high
-- mitre: T1071 Application Layer Protocol
-- tactic: TA0011 Command and Control
-- description: Flows from or to an address or CIDR on a list given with --threat-list, matched in either direction.
-- param: detect_from timestamp
with v4 as (
    select srcaddr, dstaddr, dstport, start_time, end_time, bytes,
           ip_int(srcaddr) as src_number, ip_int(dstaddr) as dst_number
    from traffic
    where start_time >= $detect_from and not is_ipv6(srcaddr) and not is_ipv6(dstaddr)
),
matched as (
    select v4.*, t.list_name, 'to' as direction from v4 join threat_list t on v4.dst_number between t.lo and t.hi
    union all
    select v4.*, t.list_name, 'from' as direction from v4 join threat_list t on v4.src_number between t.lo and t.hi
)
select srcaddr as src, dstaddr as dst, port_span(min(dstport), max(dstport)) as ports,
       min(start_time) as first_seen, max(end_time) as last_seen, count(*) as flows, sum(bytes) as bytes,
       direction || ' ' || list_name as detail,
       'srcaddr = ''' || srcaddr || ''' and dstaddr = ''' || dstaddr || '''' as evidence
from matched
group by srcaddr, dstaddr, list_name, direction
