-- name: brute-force
-- title: SSH, RDP or WinRM brute force
-- severity: medium
-- mitre: T1110 Brute Force
-- tactic: TA0006 Credential Access
-- description: Many connections (distinct source ports) from one address to SSH (22), RDP (3389) or WinRM (5985, 5986) of one host within a window, accepted or not.
-- param: min_attempts integer = 30
-- param: window_minutes integer = 60
-- param: detect_from timestamp
with attempts as (
    select srcaddr, dstaddr, dstport, srcport, start_time, end_time, bytes,
           cast(floor("start" / (60.0 * $window_minutes)) as bigint) as win
    from traffic
    where start_time >= $detect_from and protocol = 6 and dstport in (22, 3389, 5985, 5986)
)
select srcaddr as src, dstaddr as dst, cast(dstport as varchar) as ports,
       min(start_time) as first_seen, max(end_time) as last_seen, count(*) as flows, sum(bytes) as bytes,
       case when dstport = 22 then 'SSH' when dstport = 3389 then 'RDP' else 'WinRM' end
           || ', ' || cast(count(distinct srcport) as varchar) || ' attempts' as detail,
       'srcaddr = ''' || srcaddr || ''' and dstaddr = ''' || dstaddr || ''' and dstport = '
           || cast(dstport as varchar) as evidence
from attempts
group by srcaddr, dstaddr, dstport, win
having count(distinct srcport) >= $min_attempts
