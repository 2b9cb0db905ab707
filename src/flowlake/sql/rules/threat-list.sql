-- name: threat-list
-- title: Traffic with an address on a threat list
-- severity: high
-- mitre: T1071 Application Layer Protocol
-- tactic: TA0011 Command and Control
-- description: Flows from or to an address or CIDR on a list given with --threat-list, matched in either direction.
-- param: detect_from timestamp
-- Each address is turned into a number and tested against the lists once, not once per record.
with recent as (
    select srcaddr, dstaddr, dstport, start_time, end_time, bytes from traffic where start_time >= $detect_from
),
numbers as (
    select addr, ip_int(addr) as n
    from (select srcaddr as addr from recent union select dstaddr from recent) e
    where not is_ipv6(addr)
),
listed as (
    select a.addr, t.list_name from numbers a join threat_list t on a.n between t.lo and t.hi
),
matched as (
    select r.*, l.list_name, 'to' as direction from recent r join listed l on r.dstaddr = l.addr
    union all
    select r.*, l.list_name, 'from' as direction from recent r join listed l on r.srcaddr = l.addr
)
select srcaddr as src, dstaddr as dst, port_span(min(dstport), max(dstport)) as ports,
       min(start_time) as first_seen, max(end_time) as last_seen, count(*) as flows, sum(bytes) as bytes,
       direction || ' ' || list_name as detail,
       'srcaddr = ''' || srcaddr || ''' and dstaddr = ''' || dstaddr || '''' as evidence
from matched
group by srcaddr, dstaddr, list_name, direction
