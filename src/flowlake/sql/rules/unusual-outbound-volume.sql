-- name: unusual-outbound-volume
-- title: Possible exfiltration: unusual outbound volume
-- severity: high
-- mitre: T1048 Exfiltration Over Alternative Protocol
-- tactic: TA0010 Exfiltration
-- description: An instance sending one internet address, within a window, many times the most it sent any single internet address in a window of its baseline (and at least min_bytes).
-- param: min_bytes integer = 10000000000
-- param: factor integer = 10
-- param: window_minutes integer = 60
-- param: detect_from timestamp
with outbound as (
    select srcaddr, dstaddr, start_time, end_time, bytes, start_time >= $detect_from as recent,
           cast(floor("start" / (60.0 * $window_minutes)) as bigint) as win
    from traffic
    where is_private(srcaddr) and not is_private(dstaddr) and not is_ipv6(dstaddr)
),
windows as (
    select srcaddr, dstaddr, win, recent, min(start_time) as first_seen, max(end_time) as last_seen,
           count(*) as flows, sum(bytes) as bytes
    from outbound
    group by srcaddr, dstaddr, win, recent
),
usual as (
    select srcaddr, max(bytes) as most from windows where not recent group by srcaddr
)
select w.srcaddr as src, w.dstaddr as dst, 'any' as ports, w.first_seen, w.last_seen, w.flows, w.bytes,
       'baseline peak ' || cast(coalesce(u.most, 0) as varchar) || ' bytes' as detail,
       'srcaddr = ''' || w.srcaddr || ''' and dstaddr = ''' || w.dstaddr || '''' as evidence
from windows w left join usual u on u.srcaddr = w.srcaddr
where w.recent and w.bytes >= greatest($min_bytes, $factor * coalesce(u.most, 0))
