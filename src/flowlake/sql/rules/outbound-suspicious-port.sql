-- name: outbound-suspicious-port
-- title: Outbound to a rarely legitimate port
-- severity: medium
-- mitre: T1571 Non-Standard Port
-- tactic: TA0011 Command and Control
-- description: An instance connecting to an internet host on SMTP (spam), a cryptocurrency mining pool port or a Tor port.
-- param: ports text = 25,3333,4444,5555,7777,8333,14444,45700,9001,9030,9050,9051,9150
-- param: detect_from timestamp
select srcaddr as src, dstaddr as dst, cast(dstport as varchar) as ports,
       min(start_time) as first_seen, max(end_time) as last_seen, count(*) as flows, sum(bytes) as bytes,
       coalesce(port_name(dstport), 'port ' || cast(dstport as varchar)) as detail,
       'srcaddr = ''' || srcaddr || ''' and dstaddr = ''' || dstaddr || ''' and dstport = '
           || cast(dstport as varchar) as evidence
from traffic
where start_time >= $detect_from and protocol in (6, 17) and dstport < srcport
  and is_private(srcaddr) and not is_private(dstaddr)
  and position(',' || cast(dstport as varchar) || ',' in ',' || $ports || ',') > 0
group by srcaddr, dstaddr, dstport
