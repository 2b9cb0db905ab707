-- name: dns-external-resolver
-- title: DNS to a resolver outside the VPC
-- severity: medium
-- mitre: T1071.004 Application Layer Protocol: DNS
-- tactic: TA0011 Command and Control
-- description: An instance sending DNS (port 53) to an internet address instead of the VPC's resolver, bypassing Route 53 Resolver's logs and firewall.
-- param: detect_from timestamp
select srcaddr as src, dstaddr as dst, '53' as ports,
       min(start_time) as first_seen, max(end_time) as last_seen, count(*) as flows, sum(bytes) as bytes,
       protocol_name(min(protocol)) as detail,
       'srcaddr = ''' || srcaddr || ''' and dstaddr = ''' || dstaddr || ''' and dstport = 53' as evidence
from traffic
where start_time >= $detect_from and dstport = 53 and protocol in (6, 17)
  and is_private(srcaddr) and not is_private(dstaddr)
group by srcaddr, dstaddr
