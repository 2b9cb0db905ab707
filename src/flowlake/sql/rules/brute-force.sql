-- name: brute-force
-- title: SSH, RDP or WinRM brute force
-- severity: medium
-- mitre: T1110 Brute Force
-- tactic: TA0006 Credential Access
-- description: Many connections (distinct source ports) from one address to SSH (22), RDP (3389) or WinRM (5985, 5986) of one host within a window, accepted or not, and far more than that pair's busiest window of the baseline (an admin's daily sessions are not an attack).
-- param: min_attempts integer = 30
-- param: factor integer = 3
-- param: window_minutes integer = 60
-- param: detect_from timestamp
with windows as (
    select srcaddr, dstaddr, dstport, start_time >= $detect_from as recent,
           cast(floor("start" / (60.0 * $window_minutes)) as bigint) as win,
           min(start_time) as first_seen, max(end_time) as last_seen, count(*) as flows, sum(bytes) as bytes,
           count(distinct srcport) as attempts
    from traffic
    where protocol = 6 and dstport in (22, 3389, 5985, 5986)
    group by srcaddr, dstaddr, dstport, start_time >= $detect_from, cast(floor("start" / (60.0 * $window_minutes)) as bigint)
),
usual as (
    select srcaddr, dstaddr, dstport, max(attempts) as most from windows where not recent
    group by srcaddr, dstaddr, dstport
)
select w.srcaddr as src, w.dstaddr as dst, cast(w.dstport as varchar) as ports, w.first_seen, w.last_seen,
       w.flows, w.bytes,
       case when w.dstport = 22 then 'SSH' when w.dstport = 3389 then 'RDP' else 'WinRM' end
           || ', ' || cast(w.attempts as varchar) || ' attempts, baseline peak '
           || cast(coalesce(u.most, 0) as varchar) as detail,
       'srcaddr = ''' || w.srcaddr || ''' and dstaddr = ''' || w.dstaddr || ''' and dstport = '
           || cast(w.dstport as varchar) as evidence
from windows w
left join usual u on u.srcaddr = w.srcaddr and u.dstaddr = w.dstaddr and u.dstport = w.dstport
where w.recent and w.attempts >= greatest($min_attempts, $factor * coalesce(u.most, 0))
