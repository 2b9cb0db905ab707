-- name: rejected-spike
-- title: Spike of rejected traffic on an interface
-- severity: low
-- mitre: T1595 Active Scanning
-- tactic: TA0043 Reconnaissance
-- description: An interface rejecting, within a window, many times the most flows it rejected in any window of its baseline (and at least min_rejects); the destination is the address that took most of them.
-- param: min_rejects integer = 200
-- param: factor integer = 3
-- param: window_minutes integer = 60
-- param: detect_from timestamp
with rejected as (
    select interface_id, dstaddr, srcaddr, start_time, end_time, bytes, start_time >= $detect_from as recent,
           cast(floor("start" / (60.0 * $window_minutes)) as bigint) as win
    from traffic
    where action = 'REJECT' and interface_id is not null
),
windows as (
    select interface_id, win, recent, min(start_time) as first_seen, max(end_time) as last_seen,
           count(*) as flows, sum(bytes) as bytes, count(distinct srcaddr) as sources
    from rejected
    group by interface_id, win, recent
),
targets as (
    select interface_id, win, dstaddr,
           row_number() over (partition by interface_id, win order by count(*) desc, dstaddr) as rank
    from rejected
    where recent
    group by interface_id, win, dstaddr
),
usual as (
    select interface_id, max(flows) as most from windows where not recent group by interface_id
)
select cast(null as varchar) as src, t.dstaddr as dst, 'any' as ports, w.first_seen, w.last_seen, w.flows, w.bytes,
       w.interface_id || ': ' || cast(w.sources as varchar) || ' sources, baseline peak '
           || cast(coalesce(u.most, 0) as varchar) as detail,
       'interface_id = ''' || w.interface_id || ''' and action = ''REJECT''' as evidence
from windows w
join targets t on t.interface_id = w.interface_id and t.win = w.win and t.rank = 1
left join usual u on u.interface_id = w.interface_id
where w.recent and w.flows >= greatest($min_rejects, $factor * coalesce(u.most, 0))
