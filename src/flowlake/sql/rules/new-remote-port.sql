-- name: new-remote-port
-- title: Instance using a remote port it never used before
-- severity: low
-- mitre: T1571 Non-Standard Port
-- tactic: TA0011 Command and Control
-- description: An instance with a baseline of outbound connections reaching an internet host on a protocol and port absent from that baseline, like GuardDuty's Behavior:EC2/NetworkPortUnusual.
-- param: min_baseline_flows integer = 20
-- param: detect_from timestamp
with outbound as (
    select srcaddr, dstaddr, protocol, dstport, start_time, end_time, bytes, start_time >= $detect_from as recent
    from traffic
    where protocol in (6, 17) and dstport < srcport and is_private(srcaddr) and not is_private(dstaddr)
),
known as (
    select srcaddr, protocol, dstport from outbound where not recent group by srcaddr, protocol, dstport
),
busy as (
    select srcaddr from outbound where not recent group by srcaddr having count(*) >= $min_baseline_flows
)
select o.srcaddr as src, case when min(o.dstaddr) = max(o.dstaddr) then min(o.dstaddr) end as dst,
       cast(o.dstport as varchar) as ports, min(o.start_time) as first_seen, max(o.end_time) as last_seen,
       count(*) as flows, sum(o.bytes) as bytes,
       protocol_name(o.protocol) || ' to ' || cast(count(distinct o.dstaddr) as varchar) || ' hosts' as detail,
       'srcaddr = ''' || o.srcaddr || ''' and protocol = ' || cast(o.protocol as varchar) || ' and dstport = '
           || cast(o.dstport as varchar) || ' and dstport < srcport and not is_private(dstaddr)' as evidence
from outbound o
join busy b on b.srcaddr = o.srcaddr
left join known k on k.srcaddr = o.srcaddr and k.protocol = o.protocol and k.dstport = o.dstport
where o.recent and k.srcaddr is null
group by o.srcaddr, o.protocol, o.dstport
