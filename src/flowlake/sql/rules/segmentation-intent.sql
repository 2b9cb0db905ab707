-- name: segmentation-intent
-- title: Segmentation intent violated
-- severity: high
-- mitre: T1599 Network Boundary Bridging
-- tactic: TA0005 Defense Evasion
-- description: Accepted flows that break an intent of the --intents file: traffic a "never" intent forbids between two groups, or reaching an "only from" group from outside its allowed sources.
-- param: detect_from timestamp
-- Each address is turned into a number and placed in the intents' groups once, not once per record.
with recent as (
    select srcaddr, dstaddr, dstport, start_time, end_time, bytes
    from traffic
    where start_time >= $detect_from and action = 'ACCEPT' and not is_ipv6(srcaddr) and not is_ipv6(dstaddr)
),
numbers as (
    select addr, ip_int(addr) as n from (select srcaddr as addr from recent union select dstaddr from recent) e
),
targets as (
    select a.addr, d.intent from numbers a join intent_ranges d on a.n between d.lo and d.hi and d.side = 'to'
),
reaching as (
    select r.*, s.n as src_number, i.intent, i.mode, i.ports as intent_ports
    from recent r
    join targets t on t.addr = r.dstaddr
    join intents i on i.intent = t.intent
    join numbers s on s.addr = r.srcaddr
    where i.ports = '' or position(',' || cast(r.dstport as varchar) || ',' in ',' || i.ports || ',') > 0
),
violations as (
    select r.* from reaching r
    where (r.mode = 'never' and exists (select 1 from intent_ranges s where s.intent = r.intent and s.side = 'from'
                                        and r.src_number between s.lo and s.hi))
       or (r.mode = 'only' and not exists (select 1 from intent_ranges s where s.intent = r.intent and s.side = 'from'
                                           and r.src_number between s.lo and s.hi))
)
select srcaddr as src, dstaddr as dst, port_span(min(dstport), max(dstport)) as ports,
       min(start_time) as first_seen, max(end_time) as last_seen, count(*) as flows, sum(bytes) as bytes,
       intent as detail,
       'srcaddr = ''' || srcaddr || ''' and dstaddr = ''' || dstaddr || '''' as evidence
from violations
group by srcaddr, dstaddr, intent
